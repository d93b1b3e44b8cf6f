package issuer

import "time"

// Status is a link's health, for /readyz and /v1/issuers.
type Status struct {
	Name string `json:"name"`
	Addr string `json:"addr"` // the primary endpoint
	// Up means that the issuer can take traffic: a connection in service on an endpoint whose
	// circuit is not open.
	Up          bool               `json:"up"`
	Circuit     CircuitState       `json:"circuit"`   // the issuer's circuit: the best of its endpoints' in service
	InFlight    int                `json:"in_flight"` // requests waiting for an answer
	TimedOut    int                `json:"timed_out_remembered"`
	Endpoints   []EndpointStatus   `json:"endpoints"`
	Connections []ConnectionStatus `json:"connections"` // every connection, endpoint by endpoint
}

// EndpointStatus is one host of an issuer.
type EndpointStatus struct {
	Addr     string       `json:"addr"`
	Priority int          `json:"priority"` // 0 is the primary
	Up       bool         `json:"up"`       // a connection in service and the circuit not open
	Active   bool         `json:"active"`   // carried the last request
	Circuit  CircuitState `json:"circuit"`
	// ConsecutiveFailures counts the timeouts and transport errors in a row while closed.
	ConsecutiveFailures int       `json:"consecutive_failures"`
	OpenedAt            time.Time `json:"opened_at,omitzero"` // the circuit's last opening
	SignedOn            int       `json:"connections_signed_on"`
	InFlight            int       `json:"in_flight"`
}

// ConnectionStatus is one connection of a link.
type ConnectionStatus struct {
	Addr      string    `json:"addr"`  // the endpoint's address
	Local     string    `json:"local"` // the local address of the current or last TCP connection
	State     State     `json:"state"` // connecting, signed_on or down
	Since     time.Time `json:"since"` // when State was entered
	SignedOn  bool      `json:"signed_on"`
	InFlight  int       `json:"in_flight"`
	LastEcho  time.Time `json:"last_echo,omitzero"` // the last echo answered 00
	LastError string    `json:"last_error,omitempty"`
	// TLS is the protocol version of the current or last connection ("TLS 1.3"); empty without TLS.
	TLS string `json:"tls,omitempty"`
	// PeerCertificateExpires is when the host's certificate on that connection expires.
	PeerCertificateExpires time.Time `json:"peer_certificate_expires,omitzero"`
}

// Status reports the link's state. It is cheap enough for a health check.
func (i *Issuer) Status() Status {
	st := Status{Name: i.cfg.Name, Addr: i.cfg.Addr, Circuit: i.circuitState(),
		Endpoints: make([]EndpointStatus, len(i.endpoints)), Connections: make([]ConnectionStatus, 0, len(i.slots))}
	active := int(i.active.Load())
	for n, e := range i.endpoints {
		es := EndpointStatus{Addr: e.cfg.Addr, Priority: n, Up: e.available(), Active: n == active,
			Circuit: e.br.State(), ConsecutiveFailures: int(e.br.failures.Load())}
		if at := e.br.openedAt.Load(); at != 0 {
			es.OpenedAt = time.Unix(0, at).UTC()
		}
		for _, s := range e.slots {
			cs := s.status()
			if cs.State == StateSignedOn {
				es.SignedOn++
			}
			es.InFlight += cs.InFlight
			st.Connections = append(st.Connections, cs)
		}
		st.Up = st.Up || es.Up
		st.Endpoints[n] = es
	}
	waiting, timedOut := i.stans.counts()
	st.InFlight, st.TimedOut = waiting, timedOut
	return st
}

func (s *slot) status() ConnectionStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ConnectionStatus{
		Addr:      s.ep.cfg.Addr,
		Local:     s.mu.local,
		State:     s.mu.state,
		Since:     s.mu.since,
		SignedOn:  s.mu.signedOn,
		InFlight:  int(s.inFlight.Load()),
		LastEcho:  s.mu.lastEcho,
		LastError: s.mu.lastError,
		TLS:       s.mu.tlsVersion,

		PeerCertificateExpires: s.mu.peerExpires,
	}
}
