package issuer

import "time"

// Status is a link's health, for /readyz and /v1/issuers.
type Status struct {
	Name        string             `json:"name"`
	Addr        string             `json:"addr"`
	Up          bool               `json:"up"`        // at least one connection in service
	InFlight    int                `json:"in_flight"` // requests waiting for an answer
	TimedOut    int                `json:"timed_out_remembered"`
	Connections []ConnectionStatus `json:"connections"`
}

// ConnectionStatus is one connection of a link.
type ConnectionStatus struct {
	Addr      string    `json:"addr"`  // the issuer's address
	Local     string    `json:"local"` // the local address of the current or last TCP connection
	State     State     `json:"state"` // connecting, signed_on or down
	Since     time.Time `json:"since"` // when State was entered
	SignedOn  bool      `json:"signed_on"`
	InFlight  int       `json:"in_flight"`
	LastEcho  time.Time `json:"last_echo,omitzero"` // the last echo answered 00
	LastError string    `json:"last_error,omitempty"`
}

// Status reports the link's state. It is cheap enough for a health check.
func (i *Issuer) Status() Status {
	st := Status{Name: i.cfg.Name, Addr: i.cfg.Addr, Connections: make([]ConnectionStatus, len(i.slots))}
	for n, s := range i.slots {
		s.mu.Lock()
		cs := ConnectionStatus{
			Addr:      i.cfg.Addr,
			Local:     s.mu.local,
			State:     s.mu.state,
			Since:     s.mu.since,
			SignedOn:  s.mu.signedOn,
			InFlight:  int(s.inFlight.Load()),
			LastEcho:  s.mu.lastEcho,
			LastError: s.mu.lastError,
		}
		s.mu.Unlock()
		if cs.State == StateSignedOn {
			st.Up = true
		}
		st.Connections[n] = cs
	}
	waiting, timedOut := i.stans.counts()
	st.InFlight, st.TimedOut = waiting, timedOut
	return st
}
