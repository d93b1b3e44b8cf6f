package iso8583

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	moov "github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/specs"
)

// Built-in spec names (CONTRACT §3).
const (
	// SpecContract is the acquirer spec of CONTRACT §2 (AcquirerSpec), the default everywhere.
	SpecContract = "contract"
	// SpecMoov87ASCII is moov-io's specs.Spec87ASCII exactly as the library ships it: a 16-byte
	// bitmap (32 hex characters) always, no field 70, and fields 52 and 64 that unpack but cannot
	// be packed with an 8-byte value.
	SpecMoov87ASCII = "moov-spec87ascii"
	// SpecMoov87Hex is moov-io's specs.Spec87Hex exactly as the library ships it. moov-io v0.26.1
	// unpacks it but cannot pack its MTI (Hex.Fixed), so nothing can be sent with it.
	SpecMoov87Hex = "moov-spec87hex"
)

// builtinSpecs are built once and read-only afterwards.
var builtinSpecs = map[string]*Spec{
	SpecContract:    acquirerSpec,
	SpecMoov87ASCII: mustSpec(SpecMoov87ASCII, specs.Spec87ASCII),
	SpecMoov87Hex:   mustSpec(SpecMoov87Hex, specs.Spec87Hex),
}

func mustSpec(name string, ms *moov.MessageSpec) *Spec {
	s, err := newSpec(name, ms)
	if err != nil {
		panic("iso8583: built-in spec " + name + ": " + err.Error())
	}
	return s
}

// BuiltinSpecNames lists the built-in specs, sorted.
func BuiltinSpecNames() []string {
	names := make([]string, 0, len(builtinSpecs))
	for n := range builtinSpecs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ErrSpec is wrapped by every problem with a spec.
var ErrSpec = errors.New("spec")

// SpecError is a spec that cannot be used, naming the field (-1: the spec as a whole).
type SpecError struct {
	Spec   string
	Field  int
	Reason string
}

func (e *SpecError) Error() string {
	if e.Field < 0 {
		return fmt.Sprintf("spec %s: %s", e.Spec, e.Reason)
	}
	return fmt.Sprintf("spec %s: field %d: %s", e.Spec, e.Field, e.Reason)
}

func (e *SpecError) Unwrap() error { return ErrSpec }

// specFileMax bounds a JSON spec file (a guard against naming the wrong file).
const specFileMax = 4 << 20

// LoadSpec returns the built-in spec of that name, or loads the JSON spec at that path ("" is
// the contract spec). A spec that does not check is refused with the field and the reason.
func LoadSpec(nameOrPath string) (*Spec, error) {
	if nameOrPath == "" {
		return acquirerSpec, nil
	}
	if s, ok := builtinSpecs[nameOrPath]; ok {
		return s, nil
	}
	if !strings.ContainsAny(nameOrPath, "/.") {
		return nil, &SpecError{Spec: nameOrPath, Field: -1, Reason: fmt.Sprintf("not a built-in spec (%s) nor a JSON file", strings.Join(BuiltinSpecNames(), ", "))}
	}
	f, err := os.Open(nameOrPath)
	if err != nil {
		return nil, &SpecError{Spec: nameOrPath, Field: -1, Reason: err.Error()}
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, specFileMax+1))
	if err != nil {
		return nil, &SpecError{Spec: nameOrPath, Field: -1, Reason: err.Error()}
	}
	if len(raw) > specFileMax {
		return nil, &SpecError{Spec: nameOrPath, Field: -1, Reason: fmt.Sprintf("larger than %d bytes", specFileMax)}
	}
	return ParseSpecJSON(nameOrPath, raw)
}

// ParseSpecJSON reads a spec in moov-io/iso8583's JSON format (what specs.ExportJSON writes and
// specs.ImportJSON reads) and checks it.
func ParseSpecJSON(name string, raw []byte) (*Spec, error) {
	if err := precheckJSON(name, raw); err != nil {
		return nil, err
	}
	ms, err := specs.ImportJSON(raw)
	if err != nil {
		return nil, &SpecError{Spec: name, Field: -1, Reason: strings.Join(strings.Fields(err.Error()), " ")}
	}
	return newSpec(name, ms)
}

// ExportJSON writes the spec in moov-io/iso8583's JSON format.
func (s *Spec) ExportJSON() ([]byte, error) { return specs.ExportJSON(s.moov) }

// jsonField is the part of moov-io's JSON field format that precheckJSON reads.
type jsonField struct {
	Type    string `json:"type"`
	Length  int    `json:"length"`
	Enc     string `json:"enc"`
	Prefix  string `json:"prefix"`
	Padding *struct {
		Type string `json:"type"`
		Pad  string `json:"pad"`
	} `json:"padding"`
	Subfields map[string]*jsonField `json:"subfields"`
	Tag       *struct {
		Enc  string `json:"enc"`
		Sort string `json:"sort"`
	} `json:"tag"`
	Bitmap *jsonField `json:"bitmap"`
}

// precheckJSON names the field and the reason for what moov-io's importer would refuse with a
// less precise message, or silently accept (a padding of more than one character is dropped).
func precheckJSON(name string, raw []byte) error {
	var doc struct {
		Fields map[string]*jsonField `json:"fields"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return &SpecError{Spec: name, Field: -1, Reason: "not JSON in moov-io's spec format: " + err.Error()}
	}
	if len(doc.Fields) == 0 {
		return &SpecError{Spec: name, Field: -1, Reason: `no "fields"`}
	}
	for key, f := range doc.Fields {
		id, err := strconv.Atoi(key)
		if err != nil || id < 0 {
			return &SpecError{Spec: name, Field: -1, Reason: fmt.Sprintf("field key %q is not a field number", key)}
		}
		if f == nil {
			return &SpecError{Spec: name, Field: id, Reason: "empty definition"}
		}
		if reason := precheckField(f, ""); reason != "" {
			return &SpecError{Spec: name, Field: id, Reason: reason}
		}
	}
	return nil
}

func precheckField(f *jsonField, path string) string {
	at := ""
	if path != "" {
		at = "subfield " + path + ": "
	}
	if _, ok := specs.FieldConstructor[f.Type]; !ok {
		return fmt.Sprintf("%sunknown type %q (want one of %s)", at, f.Type, keys(specs.FieldConstructor))
	}
	if _, ok := specs.PrefixesExtToInt[f.Prefix]; !ok {
		return fmt.Sprintf("%sunknown prefix %q (want one of %s)", at, f.Prefix, keys(specs.PrefixesExtToInt))
	}
	if len(f.Subfields) == 0 {
		if _, ok := specs.EncodingsExtToInt[f.Enc]; !ok {
			return fmt.Sprintf("%sunknown encoding %q (want one of %s)", at, f.Enc, keys(specs.EncodingsExtToInt))
		}
	}
	if f.Padding != nil {
		if _, ok := specs.PaddersExtToInt[f.Padding.Type]; !ok {
			return fmt.Sprintf("%sunknown padding type %q (want Left, Right or None)", at, f.Padding.Type)
		}
		if f.Padding.Type != "None" && len([]rune(f.Padding.Pad)) != 1 {
			return fmt.Sprintf("%spadding %q must be one character", at, f.Padding.Pad)
		}
	}
	if f.Length < 0 {
		return at + "negative length"
	}
	if f.Tag != nil && f.Tag.Sort != "" {
		if _, ok := specs.SortExtToInt[f.Tag.Sort]; !ok {
			return fmt.Sprintf("%sunknown tag sort %q (want one of %s)", at, f.Tag.Sort, keys(specs.SortExtToInt))
		}
	}
	if len(f.Subfields) > 0 && f.Tag != nil && f.Tag.Sort == "" {
		return at + `a tagged composite needs "sort" in its "tag" (StringsByInt or StringsByHex)`
	}
	for k, sub := range f.Subfields {
		if sub == nil {
			return fmt.Sprintf("%ssubfield %s: empty definition", at, k)
		}
		p := k
		if path != "" {
			p = path + "." + k
		}
		if reason := precheckField(sub, p); reason != "" {
			return reason
		}
	}
	if f.Bitmap != nil {
		if reason := precheckField(f.Bitmap, path+"(bitmap)"); reason != "" {
			return reason
		}
	}
	return ""
}

func keys[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ", ")
}

// checkSpec refuses a spec the switch cannot use, naming the field: it needs a 4-digit MTI and a
// bitmap, and every field a prefix, an encoding and a length its prefix can express.
func checkSpec(name string, ms *moov.MessageSpec) error {
	if ms.Fields[0] == nil {
		return &SpecError{Spec: name, Field: 0, Reason: "the MTI (field 0) is not defined"}
	}
	if fs := ms.Fields[0].Spec(); fs.Length != 4 || fs.Pref == nil || !strings.HasSuffix(fs.Pref.Inspect(), ".Fixed") {
		return &SpecError{Spec: name, Field: 0, Reason: "the MTI must be fixed, 4 digits long"}
	}
	if _, ok := ms.Fields[1].(*field.Bitmap); !ok {
		return &SpecError{Spec: name, Field: 1, Reason: "field 1 must be the bitmap (type Bitmap)"}
	}
	if fs := ms.Fields[1].Spec(); fs.Length != 0 && fs.Length != 8 && fs.Length != 16 {
		return &SpecError{Spec: name, Field: 1, Reason: fmt.Sprintf("a bitmap of %d bytes (want 8 or 16)", fs.Length)}
	}
	for id, f := range ms.Fields {
		if id > maxField {
			return &SpecError{Spec: name, Field: id, Reason: "fields above 128 (a tertiary bitmap) are not supported"}
		}
		if id < 2 {
			continue
		}
		if reason := checkField(f); reason != "" {
			return &SpecError{Spec: name, Field: id, Reason: reason}
		}
	}
	return nil
}

func checkField(f field.Field) string {
	if f == nil {
		return "nil definition"
	}
	fs := f.Spec()
	if fs == nil || fs.Pref == nil {
		return "no prefix"
	}
	if len(fs.Subfields) == 0 && fs.Enc == nil {
		return "no encoding"
	}
	if fs.Length <= 0 {
		return "length must be positive"
	}
	pref := fs.Pref.Inspect()
	kind, ls, _ := strings.Cut(pref, ".")
	if ls == "Fixed" || kind == "BerTLV" {
		return ""
	}
	digits := len(ls)
	most := pow10(digits) - 1
	if kind == "Binary" || kind == "Hex" {
		most = 1<<(8*digits) - 1
	}
	if fs.Length > most {
		return fmt.Sprintf("length %d does not fit an %s prefix (at most %d)", fs.Length, pref, most)
	}
	return ""
}
