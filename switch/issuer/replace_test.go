package issuer

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
)

// TestReplaceMakesBeforeBreaking: a link that replaces another (a reload moved the issuer to a new
// host) numbers on from the old link's STANs; the old one, stopped, finishes the request it had
// in flight; the gauges are the new link's, without the old endpoint's series.
func TestReplaceMakesBeforeBreaking(t *testing.T) {
	oldHost, _ := startSim(t, simissuer.Config{SlowDelay: 300 * time.Millisecond})
	newHost, _ := startSim(t, simissuer.Config{})
	m := NewMetrics(nil)
	old, stopOld := startLinkWith(t, testConfig(oldHost.Addr()), m, time.Now)
	eventually(t, "old link up", func() bool { return allSignedOn(old) })
	for range 3 {
		if _, err := old.Send(context.Background(), authorization("000001", "000000000101")); err != nil {
			t.Fatal(err)
		}
	}
	lastOld, _ := parseSTAN(lastRequest(t, oldHost, "0100").STAN)

	// A request in flight on the old link when the switch moves to the new one (98: answered
	// after 300 ms).
	slow := make(chan error, 1)
	go func() {
		_, err := old.Send(context.Background(), authorization("000002", "000000000198"))
		slow <- err
	}()
	eventually(t, "the slow request at the old host", func() bool { return count0100(oldHost) == 4 })

	repl, err := New(testConfig(newHost.Addr()), nil, m, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	repl.Replace(old)
	runUntilStopped(t, "replacement", repl.Run)
	eventually(t, "replacement up", func() bool { return allSignedOn(repl) })
	stopOld()
	if err := <-slow; err != nil {
		t.Fatalf("the request in flight on the replaced link: %v, want its answer", err)
	}
	resp, err := repl.Send(context.Background(), authorization("000003", "000000000101"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := parseSTAN(resp.STAN); n <= lastOld+stanGap-10 {
		t.Fatalf("the replacement numbered %d after the old link's %d: STANs would repeat at the issuer", n, lastOld)
	}
	if v := testutil.ToFloat64(m.circuit.WithLabelValues("alpha", string(CircuitClosed))); v != 1 {
		t.Fatalf("circuit closed gauge %v after the old link stopped, want 1 (the replacement's)", v)
	}
	if v := testutil.ToFloat64(m.endpointsUp.WithLabelValues("alpha", newHost.Addr())); v != 1 {
		t.Fatalf("the new endpoint's up gauge %v, want 1", v)
	}
	if n := testutil.CollectAndCount(m.endpointsUp); n != 1 {
		t.Fatalf("%d endpoint series, want only the new endpoint's", n)
	}
	if v := testutil.ToFloat64(m.connsUp.WithLabelValues("alpha")); v != float64(DefaultConnections) {
		t.Fatalf("connections signed on %v, want the replacement's %d", v, DefaultConnections)
	}
	m.Forget("alpha")
	if n := testutil.CollectAndCount(m.circuit) + testutil.CollectAndCount(m.endpointsUp); n != 0 {
		t.Fatalf("%d state series left after Forget", n)
	}
}
