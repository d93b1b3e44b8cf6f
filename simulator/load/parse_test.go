package load

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

func TestParseMix(t *testing.T) {
	cases := []struct {
		in      string
		want    Mix
		wantErr string
	}{
		{in: "purchase=70,preauth=15,refund=5,reversal=5,decline=5", want: DefaultMix},
		{in: "purchase=1", want: Mix{KindPurchase: 1}},
		{in: " decline=3 , timeout=1", want: Mix{KindDecline: 3, KindTimeout: 1}},
		{in: "purchase=0,refund=2", want: Mix{KindRefund: 2}},
		{in: "purchase", wantErr: "not kind=weight"},
		{in: "purchase=x", wantErr: "whole number"},
		{in: "purchase=-1", wantErr: "whole number"},
		{in: "completion=5", wantErr: "unknown kind"},
		{in: "purchase=1,purchase=2", wantErr: "twice"},
		{in: "purchase=0", wantErr: "every weight is 0"},
		{in: "", wantErr: "not kind=weight"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMix(tc.in)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrMix) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			if back, err := ParseMix(got.String()); err != nil || back != got {
				t.Fatalf("String %q does not parse back: %v %v", got.String(), back, err)
			}
		})
	}
}

func TestParseMerchants(t *testing.T) {
	cases := []struct {
		in      string
		want    []MerchantShare
		wantErr string
	}{
		{in: "MERCHANT0000001", want: []MerchantShare{{"MERCHANT0000001", 1}}},
		{in: "MERCHANT0000001=90,GOVAGENCY000001=10", want: []MerchantShare{{"MERCHANT0000001", 90}, {"GOVAGENCY000001", 10}}},
		{in: "SHORT", wantErr: "15 printable characters"},
		{in: "MERCHANT0000001=a", wantErr: "whole number"},
		{in: "MERCHANT0000001,MERCHANT0000001", wantErr: "twice"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMerchants(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(got) != len(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestThresholds(t *testing.T) {
	rep := Report{Sent: 1000, Answered: 998, Timeouts: 2, AchievedRate: 4600,
		Latency: Latency{P50: 0.5, P90: 1, P99: 12.5, P999: 40, Max: 80}}
	cases := []struct {
		expect  string
		failed  []string // substrings of the failures, in order
		wantErr string
	}{
		{expect: "p99<50ms,unexpected=0,rate>=4500"},
		{expect: "p99<10ms", failed: []string{"p99<10ms not met: p99 is 12.5ms"}},
		{expect: "timeouts=0,answered>=1000", failed: []string{"timeouts is 2", "answered is 998"}},
		{expect: "p99.9<=40ms,max<1s,p50>100us,sent==1000,rate>4599.5"},
		{expect: "rate>=5000", failed: []string{"rate is 4600.0/s"}},
		{expect: "p99<50", wantErr: "duration with its unit"},
		{expect: "p99<fast", wantErr: "duration with its unit"},
		{expect: "latency<5ms", wantErr: "unknown metric"},
		{expect: "timeouts~0", wantErr: "is not metric"},
		{expect: "unexpected=-1", wantErr: "whole number"},
		{expect: "unexpected=0.5", wantErr: "whole number"},
		{expect: ",", wantErr: "no condition"},
	}
	for _, tc := range cases {
		t.Run(tc.expect, func(t *testing.T) {
			ts, err := ParseThresholds(tc.expect)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrThreshold) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			failed := Check(rep, ts)
			if len(failed) != len(tc.failed) {
				t.Fatalf("failed %q, want %d failures like %q", failed, len(tc.failed), tc.failed)
			}
			for i, f := range failed {
				if !strings.Contains(f, tc.failed[i]) {
					t.Errorf("failure %q, want it to say %q", f, tc.failed[i])
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	ok := Config{Target: "127.0.0.1:8583", Rate: 100}
	cases := []struct {
		name  string
		edit  func(*Config)
		field string // "" for a valid config
	}{
		{"valid open model", func(*Config) {}, ""},
		{"valid closed model", func(c *Config) { c.Rate, c.Concurrency = 0, 10 }, ""},
		{"no target port", func(c *Config) { c.Target = "localhost" }, "Target"},
		{"both models", func(c *Config) { c.Concurrency = 5 }, "Rate"},
		{"no model", func(c *Config) { c.Rate = 0 }, "Rate"},
		{"concurrency above the in-flight limits", func(c *Config) { c.Rate, c.Concurrency, c.Terminals, c.MaxInFlightPerConn = 0, 100, 2, 8 }, "Concurrency"},
		{"negative requests", func(c *Config) { c.Requests = -1 }, "Requests"},
		{"too many terminals", func(c *Config) { c.Terminals = 10000 }, "Terminals"},
		{"long prefix", func(c *Config) { c.TerminalPrefix, c.Terminals = "ABCDEFG", 10 }, "TerminalPrefix"},
		{"BIN not digits", func(c *Config) { c.BINs = []string{"4x"} }, "BINs"},
		{"BIN as long as the PAN", func(c *Config) { c.BINs = []string{"411111111111111"} }, "BINs"},
		{"short PAN", func(c *Config) { c.PANLength = 11 }, "PANLength"},
		{"bad currency", func(c *Config) { c.Currency = "USD" }, "Currency"},
		{"amounts too small", func(c *Config) { c.AmountMin = 100 }, "AmountMin"},
		{"unknown decline code", func(c *Config) { c.Declines = []string{"99"} }, "Declines"},
		{"merchant ID length", func(c *Config) { c.Merchants = []MerchantShare{{"M1", 1}} }, "15 printable"},
		{"merchant weights zero", func(c *Config) { c.Merchants = []MerchantShare{{DefaultMerchant, 0}} }, "Merchants"},
		{"completion share", func(c *Config) { c.CompletionShare = 101 }, "CompletionShare"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.withDefaults().Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("valid config rejected: %v", err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err %v, want ErrConfig naming %s", err, tc.field)
			}
		})
	}
}

// TestTemplatesMatchTheCodec checks that a patched template is byte for byte what the codec packs
// for the same typed message, for every shape, with random values.
func TestTemplatesMatchTheCodec(t *testing.T) {
	spec := iso8583.AcquirerSpec()
	rng := rand.New(rand.NewPCG(1, 2))
	cards := newCards(50, 19, []string{"4", "5"}, time.Now(), rng)
	for n := 0; n < 2*int(shapeCount); n++ {
		sh, mac := shape(n/2), n%2 == 1
		tp, err := newTemplate(spec, iso8583.Header{}, sh, "TERM0001", "GOVAGENCY000001", "978", 19, mac)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			c := &cards[i]
			var f7 [10]byte
			var f12 [6]byte
			var f13 [4]byte
			var ref [refLen]byte
			var orig [42]byte
			for _, b := range [][]byte{f7[:], f12[:], f13[:], orig[:]} {
				putDigits(b, rng.Uint64())
			}
			copy(ref[:], "TERM0001")
			putDigits(ref[8:], rng.Uint64())
			var pin [pinBlockChars]byte
			hex.Encode(pin[:], binary.BigEndian.AppendUint64(nil, rng.Uint64()))
			upperHex(pin[:])
			v := &fields{mti: []string{"0100", "0200", "0220", "0400", "0401"}[rng.IntN(5)], pan: c.pan,
				pc: []string{pcPurchase, pcRefund}[rng.IntN(2)], amount: rng.Int64N(1e12), f7: &f7, stan: rng.Uint32N(1e6),
				f12: &f12, f13: &f13, expiry: &c.expiry, ref: &ref, orig: &orig, rrn: "RRN" + string(f7[:9]), pin: &pin}
			frame, err := tp.appendTo(nil, iso8583.Binary2{}, v)
			if err != nil {
				t.Fatal(err)
			}
			want := shapeBase(sh, "TERM0001", "GOVAGENCY000001", "978")
			want.MTI, want.PAN, want.ProcessingCode, want.Amount = v.mti, v.pan, v.pc, iso8583.FormatAmount(v.amount)
			want.TransmissionDateTime, want.STAN, want.LocalTime, want.LocalDate = string(f7[:]), stanString(v.stan), string(f12[:]), string(f13[:])
			switch sh {
			case shapeFinancial:
				want.Expiry, want.AdditionalData = string(c.expiry[:]), string(ref[:])
			case shapeAdvice:
				want.RRN, want.OriginalData = v.rrn, string(orig[:])
			case shapeAdviceNoRRN:
				want.OriginalData = string(orig[:])
			case shapeFinancialPIN:
				want.Expiry, want.AdditionalData = string(c.expiry[:]), string(ref[:])
				want.PINBlock, _ = hex.DecodeString(string(pin[:]))
			}
			if mac {
				withMACPlaceholder(want)
			}
			body, err := want.Pack(spec)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(frame[2:], body) {
				t.Fatalf("shape %d (MAC %v): template gives\n%q\ncodec packs\n%q", sh, mac, frame[2:], body)
			}
		}
	}
}

// TestCards checks the test cards: Luhn-valid, in their BINs, of the length asked, spread over
// the BINs, with an expiry one to five years ahead.
func TestCards(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	cards := newCards(1000, 16, []string{"4", "5"}, now, rand.New(rand.NewPCG(3, 4)))
	perBIN := map[byte]int{}
	for _, c := range cards {
		if len(c.pan) != 16 || !iso8583.LuhnValid(c.pan) {
			t.Fatalf("PAN %s is not 16 Luhn-valid digits", iso8583.MaskPAN(c.pan))
		}
		perBIN[c.pan[0]]++
		exp := string(c.expiry[:])
		if exp < "2711" || exp > "3111" || exp[2:] < "01" || exp[2:] > "12" {
			t.Fatalf("expiry %s is not 1 to 5 years after 2611", exp)
		}
	}
	if perBIN['4'] != 500 || perBIN['5'] != 500 {
		t.Fatalf("cards per BIN %v, want 500 each", perBIN)
	}
}

func TestProgressRendering(t *testing.T) {
	cases := []struct {
		name     string
		p        Progress
		bar      string
		contains []string
	}{
		{"start", Progress{Duration: 10 * time.Second}, "[>         ]   0%", []string{"0 answered"}},
		{"half", Progress{Elapsed: 5 * time.Second, Duration: 10 * time.Second, Answered: 2500, Rate: 500, P99: 1500 * time.Microsecond},
			"[=====>    ]  50%", []string{"2500 answered", "500/s", "p99 1.50ms"}},
		{"draining past the end", Progress{Elapsed: 12 * time.Second, Duration: 10 * time.Second, Timeouts: 3},
			"[==========] 100%", []string{"10.0s/10s", "timeouts 3"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.p.Bar(10)
			if !strings.HasPrefix(got, tc.bar) {
				t.Fatalf("bar %q, want it to start %q", got, tc.bar)
			}
			for _, want := range tc.contains {
				if !strings.Contains(got, want) {
					t.Errorf("bar %q lacks %q", got, want)
				}
			}
			if line := tc.p.String(); !strings.Contains(line, "sent ") || !strings.Contains(line, "p99 ") {
				t.Errorf("progress line %q", line)
			}
		})
	}
}
