package issuer

import "github.com/prometheus/client_golang/prometheus"

// stanGap separates a replacement link's STANs from the last ones of the link it replaces: the
// old link still numbers its sign-offs (and echoes) while it drains.
const stanGap = 1000

// Replace prepares i, before its Run, to take over from old, a link of the same issuer that is
// about to be stopped (a configuration reload changed it): i numbers on from old's last STAN (so
// that the issuer never sees a STAN twice in a short time), and old stops publishing the
// issuer's state gauges, which are i's from now on (the series of old's endpoints that i does
// not have are removed).
func (i *Issuer) Replace(old *Issuer) {
	old.retired.Store(true)
	old.stans.mu.Lock()
	next := old.stans.mu.next
	old.stans.mu.Unlock()
	i.stans.mu.Lock()
	i.stans.mu.next = (next + stanGap) % stanMax
	i.stans.mu.Unlock()
	keep := map[string]bool{}
	for _, e := range i.endpoints {
		keep[e.cfg.Addr] = true
	}
	for _, e := range old.endpoints {
		if !keep[e.cfg.Addr] {
			i.m.m.endpointsUp.DeleteLabelValues(i.cfg.Name, e.cfg.Addr)
		}
	}
	for _, e := range i.endpoints {
		e.refreshUp()
	}
}

// Retire stops i publishing the issuer's state gauges (before it is stopped for good: its issuer
// was removed); Forget then removes them.
func (i *Issuer) Retire() { i.retired.Store(true) }

// Forget removes the state gauges of an issuer that is no longer configured (its counters stay:
// their rates fall to zero).
func (m *Metrics) Forget(name string) {
	for _, g := range []*prometheus.GaugeVec{m.circuit, m.endpointsUp, m.inFlight, m.connsUp} {
		g.DeletePartialMatch(prometheus.Labels{"issuer": name})
	}
}
