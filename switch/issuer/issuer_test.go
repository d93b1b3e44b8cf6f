package issuer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cardswitch/cardswitch/iso8583"
	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
)

func TestSendReceive(t *testing.T) {
	s, _ := startSim(t, simissuer.Config{})
	l, _ := startLink(t, testConfig(s.Addr()))
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	req := authorization("000777", "000000012301")
	before := *req
	resp, err := l.Send(context.Background(), req)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if resp.MTI != "0110" || resp.ResponseCode != "00" || len(resp.ApprovalCode) != 6 {
		t.Fatalf("got %s/%s approval %q, want 0110/00 with an approval code", resp.MTI, resp.ResponseCode, resp.ApprovalCode)
	}
	if !reflect.DeepEqual(*req, before) {
		t.Errorf("Send modified the caller's request")
	}
	got := lastRequest(t, s, "0100")
	if got.STAN == req.STAN {
		t.Errorf("the issuer got the terminal's STAN %s, not the link's", got.STAN)
	}
	if got.TransmissionDateTime != "1126143015" {
		t.Errorf("field 7 = %q, want now as UTC MMDDhhmmss 1126143015", got.TransmissionDateTime)
	}
	if got.AcquirerID != "12345678901" {
		t.Errorf("field 32 = %q, want the configured acquirer ID", got.AcquirerID)
	}
	if got.RRN != req.RRN || got.PAN != req.PAN || got.Amount != req.Amount || got.Expiry != req.Expiry {
		t.Errorf("fields not forwarded as given: %+v", got)
	}
	if resp.STAN != got.STAN {
		t.Errorf("response STAN %s, want the link's %s (the response as received)", resp.STAN, got.STAN)
	}
}

func lastRequest(t *testing.T, s *sim, mti string) *iso8583.Message {
	t.Helper()
	reqs := s.requests()
	for k := len(reqs) - 1; k >= 0; k-- {
		if reqs[k].MTI == mti {
			return reqs[k]
		}
	}
	t.Fatalf("the issuer received no %s", mti)
	return nil
}

// TestSTANRenumberedPerLink: requests with the same terminal STAN get distinct, consecutive link
// STANs, and each link (issuer) numbers on its own.
func TestSTANRenumberedPerLink(t *testing.T) {
	sa, _ := startSim(t, simissuer.Config{})
	sb, _ := startSim(t, simissuer.Config{})
	a, _ := startLink(t, testConfig(sa.Addr()))
	bcfg := testConfig(sb.Addr())
	bcfg.Name = "beta"
	b, _ := startLink(t, bcfg)
	eventually(t, "links up", func() bool { return allSignedOn(a) && allSignedOn(b) })
	var stansA []uint32
	for range 5 {
		for _, l := range []*Issuer{a, b} {
			resp, err := l.Send(context.Background(), authorization("000001", "000000000101"))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			n, ok := parseSTAN(resp.STAN)
			if !ok {
				t.Fatalf("STAN %q", resp.STAN)
			}
			if l == a {
				stansA = append(stansA, n)
			}
		}
	}
	for k := 1; k < len(stansA); k++ {
		if stansA[k] != stansA[k-1]+1 {
			t.Fatalf("link STANs %v are not consecutive", stansA)
		}
	}
	// Each link numbered 2 sign-ons and 5 requests on its own: the same numbers on both issuers.
	if got, want := lastRequest(t, sb, "0100").STAN, formatSTAN(stansA[len(stansA)-1]); got != want {
		t.Errorf("beta's last STAN %s, alpha's %s: links do not number independently", got, want)
	}
}

// TestSameSTANDifferentClassMatched: an 0100 and an 0400 in flight on one connection with the same
// STAN; the issuer answers the 0400 first. Each Send gets its own answer (the library's default key,
// the STAN alone, would give the 0410 to whichever registered last).
func TestSameSTANDifferentClassMatched(t *testing.T) {
	var mu sync.Mutex
	var held [][]byte
	peer := startFakePeer(t, func(body []byte) [][]byte {
		req, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			return nil
		}
		resp := &iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, RRN: req.RRN, ResponseCode: "00"}
		if req.MTI == "0400" {
			resp.ResponseCode = "00"
		} else {
			resp.ResponseCode = "51"
		}
		mu.Lock()
		defer mu.Unlock()
		held = append(held, pack(resp))
		if len(held) < 2 {
			return nil
		}
		out := [][]byte{held[1], held[0]} // the 0410 first
		held = nil
		return out
	})
	l, err := New(testConfig(peer.addr()), nil, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := net.Dial("tcp", peer.addr())
	if err != nil {
		t.Fatal(err)
	}
	c, err := connection.NewFrom(nc, iso8583.AcquirerSpec().Moov(), nil, nil, l.slots[0].options()...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	auth := authorization("000123", "000000001051")
	rev := authorization("000123", "000000001051")
	rev.MTI = "0400"
	type result struct {
		mti, rc string
		err     error
	}
	results := make(chan result, 2)
	var wg sync.WaitGroup
	for _, m := range []*iso8583.Message{auth, rev} {
		packed, err := m.Pack(iso8583.AcquirerSpec())
		if err != nil {
			t.Fatal(err)
		}
		mm := newEnvelope(m.MTI, m.STAN, packed, nil)
		wg.Go(func() {
			resp, err := c.Send(mm, connection.SendTimeout(waitMax))
			if err != nil {
				results <- result{err: err}
				return
			}
			answer, err := typedOf(resp)
			if err != nil {
				results <- result{err: err}
				return
			}
			results <- result{mti: m.MTI + "→" + answer.MTI, rc: answer.ResponseCode}
		})
	}
	wg.Wait()
	close(results)
	got := map[string]string{}
	for r := range results {
		if r.err != nil {
			t.Fatalf("Send: %v", r.err)
		}
		got[r.mti] = r.rc
	}
	want := map[string]string{"0100→0110": "51", "0400→0410": "00"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("answers %v, want %v", got, want)
	}
}

func TestRequestIDs(t *testing.T) {
	for _, tc := range []struct {
		mti, stan, want string
	}{
		{"0100", "000123", "010000123"},
		{"0101", "000123", "010000123"},
		{"0110", "000123", "010000123"},
		{"0400", "000123", "040000123"},
		{"0401", "000123", "040000123"},
		{"0410", "000123", "040000123"},
		{"0420", "000123", "042000123"},
		{"0430", "000123", "042000123"},
		{"0220", "999999", "022999999"},
		{"0230", "999999", "022999999"},
		{"0800", "000001", "080000001"},
		{"0810", "000001", "080000001"},
		{"0110", "123", "010000123"}, // a spec without the leading zeros
	} {
		t.Run(tc.mti+"/"+tc.stan, func(t *testing.T) {
			mm, err := (&iso8583.Message{MTI: tc.mti, STAN: tc.stan}).Moov(iso8583.AcquirerSpec())
			if err != nil {
				t.Fatal(err)
			}
			got, err := requestIDs{}.GenerateRequestID(mm)
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
	for _, bad := range []struct{ mti, stan string }{{"0100", ""}, {"0100", "000000"}, {"0100", "12345a"}} {
		mm, _ := (&iso8583.Message{MTI: bad.mti, STAN: bad.stan}).Moov(iso8583.AcquirerSpec())
		if _, err := (requestIDs{}).GenerateRequestID(mm); err == nil {
			t.Errorf("%s STAN %q: no error", bad.mti, bad.stan)
		}
	}
}

// TestTimeoutAndLateAnswer: a request the issuer answers after the link's timeout fails with a
// TimeoutError naming what was sent, and the late answer reaches OnLate with the caller's request.
func TestTimeoutAndLateAnswer(t *testing.T) {
	s, _ := startSim(t, simissuer.Config{SlowDelay: time.Second})
	type late struct{ req, resp *iso8583.Message }
	lates := make(chan late, 4)
	cfg := testConfig(s.Addr())
	cfg.Timeout = 200 * time.Millisecond
	cfg.OnLate = func(req, resp *iso8583.Message) { lates <- late{req, resp} }
	reg := NewMetrics(nil)
	l, err := New(cfg, nil, reg, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	runUntilStopped(t, "link", l.Run)
	eventually(t, "link up", func() bool { return allSignedOn(l) })

	req := authorization("000042", "000000001098")
	_, err = l.Send(context.Background(), req)
	var te *TimeoutError
	if !errors.Is(err, ErrTimeout) || !errors.As(err, &te) {
		t.Fatalf("got %v, want a TimeoutError", err)
	}
	if te.Sent.MTI != "0100" || te.Sent.TransmissionDateTime != "1126143015" || te.Sent.AcquirerID != "12345678901" {
		t.Errorf("TimeoutError.Sent = %+v", te.Sent)
	}
	if got := lastRequest(t, s, "0100").STAN; te.Sent.STAN != got {
		t.Errorf("TimeoutError STAN %s, the issuer got %s", te.Sent.STAN, got)
	}
	if st := l.Status(); st.TimedOut != 1 {
		t.Errorf("timed-out requests remembered: %d, want 1", st.TimedOut)
	}
	select {
	case la := <-lates:
		if la.req != req {
			t.Errorf("OnLate got another request than the caller's")
		}
		if la.resp.MTI != "0110" || la.resp.ResponseCode != "00" || la.resp.STAN != te.Sent.STAN {
			t.Errorf("late answer %s/%s STAN %s", la.resp.MTI, la.resp.ResponseCode, la.resp.STAN)
		}
	case <-time.After(waitMax):
		t.Fatal("OnLate not called")
	}
	if st := l.Status(); st.TimedOut != 0 {
		t.Errorf("timed-out requests remembered after the late answer: %d, want 0", st.TimedOut)
	}
	if n := testutil.ToFloat64(reg.late.WithLabelValues("alpha")); n != 1 {
		t.Errorf("late responses counted: %v, want 1", n)
	}
	if n := testutil.ToFloat64(reg.requests.WithLabelValues("alpha", resultTimeout)); n != 1 {
		t.Errorf("timeouts counted: %v, want 1", n)
	}
}

// TestContextDeadlineBoundsTheWait: the earlier of the ctx deadline and the link timeout wins.
func TestContextDeadlineBoundsTheWait(t *testing.T) {
	s, _ := startSim(t, simissuer.Config{})
	cfg := testConfig(s.Addr())
	cfg.Timeout = 10 * time.Second
	l, _ := startLink(t, cfg)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := l.Send(ctx, authorization("000001", "000000000199")) // 99: never answered
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > cfg.Timeout/2 {
		t.Fatalf("waited %v: the ctx deadline was not honoured", d)
	}
	if _, err := l.Send(ctx, authorization("000002", "000000000101")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired ctx: %v, want context.DeadlineExceeded", err)
	}
}

// TestIssuerDownAndBack: no issuer → ErrUnavailable and a down status naming the error; the link
// signs on once the issuer listens, goes down when it stops and comes back when it returns.
func TestIssuerDownAndBack(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	l, _ := startLink(t, testConfig(addr))
	eventually(t, "a failed dial recorded", func() bool {
		c := l.Status().Connections[0]
		return c.State != StateSignedOn && strings.Contains(c.LastError, "dial")
	})
	if _, err := l.Send(context.Background(), authorization("000001", "000000000101")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
	if l.Status().Up {
		t.Fatalf("status up with no issuer")
	}
	for round := range 2 {
		_, stop := startSim(t, simissuer.Config{Listen: addr})
		eventually(t, "link up", func() bool { return allSignedOn(l) && l.Status().Up })
		if _, err := l.Send(context.Background(), authorization("000002", "000000000101")); err != nil {
			t.Fatalf("round %d: Send after the issuer came up: %v", round, err)
		}
		stop()
		eventually(t, "link down", func() bool { return !l.Status().Up })
		if _, err := l.Send(context.Background(), authorization("000003", "000000000101")); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("round %d: got %v with the issuer gone, want ErrUnavailable", round, err)
		}
	}
}

func TestSendBeforeRunIsUnavailable(t *testing.T) {
	l, err := New(testConfig("127.0.0.1:1"), nil, nil, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Send(context.Background(), authorization("000001", "000000000101")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

// TestSignOnRefusedConnectionNotUsed: an issuer that answers sign-on with 91 gets no traffic.
func TestSignOnRefusedConnectionNotUsed(t *testing.T) {
	peer := startFakePeer(t, func(body []byte) [][]byte {
		req, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			return nil
		}
		return [][]byte{pack(&iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, ResponseCode: "91", NetworkCode: req.NetworkCode})}
	})
	l, _ := startLink(t, testConfig(peer.addr()))
	eventually(t, "sign-on refusal recorded", func() bool {
		return strings.Contains(l.Status().Connections[0].LastError, "sign-on")
	})
	if _, err := l.Send(context.Background(), authorization("000001", "000000000101")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("got %v, want ErrUnavailable", err)
	}
}

// TestInFlightLimitIsBusy: with the only connection's one place taken by a request the issuer
// holds, the next Send fails at once with ErrBusy; the held one completes when answered.
func TestInFlightLimitIsBusy(t *testing.T) {
	held := make(chan *iso8583.Message, 1)
	peer := startFakePeer(t, func(body []byte) [][]byte {
		req, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			return nil
		}
		resp := &iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, ResponseCode: "00", NetworkCode: req.NetworkCode}
		if req.MTI == "0100" {
			held <- resp
			return nil
		}
		return [][]byte{pack(resp)}
	})
	cfg := testConfig(peer.addr())
	cfg.Connections, cfg.MaxInFlight = 1, 1
	l, _ := startLink(t, cfg)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	var wg sync.WaitGroup
	var heldErr error
	wg.Go(func() { _, heldErr = l.Send(context.Background(), authorization("000001", "000000000101")) })
	var resp *iso8583.Message
	select {
	case resp = <-held:
	case <-time.After(waitMax):
		t.Fatal("the first request did not reach the issuer")
	}
	if _, err := l.Send(context.Background(), authorization("000002", "000000000101")); !errors.Is(err, ErrBusy) {
		t.Fatalf("second request: %v, want ErrBusy", err)
	}
	peer.push(pack(resp))
	wg.Wait()
	if heldErr != nil {
		t.Fatalf("held request: %v", heldErr)
	}
}

func TestEchoUpdatesLastEcho(t *testing.T) {
	s, _ := startSim(t, simissuer.Config{})
	cfg := testConfig(s.Addr())
	cfg.EchoInterval = 20 * time.Millisecond
	l, _ := startLink(t, cfg)
	eventually(t, "every connection echoed", func() bool {
		for _, c := range l.Status().Connections {
			if c.LastEcho.IsZero() {
				return false
			}
		}
		return true
	})
	if got := lastRequest(t, s, "0800"); got.NetworkCode != iso8583.NetworkEcho {
		t.Errorf("last 0800 has field 70 %q, want echo 301", got.NetworkCode)
	}
}

// TestEchoFailuresReconnect: an issuer that stops answering echoes is dropped after two failed
// echoes in a row and dialled again.
func TestEchoFailuresReconnect(t *testing.T) {
	var mu sync.Mutex
	var seen []string // field 70 of each 0800, in order
	peer := startFakePeer(t, func(body []byte) [][]byte {
		req, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			return nil
		}
		mu.Lock()
		seen = append(seen, req.NetworkCode)
		mu.Unlock()
		if req.NetworkCode == iso8583.NetworkEcho {
			return nil // echoes are never answered
		}
		return [][]byte{pack(&iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, ResponseCode: "00", NetworkCode: req.NetworkCode})}
	})
	cfg := testConfig(peer.addr())
	cfg.Connections, cfg.EchoInterval, cfg.Timeout = 1, 10*time.Millisecond, 200*time.Millisecond
	startLink(t, cfg)
	eventually(t, "a second sign-on", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= 4 && seen[len(seen)-1] == iso8583.NetworkSignOn
	})
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"001", "301", "301", "001"}; !reflect.DeepEqual(seen[:4], want) {
		t.Fatalf("network messages %v, want %v first", seen, want)
	}
}

// TestSignOnAndSignOffOnStop: each connection signs on when it connects and signs off when the link
// stops, after which Run returns.
func TestSignOnAndSignOffOnStop(t *testing.T) {
	s, _ := startSim(t, simissuer.Config{})
	cfg := testConfig(s.Addr())
	cfg.Connections = 3
	l, stop := startLink(t, cfg)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	stop()
	var codes []string
	for _, r := range s.requests() {
		if r.MTI == "0800" {
			codes = append(codes, r.NetworkCode)
		}
	}
	want := []string{"001", "001", "001", "002", "002", "002"}
	if !reflect.DeepEqual(codes, want) {
		t.Fatalf("network messages %v, want %v", codes, want)
	}
	if st := l.Status(); st.Up || st.Connections[0].State != StateDown {
		t.Fatalf("status after stop: %+v", st)
	}
}

func TestFramings(t *testing.T) {
	for _, f := range []iso8583.Framing{iso8583.Binary2{}, iso8583.ASCII4{}, iso8583.BCD2{}} {
		t.Run(f.Name(), func(t *testing.T) {
			s, _ := startSim(t, simissuer.Config{Framing: f})
			cfg := testConfig(s.Addr())
			cfg.Framing = f
			l, _ := startLink(t, cfg)
			eventually(t, "link up", func() bool { return allSignedOn(l) })
			resp, err := l.Send(context.Background(), authorization("000001", "000000000151"))
			if err != nil || resp.ResponseCode != "51" {
				t.Fatalf("got %v, %v; want a 51", resp, err)
			}
		})
	}
}

// TestConcurrentSendsAllMatched: 200 concurrent Sends on two connections each get their own answer.
func TestConcurrentSendsAllMatched(t *testing.T) {
	s, _ := startSim(t, simissuer.Config{})
	l, _ := startLink(t, testConfig(s.Addr()))
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	const n = 200
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() {
			stan := fmt.Sprintf("%06d", k+1)
			amount := fmt.Sprintf("%010d%02d", k+1, []int{1, 5, 51}[k%3])
			req := authorization("000001", amount) // the same terminal STAN everywhere
			req.RRN = "633014" + stan
			resp, err := l.Send(context.Background(), req)
			switch {
			case err != nil:
				errs <- err
			case resp.RRN != req.RRN || resp.Amount != req.Amount:
				errs <- fmt.Errorf("request %s got the answer of %s", req.RRN, resp.RRN)
			case resp.ResponseCode != map[int]string{0: "00", 1: "05", 2: "51"}[k%3]:
				errs <- fmt.Errorf("request %s answered %s", req.RRN, resp.ResponseCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := l.Status(); st.InFlight != 0 {
		t.Errorf("in flight after all answers: %d", st.InFlight)
	}
}

// TestUndecodableAnswerKeepsTheConnection: a garbage frame from the issuer is counted, and the
// connection keeps carrying traffic.
func TestUndecodableAnswerKeepsTheConnection(t *testing.T) {
	peer := startFakePeer(t, func(body []byte) [][]byte {
		req, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			return nil
		}
		resp := pack(&iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, ResponseCode: "00", NetworkCode: req.NetworkCode})
		if req.MTI == "0100" {
			return [][]byte{[]byte("0110ZZZZ"), resp}
		}
		return [][]byte{resp}
	})
	cfg := testConfig(peer.addr())
	cfg.Connections = 1
	m := NewMetrics(nil)
	l, err := New(cfg, nil, m, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	runUntilStopped(t, "link", l.Run)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	for k := range 3 {
		if _, err := l.Send(context.Background(), authorization("000001", "000000000101")); err != nil {
			t.Fatalf("request %d: %v", k, err)
		}
	}
	if n := testutil.ToFloat64(m.decodeErrors.WithLabelValues("alpha")); n != 3 {
		t.Errorf("decode errors counted: %v, want 3", n)
	}
}

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"no name", func(c *Config) { c.Name = "" }, "Name"},
		{"bad addr", func(c *Config) { c.Addr = "9583" }, "Addr"},
		{"too many connections", func(c *Config) { c.Connections = ConnectionsMax + 1 }, "Connections"},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, "Timeout"},
		{"in-flight", func(c *Config) { c.MaxInFlight = -1 }, "MaxInFlight"},
		{"acquirer ID", func(c *Config) { c.AcquirerID = "ACQ" }, "AcquirerID"},
		{"backoff bounds", func(c *Config) { c.ReconnectMin, c.ReconnectMax = time.Second, time.Millisecond }, "ReconnectMax"},
		{"frame over ascii4", func(c *Config) { c.Framing, c.MaxFrame = iso8583.ASCII4{}, 20000 }, "MaxFrame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig("alpha", "127.0.0.1:9583")
			tc.edit(&cfg)
			_, err := New(cfg, nil, nil, nil)
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, ErrConfig) {
				t.Fatalf("got %v, want a ConfigError on %s", err, tc.field)
			}
		})
	}
	if _, err := New(Config{Name: "alpha", Addr: "127.0.0.1:9583"}, nil, nil, nil); err != nil {
		t.Fatalf("zero values should take their defaults: %v", err)
	}
}

// TestIssuerEchoAnswered: an 0800 echo from the issuer is answered 0810/00 with its STAN and field
// 70; the link stays in service.
func TestIssuerEchoAnswered(t *testing.T) {
	answers := make(chan *iso8583.Message, 1)
	peer := startFakePeer(t, func(body []byte) [][]byte {
		m, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			return nil
		}
		if m.MTI == "0810" {
			answers <- m
			return nil
		}
		return [][]byte{pack(&iso8583.Message{MTI: iso8583.ResponseMTI(m.MTI), STAN: m.STAN, ResponseCode: "00", NetworkCode: m.NetworkCode})}
	})
	cfg := testConfig(peer.addr())
	cfg.Connections = 1
	l, _ := startLink(t, cfg)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	peer.push(pack(&iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "424242", NetworkCode: "301"}))
	select {
	case got := <-answers:
		if got.STAN != "424242" || got.ResponseCode != "00" || got.NetworkCode != "301" {
			t.Fatalf("answer %s/%s STAN %s field 70 %q", got.MTI, got.ResponseCode, got.STAN, got.NetworkCode)
		}
	case <-time.After(waitMax):
		t.Fatal("the issuer's echo was not answered")
	}
	if !allSignedOn(l) {
		t.Fatal("link left service")
	}
}
