package iso8583

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuiltinSpecs(t *testing.T) {
	require.Equal(t, []string{SpecContract, SpecMoov87ASCII, SpecMoov87Hex}, BuiltinSpecNames())
	for _, name := range append(BuiltinSpecNames(), "") {
		s, err := LoadSpec(name)
		require.NoError(t, err)
		compiled, _ := s.Compiled()
		require.True(t, compiled, name)
	}
	def, _ := LoadSpec("")
	require.Same(t, AcquirerSpec(), def)
	moovASCII, _ := LoadSpec(SpecMoov87ASCII)
	require.False(t, moovASCII.Defines(70), "moov-io's Spec87ASCII has no field 70")
}

// TestMoovSpec87ASCIIAsShipped pins what a host built on moov-io's Spec87ASCII sends: a 32-character
// bitmap always, and the fields the switch uses.
func TestMoovSpec87ASCIIAsShipped(t *testing.T) {
	s, err := LoadSpec(SpecMoov87ASCII)
	require.NoError(t, err)
	m := &Message{MTI: "0110", STAN: "000001", ResponseCode: "00", Amount: "000000001000", ProcessingCode: "000000"}
	b, err := m.Pack(s)
	require.NoError(t, err)
	require.Equal(t, "0110"+"30200000020000000000000000000000"+"000000"+"000000001000"+"000001"+"00", string(b))
	back, err := Unpack(s, b)
	require.NoError(t, err)
	require.Equal(t, m, back)
}

func TestLoadSpecRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile("testdata/specs/pos-bcd-binary.json")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, edit, want string
	}{
		{"unknown encoding", `"enc": "BCD",` + "\n\t\t\t\"prefix\": \"BCD.LL\"", `field 2: unknown encoding "BDC"`},
		{"unknown prefix", `"prefix": "BCD.LL"`, `field 2: unknown prefix "BCD.LX"`},
		{"not JSON", `{`, "not JSON"},
		{"no MTI", `"0": {`, "field 0: the MTI"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := string(good)
			switch tc.name {
			case "unknown encoding":
				raw = strings.Replace(raw, `"enc": "BCD",`+"\n\t\t\t\"prefix\": \"BCD.LL\"", `"enc": "BDC",`+"\n\t\t\t\"prefix\": \"BCD.LL\"", 1)
			case "unknown prefix":
				raw = strings.Replace(raw, `"prefix": "BCD.LL"`, `"prefix": "BCD.LX"`, 1)
			case "not JSON":
				raw = raw[:10]
			case "no MTI":
				raw = strings.Replace(raw, `"0": {`, `"99": {`, 1)
			}
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".json")
			require.NoError(t, os.WriteFile(p, []byte(raw), 0o600))
			_, err := LoadSpec(p)
			require.ErrorIs(t, err, ErrSpec)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), p)
			require.NotContains(t, err.Error(), "\n")
		})
	}
	_, err = LoadSpec("no-such-builtin")
	require.ErrorContains(t, err, "not a built-in spec (contract, moov-spec87ascii, moov-spec87hex) nor a JSON file")
	_, err = LoadSpec(filepath.Join(dir, "missing.json"))
	require.ErrorIs(t, err, ErrSpec)
}

func TestCheckSpecNamesTheField(t *testing.T) {
	raw := `{"fields": {"0": {"type": "String", "length": 4, "enc": "ASCII", "prefix": "ASCII.Fixed"},
		"1": {"type": "Bitmap", "length": 8, "enc": "HexToASCII", "prefix": "Hex.Fixed"},
		"2": {"type": "String", "length": 199, "enc": "ASCII", "prefix": "ASCII.LL"}}}`
	_, err := ParseSpecJSON("x.json", []byte(raw))
	require.EqualError(t, err, "spec x.json: field 2: length 199 does not fit an ASCII.LL prefix (at most 99)")
	raw = strings.Replace(raw, `"length": 199`, `"length": 19, "padding": {"type": "Left", "pad": "00"}`, 1)
	_, err = ParseSpecJSON("x.json", []byte(raw))
	require.EqualError(t, err, `spec x.json: field 2: padding "00" must be one character`)
}
