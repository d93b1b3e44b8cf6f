// Package issuer is an issuer host simulator: it answers ISO 8583 requests over TCP by the rules of
// CONTRACT §5 (decisions on the last two digits of the amount), with many requests in flight per
// connection, a configurable latency and a slow (98) and a silent (99) rule for timeout tests. It is
// the peer of the switch's issuer links in tests, demos and load runs (`cardswitch issuer-sim`).
package issuer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Defaults for the zero values of Config.
const (
	// DefaultSlowDelay is the delay of the 98 rule (CONTRACT §5): longer than the switch's 5s issuer
	// timeout, so that it produces a timeout and a late answer.
	DefaultSlowDelay = 10 * time.Second
	// DefaultMaxConns bounds the simulator's connections: a switch opens a few per issuer.
	DefaultMaxConns = 64
	// DefaultMaxInFlight bounds the answers pending per connection (slow ones included); when it is
	// reached the connection is not read until answers go out (back-pressure, not a queue).
	DefaultMaxInFlight = 4096
	// DefaultMaxFrame is the largest request accepted: the acquirer spec's longest legitimate
	// message stays under it; a larger length header closes the connection.
	DefaultMaxFrame = 8192
	// DefaultDrainTimeout is how long a stopping simulator keeps writing answers already decided.
	DefaultDrainTimeout = time.Second
)

// Config is one simulated issuer host.
type Config struct {
	Listen       string          // host:port to listen on (port 0: any free port)
	Name         string          // name in logs (default "issuer-sim")
	SlowDelay    time.Duration   // extra delay of the 98 rule (default 10s)
	Latency      time.Duration   // added to every answer (default 0)
	Framing      iso8583.Framing // length header (default binary2)
	Spec         *iso8583.Spec   // message spec (default iso8583.AcquirerSpec())
	Header       iso8583.Header  // message header after the length; answers carry the request's (a TPDU swapped)
	MaxConns     int             // concurrent connections; more are closed at accept (default 64)
	MaxInFlight  int             // answers pending per connection (default 4096)
	MaxFrame     int             // largest request in bytes (default 8192)
	DrainTimeout time.Duration   // on stop, how long decided answers are still written (default 1s)
	// OnRequest, when set, is called with every request that unpacks, from the connection's reader
	// before the answer is decided (tests use it to see what a link sent). It must be quick.
	OnRequest func(req *iso8583.Message)
	// Security, when set, checks every request's MAC and PIN block before the amount rules
	// (security.go): a bad MAC is answered 63, a PIN that is not the expected one 55.
	Security *Security
	// Journal, when set, records every request, advice and reversal with its answer before the
	// answer is queued (journal.go). The caller opens and closes it.
	Journal *Journal
	// TLS, when set, serves TLS (with ClientAuth set, mutual TLS): a host that a link must verify.
	TLS *tls.Config
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "issuer-sim"
	}
	if c.SlowDelay == 0 {
		c.SlowDelay = DefaultSlowDelay
	}
	if c.Framing == nil {
		c.Framing = iso8583.Binary2{}
	}
	if c.Spec == nil {
		c.Spec = iso8583.AcquirerSpec()
	}
	if c.MaxConns == 0 {
		c.MaxConns = DefaultMaxConns
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = min(DefaultMaxFrame, c.Framing.MaxLength())
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
	return c
}

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("issuer simulator config")

// Validate checks a Config after defaults are applied; errors name the field.
func (c Config) Validate() error {
	bad := func(field, reason string) error { return fmt.Errorf("%w: %s %s", ErrConfig, field, reason) }
	switch {
	case c.SlowDelay < 0:
		return bad("SlowDelay", "must not be negative")
	case c.Latency < 0:
		return bad("Latency", "must not be negative")
	case c.MaxConns < 1:
		return bad("MaxConns", "must be at least 1")
	case c.MaxInFlight < 1:
		return bad("MaxInFlight", "must be at least 1")
	case c.MaxFrame < 64 || c.MaxFrame > c.Framing.MaxLength():
		return bad("MaxFrame", fmt.Sprintf("must be 64..%d for framing %s", c.Framing.MaxLength(), c.Framing.Name()))
	case c.DrainTimeout < 0:
		return bad("DrainTimeout", "must not be negative")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return bad("Listen", "must be host:port")
	}
	return nil
}

// Simulator is a listening issuer host. New binds the address; Run serves until its context ends.
type Simulator struct {
	cfg      Config
	log      *zap.Logger
	ln       net.Listener
	stopping atomic.Bool
	stopCh   chan struct{} // closed when stopping
	mu       struct {
		sync.Mutex
		conns map[*simConn]struct{}
	}
}

// New checks cfg and listens on cfg.Listen (so that Addr is known at once and a busy port is an
// error here). Run must be called to serve and release the listener.
func New(cfg Config, log *zap.Logger) (*Simulator, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("issuer simulator: %w", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	s := &Simulator{cfg: cfg, log: log.With(zap.String("issuer", cfg.Name)), ln: ln, stopCh: make(chan struct{})}
	s.mu.conns = make(map[*simConn]struct{})
	return s, nil
}

// Addr is the address the simulator listens on.
func (s *Simulator) Addr() string { return s.ln.Addr().String() }

// Run accepts connections and answers them until ctx ends; then it stops accepting and reading,
// writes the answers already due within the drain timeout, closes every connection and returns nil.
func (s *Simulator) Run(ctx context.Context) error {
	s.log.Info("issuer simulator listening", zap.String("addr", s.Addr()),
		zap.Duration("slow_delay", s.cfg.SlowDelay), zap.Duration("latency", s.cfg.Latency),
		zap.String("framing", s.cfg.Framing.Name()))
	var wg sync.WaitGroup
	stopped := make(chan struct{})
	wg.Go(func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		s.stop()
	})
	err := s.accept(&wg)
	close(stopped)
	wg.Wait()
	s.log.Info("issuer simulator stopped")
	if s.stopping.Load() {
		return nil
	}
	return err
}

// Accept retry bounds: a failing accept (out of file descriptors) is retried after a pause that
// doubles from acceptRetryMin to acceptRetryMax, as net/http does, instead of stopping the server.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// accept runs the accept loop until the listener is closed.
func (s *Simulator) accept(wg *sync.WaitGroup) error {
	var pause time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			if s.stopping.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("issuer simulator accept: %w", err)
			}
			pause = min(max(2*pause, acceptRetryMin), acceptRetryMax)
			s.log.Warn("accept failed; retrying", zap.Error(err), zap.Duration("pause", pause))
			select {
			case <-time.After(pause):
			case <-s.stopCh:
			}
			continue
		}
		pause = 0
		c := s.register(nc)
		if c == nil {
			s.log.Debug("connection refused: limit reached", zap.Int("max_conns", s.cfg.MaxConns))
			nc.Close()
			continue
		}
		wg.Go(func() {
			defer s.unregister(c)
			c.serve()
		})
	}
}

// stop makes the accept loop and every connection's reader return.
func (s *Simulator) stop() {
	s.stopping.Store(true)
	close(s.stopCh)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.mu.conns {
		c.stopReading()
	}
	s.mu.Unlock()
}

func (s *Simulator) register(nc net.Conn) *simConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mu.conns) >= s.cfg.MaxConns || s.stopping.Load() {
		return nil
	}
	c := newSimConn(s, nc)
	s.mu.conns[c] = struct{}{}
	return c
}

func (s *Simulator) unregister(c *simConn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
}
