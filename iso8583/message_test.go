package iso8583

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type example struct {
	name string
	raw  string
}

// contractExamples reads testdata/contract-examples.txt (a copy of the contract's examples):
// "## title" lines followed by one message each.
func contractExamples(t testing.TB) []example {
	t.Helper()
	f, err := os.Open("testdata/contract-examples.txt")
	require.NoError(t, err)
	defer f.Close()
	var out []example
	name := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "## "):
			name = strings.TrimPrefix(line, "## ")
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			out = append(out, example{name, line})
		}
	}
	require.NoError(t, sc.Err())
	require.Len(t, out, 6)
	return out
}

func TestContractExamplesRoundTrip(t *testing.T) {
	spec := AcquirerSpec()
	for _, ex := range contractExamples(t) {
		t.Run(ex.name, func(t *testing.T) {
			m, err := Unpack(spec, []byte(ex.raw))
			require.NoError(t, err)
			out, err := m.Pack(spec)
			require.NoError(t, err)
			require.Equal(t, ex.raw, string(out))
		})
	}
}

func TestContractExampleFields(t *testing.T) {
	spec := AcquirerSpec()
	ex := contractExamples(t)
	auth, err := Unpack(spec, []byte(ex[0].raw))
	require.NoError(t, err)
	require.Equal(t, "0100", auth.MTI)
	require.Equal(t, "4111111111111111", auth.PAN)
	require.Equal(t, "000000", auth.ProcessingCode)
	require.Equal(t, "000000012345", auth.Amount)
	require.Equal(t, "1126143015", auth.TransmissionDateTime)
	require.Equal(t, "000123", auth.STAN)
	require.Equal(t, "2812", auth.Expiry)
	require.Equal(t, "5999", auth.MCC)
	require.Equal(t, "810", auth.POSEntryMode)
	require.Equal(t, "WEB00001", auth.TerminalID)
	require.Equal(t, "MERCHANT0000001", auth.MerchantID)
	require.Equal(t, "840", auth.Currency)
	require.Empty(t, auth.RRN)
	require.Empty(t, auth.Other)

	gov, err := Unpack(spec, []byte(ex[2].raw))
	require.NoError(t, err)
	require.Equal(t, "TAX-2026-000457", gov.AdditionalData)
	require.Equal(t, "000000010100", gov.Amount)

	pin, err := Unpack(spec, []byte(ex[3].raw))
	require.NoError(t, err)
	require.Equal(t, []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}, pin.PINBlock)
	require.Equal(t, []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}, pin.MAC)

	rev, err := Unpack(spec, []byte(ex[4].raw))
	require.NoError(t, err)
	od, err := ParseOriginalData(rev.OriginalData)
	require.NoError(t, err)
	require.Equal(t, OriginalData{MTI: "0100", STAN: "000123", TransmissionDateTime: "1126143015",
		AcquirerID: "00000000000", ForwarderID: "00000000000"}, od)
	require.Equal(t, rev.OriginalData, od.String())

	echo, err := Unpack(spec, []byte(ex[5].raw))
	require.NoError(t, err)
	require.Equal(t, "0800", echo.MTI)
	require.Equal(t, NetworkEcho, echo.NetworkCode)
}

func TestPackBuildsSecondaryBitmapOnlyWhenNeeded(t *testing.T) {
	spec := AcquirerSpec()
	m := &Message{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000127"}
	b, err := m.Pack(spec)
	require.NoError(t, err)
	require.Equal(t, "08000220000000000000"+"1126143600000127", string(b))
	m.NetworkCode = "301"
	b, err = m.Pack(spec)
	require.NoError(t, err)
	require.Equal(t, "0800822000000000000004000000000000001126143600000127301", string(b))
}

func TestPackPadsNumericAmountAndProcessingCode(t *testing.T) {
	spec := AcquirerSpec()
	m := &Message{MTI: "0200", ProcessingCode: "0", Amount: "2500"}
	b, err := m.Pack(spec)
	require.NoError(t, err)
	require.Equal(t, "02003000000000000000"+"000000"+"000000002500", string(b))
}

func TestUnpackRejects(t *testing.T) {
	spec := AcquirerSpec()
	good := contractExamples(t)[0].raw
	cases := []struct {
		name  string
		raw   string
		field int
	}{
		{"empty", "", 0},
		{"short MTI", "01", 0},
		{"letters in MTI", "01X0723C440000C08000", 0},
		{"bitmap not hex", "0100723C44000ZC0800016", 1},
		{"bitmap truncated", "0100723C", 1},
		{"PAN length not digits", "01004000000000000000" + "X6411111111111111", 2},
		{"PAN longer than 19", "01004000000000000000" + "2041111111111111111111", 2},
		{"truncated in field 42", good[:len(good)-10], 42},
		{"trailing bytes", good + "XYZ", -1},
		{"field 65 tertiary bitmap", "0800" + "8000000000000000" + "8000000000000000" + "0000000000000000", 1},
		{"field not in spec", "0100" + "8000000000000000" + "0000000000002000", 115},
		{"MAC not hex", "0200" + "0000000000000001" + "ZZ22334455667788", 64},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Unpack(spec, []byte(tc.raw))
			require.Error(t, err)
			require.ErrorIs(t, err, ErrUnpack)
			var fe *FieldError
			require.True(t, errors.As(err, &fe))
			if tc.field != 1 || fe.Field == 1 { // the library may report a tertiary bitmap as a bitmap or field failure
				require.Equal(t, tc.field, fe.Field, "error %q", err)
			}
		})
	}
}

func TestFieldErrorNeverShowsContent(t *testing.T) {
	spec := AcquirerSpec()
	raw := "01004000000000000000" + "2041111111111111111111"
	_, err := Unpack(spec, []byte(raw))
	require.Error(t, err)
	require.NotContains(t, err.Error(), "4111")
}

func TestPackRejectsWrongLengths(t *testing.T) {
	spec := AcquirerSpec()
	cases := []struct {
		name  string
		m     Message
		field int
	}{
		{"bad MTI", Message{MTI: "01"}, 0},
		{"terminal too short", Message{MTI: "0100", TerminalID: "T1"}, 41},
		{"PIN block 7 bytes", Message{MTI: "0200", PINBlock: make([]byte, 7)}, 52},
		{"unknown other field", Message{MTI: "0200", Other: []Field{{ID: 115, Value: "x"}}}, 115},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m.Pack(spec)
			require.ErrorIs(t, err, ErrPack)
			var fe *FieldError
			require.True(t, errors.As(err, &fe))
			require.Equal(t, tc.field, fe.Field)
		})
	}
}

func TestOtherFieldsAreKeptAndForwarded(t *testing.T) {
	spec := AcquirerSpec()
	m := &Message{MTI: "0100", STAN: "000001", Other: []Field{{ID: 26, Value: "12"}, {ID: 56, Value: "ABC"}}}
	b, err := m.Pack(spec)
	require.NoError(t, err)
	back, err := Unpack(spec, b)
	require.NoError(t, err)
	require.Equal(t, m.Other, back.Other)
	require.True(t, back.Has(26))
	require.False(t, back.Has(27))
}

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"000000012345", 12345, true},
		{"000000000000", 0, true},
		{"999999999999", 999999999999, true},
		{"", 0, false},
		{"12A", 0, false},
		{"-1", 0, false},
		{"1234567890123", 0, false},
	} {
		got, err := ParseAmount(tc.in)
		require.Equal(t, tc.ok, err == nil, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
	require.Equal(t, "000000012345", FormatAmount(12345))
}

func TestUnpackPartialKeepsWhatItRead(t *testing.T) {
	spec := AcquirerSpec()
	good := contractExamples(t)[0].raw
	m, err := UnpackPartial(spec, []byte(good[:len(good)-10]))
	require.Error(t, err)
	require.NotNil(t, m)
	require.Equal(t, "0100", m.MTI)
	require.Equal(t, "000123", m.STAN)
	require.Equal(t, "WEB00001", m.TerminalID)

	m, err = UnpackPartial(spec, []byte("XX00"))
	require.Error(t, err)
	require.Nil(t, m)

	m, err = UnpackPartial(spec, []byte(good))
	require.NoError(t, err)
	require.Equal(t, "840", m.Currency)
}
