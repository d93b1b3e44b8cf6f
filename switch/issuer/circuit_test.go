package issuer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
)

// startLinkWith runs a link with its own metrics and clock until the end of the test.
func startLinkWith(t *testing.T, cfg Config, m *Metrics, now func() time.Time) (*Issuer, func()) {
	t.Helper()
	l, err := New(cfg, zaptest.NewLogger(t).Named("link"), m, now)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return l, runUntilStopped(t, "link", l.Run)
}

// count0100 is how many authorizations a simulator received.
func count0100(s *sim) int {
	n := 0
	for _, r := range s.requests() {
		if r.MTI == iso8583.MTIAuthorization {
			n++
		}
	}
	return n
}

func circuitGauge(m *Metrics, issuer string, st CircuitState) float64 {
	return testutil.ToFloat64(m.circuit.WithLabelValues(issuer, string(st)))
}

// TestCircuitOpensOnTimeoutsAndFailsFast: consecutive timeouts open the circuit; while open, Send
// fails at once with ErrCircuitOpen (an ErrUnavailable) and nothing reaches the issuer; after the
// open time an echo probe that the issuer answers closes it by itself.
func TestCircuitOpensOnTimeoutsAndFailsFast(t *testing.T) {
	s, _ := startSim(t, simissuer.Config{})
	cfg := testConfig(s.Addr())
	cfg.Connections, cfg.Timeout = 1, 100*time.Millisecond
	cfg.Circuit = Circuit{Failures: 3, OpenFor: time.Minute}
	clock, m := newTestClock(), NewMetrics(nil)
	l, _ := startLinkWith(t, cfg, m, clock.now)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	if circuitGauge(m, "alpha", CircuitClosed) != 1 || circuitGauge(m, "alpha", CircuitOpen) != 0 {
		t.Fatalf("a new link's circuit gauges are not closed=1 open=0")
	}

	for k := range 3 {
		if _, err := l.Send(context.Background(), authorization("000001", "000000000199")); !errors.Is(err, ErrTimeout) {
			t.Fatalf("request %d to a host that does not answer: %v, want a timeout", k, err)
		}
	}
	st := l.Status()
	if st.Circuit != CircuitOpen || st.Up || st.Endpoints[0].Circuit != CircuitOpen {
		t.Fatalf("after 3 timeouts: circuit %s, up %v; want open, not up", st.Circuit, st.Up)
	}
	if circuitGauge(m, "alpha", CircuitOpen) != 1 || circuitGauge(m, "alpha", CircuitClosed) != 0 {
		t.Fatalf("circuit gauges do not say open")
	}
	if v := testutil.ToFloat64(m.endpointsUp.WithLabelValues("alpha", s.Addr())); v != 0 {
		t.Fatalf("endpoint up gauge %v with its circuit open, want 0", v)
	}
	sent := count0100(s)
	_, err := l.Send(context.Background(), authorization("000002", "000000000101"))
	if !errors.Is(err, ErrCircuitOpen) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Send with the circuit open: %v, want ErrCircuitOpen wrapping ErrUnavailable", err)
	}
	if n := count0100(s); n != sent {
		t.Fatalf("the issuer received %d requests while the circuit was open", n-sent)
	}
	if n := testutil.ToFloat64(m.requests.WithLabelValues("alpha", resultCircuitOpen)); n != 1 {
		t.Fatalf("circuit_open results counted: %v, want 1", n)
	}

	clock.advance(time.Minute)
	eventually(t, "the circuit closed by an echo probe", func() bool { return l.Status().Circuit == CircuitClosed })
	if _, err := l.Send(context.Background(), authorization("000003", "000000000101")); err != nil {
		t.Fatalf("Send after the circuit closed: %v", err)
	}
	if circuitGauge(m, "alpha", CircuitClosed) != 1 || circuitGauge(m, "alpha", CircuitOpen) != 0 {
		t.Fatalf("circuit gauges do not say closed again")
	}
}

// mutePeer answers sign-on always, and echoes and authorizations only while it is not muted.
func mutePeer(t *testing.T, mute *atomic.Bool) *fakePeer {
	return startFakePeer(t, func(body []byte) [][]byte {
		req, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil || (mute.Load() && req.NetworkCode != iso8583.NetworkSignOn) {
			return nil
		}
		return [][]byte{pack(&iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, ResponseCode: "00",
			NetworkCode: req.NetworkCode, ApprovalCode: "A1B2C3"})}
	})
}

// TestCircuitProbeFailureReopens: a half-open circuit whose echo probe is not answered opens again
// for another period; once the issuer answers, the next probe closes it.
func TestCircuitProbeFailureReopens(t *testing.T) {
	var mute atomic.Bool
	peer := mutePeer(t, &mute)
	cfg := testConfig(peer.addr())
	cfg.Connections, cfg.Timeout, cfg.EchoInterval = 1, 100*time.Millisecond, time.Hour
	cfg.Circuit = Circuit{Failures: 2, OpenFor: time.Minute}
	clock := newTestClock()
	l, _ := startLinkWith(t, cfg, nil, clock.now)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	mute.Store(true)
	for range 2 {
		l.Send(context.Background(), authorization("000001", "000000000101"))
	}
	first := l.Status().Endpoints[0].OpenedAt
	if l.Status().Circuit != CircuitOpen || first.IsZero() {
		t.Fatalf("circuit %s after 2 timeouts, want open", l.Status().Circuit)
	}
	clock.advance(time.Minute)
	eventually(t, "the failed probe reopened the circuit", func() bool {
		st := l.Status().Endpoints[0]
		return st.Circuit == CircuitOpen && st.OpenedAt.After(first)
	})
	mute.Store(false)
	clock.advance(time.Minute)
	eventually(t, "the circuit closed", func() bool { return l.Status().Circuit == CircuitClosed })
	if _, err := l.Send(context.Background(), authorization("000002", "000000000101")); err != nil {
		t.Fatalf("Send after the circuit closed: %v", err)
	}
}

// TestFailoverAndFailback: traffic goes to the primary; when it dies, to the secondary at once;
// when the primary is back and its circuit has closed after the open time, to the primary again.
func TestFailoverAndFailback(t *testing.T) {
	primary, stopPrimary := startSim(t, simissuer.Config{})
	secondary, _ := startSim(t, simissuer.Config{})
	pa := primary.Addr()
	cfg := testConfig("")
	cfg.Endpoints = []Endpoint{{Addr: pa}, {Addr: secondary.Addr()}}
	cfg.Connections = 1
	cfg.Circuit = Circuit{Failures: 2, OpenFor: time.Minute}
	clock, m := newTestClock(), NewMetrics(nil)
	l, _ := startLinkWith(t, cfg, m, clock.now)
	eventually(t, "both endpoints signed on", func() bool { return allSignedOn(l) })
	send := func(what string) {
		t.Helper()
		if _, err := l.Send(context.Background(), authorization("000001", "000000000101")); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	send("to the primary")
	if count0100(primary) != 1 || count0100(secondary) != 0 {
		t.Fatalf("first request: primary got %d, secondary %d; want 1, 0", count0100(primary), count0100(secondary))
	}

	stopPrimary()
	eventually(t, "the primary down", func() bool { return !l.Status().Endpoints[0].Up })
	for range 3 {
		send("with the primary down")
	}
	if count0100(secondary) != 3 {
		t.Fatalf("the secondary got %d requests, want 3", count0100(secondary))
	}
	st := l.Status()
	if !st.Up || st.Circuit != CircuitClosed || !st.Endpoints[1].Active {
		t.Fatalf("with the secondary carrying traffic: up %v, circuit %s, secondary active %v", st.Up, st.Circuit, st.Endpoints[1].Active)
	}
	if n := testutil.ToFloat64(m.failovers.WithLabelValues("alpha")); n != 1 {
		t.Fatalf("failovers %v, want 1", n)
	}
	eventually(t, "the primary's circuit opened on failed dials", func() bool {
		return l.Status().Endpoints[0].Circuit == CircuitOpen
	})
	if v := testutil.ToFloat64(m.endpointsUp.WithLabelValues("alpha", pa)); v != 0 {
		t.Fatalf("primary endpoint up gauge %v, want 0", v)
	}

	back, _ := startSim(t, simissuer.Config{Listen: pa})
	eventually(t, "the primary signed on again", func() bool { return allSignedOn(l) })
	send("with the primary back but its circuit open")
	if count0100(back) != 0 {
		t.Fatalf("the primary got traffic while its circuit was open")
	}
	clock.advance(time.Minute)
	eventually(t, "the primary's circuit closed", func() bool { return l.Status().Endpoints[0].Circuit == CircuitClosed })
	send("after failback")
	if count0100(back) != 1 {
		t.Fatalf("the primary got %d requests after its circuit closed, want 1", count0100(back))
	}
	if n := testutil.ToFloat64(m.failovers.WithLabelValues("alpha")); n != 2 {
		t.Fatalf("failovers %v after failback, want 2", n)
	}
}

// TestHungPrimaryFailsOver: a primary that stays signed on but stops answering opens its own
// circuit; the secondary takes the traffic and the issuer's circuit stays closed.
func TestHungPrimaryFailsOver(t *testing.T) {
	var mute atomic.Bool
	hung := mutePeer(t, &mute)
	secondary, _ := startSim(t, simissuer.Config{})
	cfg := testConfig("")
	cfg.Endpoints = []Endpoint{{Addr: hung.addr()}, {Addr: secondary.Addr()}}
	cfg.Connections, cfg.Timeout, cfg.EchoInterval = 1, 100*time.Millisecond, time.Hour
	cfg.Circuit = Circuit{Failures: 2, OpenFor: time.Minute}
	m := NewMetrics(nil)
	l, _ := startLinkWith(t, cfg, m, newTestClock().now)
	eventually(t, "both endpoints signed on", func() bool { return allSignedOn(l) })
	mute.Store(true)
	for range 2 {
		if _, err := l.Send(context.Background(), authorization("000001", "000000000101")); !errors.Is(err, ErrTimeout) {
			t.Fatalf("request to the hung primary: %v, want a timeout", err)
		}
	}
	if _, err := l.Send(context.Background(), authorization("000002", "000000000101")); err != nil {
		t.Fatalf("request after the primary's circuit opened: %v", err)
	}
	if count0100(secondary) != 1 {
		t.Fatalf("the secondary got %d requests, want 1", count0100(secondary))
	}
	st := l.Status()
	if st.Endpoints[0].Circuit != CircuitOpen || st.Circuit != CircuitClosed || !st.Up {
		t.Fatalf("primary circuit %s, issuer circuit %s, up %v; want open, closed, up", st.Endpoints[0].Circuit, st.Circuit, st.Up)
	}
	if circuitGauge(m, "alpha", CircuitClosed) != 1 {
		t.Fatalf("the issuer's circuit gauge is not closed while the secondary takes traffic")
	}
}

// TestLostConnectionCountsOnce: a connection dropped with many requests in flight is one failure
// for the breaker, not one per request: the circuit stays closed and the link carries on.
func TestLostConnectionCountsOnce(t *testing.T) {
	const held = 6
	var mu sync.Mutex
	n := 0
	peer := startFakePeer(t, func(body []byte) [][]byte {
		req, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			return nil
		}
		if req.MTI == iso8583.MTIAuthorization && req.Amount == "000000000177" {
			mu.Lock()
			defer mu.Unlock()
			if n++; n == held {
				return [][]byte{[]byte(hangUp)}
			}
			return nil
		}
		return [][]byte{pack(&iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, ResponseCode: "00", NetworkCode: req.NetworkCode})}
	})
	cfg := testConfig(peer.addr())
	cfg.Connections = 1
	cfg.Circuit = Circuit{Failures: 3, OpenFor: time.Minute}
	m := NewMetrics(nil)
	l, _ := startLinkWith(t, cfg, m, newTestClock().now)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	var wg sync.WaitGroup
	errs := make(chan error, held)
	for range held {
		wg.Go(func() {
			_, err := l.Send(context.Background(), authorization("000001", "000000000177"))
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		var te *TimeoutError
		if !errors.As(err, &te) || te.Reason != "connection lost" {
			t.Fatalf("a request in flight on the dropped connection: %v, want connection lost", err)
		}
	}
	eventually(t, "link up again", func() bool {
		return testutil.ToFloat64(m.connFailures.WithLabelValues("alpha")) == 1 && allSignedOn(l)
	})
	if st := l.Status(); st.Circuit != CircuitClosed || st.Endpoints[0].ConsecutiveFailures != 1 {
		t.Fatalf("after one dropped connection: circuit %s, %d failures; want closed, 1", st.Circuit, st.Endpoints[0].ConsecutiveFailures)
	}
	if _, err := l.Send(context.Background(), authorization("000002", "000000000101")); err != nil {
		t.Fatalf("Send after the reconnect: %v", err)
	}
}
