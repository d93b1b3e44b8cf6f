package iso8583

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func mustLoad(t *testing.T, name string) *Spec {
	t.Helper()
	s, err := LoadSpec(name)
	require.NoError(t, err)
	return s
}

// TestMappingPaymentReferenceIntoTaggedSubElement: the payment reference the engine keeps in 48
// travels to a host that expects it in sub-element 01 of its private field 62, with a constant
// channel in 62.02; the host's answer comes back in the engine's form.
func TestMappingPaymentReferenceIntoTaggedSubElement(t *testing.T) {
	spec := mustLoad(t, "testdata/specs/host-private-tlv.json")
	m, err := NewMapping(MappingConfig{Fields: []RuleConfig{
		{Op: "move", From: "48", To: "62.01"},
		{Op: "set", Field: "62.02", Value: "WEB"},
		{Op: "drop", Field: "33"},
		{Op: "copy", From: "37", To: "62.03"},
	}}, spec)
	require.NoError(t, err)
	req := &Message{MTI: "0200", STAN: "000001", RRN: "000000000042", AdditionalData: "TAX-2026-000457", ForwardingID: "123"}
	out, err := m.Out(req)
	require.NoError(t, err)
	require.Equal(t, "0115TAX-2026-000457"+"02"+"WEB"+"0312000000000042", out.Private62)
	require.Empty(t, out.AdditionalData)
	require.Empty(t, out.ForwardingID)
	require.Equal(t, "TAX-2026-000457", req.AdditionalData, "the engine's request is not modified")

	wire, err := out.Pack(spec)
	require.NoError(t, err)
	require.Contains(t, string(wire), "0400115TAX-2026-00045702WEB0312000000000042")

	resp := &Message{MTI: "0210", STAN: "000001", ResponseCode: "00", Private62: out.Private62}
	back, err := m.Back(resp, req)
	require.NoError(t, err)
	require.Equal(t, "TAX-2026-000457", back.AdditionalData)
	require.Empty(t, back.Private62, "the constant and the copy are the host's, not the engine's")
}

func TestMappingISO93(t *testing.T) {
	spec := mustLoad(t, "testdata/specs/host-iso93.json")
	m, err := NewMapping(MappingConfig{
		MTI: map[string]string{"0100": "1100", "0200": "1200", "0400": "1420", "0420": "1420", "0800": "1804"},
		Fields: []RuleConfig{
			{Op: "map", Field: "39", Values: map[string]string{"00": "000", "05": "100", "51": "116"}},
			{Op: "move", From: "70", To: "24"},
			{Op: "map", Field: "24", Values: map[string]string{"001": "801", "002": "802", "301": "831"}},
		},
	}, spec)
	require.NoError(t, err)
	for engine, host := range map[string]string{"0100": "1100", "0200": "1200", "0400": "1420", "0420": "1420", "0800": "1804", "0220": "0220"} {
		out, err := m.Out(&Message{MTI: engine})
		require.NoError(t, err)
		require.Equal(t, host, out.MTI)
	}
	// The host's answers map back by the request they answer: 1430 is 0410 for an 0400, 0430 for an 0420.
	for _, tc := range []struct{ req, host, want string }{
		{"0100", "1110", "0110"}, {"0400", "1430", "0410"}, {"0420", "1430", "0430"}, {"0800", "1814", "0810"},
	} {
		back, err := m.Back(&Message{MTI: tc.host, ResponseCode: "116"}, &Message{MTI: tc.req})
		require.NoError(t, err)
		require.Equal(t, tc.want, back.MTI, tc.host)
		require.Equal(t, "51", back.ResponseCode)
	}
	// A host's own echo (1804/831) reaches the engine as 0800/301, and its answer goes back as 1814.
	in, err := m.Back(&Message{MTI: "1804", Other: []Field{{ID: 24, Value: "831"}}}, nil)
	require.NoError(t, err)
	require.Equal(t, "0800", in.MTI)
	require.Equal(t, "301", in.NetworkCode)
	ans, err := m.Out(&Message{MTI: "0810", ResponseCode: "00", NetworkCode: "301"})
	require.NoError(t, err)
	require.Equal(t, "1814", ans.MTI)
	require.Equal(t, "000", ans.ResponseCode)
	require.Equal(t, []Field{{ID: 24, Value: "831"}}, ans.Other)
	require.Empty(t, ans.NetworkCode)
}

func TestMappingBinarySubField(t *testing.T) {
	spec := mustLoad(t, "testdata/specs/host-private-tlv.json")
	m, err := NewMapping(MappingConfig{Fields: []RuleConfig{{Op: "copy", From: "55.9F26", To: "63"}}}, spec)
	require.NoError(t, err)
	out, err := m.Out(&Message{MTI: "0100", ICC: "9F2608AABBCCDDEEFF0011"})
	require.NoError(t, err)
	require.Equal(t, "AABBCCDDEEFF0011", out.Private63)
}

func TestNewMappingNamesTheProblem(t *testing.T) {
	tlv := mustLoad(t, "testdata/specs/host-private-tlv.json")
	for _, tc := range []struct {
		rule RuleConfig
		want string
	}{
		{RuleConfig{Op: "move", From: "48", To: "41.01"}, `fields[0] (move): to "41.01": field 41 is not a composite field`},
		{RuleConfig{Op: "move", From: "48", To: "62.09"}, `fields[0] (move): to "62.09": sub-field 09 is not defined in field 62`},
		{RuleConfig{Op: "rename", Field: "2"}, `op "rename" must be move, copy, set, drop or map`},
		{RuleConfig{Op: "set", Field: "24"}, "value is required"},
		{RuleConfig{Op: "drop", Field: "129"}, "must be a field number 2..128"},
		{RuleConfig{Op: "copy", From: "37"}, "to is required"},
	} {
		_, err := NewMapping(MappingConfig{Fields: []RuleConfig{tc.rule}}, tlv)
		require.ErrorIs(t, err, ErrMapping)
		require.ErrorContains(t, err, tc.want)
	}
	_, err := NewMapping(MappingConfig{MTI: map[string]string{"0110": "1110"}}, tlv)
	require.ErrorContains(t, err, `mti "0110": must be a 4-digit request MTI`)
}
