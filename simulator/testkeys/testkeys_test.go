package testkeys

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/hsm"
)

func TestGenerateWriteRead(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	ks, err := Generate(soft, "test")
	require.NoError(t, err)
	require.NoError(t, ks.Check(context.Background(), soft), "every generated key checks under the LMK")
	for name, k := range map[string]hsm.Key{"tpk": ks.TPK, "tak": ks.TAK, "bdk": ks.BDK, "zpk": ks.ZPK, "zak": ks.ZAK, "mk_ac": ks.MKAC} {
		require.Len(t, k.CheckValue, 6, name)
		require.True(t, strings.HasPrefix(k.Cryptogram, "U"), "%s is a double-length variant-scheme key", name)
	}

	path := filepath.Join(t.TempDir(), "keys.yaml")
	require.NoError(t, ks.WriteFile(path))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "a keys file is its owner's only")
	back, err := ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, ks, back)
}

func TestParse(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	ks, err := Generate(soft, "test")
	require.NoError(t, err)
	tests := []struct {
		name string
		file string
		want string // "" when it parses
	}{
		{"type may be left out", "tpk: {cryptogram: " + ks.TPK.Cryptogram + ", check_value: " + ks.TPK.CheckValue + "}", ""},
		{"no LMK means the test LMK", "zpk: {cryptogram: " + ks.ZPK.Cryptogram + "}", ""},
		{"wrong type for the name", "tpk: {type: \"001\", cryptogram: " + ks.TPK.Cryptogram + "}", `tpk: type "001", want "002"`},
		{"no cryptogram", "zak: {check_value: ABCDEF}", "zak: no cryptogram"},
		{"unknown key name", "cvk: {cryptogram: U00}", "field cvk not found"},
		{"not YAML", "tpk: [", "keys file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tc.file))
			if tc.want != "" {
				require.ErrorIs(t, err, ErrFormat)
				require.ErrorContains(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.Equal(t, "test", got.LMK)
		})
	}
}

func TestCheckNamesTheBadKey(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	ks, err := Generate(soft, "test")
	require.NoError(t, err)
	ks.ZAK.CheckValue = "000000"
	err = ks.Check(context.Background(), soft)
	require.ErrorIs(t, err, hsm.ErrKCV)
	require.ErrorContains(t, err, "zak")
	require.NotContains(t, err.Error(), ks.ZAK.Cryptogram)
}

func TestWriteIsParseable(t *testing.T) {
	ks := Set{LMK: "/etc/lmk", TPK: hsm.Key{Type: hsm.KeyTypeTPK, Cryptogram: "U0123", CheckValue: "ABCDEF"}}
	var b bytes.Buffer
	require.NoError(t, ks.Write(&b))
	got, err := Parse(&b)
	require.NoError(t, err)
	require.Equal(t, ks, got)
	require.Equal(t, `{cryptogram: "U0123", check_value: "ABCDEF"}`, ConfigKey(ks.TPK))
	require.False(t, errors.Is(err, ErrFormat))
}

// FuzzParse: a keys file is read from disk; no content makes Parse panic, and whatever it
// accepts writes back to a file that parses to the same set.
func FuzzParse(f *testing.F) {
	soft := hsm.NewSoft(hsm.TestLMK())
	ks, err := Generate(soft, "test")
	if err != nil {
		f.Fatal(err)
	}
	var b bytes.Buffer
	if err := ks.Write(&b); err != nil {
		f.Fatal(err)
	}
	f.Add(b.String())
	f.Add("tpk: {cryptogram: U00}\nlmk: /x\n")
	f.Add("zak: [")
	f.Fuzz(func(t *testing.T, file string) {
		set, err := Parse(strings.NewReader(file))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		var out bytes.Buffer
		if err := set.Write(&out); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(&out)
		if err != nil || back != set {
			t.Fatalf("written set does not read back: %v", err)
		}
	})
}
