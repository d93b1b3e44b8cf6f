// Package iso8583 is the wire format of cardswitch: ISO 8583 specs built on moov-io/iso8583 (the
// acquirer spec of the contract, moov-io's own specs, and any spec in moov-io's JSON format), a
// compiled codec held equal to moov-io, length-prefix framings, message headers, field mappings,
// typed messages, MTIs, processing and response codes, Luhn and PAN masking. It imports nothing
// else of the project.
package iso8583

import (
	moov "github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
	"github.com/moov-io/iso8583/prefix"
	"github.com/moov-io/iso8583/specs"
)

// Spec is an ISO 8583 message spec: the moov-io/iso8583 spec that defines it, and the wire
// layout of each field compiled from that definition for the codec (codec.go, layout.go).
type Spec struct {
	name   string // the built-in name or the file it was loaded from
	moov   *moov.MessageSpec
	mti    wireLayout
	bitmap bitmapLayout
	wire   [maxField + 1]wireLayout
	// compiled reports that the compiled codec handles the MTI and the bitmap; fields it does not
	// implement (fallback) are still packed and unpacked by moov-io one by one. Otherwise the
	// whole message goes through moov-io.
	compiled bool
	fallback []int // fields that moov-io packs and unpacks within the compiled codec
}

// bitmapLayout is how the bitmap sits on the wire.
type bitmapLayout struct {
	hex      bool // hex characters (else binary bytes)
	unit     int  // bytes of one bitmap (8, or 16 for moov-io's Spec87ASCII)
	noExpand bool // one bitmap only: no presence bits for further bitmaps
}

// unitBits is the number of fields one bitmap covers.
func (b bitmapLayout) unitBits() int { return 8 * b.unit }

// presence reports whether bit id announces a further bitmap instead of a field.
func (b bitmapLayout) presence(id int) bool {
	return !b.noExpand && (id-1)&(b.unitBits()-1) == 0 // unitBits is 64 or 128
}

// maxField is the highest field number a message may carry (primary and secondary bitmap).
const maxField = 128

// Moov returns the underlying moov-io/iso8583 spec (for iso8583-connection and moov-io's JSON
// export).
func (s *Spec) Moov() *moov.MessageSpec { return s.moov }

// Name is the spec's built-in name, or the file it was loaded from.
func (s *Spec) Name() string { return s.name }

// Defines reports whether the spec defines field id (0 is the MTI, 1 the bitmap).
func (s *Spec) Defines(id int) bool {
	if id < 0 || id > maxField {
		return false
	}
	return s.moov.Fields[id] != nil
}

// Compiled reports whether the compiled codec runs this spec, and which fields within it moov-io
// still packs and unpacks (composite and TLV fields, tracks). A spec that is not compiled goes
// through moov-io entirely.
func (s *Spec) Compiled() (bool, []int) { return s.compiled, s.fallback }

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
	s, err := newSpec(SpecContract, &moov.MessageSpec{Name: "cardswitch acquirer ISO 8583:1987 ASCII", Fields: fields})
	if err != nil {
		panic("iso8583: the acquirer spec does not check: " + err.Error())
	}
	return s
}

func fixedString(n int, desc string) *field.String {
	return field.NewString(&field.Spec{Length: n, Description: desc, Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed})
}

// NewSpec checks a moov-io spec and compiles it. name is what logs and errors call it.
func NewSpec(name string, ms *moov.MessageSpec) (*Spec, error) { return newSpec(name, ms) }

func newSpec(name string, ms *moov.MessageSpec) (*Spec, error) {
	if err := checkSpec(name, ms); err != nil {
		return nil, err
	}
	s := &Spec{name: name, moov: ms}
	s.mti = compileField(ms.Fields[0])
	s.bitmap, s.compiled = compileBitmap(ms.Fields[1])
	if s.mti.fallback || s.mti.kind != kindString {
		s.compiled = false
	}
	for id := 2; id <= maxField; id++ {
		f := ms.Fields[id]
		if f == nil {
			continue
		}
		s.wire[id] = compileField(f)
		if s.wire[id].fallback {
			s.fallback = append(s.fallback, id)
		}
	}
	return s, nil
}

// compileBitmap returns the bitmap layout, and false when the compiled codec does not implement
// it (moov-io then handles the whole message).
func compileBitmap(f field.Field) (bitmapLayout, bool) {
	bm, ok := f.(*field.Bitmap)
	if !ok {
		return bitmapLayout{}, false
	}
	fs := bm.Spec()
	l := bitmapLayout{unit: fs.Length, noExpand: fs.DisableAutoExpand}
	if l.unit == 0 {
		l.unit = 8
	}
	if l.unit != 8 && l.unit != 16 {
		return l, false
	}
	switch fs.Enc {
	case encoding.BytesToASCIIHex:
		l.hex = true
	case encoding.Binary:
	default:
		return l, false
	}
	if p, _, _, ok := compilePrefix(fs.Pref); !ok || p != prefFixed {
		return l, false
	}
	return l, true
}
