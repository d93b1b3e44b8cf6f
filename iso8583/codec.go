package iso8583

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
)

// The compiled codec. moov-io/iso8583 defines the spec (spec.go) and remains the reference: the
// tests and the fuzz target FuzzCompiledMatchesMoov check that this codec accepts exactly the
// messages moov-io accepts (except a length prefix with a sign, which moov-io's strconv.Atoi
// tolerates and the contract does not) and produces exactly its bytes and values. It does in one
// pass and a few allocations what moov-io does through a map of field objects, which is most of
// the switch's CPU per authorization otherwise.

// unpackCompiled decodes b. The typed message's strings share one copy of b.
func unpackCompiled(spec *Spec, b []byte) (*Message, error) {
	m := &Message{}
	_, err := decodeInto(spec, b, m, string(b))
	if err != nil {
		return nil, err
	}
	return m, nil
}

// decodeInto decodes b (whose string form is s) into m, field by field, stopping at the first
// problem; it returns how far it got so that a caller can keep the fields read before an error.
func decodeInto(spec *Spec, b []byte, m *Message, s string) (int, error) {
	if len(b) < 4 {
		return 0, &FieldError{Field: 0, Reason: "message shorter than an MTI", Err: ErrUnpack}
	}
	if !isDigits(b[:4]) {
		return 0, &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrUnpack}
	}
	m.MTI = s[:4]
	var bitmap [16]byte
	pos := 4
	if len(b) < pos+16 {
		return pos, &FieldError{Field: 1, Reason: "malformed or truncated", Err: ErrUnpack}
	}
	if _, err := hex.Decode(bitmap[:8], b[pos:pos+16]); err != nil {
		return pos, &FieldError{Field: 1, Reason: "malformed or truncated", Err: ErrUnpack}
	}
	pos += 16
	last := 64
	if bitmap[0]&0x80 != 0 {
		if len(b) < pos+16 {
			return pos, &FieldError{Field: 1, Reason: "malformed or truncated", Err: ErrUnpack}
		}
		if _, err := hex.Decode(bitmap[8:], b[pos:pos+16]); err != nil {
			return pos, &FieldError{Field: 1, Reason: "malformed or truncated", Err: ErrUnpack}
		}
		pos += 16
		last = 128
		if bitmap[8]&0x80 != 0 {
			return pos, &FieldError{Field: 1, Reason: "a tertiary bitmap is not supported", Err: ErrUnpack}
		}
	}
	for id := 2; id <= last; id++ {
		if id == 65 || bitmap[(id-1)/8]&(0x80>>((id-1)%8)) == 0 {
			continue
		}
		w := &spec.wire[id]
		if !w.defined {
			return pos, &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
		}
		n := w.fixed
		if n == 0 {
			if len(b) < pos+w.prefix {
				return pos, &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
			}
			l, ok := atoiDigits(b[pos : pos+w.prefix])
			if !ok || l > w.max {
				return pos, &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
			}
			pos += w.prefix
			n = l
			if w.hex {
				n *= 2
			}
		}
		if len(b) < pos+n {
			return pos, &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
		}
		raw := b[pos : pos+n]
		if w.hex {
			v := make([]byte, n/2)
			if _, err := hex.Decode(v, raw); err != nil {
				return pos, &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
			}
			m.setBinary(id, v)
		} else {
			for _, c := range raw {
				if c > 127 {
					return pos, &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
				}
			}
			m.setString(id, s[pos:pos+n])
		}
		pos += n
	}
	if pos != len(b) {
		return pos, &FieldError{Field: -1, Reason: fmt.Sprintf("%d bytes after the last field", len(b)-pos), Err: ErrUnpack}
	}
	return pos, nil
}

// setString stores a string field's wire characters.
func (m *Message) setString(id int, v string) {
	if p := m.stringField(id); p != nil {
		*p = v
		return
	}
	m.Other = append(m.Other, Field{ID: id, Value: v})
}

// setBinary stores a hex field's bytes.
func (m *Message) setBinary(id int, v []byte) {
	if p := m.binaryField(id); p != nil {
		*p = v
		return
	}
	m.Other = append(m.Other, Field{ID: id, Value: string(appendUpperHex(nil, v))})
}

// atoiDigits parses a length prefix: ASCII digits only.
func atoiDigits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// packCompiled encodes m.
func packCompiled(spec *Spec, m *Message) ([]byte, error) {
	if len(m.MTI) != 4 || !IsDigits(m.MTI) {
		return nil, &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrPack}
	}
	others := m.Other
	if !slices.IsSortedFunc(others, func(a, b Field) int { return a.ID - b.ID }) {
		others = slices.Clone(others)
		slices.SortFunc(others, func(a, b Field) int { return a.ID - b.ID })
	}
	// First pass: which fields are present, and how long the message is.
	var bitmap [16]byte
	size := 4 + 16
	secondary := false
	err := m.eachField(others, func(id int, str string, bin []byte) error {
		if id < 2 || id > maxField || id == 65 || !spec.wire[id].defined {
			return &FieldError{Field: id, Reason: "not defined in the spec", Err: ErrPack}
		}
		n, err := fieldWireLen(&spec.wire[id], id, str, bin)
		if err != nil {
			return err
		}
		size += n
		bitmap[(id-1)/8] |= 0x80 >> ((id - 1) % 8)
		if id > 64 {
			secondary = true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	bmLen := 8
	if secondary {
		bitmap[0] |= 0x80
		bmLen = 16
		size += 16
	}
	out := make([]byte, 0, size)
	out = append(out, m.MTI...)
	out = appendUpperHex(out, bitmap[:bmLen])
	err = m.eachField(others, func(id int, str string, bin []byte) error {
		out = appendField(out, &spec.wire[id], str, bin)
		return nil
	})
	return out, err
}

// eachField calls fn for every present field in ascending field order: named fields and others
// merged. For a hex field given as a string (an Other), bin is its decoded value.
func (m *Message) eachField(others []Field, fn func(id int, str string, bin []byte) error) error {
	oi := 0
	flushOthers := func(upTo int) error {
		for oi < len(others) && others[oi].ID < upTo {
			if err := fn(others[oi].ID, others[oi].Value, nil); err != nil {
				return err
			}
			oi++
		}
		return nil
	}
	for _, id := range namedFields {
		if err := flushOthers(id); err != nil {
			return err
		}
		if p := m.stringField(id); p != nil {
			if *p != "" {
				if err := fn(id, *p, nil); err != nil {
					return err
				}
			}
			continue
		}
		if p := m.binaryField(id); p != nil && *p != nil {
			if err := fn(id, "", *p); err != nil {
				return err
			}
		}
	}
	return flushOthers(maxField + 1)
}

// fieldWireLen checks a field's value against its layout and returns its length on the wire.
func fieldWireLen(w *wireLayout, id int, str string, bin []byte) (int, error) {
	if w.hex {
		if bin == nil {
			raw, err := hex.DecodeString(str)
			if err != nil {
				return 0, &FieldError{Field: id, Reason: "not hex", Err: ErrPack}
			}
			bin = raw
		}
		if w.fixed > 0 {
			if len(bin)*2 != w.fixed {
				return 0, &FieldError{Field: id, Reason: fmt.Sprintf("must be %d bytes", w.fixed/2), Err: ErrPack}
			}
			return w.fixed, nil
		}
		if len(bin) > w.max || len(bin) >= pow10(w.prefix) {
			return 0, &FieldError{Field: id, Reason: "does not fit the spec", Err: ErrPack}
		}
		return w.prefix + 2*len(bin), nil
	}
	for i := 0; i < len(str); i++ {
		if str[i] > 127 {
			return 0, &FieldError{Field: id, Reason: "does not fit the spec", Err: ErrPack}
		}
	}
	if w.fixed > 0 {
		if len(str) == w.fixed || (w.zeroPad && len(str) < w.fixed) {
			return w.fixed, nil
		}
		return 0, &FieldError{Field: id, Reason: "does not fit the spec", Err: ErrPack}
	}
	if len(str) > w.max || len(str) >= pow10(w.prefix) {
		return 0, &FieldError{Field: id, Reason: "does not fit the spec", Err: ErrPack}
	}
	return w.prefix + len(str), nil
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// appendField appends a field already checked by fieldWireLen.
func appendField(out []byte, w *wireLayout, str string, bin []byte) []byte {
	if w.hex {
		if bin == nil {
			bin, _ = hex.DecodeString(str)
		}
		if w.fixed == 0 {
			out = appendLength(out, w.prefix, len(bin))
		}
		return appendUpperHex(out, bin)
	}
	if w.fixed > 0 {
		for i := len(str); i < w.fixed; i++ {
			out = append(out, '0')
		}
		return append(out, str...)
	}
	out = appendLength(out, w.prefix, len(str))
	return append(out, str...)
}

func appendLength(out []byte, digits, n int) []byte {
	var buf [3]byte
	s := strconv.AppendInt(buf[:0], int64(n), 10)
	for i := len(s); i < digits; i++ {
		out = append(out, '0')
	}
	return append(out, s...)
}

func appendUpperHex(out, b []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0x0F])
	}
	return out
}
