package issuer

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Defaults for the zero values of Config (see DefaultConfig for SignOn).
const (
	// DefaultConnections is two TCP connections per issuer: one can be re-established while the
	// other carries the traffic.
	DefaultConnections = 2
	// DefaultTimeout is how long a request waits for the issuer's answer (CONTRACT §6).
	DefaultTimeout = 5 * time.Second
	// DefaultEchoInterval is how often each connection sends an 0800/301 echo.
	DefaultEchoInterval = 30 * time.Second
	// DefaultMaxInFlight is the in-flight limit per connection: 5,000 authorizations/s at an issuer
	// latency of 200 ms need 1,000 in flight on one connection.
	DefaultMaxInFlight = 1000
	// DefaultReconnectMin is the first wait before a reconnect; it doubles up to DefaultReconnectMax.
	DefaultReconnectMin = 200 * time.Millisecond
	// DefaultReconnectMax bounds the reconnect backoff so that a recovered issuer is used again
	// within seconds.
	DefaultReconnectMax = 10 * time.Second
	// DefaultMaxFrame is the largest message accepted from an issuer: the acquirer spec's longest
	// legitimate message (every LLL field at 999 characters) stays under it.
	DefaultMaxFrame = 8192
	// DefaultLateWindow is how long a timed-out request is remembered so that its late answer can
	// be recognised (and a late approval reversed).
	DefaultLateWindow = time.Minute
	// DefaultCircuitFailures is how many consecutive timeouts or transport errors open an
	// endpoint's circuit: one or two are noise on a busy link, five in a row are not.
	DefaultCircuitFailures = 5
	// DefaultCircuitOpenFor is how long a circuit stays open before it is probed: short enough that
	// a recovered issuer takes traffic again within seconds (like DefaultReconnectMax), long enough
	// that a dead one costs one probe per period.
	DefaultCircuitOpenFor = 10 * time.Second
)

// Bounds that Validate enforces.
const (
	// ConnectionsMax bounds the connections per issuer: more do not add throughput on one host and
	// each costs three goroutines.
	ConnectionsMax = 64
	// MaxInFlightMax bounds the per-connection in-flight limit (STANs are six digits per link).
	MaxInFlightMax = 100_000
	// EndpointsMax bounds an issuer's hosts: a primary and a few secondaries.
	EndpointsMax = 8
	// lateRememberMax bounds the timed-out requests remembered per link for late-answer matching:
	// beyond it the oldest is forgotten (its late answer, if any, is counted as unmatched).
	lateRememberMax = 10_000
)

// Config is one issuer link: a name, its hosts and how to talk to them.
type Config struct {
	Name string // issuer name, e.g. "alpha" (metric label and log field)
	// Addr is host:port of the issuer host, e.g. "127.0.0.1:9583": the shorthand for one endpoint.
	// With Endpoints set it is empty or the first endpoint's address.
	Addr string
	// Endpoints are the issuer's hosts in priority order (primary first). Each gets Connections
	// connections; traffic goes to the first whose circuit is closed and which has one in service.
	Endpoints   []Endpoint
	Connections int             // TCP connections to each endpoint (default 2)
	Framing     iso8583.Framing // length header (default binary2)
	Spec        *iso8583.Spec   // message spec (default iso8583.AcquirerSpec())
	Header      iso8583.Header  // message header after the length (default none)
	// Mapping translates each message between the engine's form and the host's (nil: none).
	Mapping *iso8583.Mapping
	// NetworkCodes are the field 70 codes of sign-on, sign-off and echo (defaults 001, 002, 301).
	NetworkCodes NetworkCodes
	Timeout      time.Duration // per request and for dialling (default 5s)
	EchoInterval time.Duration // 0800/301 echo on each connection every interval (default 30s; negative: no echo)
	// SignOn sends 0800/001 on connect (a connection whose sign-on is not answered 00 is not used)
	// and 0800/002 before closing. The zero value is false; DefaultConfig sets it.
	SignOn       bool
	MaxInFlight  int           // requests in flight per connection; beyond it Send fails with ErrBusy (default 1000)
	AcquirerID   string        // field 32 of every request (digits, up to 11)
	ReconnectMin time.Duration // first reconnect wait (default 200ms), doubling per failure
	ReconnectMax time.Duration // reconnect wait bound (default 10s)
	MaxFrame     int           // largest message accepted from the issuer, in bytes (default 8192)
	LateWindow   time.Duration // how long a timed-out request's late answer is still recognised (default 1m)

	// OnLate is called, from a goroutine the Issuer owns and never from a connection's reader, with
	// the caller's request and the issuer's response (as received, with the link's STAN) when the
	// response arrives after the request timed out. It must not block for long: late answers queue
	// behind it in a bounded queue (lateQueueLen) and are counted and dropped when it is full.
	OnLate func(req, resp *iso8583.Message)

	// Circuit is the circuit breaker of each endpoint.
	Circuit Circuit

	// MAC, when set, MACs every request after the link numbered it: field 64, or 128 when the
	// request has a secondary bitmap (mac.go). A request it fails for is not sent (ErrMAC).
	MAC MACFunc
}

// Endpoint is one host of an issuer.
type Endpoint struct {
	Addr string // host:port
	// TLS, when set, makes every connection to the endpoint TLS: RootCAs verify the host's
	// certificate, Certificates hold the client certificate of mutual TLS. Without a ServerName the
	// host part of Addr is the name (or IP address) the certificate must carry.
	TLS *tls.Config
}

// Circuit configures the circuit breaker that each endpoint has. It opens after Failures
// consecutive timeouts or transport errors (no answer in time, an unreadable answer, a lost
// connection, a failed dial or sign-on); while it is open nothing is sent to the endpoint and,
// when no other endpoint can take a request, Send fails at once with ErrCircuitOpen. After OpenFor
// it is half-open: one probe (an echo, or a request when no other endpoint can take it) closes it
// on success or opens it again on failure.
type Circuit struct {
	Disabled bool          // no breaker: requests are sent whatever the failures
	Failures int           // consecutive failures that open the circuit (default 5)
	OpenFor  time.Duration // how long it stays open before a probe (default 10s)
}

// NetworkCodes are the network management codes (field 70) a host wants.
type NetworkCodes struct {
	SignOn, SignOff, Echo string
}

// DefaultNetworkCodes are the contract's: 001 sign-on, 002 sign-off, 301 echo.
var DefaultNetworkCodes = NetworkCodes{SignOn: iso8583.NetworkSignOn, SignOff: iso8583.NetworkSignOff, Echo: iso8583.NetworkEcho}

// DefaultConfig returns a Config with every default set, SignOn included.
func DefaultConfig(name, addr string) Config {
	return Config{
		Name:         name,
		Addr:         addr,
		Connections:  DefaultConnections,
		Framing:      iso8583.Binary2{},
		Spec:         iso8583.AcquirerSpec(),
		Timeout:      DefaultTimeout,
		EchoInterval: DefaultEchoInterval,
		SignOn:       true,
		MaxInFlight:  DefaultMaxInFlight,
		ReconnectMin: DefaultReconnectMin,
		ReconnectMax: DefaultReconnectMax,
		MaxFrame:     DefaultMaxFrame,
		LateWindow:   DefaultLateWindow,
		Circuit:      Circuit{Failures: DefaultCircuitFailures, OpenFor: DefaultCircuitOpenFor},
	}
}

// withDefaults fills the zero values.
func (c Config) withDefaults() Config {
	if c.Connections == 0 {
		c.Connections = DefaultConnections
	}
	if c.Framing == nil {
		c.Framing = iso8583.Binary2{}
	}
	if c.Spec == nil {
		c.Spec = iso8583.AcquirerSpec()
	}
	if c.NetworkCodes.SignOn == "" {
		c.NetworkCodes.SignOn = DefaultNetworkCodes.SignOn
	}
	if c.NetworkCodes.SignOff == "" {
		c.NetworkCodes.SignOff = DefaultNetworkCodes.SignOff
	}
	if c.NetworkCodes.Echo == "" {
		c.NetworkCodes.Echo = DefaultNetworkCodes.Echo
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.EchoInterval == 0 {
		c.EchoInterval = DefaultEchoInterval
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = min(DefaultMaxFrame, c.Framing.MaxLength())
	}
	if c.LateWindow == 0 {
		c.LateWindow = DefaultLateWindow
	}
	if len(c.Endpoints) == 0 && c.Addr != "" {
		c.Endpoints = []Endpoint{{Addr: c.Addr}}
	}
	c.Endpoints = append([]Endpoint(nil), c.Endpoints...)
	if c.Addr == "" && len(c.Endpoints) > 0 {
		c.Addr = c.Endpoints[0].Addr
	}
	if c.Circuit.Failures == 0 {
		c.Circuit.Failures = DefaultCircuitFailures
	}
	if c.Circuit.OpenFor == 0 {
		c.Circuit.OpenFor = DefaultCircuitOpenFor
	}
	return c
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("issuer config")

// ConfigError names the Config field that is wrong.
type ConfigError struct {
	Issuer string
	Field  string // Go field name, e.g. "Connections"
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("issuer %q: %s %s", e.Issuer, e.Field, e.Reason)
}

func (e *ConfigError) Unwrap() error { return ErrConfig }

// Validate checks a Config after defaults are applied.
func (c Config) Validate() error {
	bad := func(field, reason string) error { return &ConfigError{Issuer: c.Name, Field: field, Reason: reason} }
	switch {
	case c.Name == "":
		return bad("Name", "must not be empty")
	case !validAddr(c.Addr):
		return bad("Addr", "must be host:port")
	case len(c.Endpoints) == 0 || len(c.Endpoints) > EndpointsMax:
		return bad("Endpoints", fmt.Sprintf("must be 1..%d", EndpointsMax))
	case c.Addr != c.Endpoints[0].Addr:
		return bad("Addr", "must be empty or the first endpoint's address when Endpoints is set")
	case c.Connections < 1 || c.Connections > ConnectionsMax:
		return bad("Connections", fmt.Sprintf("must be 1..%d", ConnectionsMax))
	case c.Timeout <= 0:
		return bad("Timeout", "must be positive")
	case c.MaxInFlight < 1 || c.MaxInFlight > MaxInFlightMax:
		return bad("MaxInFlight", fmt.Sprintf("must be 1..%d", MaxInFlightMax))
	case c.AcquirerID != "" && (len(c.AcquirerID) > 11 || !iso8583.IsDigits(c.AcquirerID)):
		return bad("AcquirerID", "must be 1 to 11 digits")
	case c.ReconnectMin <= 0:
		return bad("ReconnectMin", "must be positive")
	case c.ReconnectMax < c.ReconnectMin:
		return bad("ReconnectMax", "must not be below ReconnectMin")
	case c.MaxFrame < 64 || c.MaxFrame > c.Framing.MaxLength():
		return bad("MaxFrame", fmt.Sprintf("must be 64..%d for framing %s", c.Framing.MaxLength(), c.Framing.Name()))
	case c.LateWindow < 0:
		return bad("LateWindow", "must not be negative")
	case c.Circuit.Failures < 1:
		return bad("Circuit.Failures", "must be at least 1")
	case c.Circuit.OpenFor < 0:
		return bad("Circuit.OpenFor", "must be positive")
	case c.Header.Len() >= c.MaxFrame:
		return bad("Header", "must be shorter than MaxFrame")
	}
	for n, e := range c.Endpoints {
		if !validAddr(e.Addr) {
			return bad(fmt.Sprintf("Endpoints[%d].Addr", n), "must be host:port")
		}
	}
	return nil
}

func validAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	return err == nil && host != "" && port != ""
}
