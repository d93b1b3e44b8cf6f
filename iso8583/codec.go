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

// packCompiled encodes m in one pass: fields are checked and appended in field order, and the
// bitmap, whose length depends only on whether a field above 64 is present, is filled in last.
func packCompiled(spec *Spec, m *Message) ([]byte, error) {
	if len(m.MTI) != 4 || !IsDigits(m.MTI) {
		return nil, &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrPack}
	}
	others := m.Other
	if !slices.IsSortedFunc(others, func(a, b Field) int { return a.ID - b.ID }) {
		others = slices.Clone(others)
		slices.SortFunc(others, func(a, b Field) int { return a.ID - b.ID })
	}
	secondary := m.NetworkCode != "" || m.OriginalData != "" || m.ReplacementAmounts != "" || m.MAC2 != nil ||
		(len(others) > 0 && others[len(others)-1].ID > 64)
	bmLen := 8
	if secondary {
		bmLen = 16
	}
	p := packer{spec: spec, out: make([]byte, 4+2*bmLen, packSizeHint)}
	copy(p.out, m.MTI)
	oi := 0
	for _, id := range namedFields {
		for oi < len(others) && others[oi].ID < id {
			p.field(others[oi].ID, others[oi].Value, nil)
			oi++
		}
		if sp := m.stringField(id); sp != nil {
			if *sp != "" {
				p.field(id, *sp, nil)
			}
		} else if bp := m.binaryField(id); *bp != nil {
			p.field(id, "", *bp)
		}
	}
	for ; oi < len(others); oi++ {
		p.field(others[oi].ID, others[oi].Value, nil)
	}
	if p.err != nil {
		return nil, p.err
	}
	if secondary {
		p.bitmap[0] |= 0x80
	}
	appendUpperHex(p.out[4:4], p.bitmap[:bmLen])
	return p.out, nil
}

// packSizeHint is the capacity a packed message starts with: a typical 0100 or 0110 fits.
const packSizeHint = 256

// packer accumulates a message being packed; the first error stops it.
type packer struct {
	spec   *Spec
	out    []byte
	bitmap [16]byte
	err    error
}

func (p *packer) field(id int, str string, bin []byte) {
	if p.err != nil {
		return
	}
	if id < 2 || id > maxField || id == 65 || !p.spec.wire[id].defined {
		p.err = &FieldError{Field: id, Reason: "not defined in the spec", Err: ErrPack}
		return
	}
	w := &p.spec.wire[id]
	if _, err := fieldWireLen(w, id, str, bin); err != nil {
		p.err = err
		return
	}
	p.bitmap[(id-1)/8] |= 0x80 >> ((id - 1) % 8)
	p.out = appendField(p.out, w, str, bin)
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
