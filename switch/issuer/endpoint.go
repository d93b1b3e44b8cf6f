package issuer

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// endpoint is one host of an issuer (the primary, a secondary…): its connections and its circuit
// breaker. Traffic goes to the first endpoint, in priority order, whose circuit is closed and
// which has a connection in service under its in-flight limit.
type endpoint struct {
	i     *Issuer
	idx   int // priority: 0 is the primary
	cfg   Endpoint
	tls   *tls.Config // cfg.TLS with its server name; nil: plain TCP
	slots []*slot
	br    *breaker
	rr    atomic.Uint32 // round-robin position over slots

	upMu sync.Mutex // serialises refreshUp, so that the gauge ends with the last state
}

func newEndpoint(i *Issuer, idx int, cfg Endpoint) *endpoint {
	e := &endpoint{i: i, idx: idx, cfg: cfg, tls: withServerName(cfg.TLS, cfg.Addr)}
	e.br = newBreaker(i.cfg.Circuit, i.now, e.circuitChanged)
	e.slots = make([]*slot, i.cfg.Connections)
	for n := range e.slots {
		e.slots[n] = newSlot(i, e, idx*i.cfg.Connections+n)
	}
	return e
}

// withServerName returns cfg with the host of addr as its server name when it names none.
func withServerName(cfg *tls.Config, addr string) *tls.Config {
	if cfg == nil || cfg.ServerName != "" {
		return cfg
	}
	host, _, _ := net.SplitHostPort(addr) // validated
	c := cfg.Clone()
	c.ServerName = host
	return c
}

// inService reports whether a connection of the endpoint is in service.
func (e *endpoint) inService() bool {
	for _, s := range e.slots {
		if s.conn.Load() != nil {
			return true
		}
	}
	return false
}

// available reports whether the endpoint can take traffic: a connection in service and a circuit
// that is not open.
func (e *endpoint) available() bool {
	return e.inService() && e.br.State() != CircuitOpen
}

// reserve takes an in-flight place on the endpoint's next connection in service (round robin).
// up reports whether any connection was in service.
func (e *endpoint) reserve() (s *slot, c *connection.Connection, up bool) {
	n := uint32(len(e.slots))
	first := e.rr.Add(1)
	for k := range n {
		s := e.slots[(first+k)%n]
		if s.conn.Load() == nil {
			continue
		}
		up = true
		if c := s.reserve(); c != nil {
			return s, c, true
		}
	}
	return nil, nil, up
}

// refreshUp sets the endpoint's up gauge and the issuer's circuit state after a connection or
// circuit change (from Run on: a link built by a reload that is refused publishes nothing).
func (e *endpoint) refreshUp() {
	if e.i.retired.Load() || !e.i.started.Load() {
		return
	}
	e.upMu.Lock()
	v := 0.0
	if e.available() {
		v = 1
	}
	e.i.m.endpointUp(e.cfg.Addr).Set(v)
	e.upMu.Unlock()
	e.i.refreshCircuit()
}

// circuitChanged logs a transition of the endpoint's breaker and updates the gauges.
func (e *endpoint) circuitChanged(from, to CircuitState) {
	log := e.i.log.With(zap.String("endpoint", e.cfg.Addr), zap.String("from", string(from)), zap.String("to", string(to)))
	switch to {
	case CircuitOpen:
		log.Warn("issuer circuit open", zap.Int("consecutive_failures", e.i.cfg.Circuit.Failures),
			zap.Duration("open_for", e.i.cfg.Circuit.OpenFor))
	default:
		log.Info("issuer circuit " + string(to))
	}
	e.refreshUp() // reads the breaker's state through atomics only: no lock order with its mutex
}

// pick reserves an in-flight place for a request: on the first endpoint in priority order whose
// circuit is closed, and when there is none, as the probe of a half-open one. The admission says
// what the request's outcome means to that endpoint's breaker.
func (i *Issuer) pick() (*slot, *connection.Connection, *endpoint, admission, error) {
	busy, shut := false, false
	for _, e := range i.endpoints {
		if e.br.admit(false) != admitFlow {
			shut = shut || e.inService()
			continue
		}
		s, c, up := e.reserve()
		if c != nil {
			i.noteActive(e)
			return s, c, e, admitFlow, nil
		}
		busy = busy || up
	}
	for _, e := range i.endpoints {
		if !e.inService() {
			continue
		}
		adm := e.br.admit(true)
		if adm == admitNone {
			continue
		}
		s, c, up := e.reserve()
		if c != nil {
			i.noteActive(e)
			return s, c, e, adm, nil
		}
		e.br.release(adm)
		busy = busy || up
	}
	switch {
	case busy:
		i.m.busy.Inc()
		return nil, nil, nil, admitNone, fmt.Errorf("issuer %s: %w", i.cfg.Name, ErrBusy)
	case shut:
		i.m.circuitOpen.Inc()
		return nil, nil, nil, admitNone, fmt.Errorf("issuer %s: %w", i.cfg.Name, ErrCircuitOpen)
	}
	i.m.unavailable.Inc()
	return nil, nil, nil, admitNone, fmt.Errorf("issuer %s: %w", i.cfg.Name, ErrUnavailable)
}

// noteActive records which endpoint carries the traffic; a change from one endpoint to another
// is a failover (or a failback), counted and logged.
func (i *Issuer) noteActive(e *endpoint) {
	idx := int32(e.idx)
	prev := i.active.Load()
	if prev == idx || !i.active.CompareAndSwap(prev, idx) || prev < 0 {
		return
	}
	i.m.failovers.Inc()
	i.log.Warn("issuer traffic moved to another endpoint", zap.String("from", i.endpoints[prev].cfg.Addr),
		zap.String("to", e.cfg.Addr))
}

// refreshCircuit sets the issuer's circuit-state gauges: the best state among the endpoints with a
// connection in service (among all of them when none is), so that "open" means that the issuer
// cannot take traffic because of its breakers.
func (i *Issuer) refreshCircuit() {
	if i.retired.Load() || !i.started.Load() {
		return
	}
	i.circMu.Lock()
	defer i.circMu.Unlock()
	st := i.circuitState()
	for n, s := range circuitStates {
		v := 0.0
		if s == st {
			v = 1
		}
		i.m.circuit[n].Set(v)
	}
}

// circuitState is the issuer's circuit: the best of its endpoints' (closed, then half-open, then
// open), counting only the endpoints with a connection in service when there are any.
func (i *Issuer) circuitState() CircuitState {
	rank := func(st CircuitState) int {
		switch st {
		case CircuitClosed:
			return 0
		case CircuitHalfOpen:
			return 1
		}
		return 2
	}
	best, bestUp := CircuitOpen, CircuitOpen
	anyUp := false
	for _, e := range i.endpoints {
		st := e.br.State()
		if rank(st) < rank(best) {
			best = st
		}
		if e.inService() {
			anyUp = true
			if rank(st) < rank(bestUp) {
				bestUp = st
			}
		}
	}
	if anyUp {
		return bestUp
	}
	return best
}

// probeInterval is how often the circuit loop looks for open circuits whose time is over and for
// half-open endpoints to probe.
func probeInterval(openFor time.Duration) time.Duration {
	return min(max(openFor/10, 10*time.Millisecond), time.Second)
}

// circuitLoop moves open circuits to half-open when their time is over and probes half-open
// endpoints with an echo, until stop.
func (i *Issuer) circuitLoop(stop <-chan struct{}) {
	if i.cfg.Circuit.Disabled {
		return
	}
	t := time.NewTicker(probeInterval(i.cfg.Circuit.OpenFor))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			for _, e := range i.endpoints {
				e.br.tick()
				if e.br.State() == CircuitHalfOpen && e.inService() {
					e.probe()
				}
			}
		}
	}
}

// probe sends an echo to a half-open endpoint, unless a request is already its probe.
func (e *endpoint) probe() {
	adm := e.br.admit(true)
	if adm != admitProbe {
		return
	}
	s, c, _ := e.reserve()
	if c == nil {
		e.br.release(adm)
		return
	}
	defer s.release()
	if err := e.i.network(c, iso8583.NetworkEcho); err != nil {
		e.i.log.Info("issuer circuit probe failed", zap.String("endpoint", e.cfg.Addr), zap.Error(err))
		e.br.failure(adm)
		return
	}
	e.br.success(adm)
}
