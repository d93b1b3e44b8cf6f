package iso8583

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLuhn(t *testing.T) {
	for _, tc := range []struct {
		pan  string
		want bool
	}{
		{"4111111111111111", true},
		{"5105105105105100", true},
		{"378282246310005", true},
		{"4111111111111112", false},
		{"79927398713", true},
		{"79927398710", false},
		{"", false},
		{"4", false},
		{"41111111111111a1", false},
	} {
		require.Equal(t, tc.want, LuhnValid(tc.pan), tc.pan)
	}
	require.Equal(t, byte('1'), LuhnCheckDigit("411111111111111"))
	require.Equal(t, byte('3'), LuhnCheckDigit("7992739871"))
	require.Equal(t, byte(0), LuhnCheckDigit("12x"))
	for _, p := range []string{"4", "5123", "60110000000000", "3528"} {
		full := p + string(LuhnCheckDigit(p))
		require.True(t, LuhnValid(full), full)
	}
}

func TestMaskPAN(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"4111111111111111", "411111******1111"},
		{"5105105105105100", "510510******5100"},
		{"4111111111111111111", "411111*********1111"},
		{"411111111111", "411111**1111"},
		{"41111111111", "***********"},
		{"", ""},
	} {
		require.Equal(t, tc.want, MaskPAN(tc.in), tc.in)
	}
}

func TestMTI(t *testing.T) {
	for _, tc := range []struct{ in, class, resp string }{
		{"0100", "0100", "0110"},
		{"0101", "0100", "0110"},
		{"0200", "0200", "0210"},
		{"0221", "0220", "0230"},
		{"0400", "0400", "0410"},
		{"0421", "0420", "0430"},
		{"0800", "0800", "0810"},
		{"0110", "0110", ""},
		{"08X0", "08X0", ""},
		{"0980", "0980", ""},
	} {
		require.Equal(t, tc.class, MTIClass(tc.in), tc.in)
		require.Equal(t, tc.resp, ResponseMTI(tc.in), tc.in)
	}
	require.True(t, IsRepeat("0401"))
	require.False(t, IsRepeat("0400"))
}

func TestResponseCodeTable(t *testing.T) {
	seen := map[string]bool{}
	for _, rc := range ResponseCodes() {
		require.Len(t, rc.Code, 2)
		require.False(t, seen[rc.Code], "duplicate %s", rc.Code)
		seen[rc.Code] = true
		require.NotEmpty(t, rc.Name)
		require.NotEmpty(t, rc.Meaning)
	}
	// Every code CONTRACT §2 says the switch produces is in the table and marked as such.
	for _, c := range []string{"00", "03", "12", "13", "14", "15", "25", "30", "54", "63", "68", "91", "94", "96"} {
		rc, ok := LookupResponseCode(c)
		require.True(t, ok, c)
		require.True(t, rc.Switch, c)
	}
	// Every decline the issuer simulator produces (CONTRACT §5) is known.
	for _, c := range []string{"05", "14", "51", "54", "55", "57", "61", "62", "65"} {
		require.Equal(t, c, ResponseCodeLabel(c))
	}
	require.Equal(t, "other", ResponseCodeLabel("Z9"))
	rc, _ := LookupResponseCode("00")
	require.True(t, rc.Approved)
}
