package issuer

import (
	"sync"
	"sync/atomic"
	"time"
)

// CircuitState is where an endpoint's (or an issuer's) circuit breaker is.
type CircuitState string

// Circuit states, also the state label values of cardswitch_issuer_circuit_state.
const (
	// CircuitClosed: requests flow; consecutive failures are counted.
	CircuitClosed CircuitState = "closed"
	// CircuitOpen: nothing is sent; Send fails at once with ErrCircuitOpen.
	CircuitOpen CircuitState = "open"
	// CircuitHalfOpen: the open time is over; one probe at a time (an echo, or a request when no
	// other endpoint can take it) decides: success closes the circuit, failure opens it again.
	CircuitHalfOpen CircuitState = "half_open"
)

// circuitStates lists the states in the order of the metric's series.
var circuitStates = [...]CircuitState{CircuitClosed, CircuitOpen, CircuitHalfOpen}

// admission is what a breaker lets a request do.
type admission uint8

const (
	admitNone  admission = iota // the circuit is open, or a probe is already out
	admitFlow                   // closed: an ordinary request
	admitProbe                  // half-open: this request is the probe; its outcome decides
)

// breaker is the circuit breaker of one endpoint. The closed-state path (admit, success) is a few
// atomic loads, so that it costs the hot path nothing; transitions take the mutex.
type breaker struct {
	cfg      Circuit
	now      func() time.Time
	onChange func(from, to CircuitState) // called under mu, so in transition order

	state    atomic.Pointer[CircuitState]
	failures atomic.Int32 // consecutive failures while closed
	openedAt atomic.Int64 // unix nanoseconds of the last opening
	probing  atomic.Bool  // a probe is out (half-open)

	mu sync.Mutex // serialises transitions and their onChange calls
}

func newBreaker(cfg Circuit, now func() time.Time, onChange func(from, to CircuitState)) *breaker {
	b := &breaker{cfg: cfg, now: now, onChange: onChange}
	st := CircuitClosed
	b.state.Store(&st)
	return b
}

// State is the breaker's state; an open circuit whose time is over reads as half-open.
func (b *breaker) State() CircuitState {
	st := *b.state.Load()
	if st == CircuitOpen && b.openElapsed() {
		return CircuitHalfOpen
	}
	return st
}

func (b *breaker) openElapsed() bool {
	return b.now().UnixNano()-b.openedAt.Load() >= int64(b.cfg.OpenFor)
}

// admit decides whether a request may go to the endpoint; probes reports whether it may become
// the half-open probe (false when another endpoint is closed and can take it instead).
func (b *breaker) admit(probes bool) admission {
	if b.cfg.Disabled {
		return admitFlow
	}
	switch *b.state.Load() {
	case CircuitClosed:
		return admitFlow
	case CircuitOpen:
		if !probes || !b.openElapsed() {
			return admitNone
		}
		b.transition(CircuitOpen, CircuitHalfOpen)
	}
	if probes && b.probing.CompareAndSwap(false, true) {
		if *b.state.Load() == CircuitHalfOpen {
			return admitProbe
		}
		b.probing.Store(false) // closed or reopened in between
		if *b.state.Load() == CircuitClosed {
			return admitFlow
		}
	}
	return admitNone
}

// success records an answer. A probe's answer closes the circuit; an ordinary answer resets the
// count of consecutive failures.
func (b *breaker) success(adm admission) {
	switch adm {
	case admitProbe:
		b.failures.Store(0)
		b.transition(CircuitHalfOpen, CircuitClosed)
		b.probing.Store(false)
	case admitFlow:
		if b.failures.Load() != 0 {
			b.failures.Store(0)
		}
	}
}

// failure records a timeout or a transport error. A probe's failure opens the circuit again; in
// the closed state the failure that reaches the threshold opens it. Failures while open are
// already accounted for.
func (b *breaker) failure(adm admission) {
	if b.cfg.Disabled {
		return
	}
	switch {
	case adm == admitProbe:
		b.transition(CircuitHalfOpen, CircuitOpen)
		b.probing.Store(false)
	case *b.state.Load() == CircuitClosed:
		if int(b.failures.Add(1)) >= b.cfg.Failures {
			b.transition(CircuitClosed, CircuitOpen)
		}
	}
}

// release gives back a probe whose request was not sent (no connection, a pack error): the
// outcome says nothing about the endpoint.
func (b *breaker) release(adm admission) {
	if adm == admitProbe {
		b.probing.Store(false)
	}
}

// transition moves from one state to another if the breaker is still in from.
func (b *breaker) transition(from, to CircuitState) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if *b.state.Load() != from {
		return false
	}
	switch to {
	case CircuitOpen:
		b.openedAt.Store(b.now().UnixNano())
	case CircuitClosed:
		b.failures.Store(0)
	}
	b.state.Store(&to)
	if b.onChange != nil {
		b.onChange(from, to)
	}
	return true
}

// tick moves an open circuit whose time is over to half-open, so that its state (and metric)
// changes without traffic.
func (b *breaker) tick() {
	if *b.state.Load() == CircuitOpen && b.openElapsed() {
		b.transition(CircuitOpen, CircuitHalfOpen)
	}
}
