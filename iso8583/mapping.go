package iso8583

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/moov-io/iso8583/field"
)

// A Mapping translates between the engine's one internal form (the contract's fields) and a
// link's dialect: on the way out (Out) it rewrites the MTI and applies its rules in order; on the
// way back (Back) it undoes them in reverse order, so that the engine sees the answer in its own
// form. Rules address fields by number ("48") or a sub-field of a composite field of the link's
// spec by path ("62.01", "48.01.02").
//
//	op      out (engine → host)                 back (host → engine)
//	move    to = from; from dropped             from = to; to dropped
//	copy    to = from                           to dropped
//	set     field = value                       field dropped
//	drop    field dropped                       nothing
//	map     field's value through values        through the inverse of values
type Mapping struct {
	spec  *Spec
	mti   map[string]string // engine request MTI → host MTI
	back  map[string]string // host request MTI → engine MTI
	rules []rule
}

// MappingConfig is a mapping as the configuration file writes it.
type MappingConfig struct {
	// MTI maps the engine's request MTIs to the host's (e.g. "0100": "1100" for an ISO 8583:1993
	// host); answers are mapped back by their class.
	MTI map[string]string `yaml:"mti"`
	// Fields are the rules, applied in order on the way out and in reverse on the way back.
	Fields []RuleConfig `yaml:"fields"`
}

// RuleConfig is one mapping rule.
type RuleConfig struct {
	Op     string            `yaml:"op"`     // move, copy, set, drop or map
	From   string            `yaml:"from"`   // move, copy: the field (or sub-field path) read
	To     string            `yaml:"to"`     // move, copy: the field written
	Field  string            `yaml:"field"`  // set, drop, map: the field
	Value  string            `yaml:"value"`  // set: the constant
	Values map[string]string `yaml:"values"` // map: engine value → host value
}

// IsZero reports whether the mapping does nothing.
func (c MappingConfig) IsZero() bool { return len(c.MTI) == 0 && len(c.Fields) == 0 }

type rule struct {
	op       string
	from, to path
	value    string
	values   map[string]string
	inverse  map[string]string
}

// path is a field, or a sub-field of a composite field.
type path struct {
	id  int
	sub string // "" for the whole field; else moov-io's sub-field path ("01", "01.02")
}

func (p path) String() string {
	if p.sub == "" {
		return strconv.Itoa(p.id)
	}
	return strconv.Itoa(p.id) + "." + p.sub
}

// ErrMapping is wrapped by every mapping configuration error.
var ErrMapping = errors.New("mapping")

// NewMapping checks c against the link's spec. Sub-field paths must name sub-fields of a
// composite field of spec; fields written to the host must be defined in it.
func NewMapping(c MappingConfig, spec *Spec) (*Mapping, error) {
	m := &Mapping{spec: spec, mti: map[string]string{}, back: map[string]string{}}
	for from, to := range c.MTI {
		if !mtiOK(from) || !IsRequest(from) {
			return nil, fmt.Errorf("%w: mti %q: must be a 4-digit request MTI", ErrMapping, from)
		}
		if !mtiOK(to) || !IsRequest(to) {
			return nil, fmt.Errorf("%w: mti %q: %q must be a 4-digit request MTI", ErrMapping, from, to)
		}
		m.mti[from] = to
		if prev, dup := m.back[to]; !dup || from < prev {
			m.back[to] = from // two engine MTIs on one host MTI: its own requests map back to the lowest
		}
	}
	for i, rc := range c.Fields {
		r, err := m.compile(rc, spec)
		if err != nil {
			return nil, fmt.Errorf("%w: fields[%d] (%s): %w", ErrMapping, i, rc.Op, err)
		}
		m.rules = append(m.rules, r)
	}
	return m, nil
}

func mtiOK(s string) bool { return len(s) == 4 && IsDigits(s) }

func (m *Mapping) compile(rc RuleConfig, spec *Spec) (rule, error) {
	r := rule{op: rc.Op, value: rc.Value}
	var err error
	parse := func(key, s string) (path, error) {
		if s == "" {
			return path{}, fmt.Errorf("%s is required", key)
		}
		p, err := parsePath(s, spec)
		if err != nil {
			return path{}, fmt.Errorf("%s %q: %w", key, s, err)
		}
		return p, nil
	}
	switch rc.Op {
	case "move", "copy":
		if r.from, err = parse("from", rc.From); err != nil {
			return r, err
		}
		r.to, err = parse("to", rc.To)
	case "set":
		r.to, err = parse("field", rc.Field)
		if err == nil && rc.Value == "" {
			err = errors.New("value is required")
		}
	case "drop":
		r.from, err = parse("field", rc.Field)
	case "map":
		r.to, err = parse("field", rc.Field)
		if err == nil && len(rc.Values) == 0 {
			err = errors.New("values is required")
		}
		r.values, r.inverse = rc.Values, map[string]string{}
		for k, v := range rc.Values {
			if prev, dup := r.inverse[v]; !dup || k < prev {
				r.inverse[v] = k
			}
		}
	default:
		return r, fmt.Errorf("op %q must be move, copy, set, drop or map", rc.Op)
	}
	return r, err
}

// parsePath reads "N" or "N.sub[.sub...]"; a sub-field path must name sub-fields of a composite
// field of spec.
func parsePath(s string, spec *Spec) (path, error) {
	head, sub, _ := strings.Cut(s, ".")
	id, err := strconv.Atoi(head)
	if err != nil || id < 2 || id > maxField {
		return path{}, errors.New("must be a field number 2..128, or a sub-field path such as 62.01")
	}
	p := path{id: id, sub: sub}
	if sub == "" {
		return p, nil
	}
	def := spec.moov.Fields[id]
	if def == nil {
		return p, fmt.Errorf("field %d is not defined in spec %s", id, spec.Name())
	}
	fs := def.Spec()
	for _, part := range strings.Split(sub, ".") {
		if len(fs.Subfields) == 0 {
			return p, fmt.Errorf("field %d is not a composite field in spec %s", id, spec.Name())
		}
		f, ok := fs.Subfields[part]
		if !ok {
			return p, fmt.Errorf("sub-field %s is not defined in field %d of spec %s", part, id, spec.Name())
		}
		fs = f.Spec()
	}
	return p, nil
}

// MTIOut is the host's MTI for an engine MTI.
func (m *Mapping) MTIOut(mti string) string {
	if m == nil {
		return mti
	}
	if to, ok := m.mti[mti]; ok {
		return to
	}
	if IsRequest(mti) || len(mti) != 4 {
		return mti
	}
	// An answer the engine sends (to a host's request): the answer to the mapped request.
	for from, to := range m.mti {
		if ResponseMTI(from) == mti {
			return hostAnswer(to)
		}
	}
	return mti
}

// MTIBack is the engine's MTI for a host's MTI; req, when not nil, is the engine request a host
// answer belongs to.
func (m *Mapping) MTIBack(mti string, req *Message) string {
	if m == nil || len(mti) != 4 {
		return mti
	}
	if IsRequest(mti) {
		if from, ok := m.back[mti]; ok {
			return from
		}
		return mti
	}
	if req != nil && hostAnswer(m.MTIOut(req.MTI)) == mti {
		return ResponseMTI(req.MTI)
	}
	for to, from := range m.back {
		if hostAnswer(to) == mti {
			return ResponseMTI(from)
		}
	}
	return mti
}

// hostAnswer is the answer MTI of a host request: its function digit advanced, its origin kept
// (1100 → 1110, 1420 → 1430, 1804 → 1814, 0800 → 0810).
func hostAnswer(mti string) string {
	if len(mti) != 4 || !IsRequest(mti) {
		return ""
	}
	b := []byte(mti)
	b[2]++
	return string(b)
}

// Out returns the host's form of msg (msg itself is not modified).
func (m *Mapping) Out(msg *Message) (*Message, error) {
	if m == nil {
		return msg, nil
	}
	out := msg.clone()
	out.MTI = m.MTIOut(msg.MTI)
	for _, r := range m.rules {
		if err := m.apply(out, r, false); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Back returns the engine's form of a host message (msg itself is not modified); req, when not
// nil, is the engine request it answers.
func (m *Mapping) Back(msg, req *Message) (*Message, error) {
	if m == nil {
		return msg, nil
	}
	out := msg.clone()
	out.MTI = m.MTIBack(msg.MTI, req)
	for i := len(m.rules) - 1; i >= 0; i-- {
		if err := m.apply(out, m.rules[i], true); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (m *Mapping) apply(msg *Message, r rule, back bool) error {
	switch {
	case r.op == "move" && !back:
		return m.transfer(msg, r.from, r.to, true)
	case r.op == "move":
		return m.transfer(msg, r.to, r.from, true)
	case r.op == "copy" && !back:
		return m.transfer(msg, r.from, r.to, false)
	case r.op == "copy", r.op == "set" && back:
		return m.clear(msg, r.to)
	case r.op == "set":
		return m.put(msg, r.to, r.value)
	case r.op == "drop" && !back:
		return m.clear(msg, r.from)
	case r.op == "map":
		v, ok, err := m.get(msg, r.to)
		if err != nil || !ok {
			return err
		}
		table := r.values
		if back {
			table = r.inverse
		}
		if nv, found := table[v]; found {
			return m.put(msg, r.to, nv)
		}
	}
	return nil
}

// transfer writes from's value to to (when from is present) and, for a move, drops from.
func (m *Mapping) transfer(msg *Message, from, to path, move bool) error {
	v, ok, err := m.get(msg, from)
	if err != nil || !ok {
		return err
	}
	if move {
		if err := m.clear(msg, from); err != nil {
			return err
		}
	}
	return m.put(msg, to, v)
}

// get reads a field or sub-field as text (binary sub-fields as upper-case hex).
func (m *Mapping) get(msg *Message, p path) (string, bool, error) {
	v, ok := msg.text(p.id)
	if !ok || p.sub == "" {
		return v, ok, nil
	}
	c, err := m.composite(msg, p.id)
	if err != nil {
		return "", false, err
	}
	var out string
	if err := c.UnmarshalPath(p.sub, &out); err != nil {
		return "", false, &FieldError{Field: p.id, Reason: "sub-field " + p.sub + " unreadable", Err: ErrUnpack}
	}
	return out, out != "", nil
}

// put writes a field or sub-field.
func (m *Mapping) put(msg *Message, p path, v string) error {
	if p.sub == "" {
		msg.setText(p.id, v)
		return nil
	}
	c, err := m.composite(msg, p.id)
	if err != nil {
		return err
	}
	if err := c.MarshalPath(p.sub, v); err != nil {
		return &FieldError{Field: p.id, Reason: "sub-field " + p.sub + " does not fit the spec", Err: ErrPack}
	}
	return m.store(msg, p.id, c)
}

// clear drops a field or sub-field.
func (m *Mapping) clear(msg *Message, p path) error {
	if p.sub == "" {
		msg.Clear(p.id)
		return nil
	}
	if _, ok := msg.text(p.id); !ok {
		return nil
	}
	c, err := m.composite(msg, p.id)
	if err != nil {
		return err
	}
	if err := c.UnsetPath(p.sub); err != nil {
		return &FieldError{Field: p.id, Reason: "sub-field " + p.sub + " cannot be removed", Err: ErrPack}
	}
	return m.store(msg, p.id, c)
}

// composite loads field id of msg (absent: empty) into a moov-io composite of the link's spec.
func (m *Mapping) composite(msg *Message, id int) (*field.Composite, error) {
	c, ok := field.NewInstanceOf(m.spec.moov.Fields[id]).(*field.Composite)
	if !ok {
		return nil, &FieldError{Field: id, Reason: "not a composite field", Err: ErrPack}
	}
	v, present := msg.text(id)
	if !present {
		return c, nil
	}
	raw := []byte(v)
	if m.spec.wire[id].binary {
		var err error
		if raw, err = hex.DecodeString(v); err != nil {
			return nil, &FieldError{Field: id, Reason: "not hex", Err: ErrUnpack}
		}
	}
	if err := c.SetBytes(raw); err != nil {
		return nil, &FieldError{Field: id, Reason: "sub-fields unreadable", Err: ErrUnpack}
	}
	return c, nil
}

// store writes a composite back as field id (an empty composite removes the field).
func (m *Mapping) store(msg *Message, id int, c *field.Composite) error {
	raw, err := c.Bytes()
	if err != nil {
		return &FieldError{Field: id, Reason: "sub-fields do not fit the spec", Err: ErrPack}
	}
	v := string(raw)
	if m.spec.wire[id].binary {
		v = string(appendUpperHex(nil, raw))
	}
	msg.setText(id, v)
	return nil
}

// text returns field id as text (typed binary fields as upper-case hex).
func (m *Message) text(id int) (string, bool) {
	if p := m.stringField(id); p != nil {
		return *p, *p != ""
	}
	if p := m.binaryField(id); p != nil {
		return string(appendUpperHex(nil, *p)), *p != nil
	}
	for _, f := range m.Other {
		if f.ID == id {
			return f.Value, true
		}
	}
	return "", false
}

// setText sets field id from text (typed binary fields from hex); "" removes the field.
func (m *Message) setText(id int, v string) {
	m.Clear(id)
	if v == "" {
		return
	}
	if p := m.binaryField(id); p != nil {
		if raw, err := hex.DecodeString(v); err == nil {
			*p = raw
		}
		return
	}
	m.setString(id, v)
}

// clone is a copy of m whose Other can be changed without touching m's.
func (m *Message) clone() *Message {
	c := *m
	c.Other = append([]Field(nil), m.Other...)
	return &c
}
