package issuer

import (
	"sync/atomic"
	"testing"
	"time"
)

// testClock is a clock that tests move by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(fixedNow().UnixNano())
	return c
}

func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestBreakerStateMachine(t *testing.T) {
	clock := newTestClock()
	var changes []string
	b := newBreaker(Circuit{Failures: 3, OpenFor: 10 * time.Second}, clock.now,
		func(from, to CircuitState) { changes = append(changes, string(from)+"→"+string(to)) })

	// Failures below the threshold, interrupted by an answer, do not open it.
	b.failure(b.admit(false))
	b.failure(b.admit(false))
	b.success(b.admit(false))
	b.failure(b.admit(false))
	b.failure(b.admit(false))
	if st := b.State(); st != CircuitClosed {
		t.Fatalf("state %s after 2 failures, an answer and 2 failures; want closed", st)
	}
	b.failure(b.admit(false))
	if st := b.State(); st != CircuitOpen {
		t.Fatalf("state %s after 3 consecutive failures; want open", st)
	}
	if adm := b.admit(true); adm != admitNone {
		t.Fatalf("an open circuit admitted %v", adm)
	}

	// After the open time: one probe at a time, and only for a caller that may probe.
	clock.advance(10 * time.Second)
	if st := b.State(); st != CircuitHalfOpen {
		t.Fatalf("state %s after the open time; want half_open", st)
	}
	if adm := b.admit(false); adm != admitNone {
		t.Fatalf("a half-open circuit let an ordinary request through (%v)", adm)
	}
	probe := b.admit(true)
	if probe != admitProbe {
		t.Fatalf("half-open: got %v, want the probe", probe)
	}
	if adm := b.admit(true); adm != admitNone {
		t.Fatalf("a second probe admitted while the first is out (%v)", adm)
	}
	b.failure(probe)
	if st := b.State(); st != CircuitOpen {
		t.Fatalf("state %s after a failed probe; want open again", st)
	}
	clock.advance(9 * time.Second)
	if adm := b.admit(true); adm != admitNone {
		t.Fatalf("reopened circuit admitted %v before its open time", adm)
	}

	// A probe that was never sent gives its place back; a successful one closes the circuit.
	clock.advance(time.Second)
	b.release(b.admit(true))
	probe = b.admit(true)
	if probe != admitProbe {
		t.Fatalf("after a released probe: got %v, want a new probe", probe)
	}
	b.success(probe)
	if st := b.State(); st != CircuitClosed || b.failures.Load() != 0 {
		t.Fatalf("state %s, %d failures after a successful probe; want closed, 0", st, b.failures.Load())
	}
	if adm := b.admit(false); adm != admitFlow {
		t.Fatalf("closed circuit: got %v, want flow", adm)
	}
	want := []string{"closed→open", "open→half_open", "half_open→open", "open→half_open", "half_open→closed"}
	if len(changes) != len(want) {
		t.Fatalf("transitions %v, want %v", changes, want)
	}
	for n := range want {
		if changes[n] != want[n] {
			t.Fatalf("transitions %v, want %v", changes, want)
		}
	}
}

func TestBreakerDisabled(t *testing.T) {
	b := newBreaker(Circuit{Disabled: true, Failures: 1, OpenFor: time.Second}, time.Now, nil)
	for range 10 {
		b.failure(b.admit(false))
	}
	if st, adm := b.State(), b.admit(false); st != CircuitClosed || adm != admitFlow {
		t.Fatalf("disabled breaker: %s, %v; want closed, flow", st, adm)
	}
}

// TestBreakerTickWithoutTraffic: the open time ends by the clock alone (for the state gauge).
func TestBreakerTickWithoutTraffic(t *testing.T) {
	clock := newTestClock()
	var last CircuitState
	b := newBreaker(Circuit{Failures: 1, OpenFor: time.Second}, clock.now, func(_, to CircuitState) { last = to })
	b.failure(admitFlow)
	b.tick()
	if last != CircuitOpen {
		t.Fatalf("last transition to %s, want open", last)
	}
	clock.advance(time.Second)
	b.tick()
	if last != CircuitHalfOpen {
		t.Fatalf("last transition to %s after the open time, want half_open", last)
	}
}
