package iso8583

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"slices"
	"strconv"

	"github.com/moov-io/iso8583/field"
)

// The compiled codec. moov-io/iso8583 defines the spec (spec.go) and remains the reference: the
// tests and the fuzz target FuzzCompiledMatchesMoov check, for every built-in spec and the JSON
// specs under testdata/specs, that this codec accepts exactly the messages moov-io accepts
// (except a length prefix with a sign, which moov-io's strconv.Atoi tolerates and the contract
// does not) and produces exactly its bytes and values. It does in one pass and a few allocations
// what moov-io does through a map of field objects, which is most of the switch's CPU per
// authorization otherwise. Fields it does not implement (layout.go) are handed to moov-io one by
// one.

// unpackCompiled decodes b. The typed message's strings share one copy of b.
func unpackCompiled(spec *Spec, b []byte) (*Message, error) {
	m := &Message{}
	if err := decodeInto(spec, b, m); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeState collects the text fields of one message: those that are ASCII on the wire are
// slices of the frame's string; the others are decoded into one arena, turned into one string at
// the end.
type decodeState struct {
	frame string
	arena []byte
	spans [spansInline]span
	n     int    // spans used
	more  []span // beyond spansInline
}

// spansInline is the number of text fields recorded without allocating: more than a typical
// message has.
const spansInline = 48

// span is one decoded text field: [start, end) of the frame or of the arena.
type span struct {
	id         uint8
	inArena    bool
	start, end int32
}

// decodeInto decodes b into m, field by field, stopping at the first problem; the fields read
// before an error are kept in m (at least the MTI when it was readable), so that an error
// response can echo the STAN and terminal.
func decodeInto(spec *Spec, b []byte, m *Message) error {
	st := decodeState{frame: string(b)}
	err := st.decode(spec, b, m)
	st.finish(m)
	return err
}

func (st *decodeState) decode(spec *Spec, b []byte, m *Message) error {
	mti, pos, err := decodeMTI(spec, b)
	if err != nil {
		return err
	}
	if mti == "" {
		mti = st.frame[pos-4 : pos] // ASCII: no copy
	}
	m.MTI = mti
	var bitmap [16]byte
	last, n, err := spec.bitmap.decode(b[pos:], &bitmap)
	if err != nil {
		return err
	}
	pos += n
	for k := 0; k < last/8; k++ { // only the bits that are set
		for set := bitmap[k]; set != 0; {
			bit := bits.LeadingZeros8(set)
			set &^= 0x80 >> bit
			id := 8*k + bit + 1
			if id < 2 || spec.bitmap.presence(id) {
				continue
			}
			w := &spec.wire[id]
			if !w.defined {
				return &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
			}
			var n int
			var ok bool
			if w.fallback {
				n, ok = st.fallback(w, id, b[pos:], m)
			} else {
				n, ok = st.field(w, id, b, pos, m)
			}
			if !ok {
				return &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
			}
			pos += n
		}
	}
	if pos != len(b) {
		return &FieldError{Field: -1, Reason: fmt.Sprintf("%d bytes after the last field", len(b)-pos), Err: ErrUnpack}
	}
	return nil
}

// decodeMTI reads the MTI (4 digits in the spec's encoding) and returns where the bitmap starts.
func decodeMTI(spec *Spec, b []byte) (string, int, error) {
	w := &spec.mti
	if w.enc == encASCII && !w.variable() && w.pad == padNone && len(b) >= 4 && isDigits(b[:4]) {
		return "", 4, nil // the caller takes it from the frame
	}
	n, size, ok := w.decodeLength(b)
	if !ok || len(b) < size+w.contentSize(n) {
		return "", 0, &FieldError{Field: 0, Reason: "message shorter than an MTI", Err: ErrUnpack}
	}
	var buf [8]byte
	v, ok := w.decodeContent(buf[:0], b[size:], n)
	if ok {
		v = w.unpad(v)
	}
	if !ok || len(v) != 4 || !isDigits(v) {
		return "", 0, &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrUnpack}
	}
	if w.enc == encASCII && size == 0 {
		return "", size + w.contentSize(n), nil // the caller takes it from the frame
	}
	return string(v), size + w.contentSize(n), nil
}

// decode reads the bitmaps at the start of b into bm and returns the highest field they can
// announce and the bytes read.
func (l bitmapLayout) decode(b []byte, bm *[16]byte) (int, int, error) {
	wire := l.unit
	if l.hex {
		wire *= 2
	}
	pos, units := 0, 0
	for {
		if len(b) < pos+wire {
			return 0, 0, &FieldError{Field: 1, Reason: "malformed or truncated", Err: ErrUnpack}
		}
		if units*l.unit+l.unit > len(bm) {
			return 0, 0, &FieldError{Field: 1, Reason: "a tertiary bitmap is not supported", Err: ErrUnpack}
		}
		dst := bm[units*l.unit : (units+1)*l.unit]
		if l.hex {
			if _, err := hex.Decode(dst, b[pos:pos+wire]); err != nil {
				return 0, 0, &FieldError{Field: 1, Reason: "malformed or truncated", Err: ErrUnpack}
			}
		} else {
			copy(dst, b[pos:pos+wire])
		}
		pos += wire
		units++
		if l.noExpand || dst[0]&0x80 == 0 {
			break
		}
	}
	return units * l.unitBits(), pos, nil
}

// field decodes the compiled field id at b[pos:] into m and returns its size on the wire.
func (st *decodeState) field(w *wireLayout, id int, b []byte, pos int, m *Message) (int, bool) {
	n, size, ok := w.decodeLength(b[pos:])
	if !ok {
		return 0, false
	}
	total := size + w.contentSize(n)
	if len(b)-pos < total {
		return 0, false
	}
	content := b[pos+size : pos+total]
	if bp := m.binaryField(id); bp != nil {
		v, ok := w.decodeContent(nil, content, n)
		if !ok {
			return 0, false
		}
		v = w.unpad(v)
		if w.kind == kindNumeric {
			text, ok := numericText(nil, v)
			if !ok {
				return 0, false
			}
			v = text
		}
		if v == nil {
			v = []byte{}
		}
		*bp = v
		return total, true
	}
	if w.enc == encASCII && w.kind == kindString && (w.pad == padNone || !w.variable()) {
		// The characters on the wire are the value (a fixed field keeps its padding).
		for _, c := range content {
			if c > 127 {
				return 0, false
			}
		}
		st.add(span{id: uint8(id), start: int32(pos + size), end: int32(pos + total)})
		return total, true
	}
	if st.arena == nil {
		st.arena = make([]byte, 0, 2*len(b))
	}
	start := len(st.arena)
	v, ok := w.decodeContent(st.arena, content, n)
	if !ok {
		return 0, false
	}
	val := w.unpad(v[start:])
	switch w.kind {
	case kindNumeric:
		var num [24]byte
		text, ok := numericText(num[:0], val)
		if !ok {
			return 0, false
		}
		v = append(v[:start], text...)
	case kindHex, kindBinary:
		var raw [64]byte
		r := append(raw[:0], val...)
		v = appendUpperHex(v[:start], r)
	default:
		v = append(v[:start], val...)
	}
	if !w.variable() && !w.binary {
		v = w.restorePadding(v, start)
	}
	st.arena = v
	st.add(span{id: uint8(id), start: int32(start), end: int32(len(v)), inArena: true})
	return total, true
}

// numericText is moov-io's view of a Numeric field's content: an int64, written without leading
// zeros ("" is 0).
func numericText(dst, v []byte) ([]byte, bool) {
	if len(v) == 0 {
		return append(dst, '0'), true
	}
	n, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return dst, false
	}
	return strconv.AppendInt(dst, n, 10), true
}

// restorePadding gives a fixed field back the width that moov-io's unpadding (and a Numeric
// field's int conversion) took from it, so that the typed value is what was on the wire. v[start:]
// is the value.
func (w *wireLayout) restorePadding(v []byte, start int) []byte {
	missing := w.length - (len(v) - start)
	if missing <= 0 || (w.pad == padNone && w.kind != kindNumeric) {
		return v
	}
	c := w.padChar
	if w.pad == padNone {
		c = '0'
	}
	if w.pad == padRight {
		for range missing {
			v = append(v, c)
		}
		return v
	}
	for range missing {
		v = append(v, 0)
	}
	copy(v[start+missing:], v[start:len(v)-missing])
	for i := start; i < start+missing; i++ {
		v[i] = c
	}
	return v
}

// fallback has moov-io unpack field id at the start of b, and stores its value in m.
func (st *decodeState) fallback(w *wireLayout, id int, b []byte, m *Message) (int, bool) {
	f := field.NewInstanceOf(w.def)
	n, err := f.Unpack(b)
	if err != nil || n < 0 || n > len(b) {
		return 0, false
	}
	raw, err := f.Bytes()
	if err != nil {
		return 0, false
	}
	if bp := m.binaryField(id); bp != nil {
		*bp = append([]byte{}, raw...)
		return n, true
	}
	v := string(raw)
	if w.binary {
		v = string(appendUpperHex(nil, raw))
	}
	m.setString(id, v)
	return n, true
}

// add records a decoded text field (each field appears once in a message).
func (st *decodeState) add(sp span) {
	if st.n < spansInline {
		st.spans[st.n] = sp
		st.n++
		return
	}
	st.more = append(st.more, sp)
}

// finish stores the decoded text fields in m.
func (st *decodeState) finish(m *Message) {
	arena := string(st.arena)
	for _, list := range [2][]span{st.spans[:st.n], st.more} {
		for _, sp := range list {
			if sp.inArena {
				m.setString(int(sp.id), arena[sp.start:sp.end])
			} else {
				m.setString(int(sp.id), st.frame[sp.start:sp.end])
			}
		}
	}
}

// setString stores a text field.
func (m *Message) setString(id int, v string) {
	if p := m.stringField(id); p != nil {
		*p = v
		return
	}
	m.Other = append(m.Other, Field{ID: id, Value: v})
}

// packCompiled encodes m in one pass: fields are checked and appended in field order, and the
// bitmap, whose length depends only on the highest field present, is filled in last.
func packCompiled(spec *Spec, m *Message) ([]byte, error) {
	if len(m.MTI) != 4 || !IsDigits(m.MTI) {
		return nil, &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrPack}
	}
	others := m.Other
	if !slices.IsSortedFunc(others, func(a, b Field) int { return a.ID - b.ID }) {
		others = slices.Clone(others)
		slices.SortFunc(others, func(a, b Field) int { return a.ID - b.ID })
	}
	p := packer{spec: spec, out: make([]byte, 0, packSizeHint)}
	var ok bool
	if p.out, ok = p.value(&spec.mti, p.out, m.MTI, nil, false); !ok {
		return nil, &FieldError{Field: 0, Reason: "does not fit the spec", Err: ErrPack}
	}
	units := 1
	if spec.bitmap.unitBits() == 64 && !spec.bitmap.noExpand && m.above64(others) {
		units = 2
	}
	bmAt, bmWire := len(p.out), units*spec.bitmap.unit
	if spec.bitmap.hex {
		bmWire *= 2
	}
	p.out = append(p.out, make([]byte, bmWire)...)
	oi := 0
	for _, id := range namedFields {
		for oi < len(others) && others[oi].ID < id {
			p.field(others[oi].ID, others[oi].Value, nil, false)
			oi++
		}
		if sp := m.stringField(id); sp != nil {
			if *sp != "" {
				p.field(id, *sp, nil, false)
			}
		} else if bp := m.binaryField(id); *bp != nil {
			p.field(id, "", *bp, true)
		}
	}
	for ; oi < len(others); oi++ {
		p.field(others[oi].ID, others[oi].Value, nil, false)
	}
	if p.err != nil {
		return nil, p.err
	}
	for u := 0; u < units-1; u++ {
		p.bitmap[u*spec.bitmap.unit] |= 0x80
	}
	bm := p.bitmap[:units*spec.bitmap.unit]
	if spec.bitmap.hex {
		appendUpperHex(p.out[bmAt:bmAt], bm)
	} else {
		copy(p.out[bmAt:], bm)
	}
	return p.out, nil
}

// above64 reports whether m carries a field above 64 (a secondary bitmap).
func (m *Message) above64(others []Field) bool {
	return m.NetworkCode != "" || m.OriginalData != "" || m.ReplacementAmounts != "" || m.MAC2 != nil ||
		(len(others) > 0 && others[len(others)-1].ID > 64)
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

// field appends field id: str, or bin when isBin (a typed binary field).
func (p *packer) field(id int, str string, bin []byte, isBin bool) {
	if p.err != nil {
		return
	}
	bl := p.spec.bitmap
	if id < 2 || id > maxField || bl.presence(id) || !p.spec.wire[id].defined || (bl.noExpand && id > bl.unitBits()) {
		p.err = &FieldError{Field: id, Reason: "not defined in the spec", Err: ErrPack}
		return
	}
	w := &p.spec.wire[id]
	var ok bool
	if w.fallback {
		p.out, ok = packFallback(w, p.out, str, bin, isBin)
	} else {
		p.out, ok = p.value(w, p.out, str, bin, isBin)
	}
	if !ok {
		p.err = &FieldError{Field: id, Reason: "does not fit the spec", Err: ErrPack}
		return
	}
	p.bitmap[(id-1)/8] |= 0x80 >> ((id - 1) % 8)
}

// value appends a compiled field's prefix and content.
func (p *packer) value(w *wireLayout, out []byte, str string, bin []byte, isBin bool) ([]byte, bool) {
	if !isBin && w.kind == kindString && w.enc == encASCII && (w.pad == padNone || len(str) >= w.length) {
		return appendASCII(w, out, str) // the common case, without a copy of the value
	}
	var buf [64]byte
	raw, ok := rawValue(w, buf[:0], str, bin, isBin)
	if !ok {
		return out, false
	}
	if w.pad != padNone && len(raw) < w.length {
		raw = w.padValue(raw)
	}
	start := len(out)
	if w.variable() {
		if out, ok = w.appendLength(out, len(raw)); !ok {
			return out[:start], false
		}
	} else if (w.hexFixed && len(raw) != 2*w.length) || (!w.hexFixed && len(raw) != w.length) {
		return out, false
	}
	if out, ok = w.encodeContent(out, raw); !ok {
		return out[:start], false
	}
	return out, true
}

// appendASCII appends an ASCII text field whose value needs no padding.
func appendASCII(w *wireLayout, out []byte, str string) ([]byte, bool) {
	for i := 0; i < len(str); i++ {
		if str[i] > 127 {
			return out, false
		}
	}
	if !w.variable() {
		if (w.hexFixed && len(str) != 2*w.length) || (!w.hexFixed && len(str) != w.length) {
			return out, false
		}
		return append(out, str...), true
	}
	out, ok := w.appendLength(out, len(str))
	if !ok {
		return out, false
	}
	return append(out, str...), true
}

// rawValue is the content a field's value packs: the bytes of a binary field, the characters of
// a text field, or a Numeric field's int64 in decimal.
func rawValue(w *wireLayout, dst []byte, str string, bin []byte, isBin bool) ([]byte, bool) {
	switch {
	case isBin && w.binary:
		return bin, true
	case isBin:
		str = string(bin)
	case w.binary:
		if len(str)%2 != 0 {
			return dst, false
		}
		start := len(dst)
		dst = append(dst, make([]byte, len(str)/2)...)
		if _, err := hex.Decode(dst[start:], []byte(str)); err != nil {
			return dst, false
		}
		return dst[start:], true
	}
	if w.kind == kindNumeric {
		n, err := strconv.ParseInt(str, 10, 64)
		if err != nil {
			return dst, false
		}
		return strconv.AppendInt(dst, n, 10), true
	}
	return append(dst, str...), true
}

// padValue pads raw to the field's length with its padding.
func (w *wireLayout) padValue(raw []byte) []byte {
	missing := w.length - len(raw)
	out := make([]byte, 0, w.length)
	if w.pad == padRight {
		out = append(out, raw...)
	}
	for range missing {
		out = append(out, w.padChar)
	}
	if w.pad == padLeft {
		out = append(out, raw...)
	}
	return out
}

// packFallback has moov-io pack a field the compiled codec does not implement.
func packFallback(w *wireLayout, out []byte, str string, bin []byte, isBin bool) ([]byte, bool) {
	raw := bin
	if !isBin {
		if w.binary {
			r, err := hex.DecodeString(str)
			if err != nil {
				return out, false
			}
			raw = r
		} else {
			raw = []byte(str)
		}
	}
	f := field.NewInstanceOf(w.def)
	if err := f.SetBytes(raw); err != nil {
		return out, false
	}
	packed, err := f.Pack()
	if err != nil {
		return out, false
	}
	return append(out, packed...), true
}

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

func appendUpperHex(out, b []byte) []byte {
	const digits = "0123456789ABCDEF"
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&0x0F])
	}
	return out
}
