// Package testkeys makes, stores and reads the keys of a test system: a terminal's PIN key (TPK)
// and MAC key (TAK), a DUKPT base derivation key (BDK), an issuer's zone PIN key (ZPK) and zone
// MAC key (ZAK), and an EMV issuer master key (MK-AC), each a cryptogram under an LMK with its
// check value — what a key ceremony hands to a switch, a terminal fleet and an issuer host. The
// clear keys never leave the hsm package; a keys file holds cryptograms only, and under the public
// test LMK they protect nothing, so a keys file is for tests, benchmarks and demos.
package testkeys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/cardswitch/cardswitch/hsm"
)

// Set is one test system's keys under the LMK named by LMK ("test" for the public Thales test
// LMK, or an LMK file's path).
type Set struct {
	LMK  string
	TPK  hsm.Key // terminal PIN key (002)
	TAK  hsm.Key // terminal MAC key (003)
	BDK  hsm.Key // DUKPT base derivation key, type 1 (009)
	ZPK  hsm.Key // issuer zone PIN key (001)
	ZAK  hsm.Key // issuer zone MAC key (008)
	MKAC hsm.Key // EMV issuer master key for application cryptograms (109)
}

// Generate makes a fresh random double-length key of each kind under s's LMK; lmk names that
// LMK in the set ("test" for hsm.TestLMK).
func Generate(s *hsm.Soft, lmk string) (Set, error) {
	ks, err := s.NewTestKeySet()
	if err != nil {
		return Set{}, fmt.Errorf("test keys: %w", err)
	}
	return Set{LMK: lmk, TPK: ks.TPK, TAK: ks.TAK, BDK: ks.BDK, ZPK: ks.ZPK, ZAK: ks.ZAK, MKAC: ks.MKAC}, nil
}

// slot is one key of a set: its name in a keys file and its type.
type slot struct {
	name string
	kt   hsm.KeyType
	get  func(*Set) *hsm.Key
}

var slots = []slot{
	{"tpk", hsm.KeyTypeTPK, func(s *Set) *hsm.Key { return &s.TPK }},
	{"tak", hsm.KeyTypeTAK, func(s *Set) *hsm.Key { return &s.TAK }},
	{"bdk", hsm.KeyTypeBDK1, func(s *Set) *hsm.Key { return &s.BDK }},
	{"zpk", hsm.KeyTypeZPK, func(s *Set) *hsm.Key { return &s.ZPK }},
	{"zak", hsm.KeyTypeZAK, func(s *Set) *hsm.Key { return &s.ZAK }},
	{"mk_ac", hsm.KeyTypeMKAC, func(s *Set) *hsm.Key { return &s.MKAC }},
}

// Check has h check every key of the set (parity under the LMK, check value); the error names
// the key.
func (ks Set) Check(ctx context.Context, h interface {
	CheckKey(context.Context, hsm.Key) error
}) error {
	for _, sl := range slots {
		k := *sl.get(&ks)
		if k.Cryptogram == "" {
			continue
		}
		if err := h.CheckKey(ctx, k); err != nil {
			return fmt.Errorf("test keys: %s: %w", sl.name, err)
		}
	}
	return nil
}

// fileKey is a key as a keys file spells it.
type fileKey struct {
	Type       string `yaml:"type"`
	Cryptogram string `yaml:"cryptogram"`
	CheckValue string `yaml:"check_value"`
}

// maxFileBytes bounds a keys file (a guard against reading the wrong file).
const maxFileBytes = 64 << 10

// ErrFormat is wrapped by every keys-file error.
var ErrFormat = errors.New("keys file")

// Write writes the set as a keys file:
//
//	# cardswitch test keys: cryptograms under the LMK, with their check values
//	lmk: test
//	tpk: {type: "002", cryptogram: U…, check_value: "1A2B3C"}
//	…
func (ks Set) Write(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("# cardswitch test keys: cryptograms under the LMK, with their check values.\n")
	b.WriteString("# Under the public test LMK they protect nothing: never use them for live cards.\n")
	fmt.Fprintf(&b, "lmk: %q\n", ks.LMK)
	for _, sl := range slots {
		k := *sl.get(&ks)
		if k.Cryptogram == "" {
			continue
		}
		fmt.Fprintf(&b, "%s: {type: %q, cryptogram: %q, check_value: %q}\n", sl.name, string(sl.kt), k.Cryptogram, k.CheckValue)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// WriteFile writes the set to path, readable and writable by its owner only.
func (ks Set) WriteFile(path string) error {
	var b bytes.Buffer
	if err := ks.Write(&b); err != nil {
		return err
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return fmt.Errorf("test keys: %w", err)
	}
	return nil
}

// Parse reads a keys file. Every key present must have the type its name implies (the type
// may be left out) and a cryptogram; unknown names are errors.
func Parse(r io.Reader) (Set, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxFileBytes+1))
	if err != nil {
		return Set{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if len(raw) > maxFileBytes {
		return Set{}, fmt.Errorf("%w: larger than %d bytes", ErrFormat, maxFileBytes)
	}
	var doc struct {
		LMK  string   `yaml:"lmk"`
		TPK  *fileKey `yaml:"tpk"`
		TAK  *fileKey `yaml:"tak"`
		BDK  *fileKey `yaml:"bdk"`
		ZPK  *fileKey `yaml:"zpk"`
		ZAK  *fileKey `yaml:"zak"`
		MKAC *fileKey `yaml:"mk_ac"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		// The decoder's message quotes no values beyond a key name for an unknown field.
		return Set{}, fmt.Errorf("%w: %s", ErrFormat, strings.Join(strings.Fields(err.Error()), " "))
	}
	ks := Set{LMK: doc.LMK}
	if ks.LMK == "" {
		ks.LMK = "test"
	}
	in := map[string]*fileKey{"tpk": doc.TPK, "tak": doc.TAK, "bdk": doc.BDK, "zpk": doc.ZPK, "zak": doc.ZAK, "mk_ac": doc.MKAC}
	for _, sl := range slots {
		fk := in[sl.name]
		if fk == nil {
			continue
		}
		if fk.Type != "" && hsm.KeyType(fk.Type) != sl.kt {
			return Set{}, fmt.Errorf("%w: %s: type %q, want %q", ErrFormat, sl.name, fk.Type, string(sl.kt))
		}
		if fk.Cryptogram == "" {
			return Set{}, fmt.Errorf("%w: %s: no cryptogram", ErrFormat, sl.name)
		}
		*sl.get(&ks) = hsm.Key{Type: sl.kt, Cryptogram: fk.Cryptogram, CheckValue: fk.CheckValue}
	}
	return ks, nil
}

// ReadFile reads a keys file.
func ReadFile(path string) (Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return Set{}, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	defer f.Close()
	return Parse(f)
}

// ConfigKey renders k as the switch configuration spells a key, a YAML flow mapping:
// {cryptogram: "U…", check_value: "1A2B3C"}.
func ConfigKey(k hsm.Key) string {
	return fmt.Sprintf("{cryptogram: %q, check_value: %q}", k.Cryptogram, k.CheckValue)
}
