package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
)

const posSpec = "../../iso8583/testdata/specs/pos-bcd-binary.json"

func runISO(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"iso"}, args...))
	err := root.Execute()
	return out.String() + errOut.String(), err
}

// TestISOEncodeDecode: a frame built in the POS dialect behind a TPDU decodes back to the same
// named fields, with the PAN masked.
func TestISOEncodeDecode(t *testing.T) {
	msg := `{"mti": "0100", "fields": {"2": "4111111111111111", "4": "000000001000", "11": "000001", "41": "TERM0001", "52": "0123456789ABCDEF"}}`
	frame, err := runISO(t, msg, "encode", "--spec", posSpec, "--header", "tpdu:6000010000", "--framing", "binary2")
	require.NoError(t, err)
	frame = strings.TrimSpace(frame)
	require.True(t, strings.HasPrefix(frame, "0031"+"6000010000"+"0100"), frame)

	out, err := runISO(t, "", "decode", "--spec", posSpec, "--header", "tpdu:6000010000", "--framing", "binary2", "--json", frame)
	require.NoError(t, err)
	var dm decodedMessage
	require.NoError(t, json.Unmarshal([]byte(out), &dm))
	require.Equal(t, "0100", dm.MTI)
	require.Equal(t, "6000010000", dm.Header)
	require.Equal(t, []decodedField{
		{2, "Primary Account Number", "411111******1111"},
		{4, "Transaction Amount", "000000001000"},
		{11, "Systems Trace Audit Number (STAN)", "000001"},
		{41, "Card Acceptor Terminal Identification", "TERM0001"},
		{52, "PIN Data", "(PIN block hidden)"},
	}, dm.Fields)
	require.NotContains(t, out, "4111111111111111")
	require.NotContains(t, out, "0123456789ABCDEF")
}

func TestISODecodeContractExampleFromStdin(t *testing.T) {
	raw := "0800822000000000000004000000000000001126143600000127301"
	out, err := runISO(t, "# an echo\n"+hex.EncodeToString([]byte(raw))+"\n", "decode")
	require.NoError(t, err)
	require.Contains(t, out, "MTI 0800")
	require.Contains(t, out, "70  Network Management Information Code")
	require.Contains(t, out, "301")
}

func TestISODecodePcap(t *testing.T) {
	spec := iso8583.AcquirerSpec()
	m := &iso8583.Message{MTI: "0100", PAN: "4111111111111111", STAN: "000009", Amount: "000000000500"}
	b, err := m.Pack(spec)
	require.NoError(t, err)
	framed, err := iso8583.AppendFrame(nil, iso8583.Binary2{}, b)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "link.pcap")
	require.NoError(t, os.WriteFile(file, pcapOf(framed[:7], framed[7:]), 0o600))
	out, err := runISO(t, "", "decode", "--pcap", file)
	require.NoError(t, err)
	require.Contains(t, out, "127.0.0.1:40000 → 127.0.0.1:8583 #1: MTI 0100")
	require.Contains(t, out, "411111******1111")
	require.NotContains(t, out, "4111111111111111")
}

func TestISOSpecExport(t *testing.T) {
	out, err := runISO(t, "", "spec", "export", "moov-spec87ascii")
	require.NoError(t, err)
	s, err := iso8583.ParseSpecJSON("exported", []byte(out))
	require.NoError(t, err, "what export prints loads back")
	require.False(t, s.Defines(70))
	out, err = runISO(t, "", "spec", "check", posSpec)
	require.NoError(t, err)
	require.Contains(t, out, "ok, 38 fields, field 70 defined, compiled codec")
}

func TestISOBadInput(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"decode", "zz"}, "frame 1: not hex"},
		{"", []string{"decode", "--spec", "nope", "00"}, "--spec: spec nope: not a built-in spec"},
		{"", []string{"decode", "--header", "tpdu:1", "00"}, "--header:"},
		{"", []string{"decode", "--framing", "ascii9", "00"}, "--framing:"},
		{"", []string{"decode", "30313030"}, "frame 1: bitmap: malformed or truncated"},
		{"", []string{"decode", "--framing", "binary2", "0009303130"}, "frame 1: frame 1: binary2 length: unexpected EOF"},
		{"", []string{"decode"}, "no frame"},
		{"", []string{"decode", "--pcap", "/nonexistent.pcap"}, "--pcap:"},
		{"{", []string{"encode"}, "input: not a message in JSON"},
		{`{"mti": "0100", "fields": {"2": "4111111111111111", "999": "x"}}`, []string{"encode"}, `fields: "999" is not a field number 2..128`},
		{`{"mti": "0100", "fields": {"70": "301"}}`, []string{"encode", "--spec", "moov-spec87ascii"}, "field 70: not defined in the spec"},
		{"", []string{"spec", "export", "nope"}, "spec nope: not a built-in spec"},
	} {
		out, err := runISO(t, tc.stdin, tc.args...)
		require.Error(t, err, tc.args)
		var ue usageError
		require.ErrorAs(t, err, &ue, "%v: exit status 2", tc.args)
		require.Contains(t, err.Error(), tc.want, tc.args)
		require.NotContains(t, err.Error(), "\n")
		require.NotContains(t, out, "4111111111111111")
	}
}
