package load

import (
	"strings"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// FuzzParseMix: any --mix is parsed or rejected with ErrMix, never a panic; what parses renders
// back to an equal mix.
func FuzzParseMix(f *testing.F) {
	for _, s := range []string{DefaultMix.String(), "purchase=1", "timeout=3,decline=1", "purchase=", "=5", ",", "purchase=1,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMix(s)
		if err != nil {
			return
		}
		if m.total() <= 0 {
			t.Fatalf("%q parsed to an empty mix", s)
		}
		back, err := ParseMix(m.String())
		if err != nil || back != m {
			t.Fatalf("%q → %v renders as %q which parses to %v, %v", s, m, m.String(), back, err)
		}
	})
}

// FuzzParseMerchants: any --merchants is parsed or rejected, never a panic; what parses is a list
// of valid field-42 values.
func FuzzParseMerchants(f *testing.F) {
	for _, s := range []string{"MERCHANT0000001", "MERCHANT0000001=90,GOVAGENCY000001=10", "X=1", "MERCHANT0000001=-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ms, err := ParseMerchants(s)
		if err != nil {
			return
		}
		for _, m := range ms {
			if checkMerchantID(m.ID) != nil || m.Weight < 0 {
				t.Fatalf("%q parsed to a bad merchant %q weight %d", s, m.ID, m.Weight)
			}
		}
	})
}

// FuzzParseThresholds: any --expect is parsed or rejected with ErrThreshold, never a panic; what
// parses can be checked against a report.
func FuzzParseThresholds(f *testing.F) {
	for _, s := range []string{"p99<50ms,unexpected=0,timeouts=0,rate>=4500", "max<=1s", "p99.9>1us", "sent==5", "x<1", "p99<", "<5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseThresholds(s)
		if err != nil {
			return
		}
		for _, th := range ts {
			if _, ok := metrics[th.Metric]; !ok || !strings.Contains("< <= > >= =", th.Op) || th.Op == "" {
				t.Fatalf("%q parsed to metric %q op %q", s, th.Metric, th.Op)
			}
		}
		Check(Report{}, ts)
	})
}

// FuzzAnswer feeds whatever unpacks as a response to a connection with a request in flight under
// the response's STAN: the answer is counted (expected or unexpected), never a panic.
func FuzzAnswer(f *testing.F) {
	spec := iso8583.AcquirerSpec()
	seed := func(m *iso8583.Message) {
		b, err := m.Pack(spec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	seed(&iso8583.Message{MTI: "0210", PAN: "4111111111111111", ProcessingCode: "000000", Amount: "000000001234",
		TransmissionDateTime: "1126120000", STAN: "000001", RRN: "633000000001", ApprovalCode: "ABC123", ResponseCode: "00",
		TerminalID: "LOAD0001", MerchantID: DefaultMerchant, Currency: "840"})
	seed(&iso8583.Message{MTI: "0410", STAN: "000001", ResponseCode: "25", Expiry: "2912"})
	seed(&iso8583.Message{MTI: "0110", STAN: "999999", ResponseCode: "96"})
	g, err := newGenerator(Config{Target: "127.0.0.1:1", Rate: 10, Seed: 1, Cards: 10, LedgerLog: &strings.Builder{}})
	if err != nil {
		f.Fatal(err)
	}
	c := g.conns[0]
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := iso8583.Unpack(spec, b)
		if err != nil {
			return
		}
		stan, ok := parseSTAN(resp.STAN)
		now := time.Now()
		c.mu.Lock()
		r := c.newRequestLocked(now)
		r.stan, r.sent = stan, now
		if r.kind == KindReversal || r.kind == KindRefund {
			r.kind = KindPurchase
		}
		c.mu.inflight[stan] = r
		before := c.mu.stats.answered
		c.mu.Unlock()
		c.answer(resp, now, nil)
		c.mu.Lock()
		defer c.mu.Unlock()
		if ok && c.mu.stats.answered != before+1 {
			t.Fatalf("an answer with STAN %s was not counted", resp.STAN)
		}
		delete(c.mu.inflight, stan)
	})
}
