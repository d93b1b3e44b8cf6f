package issuer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// State is where one connection of a link is.
type State string

// Connection states.
const (
	StateConnecting State = "connecting" // dialling or signing on
	StateSignedOn   State = "signed_on"  // in service (signed on, or connected when SignOn is off)
	StateDown       State = "down"       // waiting to reconnect, or stopped
)

// echoFailuresMax is how many echoes in a row may fail before the connection is dropped and
// re-established: one lost echo on a busy link is not proof of a dead peer, two are.
const echoFailuresMax = 2

// drainPoll is how often a stopping connection checks whether its requests have finished.
const drainPoll = 5 * time.Millisecond

// slot is one of a link's connections across reconnects: the goroutine that keeps it up, the
// connection in service (nil when none), its in-flight count and its status.
type slot struct {
	i        *Issuer
	ep       *endpoint
	idx      int
	log      *zap.Logger
	conn     atomic.Pointer[connection.Connection] // in service; nil while connecting, down or draining
	inFlight atomic.Int32
	mu       struct {
		sync.Mutex
		state     State
		since     time.Time
		local     string
		signedOn  bool
		lastEcho  time.Time
		lastError string
		current   *connection.Connection // the most recent connection, to attribute its failure
		// TLS of the most recent connection: the version negotiated and when the host's certificate expires.
		tlsVersion  string
		peerExpires time.Time
		logged      State // the last state logged at info (reconnect attempts are not repeated)
	}
}

func newSlot(i *Issuer, ep *endpoint, idx int) *slot {
	s := &slot{i: i, ep: ep, idx: idx, log: i.log.With(zap.String("endpoint", ep.cfg.Addr), zap.Int("connection", idx))}
	s.mu.state = StateDown
	s.mu.since = i.now()
	return s
}

// reserve takes an in-flight place on the slot's connection, or returns nil when the slot is out
// of service or at its limit. The place is taken before the connection is read, so that a drain
// that unpublishes the connection and then sees no place taken has no Send left to wait for.
func (s *slot) reserve() *connection.Connection {
	if int(s.inFlight.Add(1)) > s.i.cfg.MaxInFlight {
		s.inFlight.Add(-1)
		return nil
	}
	c := s.conn.Load()
	if c == nil {
		s.inFlight.Add(-1)
	}
	return c
}

func (s *slot) release() { s.inFlight.Add(-1) }

// run keeps the slot connected until ctx ends.
func (s *slot) run(ctx context.Context) {
	cfg := s.i.cfg
	backoff := cfg.ReconnectMin
	for ctx.Err() == nil {
		s.setState(StateConnecting, "", nil)
		c, err := s.connect(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			s.i.m.connFailures.Inc()
			s.ep.br.failure(admitFlow)
			s.setState(StateDown, err.Error(), nil)
			if !sleep(ctx, jitter(backoff)) {
				break
			}
			backoff = min(2*backoff, cfg.ReconnectMax)
			continue
		}
		backoff = cfg.ReconnectMin
		if lost := s.serve(ctx, c); lost {
			s.i.m.connFailures.Inc()
			s.ep.br.failure(admitFlow)
			if !sleep(ctx, jitter(backoff)) {
				break
			}
		}
	}
	s.setState(StateDown, "stopped", nil)
}

// jitter spreads reconnects of many connections over [d/2, d].
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// connect dials and, when configured, signs on. A connection whose sign-on fails is closed.
func (s *slot) connect(ctx context.Context) (*connection.Connection, error) {
	cfg := s.i.cfg
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	nc, err := (&net.Dialer{}).DialContext(dctx, "tcp", s.ep.cfg.Addr)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("dial: %w", err)
	}
	if s.ep.tls != nil {
		nc, err = s.handshake(dctx, nc)
	}
	cancel()
	if err != nil {
		return nil, err
	}
	c, err := connection.NewFrom(nc, cfg.Spec.Moov(), nil, nil, s.options()...)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connection: %w", err)
	}
	s.mu.Lock()
	s.mu.local = nc.LocalAddr().String()
	s.mu.current = c
	s.mu.Unlock()
	if cfg.SignOn {
		if err := s.i.network(c, cfg.NetworkCodes.SignOn); err != nil {
			c.Close()
			return nil, fmt.Errorf("sign-on: %w", err)
		}
	}
	return c, nil
}

// handshake makes the TLS handshake on a new connection (verifying the host's certificate and
// name, presenting the client certificate when configured) within ctx.
func (s *slot) handshake(ctx context.Context, nc net.Conn) (net.Conn, error) {
	tc := tls.Client(nc, s.ep.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("tls handshake: %w", err)
	}
	st := tc.ConnectionState()
	s.mu.Lock()
	s.mu.tlsVersion = tls.VersionName(st.Version)
	if len(st.PeerCertificates) > 0 {
		s.mu.peerExpires = st.PeerCertificates[0].NotAfter
	}
	s.mu.Unlock()
	return tc, nil
}

// options are the iso8583-connection options of one connection: the link's framing in one write
// per message, the class+STAN match key, the timeout, and the handlers for late answers, errors
// and failures.
func (s *slot) options() []connection.Option {
	cfg := s.i.cfg
	codec := &frameCodec{
		spec:          cfg.Spec,
		framing:       cfg.Framing,
		header:        cfg.Header,
		maxFrame:      cfg.MaxFrame,
		onDecodeError: s.i.m.decodeErrors.Inc,
	}
	return []connection.Option{
		connection.SetMessageReader(codec),
		connection.SetMessageWriter(codec),
		connection.SetRequestIDGenerator(requestIDs{}),
		connection.SendTimeout(cfg.Timeout),
		connection.InboundMessageHandler(s.i.inbound),
		connection.ErrorHandler(s.onError),
		connection.WithConnectionFailedHandler(s.onFailed),
	}
}

// serve keeps c in service until ctx ends (drain, sign off, close: it returns false) or c is lost
// (it returns true). It sends the echoes.
func (s *slot) serve(ctx context.Context, c *connection.Connection) (lost bool) {
	cfg := s.i.cfg
	// Usable before it is reported: a status (or /readyz) that says signed on means Send finds it.
	s.conn.Store(c)
	s.i.m.connsUp.Inc()
	s.ep.refreshUp()
	s.setState(StateSignedOn, "", &cfg.SignOn)
	var echo <-chan time.Time
	if cfg.EchoInterval > 0 {
		t := time.NewTicker(cfg.EchoInterval)
		defer t.Stop()
		echo = t.C
	}
	failures := 0
	for {
		select {
		case <-ctx.Done():
			s.unpublish()
			s.drain(c)
			return false
		case <-c.Done():
			s.unpublish()
			s.setState(StateDown, s.lastErrorOr("connection closed by the issuer or the network"), new(false))
			return true
		case <-echo:
			if err := s.i.network(c, cfg.NetworkCodes.Echo); err != nil {
				s.i.m.echoFailures.Inc()
				failures++
				s.log.Debug("issuer echo failed", zap.Error(err), zap.Int("in_a_row", failures))
				if failures >= echoFailuresMax {
					s.unpublish()
					c.TriggerFailure(fmt.Errorf("%d echoes in a row failed: %w", failures, err))
					s.setState(StateDown, fmt.Sprintf("%d echoes in a row failed: %v", failures, err), new(false))
					return true
				}
				continue
			}
			failures = 0
			s.mu.Lock()
			s.mu.lastEcho = s.i.now()
			s.mu.Unlock()
		}
	}
}

// unpublish takes the connection out of service: no new Send picks it.
func (s *slot) unpublish() {
	if s.conn.Swap(nil) != nil {
		s.i.m.connsUp.Dec()
		s.ep.refreshUp()
	}
}

// drain waits for the requests in flight on c (at most the link's timeout), signs off and closes.
func (s *slot) drain(c *connection.Connection) {
	cfg := s.i.cfg
	deadline := time.Now().Add(cfg.Timeout)
	for s.inFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(drainPoll)
	}
	if cfg.SignOn {
		if err := s.i.network(c, cfg.NetworkCodes.SignOff); err != nil {
			s.log.Info("issuer sign-off not acknowledged", zap.Error(err))
		}
	}
	c.Close()
}

// network sends an 0800 with network management code code on c and checks that it is answered 00.
func (i *Issuer) network(c *connection.Connection, code string) error {
	cl, _ := matchClass(i.cfg.Mapping.MTIOut(iso8583.MTINetwork))
	stan, ok := i.stans.allocate(cl, nil)
	if !ok {
		return ErrBusy
	}
	req := &iso8583.Message{
		MTI:                  iso8583.MTINetwork,
		TransmissionDateTime: i.transmissionTime(),
		STAN:                 formatSTAN(stan),
		AcquirerID:           i.cfg.AcquirerID,
		NetworkCode:          code,
	}
	macCtx, cancel := context.WithTimeout(context.Background(), i.cfg.Timeout)
	mm, err := i.envelope(macCtx, req)
	cancel()
	if err != nil {
		i.stans.release(stan)
		return err
	}
	resp, err := c.Send(mm)
	if err != nil {
		if errors.Is(err, connection.ErrSendTimeout) {
			i.stans.expire(stan, i.now())
		} else {
			i.stans.release(stan)
		}
		return err
	}
	i.stans.release(stan)
	answer, err := typedOf(resp)
	if err == nil {
		answer, err = i.cfg.Mapping.Back(answer, req)
	}
	if err != nil {
		return err
	}
	if rc := answer.ResponseCode; rc != iso8583.RCApproved {
		return fmt.Errorf("0800/%s answered %q", code, rc)
	}
	return nil
}

// onError logs what the library could not return to a caller (read errors, undecodable frames).
// Its errors never carry message content.
func (s *slot) onError(err error) {
	s.log.Debug("issuer connection error", zap.Error(err))
}

// onFailed records why the slot's current connection failed.
func (s *slot) onFailed(c *connection.Connection, err error) {
	s.mu.Lock()
	if s.mu.current == c {
		s.mu.lastError = err.Error()
	}
	s.mu.Unlock()
}

func (s *slot) lastErrorOr(fallback string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.lastError != "" {
		return s.mu.lastError
	}
	return fallback
}

// setState records a state change (logged at info) and its reason; signedOn, when not nil, updates
// the signed-on flag.
func (s *slot) setState(st State, reason string, signedOn *bool) {
	s.mu.Lock()
	prev := s.mu.state
	if prev != st {
		s.mu.since = s.i.now()
	}
	s.mu.state = st
	if st == StateSignedOn {
		s.mu.lastError = ""
	} else if reason != "" {
		s.mu.lastError = reason
	}
	if signedOn != nil {
		s.mu.signedOn = *signedOn
	}
	logInfo := st != StateConnecting && st != s.mu.logged
	if logInfo {
		s.mu.logged = st
	}
	s.mu.Unlock()
	switch {
	case prev == st:
	case st == StateSignedOn:
		s.log.Info("issuer connection in service", zap.Bool("signed_on", signedOn != nil && *signedOn))
	case st == StateDown && logInfo:
		s.log.Info("issuer connection down", zap.String("reason", reason))
	case st == StateDown:
		s.log.Debug("issuer connection still down", zap.String("reason", reason))
	}
}
