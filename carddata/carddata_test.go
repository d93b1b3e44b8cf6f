package carddata

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zapcore"
)

func TestScan(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Kind
	}{
		{"pan in a log field", `{"msg":"x","pan":"4111111111111111"}`, []Kind{KindPAN}},
		{"19-digit pan", `card 6011000990139424000 ok`, nil}, // fails Luhn
		{"13-digit pan", `4222222222222`, []Kind{KindPAN}},
		{"masked pan", `"masked_pan":"411111******1111"`, nil},
		{"fails luhn", `4111111111111112`, nil},
		{"zero-padded amount", `"amount":"0000000000012345"`, nil},
		{"unix time in nanoseconds", `"ts_ns":1712345678123456789`, nil},
		{"unix time in milliseconds", `1712345678123`, nil},
		{"decimal timestamp", `"ts":1712345678.1234567`, nil},
		{"part of a longer number", `41111111111111111111111`, nil},
		{"track 2", `;4111111111111111=28121010000000000000?`, []Kind{KindTrack, KindPAN}},
		{"track 2 packed separator", `4111111111111111D2812101`, []Kind{KindTrack, KindPAN}},
		{"track 1", `%B4111111111111111^DOE/JOHN^2812`, []Kind{KindTrack, KindPAN}},
		{"cvv by name", `{"cvv2":"123"}`, []Kind{KindCVV}},
		{"cvc by name", `cvc=9876`, []Kind{KindCVV}},
		{"a bare 3-digit number", `"response_code":"123"`, nil},
		{"pin block by name", `"pin_block":"0412AC89EF0123AB"`, []Kind{KindPINBlock}},
		{"field 52", `field_52=0412AC89EF0123AB`, []Kind{KindPINBlock}},
		{"rrn and stan", `"rrn":"612345000001","stan":"000123"`, nil},
		{"digits of a hex transfer id", `"id": "2b8ce30cb16fb1812661234563129edd35"`, nil},
		{"digits of a sha-256", `3f1812661234563129ab7c0e5d4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f`, nil},
		{"pan after a hex-looking word", `deadbeef4111111111111111`, []Kind{KindPAN}},
		{"pan glued to a word", `pan4111111111111111cafe0000`, []Kind{KindPAN}},
		{"pan with a short hex neighbour", `ab4111111111111111`, []Kind{KindPAN}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Kind
			for _, f := range Scan([]byte(tc.in)) {
				got = append(got, f.Kind)
			}
			require.Equal(t, tc.want, got)
		})
	}
}

func TestMaskKeepsSixAndFour(t *testing.T) {
	in := []byte(`{"pan":"4111111111111111","cvv":"123"}`)
	out := Mask(in, Scan(in))
	require.Equal(t, `{"pan":"411111******1111","cvv":"***"}`, string(out))
	require.Empty(t, Scan(out))
}

type sink struct{ bytes.Buffer }

func (s *sink) Sync() error { return nil }

func TestGuardMasksAndCounts(t *testing.T) {
	g := NewGuard()
	var s sink
	ws := g.WriteSyncer(zapcore.AddSync(&s))
	line := []byte(`{"level":"info","msg":"oops","pan":"5555555555554444"}` + "\n")
	n, err := ws.Write(line)
	require.NoError(t, err)
	require.Equal(t, len(line), n)
	require.NotContains(t, s.String(), "5555555555554444")
	require.Contains(t, s.String(), "555555******4444")
	require.Equal(t, 1.0, testutil.ToFloat64(g.detections.WithLabelValues("log", "pan")))
	_, err = ws.Write([]byte(`{"level":"info","msg":"fine","masked_pan":"555555******4444"}` + "\n"))
	require.NoError(t, err)
	require.Equal(t, 1.0, testutil.ToFloat64(g.detections.WithLabelValues("log", "pan")))
}

func FuzzScan(f *testing.F) {
	for _, s := range []string{`4111111111111111`, `;4111111111111111=2812101?`, `"cvv":"123"`, `pin_block=0412AC89EF0123AB`, `1712345678.123`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fs := Scan(b)
		m := Mask(b, fs)
		if len(m) != len(b) {
			t.Fatalf("mask changed the length: %d != %d", len(m), len(b))
		}
		for _, f := range fs {
			if f.Start < 0 || f.End > len(b) || f.Start >= f.End {
				t.Fatalf("bad range %+v", f)
			}
		}
	})
}
