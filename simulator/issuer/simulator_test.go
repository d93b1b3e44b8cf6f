package issuer

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// TestRulesOverTCP sends one request per rule of CONTRACT §5 and checks the answer.
func TestRulesOverTCP(t *testing.T) {
	const slow = 50 * time.Millisecond
	sim := startSim(t, Config{SlowDelay: slow})
	with := func(m *iso8583.Message, edit func(*iso8583.Message)) *iso8583.Message { edit(m); return m }
	cases := []struct {
		name     string
		req      *iso8583.Message
		wantMTI  string
		wantRC   string // "" means: no answer
		approval bool
		slow     bool
	}{
		{"approve any other ending", authorization("000001", "000000012301"), "0110", "00", true, false},
		{"approve ending 00", authorization("000002", "000000010000"), "0110", "00", true, false},
		{"05 do not honour", authorization("000003", "000000001005"), "0110", "05", false, false},
		{"14 invalid card", authorization("000004", "000000001014"), "0110", "14", false, false},
		{"51 insufficient funds", authorization("000005", "000000001051"), "0110", "51", false, false},
		{"54 expired card", authorization("000006", "000000001054"), "0110", "54", false, false},
		{"55 incorrect PIN", authorization("000007", "000000001055"), "0110", "55", false, false},
		{"57 not permitted", authorization("000008", "000000001057"), "0110", "57", false, false},
		{"61 exceeds limit", authorization("000009", "000000001061"), "0110", "61", false, false},
		{"62 restricted card", authorization("000010", "000000001062"), "0110", "62", false, false},
		{"65 exceeds frequency", authorization("000011", "000000001065"), "0110", "65", false, false},
		{"98 approved after the slow delay", authorization("000012", "000000001098"), "0110", "00", true, true},
		{"99 never answered", authorization("000013", "000000001099"), "", "", false, false},
		{"repeat 0101 like 0100", with(authorization("000014", "000000001051"), func(m *iso8583.Message) { m.MTI = "0101" }), "0110", "51", false, false},
		{"0200 purchase by amount", with(authorization("000015", "000000001005"), func(m *iso8583.Message) { m.MTI = "0200" }), "0210", "05", false, false},
		{"0200 purchase approved", with(authorization("000016", "000000001001"), func(m *iso8583.Message) { m.MTI = "0200" }), "0210", "00", true, false},
		{"refund 20xxxx approved whatever the amount", with(authorization("000017", "000000001051"), func(m *iso8583.Message) {
			m.MTI, m.ProcessingCode = "0200", "200000"
		}), "0210", "00", true, false},
		{"refund ending 99 still answered", with(authorization("000018", "000000001099"), func(m *iso8583.Message) {
			m.MTI, m.ProcessingCode = "0200", "200000"
		}), "0210", "00", true, false},
		{"0400 reversal", with(authorization("000019", "000000001051"), func(m *iso8583.Message) { m.MTI = "0400" }), "0410", "00", false, false},
		{"0401 reversal repeat", with(authorization("000020", "000000001099"), func(m *iso8583.Message) { m.MTI = "0401" }), "0410", "00", false, false},
		{"0420 reversal advice", with(authorization("000021", "000000001005"), func(m *iso8583.Message) { m.MTI = "0420" }), "0430", "00", false, false},
		{"0421 reversal advice repeat", with(authorization("000022", "000000001005"), func(m *iso8583.Message) { m.MTI = "0421" }), "0430", "00", false, false},
		{"0220 completion advice", with(authorization("000023", "000000001098"), func(m *iso8583.Message) { m.MTI = "0220" }), "0230", "00", false, false},
		{"0221 completion advice repeat", with(authorization("000024", "000000001005"), func(m *iso8583.Message) { m.MTI = "0221" }), "0230", "00", false, false},
		{"0120 authorization advice", with(authorization("000030", "000000001099"), func(m *iso8583.Message) { m.MTI = "0120" }), "0130", "00", false, false},
		{"0800 echo", &iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000025", NetworkCode: "301"}, "0810", "00", false, false},
		{"0800 sign-on", &iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000026", NetworkCode: "001"}, "0810", "00", false, false},
		{"0800 sign-off", &iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000027", NetworkCode: "002"}, "0810", "00", false, false},
		{"0100 without amount is a format error", with(authorization("000028", ""), func(*iso8583.Message) {}), "0110", "30", false, false},
		{"unsupported request MTI", with(authorization("000029", "000000001001"), func(m *iso8583.Message) { m.MTI = "0600" }), "0610", "12", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, sim.Addr(), nil)
			start := time.Now()
			c.send(tc.req)
			if tc.wantRC == "" {
				// Anything answered immediately would arrive before the marker's answer.
				marker := authorization("999999", "000000000001")
				c.send(marker)
				if got := c.recv(); got.STAN != marker.STAN {
					t.Fatalf("first answer is for STAN %s, want the marker's (the request must not be answered)", got.STAN)
				}
				return
			}
			got := c.recv()
			if tc.slow && time.Since(start) < slow {
				t.Errorf("answered after %v, before the slow delay %v", time.Since(start), slow)
			}
			if got.MTI != tc.wantMTI || got.ResponseCode != tc.wantRC {
				t.Fatalf("got %s/%s, want %s/%s", got.MTI, got.ResponseCode, tc.wantMTI, tc.wantRC)
			}
			checkEchoed(t, tc.req, got)
			if tc.approval != (got.ApprovalCode != "") {
				t.Errorf("approval code %q, want one: %v", got.ApprovalCode, tc.approval)
			}
			if tc.approval && (len(got.ApprovalCode) != 6 || got.ApprovalCode != ApprovalCode(tc.req)) {
				t.Errorf("approval code %q, want the 6 characters %q", got.ApprovalCode, ApprovalCode(tc.req))
			}
			if tc.req.MTI == "0800" && got.NetworkCode != tc.req.NetworkCode {
				t.Errorf("field 70 %q, want %q", got.NetworkCode, tc.req.NetworkCode)
			}
		})
	}
}

// checkEchoed checks the fields a response echoes, and that card data never comes back.
func checkEchoed(t *testing.T, req, resp *iso8583.Message) {
	t.Helper()
	for _, f := range []struct {
		id        int
		req, resp string
	}{
		{2, req.PAN, resp.PAN}, {3, req.ProcessingCode, resp.ProcessingCode}, {4, req.Amount, resp.Amount},
		{7, req.TransmissionDateTime, resp.TransmissionDateTime}, {11, req.STAN, resp.STAN},
		{12, req.LocalTime, resp.LocalTime}, {13, req.LocalDate, resp.LocalDate}, {32, req.AcquirerID, resp.AcquirerID},
		{37, req.RRN, resp.RRN}, {41, req.TerminalID, resp.TerminalID}, {42, req.MerchantID, resp.MerchantID},
		{49, req.Currency, resp.Currency},
	} {
		if f.req != f.resp {
			t.Errorf("field %d = %q, want the request's %q", f.id, f.resp, f.req)
		}
	}
	for _, id := range []int{14, 35, 45, 52, 55, 64, 128} {
		if resp.Has(id) {
			t.Errorf("response carries field %d", id)
		}
	}
}

// TestPipeliningSlowDoesNotHoldOthers sends many requests on one connection with a slow 98 (an
// hour) and a silent 99 among them: every other answer comes while both are still pending.
func TestPipeliningSlowDoesNotHoldOthers(t *testing.T) {
	sim := startSim(t, Config{SlowDelay: time.Hour, DrainTimeout: time.Millisecond})
	c := dial(t, sim.Addr(), nil)
	const n = 41
	want := map[string]string{} // STAN → response code
	for k := 1; k <= n; k++ {
		stan := fmt.Sprintf("%06d", k)
		amount, code := "000000001001", "00"
		switch {
		case k == 1:
			amount, code = "000000001098", ""
		case k == n/2:
			amount, code = "000000001099", ""
		case k%3 == 0:
			amount, code = "000000001051", "51"
		}
		if code != "" {
			want[stan] = code
		}
		c.send(authorization(stan, amount))
	}
	for range len(want) {
		got := c.recv()
		code, ok := want[got.STAN]
		if !ok {
			t.Fatalf("unexpected or repeated answer for STAN %s", got.STAN)
		}
		delete(want, got.STAN)
		if got.ResponseCode != code {
			t.Errorf("STAN %s answered %s, want %s", got.STAN, got.ResponseCode, code)
		}
	}
	if n := pendingAnswers(sim); n != 1 {
		t.Errorf("pending answers %d, want the slow one only", n)
	}
}

// TestBadFrames: a readable MTI gets 30 and the connection goes on; an unreadable one, a bad or
// oversized length header closes the connection; other connections are not affected.
func TestBadFrames(t *testing.T) {
	sim := startSim(t, Config{MaxFrame: 512})
	bystander := dial(t, sim.Addr(), nil)
	t.Run("readable MTI answered 30, connection kept", func(t *testing.T) {
		c := dial(t, sim.Addr(), nil)
		for _, body := range []string{"0100ZZZZ", "0200723C440000C08000164111", "0400"} {
			c.sendRaw([]byte(body))
			got := c.recv()
			want := iso8583.ResponseMTI(body[:4])
			if got.MTI != want || got.ResponseCode != "30" {
				t.Fatalf("%q: got %s/%s, want %s/30", body, got.MTI, got.ResponseCode, want)
			}
		}
		c.send(authorization("000001", "000000000101"))
		if got := c.recv(); got.ResponseCode != "00" {
			t.Fatalf("after the bad frames: %s, want 00", got.ResponseCode)
		}
	})
	closes := []struct {
		name  string
		frame []byte
	}{
		{"unreadable MTI", []byte{0, 8, 'G', 'A', 'R', 'B', 'A', 'G', 'E', '!'}},
		{"too short for an MTI", []byte{0, 2, '0', '1'}},
		{"length over the maximum", []byte{0xFF, 0xFF, '0', '1', '0', '0'}},
	}
	for _, tc := range closes {
		t.Run(tc.name+" closes the connection", func(t *testing.T) {
			c := dial(t, sim.Addr(), nil)
			c.write(tc.frame)
			if _, err := c.recvErr(ioTimeout); !isClosed(err) {
				t.Fatalf("got %v, want the connection closed", err)
			}
		})
	}
	bystander.send(authorization("000002", "000000000101"))
	if got := bystander.recv(); got.ResponseCode != "00" {
		t.Fatalf("bystander connection: %s, want 00", got.ResponseCode)
	}
}

func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		err != nil && strings.Contains(err.Error(), "connection reset")
}

func TestFramings(t *testing.T) {
	for _, f := range []iso8583.Framing{iso8583.Binary2{}, iso8583.ASCII4{}, iso8583.BCD2{}} {
		t.Run(f.Name(), func(t *testing.T) {
			sim := startSim(t, Config{Framing: f})
			c := dial(t, sim.Addr(), f)
			c.send(authorization("000001", "000000004251"))
			if got := c.recv(); got.STAN != "000001" || got.ResponseCode != "51" {
				t.Fatalf("got %s/%s", got.STAN, got.ResponseCode)
			}
		})
	}
	t.Run("ascii4 bad header closes", func(t *testing.T) {
		sim := startSim(t, Config{Framing: iso8583.ASCII4{}})
		c := dial(t, sim.Addr(), iso8583.ASCII4{})
		c.write([]byte("00x40100"))
		if _, err := c.recvErr(ioTimeout); !isClosed(err) {
			t.Fatalf("got %v, want the connection closed", err)
		}
	})
}

func TestLatencyIsAddedToEveryAnswer(t *testing.T) {
	const latency = 100 * time.Millisecond
	sim := startSim(t, Config{Latency: latency})
	c := dial(t, sim.Addr(), nil)
	start := time.Now()
	c.send(authorization("000001", "000000000101"))
	c.send(&iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000002", NetworkCode: "301"})
	for range 2 {
		c.recv()
		if d := time.Since(start); d < latency {
			t.Fatalf("answered after %v, before the latency %v", d, latency)
		}
	}
}

func TestConnectionLimit(t *testing.T) {
	sim := startSim(t, Config{MaxConns: 1})
	first := dial(t, sim.Addr(), nil)
	first.send(authorization("000001", "000000000101"))
	first.recv() // the first connection is registered
	second := dial(t, sim.Addr(), nil)
	if _, err := second.recvErr(ioTimeout); !isClosed(err) {
		t.Fatalf("second connection: %v, want closed", err)
	}
	first.send(authorization("000002", "000000000101"))
	if got := first.recv(); got.ResponseCode != "00" {
		t.Fatalf("first connection after the refusal: %s", got.ResponseCode)
	}
}

// TestInFlightLimitIsBackPressure: with room for two pending answers, slow answers fill it and the
// next request waits to be read until one is written; nothing is lost.
func TestInFlightLimitIsBackPressure(t *testing.T) {
	const slow = 100 * time.Millisecond
	sim := startSim(t, Config{MaxInFlight: 2, SlowDelay: slow})
	c := dial(t, sim.Addr(), nil)
	start := time.Now()
	c.send(authorization("000001", "000000000198"))
	c.send(authorization("000002", "000000000198"))
	c.send(authorization("000003", "000000000101"))
	got := c.recv()
	if got.STAN == "000003" && time.Since(start) < slow {
		t.Fatalf("third request answered at once with both places taken")
	}
	seen := map[string]bool{got.STAN: true}
	for range 2 {
		seen[c.recv().STAN] = true
	}
	if len(seen) != 3 {
		t.Fatalf("answers: %v", seen)
	}
}

// TestStopDrainsDecidedAnswers: a stopping simulator writes the answers due within the drain
// timeout, drops those due later, closes, and Run returns nil.
func TestStopDrainsDecidedAnswers(t *testing.T) {
	var read atomic.Int32
	s, err := New(Config{Listen: "127.0.0.1:0", Latency: 300 * time.Millisecond, DrainTimeout: time.Minute,
		SlowDelay: time.Hour, OnRequest: func(*iso8583.Message) { read.Add(1) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = s.Run(ctx) })
	c := dial(t, s.Addr(), nil)
	c.send(authorization("000001", "000000000101"))
	c.send(authorization("000002", "000000000198")) // due in an hour: dropped
	c.send(&iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000003", NetworkCode: "301"})
	waitFor(t, func() bool { return read.Load() == 3 })
	cancel()
	got := map[string]bool{}
	for range 2 {
		got[c.recv().STAN] = true
	}
	if !got["000001"] || !got["000003"] {
		t.Fatalf("answers after stop: %v, want 000001 and 000003", got)
	}
	if _, err := c.recvErr(ioTimeout); !isClosed(err) {
		t.Fatalf("after drain: %v, want closed", err)
	}
	wg.Wait()
	if runErr != nil {
		t.Fatalf("Run: %v", runErr)
	}
	if _, err := net.DialTimeout("tcp", s.Addr(), time.Second); err == nil {
		t.Fatalf("still accepting after stop")
	}
}

func pendingAnswers(s *Simulator) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for c := range s.mu.conns {
		n += len(c.pending)
	}
	return n
}

// waitFor polls cond until it holds or ioTimeout passes.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(ioTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", ioTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		field string
	}{
		{"listen", Config{Listen: "nonsense"}, "Listen"},
		{"negative latency", Config{Listen: "127.0.0.1:0", Latency: -time.Second}, "Latency"},
		{"negative slow delay", Config{Listen: "127.0.0.1:0", SlowDelay: -time.Second}, "SlowDelay"},
		{"connections", Config{Listen: "127.0.0.1:0", MaxConns: -1}, "MaxConns"},
		{"frame", Config{Listen: "127.0.0.1:0", MaxFrame: 10}, "MaxFrame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, nil)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("got %v, want a config error naming %s", err, tc.field)
			}
		})
	}
}

// TestAnswerEditedInPlaceIsDecides: for requests of every kind the bytes the simulator sends are
// those of Decide's response packed on its own.
func TestAnswerEditedInPlaceIsDecides(t *testing.T) {
	s := &Simulator{cfg: Config{}.withDefaults()}
	reqs := []*iso8583.Message{
		authorization("000001", "000000012301"), authorization("000002", "000000001051"),
		authorization("000003", "000000001098"),
		{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000004", NetworkCode: "001"},
		{MTI: "0400", PAN: "4111111111111111", ProcessingCode: "000000", Amount: "000000000100", STAN: "000005",
			TerminalID: "WEB00001", OriginalData: "010000012311261430150000000000000000000000"},
		{MTI: "0600", STAN: "000006", Amount: "000000000100", MAC2: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
	}
	for _, req := range reqs {
		frame, err := req.Pack(iso8583.AcquirerSpec())
		if err != nil {
			t.Fatal(err)
		}
		body, _, ok := s.handle(frame)
		if !ok || body == nil {
			t.Fatalf("%s: not answered", req.MTI)
		}
		want, _ := Decide(req)
		wantBody, err := want.Pack(iso8583.AcquirerSpec())
		if err != nil {
			t.Fatal(err)
		}
		if string(body) != string(wantBody) {
			t.Errorf("%s: sent %q, Decide's answer is %q", req.MTI, body, wantBody)
		}
	}
}
