// Package iso8583 is the wire format of cardswitch: the acquirer ISO 8583:1987 ASCII spec built on
// moov-io/iso8583, length-prefix framings, typed messages, MTIs, processing and response codes,
// Luhn and PAN masking. It imports nothing else of the project.
package iso8583

import (
	"strings"

	moov "github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
	"github.com/moov-io/iso8583/specs"
)

// Spec is an ISO 8583 message spec: the moov-io/iso8583 spec that defines it, and the wire
// layout of each field compiled from that definition for the codec (codec.go).
type Spec struct {
	moov *moov.MessageSpec
	wire [maxField + 1]wireLayout
	// compiled reports that every field has a layout the compiled codec implements (ASCII or
	// hex-ASCII content, ASCII fixed/LL/LLL prefixes, no padding or left '0' padding, a
	// primary bitmap of 16 hex characters); otherwise the codec falls back to moov-io.
	compiled bool
}

// wireLayout is how one field sits on the wire.
type wireLayout struct {
	defined bool
	fixed   int  // fixed length in characters on the wire (0 for variable-length fields)
	prefix  int  // number of ASCII length digits (2 for LL, 3 for LLL) for variable-length fields
	max     int  // the longest value of a variable-length field, in characters (bytes when hex)
	hex     bool // binary content sent as upper-case hex characters
	zeroPad bool // a fixed field padded on the left with '0' (moov-io unpads it on unpack)
}

// maxField is the highest field number a message may carry (primary and secondary bitmap).
const maxField = 128

// Moov returns the underlying moov-io/iso8583 spec (for iso8583-connection).
func (s *Spec) Moov() *moov.MessageSpec { return s.moov }

// AcquirerSpec returns the acquirer spec of CONTRACT §2: moov-io's Spec87ASCII with an 8-byte
// (16 hex character) primary bitmap followed by the secondary bitmap only when bit 1 is set, field 3
// as a zero-padded string, fields 52, 64 and 128 as 8 bytes sent as 16 upper-case hex characters,
// and fields 70 (n3), 90 (n42) and 95 (an42). The returned spec is shared and must not be modified.
func AcquirerSpec() *Spec { return acquirerSpec }

// acquirerSpec is built once; it is read-only after package initialisation.
var acquirerSpec = newAcquirerSpec()

func newAcquirerSpec() *Spec {
	fields := make(map[int]field.Field, len(specs.Spec87ASCII.Fields)+4)
	for id, f := range specs.Spec87ASCII.Fields {
		fields[id] = f
	}
	fields[1] = field.NewBitmap(&field.Spec{
		Length:      8,
		Description: "Bitmap",
		Enc:         encoding.BytesToASCIIHex,
		Pref:        prefix.Hex.Fixed,
	})
	fields[3] = field.NewString(&field.Spec{
		Length:      6,
		Description: "Processing Code",
		Enc:         encoding.ASCII,
		Pref:        prefix.ASCII.Fixed,
		Pad:         padding.Left('0'),
	})
	for id, desc := range map[int]string{52: "PIN Data", 64: "Message Authentication Code", 128: "Message Authentication Code (secondary)"} {
		fields[id] = field.NewHex(&field.Spec{
			Length:      8,
			Description: desc,
			Enc:         encoding.BytesToASCIIHex,
			Pref:        prefix.ASCII.Fixed,
		})
	}
	fields[70] = fixedString(3, "Network Management Information Code")
	fields[90] = fixedString(42, "Original Data Elements")
	fields[95] = fixedString(42, "Replacement Amounts")
	return NewSpec(&moov.MessageSpec{Name: "cardswitch acquirer ISO 8583:1987 ASCII", Fields: fields})
}

func fixedString(n int, desc string) *field.String {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed})
}

// NewSpec wraps a moov-io spec whose fields use ASCII fixed, LL or LLL prefixes (the only layouts
// the typed codec supports; an issuer link may configure such a spec of its own).
func NewSpec(ms *moov.MessageSpec) *Spec {
	s := &Spec{moov: ms, compiled: compilableBitmap(ms)}
	for id, f := range ms.Fields {
		if id < 2 || id > maxField {
			continue
		}
		fs := f.Spec()
		l := wireLayout{defined: true, hex: fs.Enc == encoding.BytesToASCIIHex, max: fs.Length}
		switch p := fs.Pref.Inspect(); {
		case p == "ASCII.LLL":
			l.prefix = 3
		case p == "ASCII.LL":
			l.prefix = 2
		case p == "ASCII.Fixed":
			l.fixed = fs.Length
			if l.hex {
				l.fixed *= 2
			}
		default:
			s.compiled = false
			if strings.HasSuffix(p, ".LLL") {
				l.prefix = 3
			} else if strings.HasSuffix(p, ".LL") {
				l.prefix = 2
			}
		}
		if fs.Pad != nil {
			l.zeroPad = string(fs.Pad.Inspect()) == "0" && l.fixed > 0 && isLeftPadder(fs.Pad)
			if !l.zeroPad {
				s.compiled = false
			}
		}
		switch f.(type) {
		case *field.String:
			if fs.Enc != encoding.ASCII {
				s.compiled = false
			}
		case *field.Hex:
			if !l.hex {
				s.compiled = false
			}
		default:
			s.compiled = false // Numeric, Binary, composite …: moov-io's codec handles them
		}
		s.wire[id] = l
	}
	return s
}

// compilableBitmap reports whether the spec's MTI and bitmap are the ones the compiled codec
// implements: a 4-character ASCII MTI and 8-byte bitmaps as 16 hex characters.
func compilableBitmap(ms *moov.MessageSpec) bool {
	mti, bm := ms.Fields[0], ms.Fields[1]
	if mti == nil || bm == nil {
		return false
	}
	ok := mti.Spec().Length == 4 && mti.Spec().Enc == encoding.ASCII
	b, isBitmap := bm.(*field.Bitmap)
	return ok && isBitmap && b.Spec().Length == 8 && b.Spec().Enc == encoding.BytesToASCIIHex && !b.Spec().DisableAutoExpand
}

func isLeftPadder(p padding.Padder) bool {
	return string(p.Pad(nil, 1)) == "0" && string(p.Pad([]byte("1"), 2)) == "01"
}
