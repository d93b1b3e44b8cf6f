package iso8583

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/padding"
)

// A field's wire layout, compiled from its moov-io definition: how its length is written, how its
// content is encoded, how it is padded, and what kind of value it holds. The compiled codec
// (codec.go) implements every combination below with moov-io's exact semantics; a field defined
// any other way (composite and TLV fields, tracks, LBCD, multi-byte padding) is packed and
// unpacked by moov-io itself, field by field, and the rest of the message stays compiled.

// valueKind is the moov-io field type.
type valueKind uint8

const (
	kindString  valueKind = iota // field.String: the content as characters
	kindNumeric                  // field.Numeric: an int64; leading zeros are not kept
	kindHex                      // field.Hex: bytes, held as upper-case hex
	kindBinary                   // field.Binary: bytes, held as upper-case hex
)

// contentEnc is the content encoding.
type contentEnc uint8

const (
	encASCII      contentEnc = iota // bytes 0-127 as they are
	encEBCDIC                       // EBCDIC (moov-io's code page 037 table)
	encBinary                       // bytes as they are
	encHexASCII                     // each byte as two upper-case hex characters ("HexToASCII")
	encBCD                          // two digits per byte, right-aligned
	encASCIIToHex                   // hex characters in the value as bytes on the wire ("ASCIIToHex")
)

// prefixEnc is how a variable length is written.
type prefixEnc uint8

const (
	prefFixed  prefixEnc = iota // no length: the spec's length
	prefASCII                   // decimal digits in ASCII
	prefEBCDIC                  // decimal digits in EBCDIC
	prefBCD                     // decimal digits in BCD
	prefBinary                  // a big-endian unsigned integer of digits bytes
	prefHex                     // hex digits in ASCII, 2 per byte of digits
)

// padKind is the padding.
type padKind uint8

const (
	padNone padKind = iota
	padLeft
	padRight
)

// wireLayout is how one field sits on the wire.
type wireLayout struct {
	defined  bool
	fallback bool        // moov-io packs and unpacks this field (def is its definition)
	def      field.Field // the moov-io field definition
	// binary means the typed message holds the field's content bytes as upper-case hex (Hex and
	// Binary fields, and composites that are not plain ASCII text).
	binary bool

	kind     valueKind
	enc      contentEnc
	pref     prefixEnc
	digits   int  // length digits (bytes for a binary prefix) of a variable field
	length   int  // the spec's length: fixed length, or the longest variable value
	hexFixed bool // Hex.Fixed: moov-io packs it only when the value is twice the length
	pad      padKind
	padChar  byte
}

// variable reports whether the field has a length prefix.
func (w *wireLayout) variable() bool { return w.pref != prefFixed }

// compileField returns the layout of f. A definition the codec does not implement is marked for
// the moov-io fallback.
func compileField(f field.Field) wireLayout {
	fs := f.Spec()
	w := wireLayout{defined: true, def: f, length: fs.Length}
	switch f.(type) {
	case *field.String:
		w.kind = kindString
	case *field.Numeric:
		w.kind = kindNumeric
	case *field.Hex:
		w.kind, w.binary = kindHex, true
	case *field.Binary:
		w.kind, w.binary = kindBinary, true
	case *field.Composite:
		w.fallback, w.binary = true, !textComposite(fs)
		return w
	default:
		w.fallback = true
		return w
	}
	ok := true
	w.enc, ok = compileEnc(fs.Enc)
	if ok {
		w.pref, w.digits, w.hexFixed, ok = compilePrefix(fs.Pref)
	}
	if ok {
		w.pad, w.padChar, ok = compilePad(fs.Pad)
	}
	if !ok {
		w.fallback = true
	}
	return w
}

func compileEnc(e encoding.Encoder) (contentEnc, bool) {
	switch e {
	case encoding.ASCII:
		return encASCII, true
	case encoding.EBCDIC:
		return encEBCDIC, true
	case encoding.Binary:
		return encBinary, true
	case encoding.BytesToASCIIHex:
		return encHexASCII, true
	case encoding.BCD:
		return encBCD, true
	case encoding.ASCIIHexToBytes:
		return encASCIIToHex, true
	}
	return 0, false
}

// compilePrefix reads a prefixer by its name (moov-io's prefixers are unexported types).
func compilePrefix(p interface{ Inspect() string }) (prefixEnc, int, bool, bool) {
	if p == nil {
		return 0, 0, false, false
	}
	name, ls, _ := strings.Cut(p.Inspect(), ".")
	if ls == "Fixed" {
		switch name {
		case "ASCII", "EBCDIC", "BCD", "Binary", "None":
			return prefFixed, 0, false, true
		case "Hex":
			return prefFixed, 0, true, true
		}
		return 0, 0, false, false
	}
	digits := len(ls)
	if digits < 1 || digits > 4 || strings.Trim(ls, "L") != "" {
		return 0, 0, false, false
	}
	switch name {
	case "ASCII":
		return prefASCII, digits, false, true
	case "EBCDIC":
		return prefEBCDIC, digits, false, true
	case "BCD":
		return prefBCD, digits, false, true
	case "Binary":
		return prefBinary, digits, false, true
	case "Hex":
		return prefHex, digits, false, true
	}
	return 0, 0, false, false
}

func compilePad(p padding.Padder) (padKind, byte, bool) {
	if p == nil {
		return padNone, 0, true
	}
	c := p.Inspect()
	if len(c) == 0 {
		return padNone, 0, true // padding.None
	}
	if len(c) != 1 || c[0] >= 0x80 {
		return 0, 0, false
	}
	switch {
	case bytes.Equal(p.Pad(nil, 1), c) && bytes.Equal(p.Pad([]byte("x"), 2), []byte{c[0], 'x'}):
		return padLeft, c[0], true
	case bytes.Equal(p.Pad(nil, 1), c) && bytes.Equal(p.Pad([]byte("x"), 2), []byte{'x', c[0]}):
		return padRight, c[0], true
	}
	return 0, 0, false
}

// textComposite reports whether a composite's content is ASCII text throughout (subfields, tags
// and bitmap), so that the typed message can hold it as it is rather than as hex.
func textComposite(fs *field.Spec) bool {
	if fs.Tag != nil && fs.Tag.Enc != nil && fs.Tag.Enc != encoding.ASCII {
		return false
	}
	if fs.Bitmap != nil && fs.Bitmap.Spec().Enc != encoding.BytesToASCIIHex {
		return false
	}
	for _, sub := range fs.Subfields {
		ss := sub.Spec()
		if len(ss.Subfields) > 0 {
			if !textComposite(ss) {
				return false
			}
			continue
		}
		switch sub.(type) {
		case *field.String, *field.Numeric:
		default:
			return false
		}
		if ss.Enc != encoding.ASCII || ss.Pref == nil || !strings.HasPrefix(ss.Pref.Inspect(), "ASCII.") {
			return false
		}
	}
	return true
}

// ebcdicFromASCII and asciiFromEBCDIC are moov-io's EBCDIC tables, read from its encoder so
// that the two codecs cannot disagree.
var ebcdicFromASCII, asciiFromEBCDIC = ebcdicTables()

func ebcdicTables() (to, from [256]byte) {
	var all [256]byte
	for i := range all {
		all[i] = byte(i)
	}
	enc, _ := encoding.EBCDIC.Encode(all[:])
	dec, _, _ := encoding.EBCDIC.Decode(all[:], len(all))
	copy(to[:], enc)
	copy(from[:], dec)
	return to, from
}

// decodeLength reads a variable field's length prefix at the start of b: the length and the
// prefix's size in bytes. ok is false for a prefix that is truncated, not a number, or over the
// field's maximum.
func (w *wireLayout) decodeLength(b []byte) (n, size int, ok bool) {
	switch w.pref {
	case prefFixed:
		return w.length, 0, true
	case prefASCII, prefEBCDIC:
		if len(b) < w.digits {
			return 0, 0, false
		}
		for _, c := range b[:w.digits] {
			if w.pref == prefEBCDIC {
				c = asciiFromEBCDIC[c]
			}
			if c < '0' || c > '9' {
				return 0, 0, false
			}
			n = n*10 + int(c-'0')
		}
		size = w.digits
	case prefBCD:
		size = (w.digits + 1) / 2
		if len(b) < size {
			return 0, 0, false
		}
		var dig [4]byte
		d, ok := decodeBCD(dig[:0], b[:size], w.digits)
		if !ok {
			return 0, 0, false
		}
		for _, c := range d {
			if c < '0' || c > '9' { // a filler nibble moov-io decodes as a NUL character
				return 0, 0, false
			}
			n = n*10 + int(c-'0')
		}
	case prefBinary:
		if len(b) < w.digits {
			return 0, 0, false
		}
		for _, c := range b[:w.digits] {
			n = n<<8 | int(c)
		}
		size = w.digits
	case prefHex:
		size = 2 * w.digits
		if len(b) < size {
			return 0, 0, false
		}
		v, err := strconv.ParseUint(string(b[:size]), 16, 8*w.digits)
		if err != nil {
			return 0, 0, false
		}
		n = int(v)
	}
	if n > w.length {
		return 0, 0, false
	}
	return n, size, true
}

// appendLength writes a variable field's length prefix; ok is false when n does not fit.
func (w *wireLayout) appendLength(out []byte, n int) ([]byte, bool) {
	if n > w.length {
		return out, false
	}
	switch w.pref {
	case prefASCII, prefEBCDIC, prefBCD:
		if n >= pow10(w.digits) {
			return out, false
		}
		var buf [4]byte
		for i := w.digits - 1; i >= 0; i-- {
			buf[i] = byte('0' + n%10)
			n /= 10
		}
		d := buf[:w.digits]
		switch w.pref {
		case prefASCII:
			return append(out, d...), true
		case prefEBCDIC:
			for _, c := range d {
				out = append(out, ebcdicFromASCII[c])
			}
			return out, true
		}
		return appendBCD(out, d), true
	case prefBinary:
		if n >= 1<<(8*w.digits) {
			return out, false
		}
		for i := w.digits - 1; i >= 0; i-- {
			out = append(out, byte(n>>(8*i)))
		}
		return out, true
	case prefHex:
		if n >= 1<<(8*w.digits) {
			return out, false
		}
		const digits = "0123456789ABCDEF"
		for i := 2*w.digits - 1; i >= 0; i-- {
			out = append(out, digits[(n>>(4*i))&0xF])
		}
		return out, true
	}
	return out, true
}

// contentSize is the number of wire bytes that hold n characters (bytes, for binary content) of
// content.
func (w *wireLayout) contentSize(n int) int {
	switch w.enc {
	case encHexASCII:
		return 2 * n
	case encBCD:
		return (n + 1) / 2
	}
	return n
}

// decodeContent appends the n characters of content that start b (already known to be long
// enough) to dst. ok is false for bytes the encoding rejects.
func (w *wireLayout) decodeContent(dst, b []byte, n int) ([]byte, bool) {
	switch w.enc {
	case encASCII:
		for _, c := range b[:n] {
			if c > 127 {
				return dst, false
			}
		}
		return append(dst, b[:n]...), true
	case encEBCDIC:
		for _, c := range b[:n] {
			dst = append(dst, asciiFromEBCDIC[c])
		}
		return dst, true
	case encBinary:
		return append(dst, b[:n]...), true
	case encHexASCII:
		start := len(dst)
		dst = append(dst, make([]byte, n)...)
		if _, err := hex.Decode(dst[start:], b[:2*n]); err != nil {
			return dst[:start], false
		}
		return dst, true
	case encBCD:
		return decodeBCD(dst, b[:(n+1)/2], n)
	case encASCIIToHex:
		return appendUpperHex(dst, b[:n]), true
	}
	return dst, false
}

// encodeContent appends raw (the padded value) in the field's encoding. ok is false for what the
// encoding cannot represent.
func (w *wireLayout) encodeContent(out, raw []byte) ([]byte, bool) {
	switch w.enc {
	case encASCII:
		for _, c := range raw {
			if c > 127 {
				return out, false
			}
		}
		return append(out, raw...), true
	case encEBCDIC:
		for _, c := range raw {
			out = append(out, ebcdicFromASCII[c])
		}
		return out, true
	case encBinary:
		return append(out, raw...), true
	case encHexASCII:
		return appendUpperHex(out, raw), true
	case encBCD:
		for _, c := range raw {
			if c < '0' || c > '9' {
				return out, false
			}
		}
		return appendBCD(out, raw), true
	case encASCIIToHex:
		if len(raw)%2 != 0 {
			// moov-io decodes hex in pairs: an odd value fails there too.
			return out, false
		}
		start := len(out)
		out = append(out, make([]byte, len(raw)/2)...)
		if _, err := hex.Decode(out[start:], raw); err != nil {
			return out[:start], false
		}
		return out, true
	}
	return out, false
}

// appendBCD packs digits two per byte, with a leading 0 nibble for an odd count.
func appendBCD(out, digits []byte) []byte {
	if len(digits)%2 != 0 {
		out = append(out, digits[0]-'0')
		digits = digits[1:]
	}
	for i := 0; i+1 < len(digits); i += 2 {
		out = append(out, (digits[i]-'0')<<4|(digits[i+1]-'0'))
	}
	return out
}

// decodeBCD appends the last n digits that the BCD bytes b hold, as moov-io decodes them: every
// byte two digits, except that the last byte may hold one digit and the filler nibble F (which
// leaves a NUL character where the missing digit would be).
func decodeBCD(dst, b []byte, n int) ([]byte, bool) {
	width := n + n%2
	var buf [2 * 512]byte
	var d []byte
	if width <= len(buf) {
		d = buf[:width]
	} else {
		d = make([]byte, width)
	}
	j := 0
	for i, c := range b {
		hi, lo := c>>4, c&0x0F
		switch {
		case hi <= 9 && lo <= 9:
			if j+2 > width {
				return dst, false
			}
			d[j], d[j+1] = '0'+hi, '0'+lo
			j += 2
		case hi <= 9 && lo == 0x0F && i == len(b)-1:
			d[j] = '0' + hi
			d[j+1] = 0
			j += 2
		default:
			return dst, false
		}
	}
	for ; j < width; j++ {
		d[j] = 0
	}
	return append(dst, d[width-n:]...), true
}

// unpad removes the padding from a decoded value.
func (w *wireLayout) unpad(v []byte) []byte {
	switch w.pad {
	case padLeft:
		i := 0
		for i < len(v) && v[i] == w.padChar {
			i++
		}
		return v[i:]
	case padRight:
		j := len(v)
		for j > 0 && v[j-1] == w.padChar {
			j--
		}
		return v[:j]
	}
	return v
}
