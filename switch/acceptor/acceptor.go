// Package acceptor is the ISO 8583 listener for terminals, merchant gateways and portals: length-
// prefixed frames over TCP (TLS optional), a reader and a writer goroutine per connection,
// pipelining with bounded in-flight requests per connection and overall, deadlines, a connection
// limit, and a graceful drain.
package acceptor

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Handler answers requests. Both methods are called concurrently.
type Handler interface {
	// Handle answers one well-formed request; nil means no answer (a response MTI sent to us).
	Handle(ctx context.Context, req *iso8583.Message) *iso8583.Message
	// HandleMalformed answers a frame that did not unpack: partial holds what was readable (at
	// least a 4-digit MTI). nil means no answer.
	HandleMalformed(ctx context.Context, partial *iso8583.Message, err error) *iso8583.Message
}

// Config holds the listener's limits. Every field is required (config.Acceptor supplies them).
type Config struct {
	Name               string // the listener's name in logs ("default" for the acceptor block)
	Framing            iso8583.Framing
	Spec               *iso8583.Spec
	Header             iso8583.Header   // message header after the length; answers carry the request's (a TPDU swapped)
	Mapping            *iso8583.Mapping // terminals' dialect ↔ the engine's form (nil: none)
	MaxConnections     int              // open connections; one over it is closed at once
	MaxInFlightPerConn int              // requests read but not answered on one connection
	MaxInFlight        int              // requests read but not answered on all connections
	MaxFrame           int              // bytes; a longer length header closes the connection
	IdleTimeout        time.Duration    // no frame for this long closes the connection
	ReadTimeout        time.Duration    // the rest of a frame must arrive this soon after its header
	WriteTimeout       time.Duration    // one write of responses
	DrainTimeout       time.Duration    // a graceful stop waits this long for in-flight requests
	TLS                *tls.Config      // nil: plain TCP
}

// Server accepts terminal connections and feeds their requests to a Handler.
type Server struct {
	cfg     Config
	handler Handler
	log     *zap.Logger
	metrics *Metrics

	inFlight chan struct{} // global in-flight slots
	workers  *workers      // the goroutines that run handlers
	conns    atomic.Int64
	draining atomic.Bool

	mu struct {
		sync.Mutex
		conns map[*conn]struct{}
	}
}

// New returns a server; Serve runs it.
func New(cfg Config, h Handler, log *zap.Logger, m *Metrics) *Server {
	if cfg.Name != "" {
		log = log.With(zap.String("listener", cfg.Name))
	}
	s := &Server{cfg: cfg, handler: h, log: log, metrics: m, inFlight: make(chan struct{}, cfg.MaxInFlight),
		workers: newWorkers(min(cfg.MaxInFlight, maxIdleWorkers))}
	s.mu.conns = make(map[*conn]struct{})
	return s
}

// Draining reports whether a graceful stop has begun (readiness turns false).
func (s *Server) Draining() bool { return s.draining.Load() }

// Connections returns the number of open connections.
func (s *Server) Connections() int { return int(s.conns.Load()) }

// Serve accepts connections on ln until ctx ends, then drains: it stops accepting, stops reading,
// lets in-flight requests finish (up to DrainTimeout), flushes their responses and closes every
// connection. It returns nil after a clean drain.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if s.cfg.TLS != nil {
		ln = tls.NewListener(ln, s.cfg.TLS)
	}
	// Requests run on a context that outlives ctx by the drain timeout, so that a stop lets
	// them finish instead of failing them.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelReqs()
	defer s.workers.close()

	var wg sync.WaitGroup
	acceptDone := make(chan error, 1)
	go func() {
		acceptDone <- s.acceptLoop(reqCtx, ln, &wg)
	}()

	var err error
	select {
	case <-ctx.Done():
	case err = <-acceptDone:
	}
	s.draining.Store(true)
	ln.Close()
	if err == nil {
		<-acceptDone
	}
	s.log.Info("acceptor draining", zap.Int64("connections", s.conns.Load()))

	s.mu.Lock()
	for c := range s.mu.conns {
		c.stopReading()
	}
	s.mu.Unlock()

	drained := make(chan struct{})
	go func() {
		wg.Wait()
		close(drained)
	}()
	timer := time.NewTimer(s.cfg.DrainTimeout)
	defer timer.Stop()
	select {
	case <-drained:
	case <-timer.C:
		s.log.Warn("acceptor drain timeout: cancelling in-flight requests", zap.Duration("drain-timeout", s.cfg.DrainTimeout))
		cancelReqs()
		s.mu.Lock()
		for c := range s.mu.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-drained
	}
	s.log.Info("acceptor stopped")
	return err
}

func (s *Server) acceptLoop(ctx context.Context, ln net.Listener, wg *sync.WaitGroup) error {
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.draining.Load() || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("acceptor accept error; backing off", zap.Error(err), zap.Duration("backoff", backoff))
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		if int(s.conns.Load()) >= s.cfg.MaxConnections {
			s.metrics.connectionsRejected.Inc()
			nc.Close()
			continue
		}
		c := s.newConn(nc)
		s.conns.Add(1)
		s.metrics.connections.Inc()
		s.metrics.connectionsAccepted.Inc()
		s.mu.Lock()
		s.mu.conns[c] = struct{}{}
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.serve(ctx)
			s.mu.Lock()
			delete(s.mu.conns, c)
			s.mu.Unlock()
			s.conns.Add(-1)
			s.metrics.connections.Dec()
		}()
	}
}

// conn is one terminal connection: the reader runs in serve, the writer in its own goroutine, and
// one goroutine per request in flight.
type conn struct {
	s       *Server
	nc      net.Conn
	out     chan []byte   // framed responses; capacity MaxInFlightPerConn, so a sender never blocks
	slots   chan struct{} // this connection's in-flight slots
	stopped atomic.Bool   // the reader must stop (drain)
}

func (s *Server) newConn(nc net.Conn) *conn {
	return &conn{
		s:     s,
		nc:    nc,
		out:   make(chan []byte, s.cfg.MaxInFlightPerConn),
		slots: make(chan struct{}, s.cfg.MaxInFlightPerConn),
	}
}

// stopReading unblocks the reader; it finishes the connection's in-flight requests and closes.
func (c *conn) stopReading() {
	c.stopped.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

func (c *conn) serve(ctx context.Context) {
	if !c.handshake(ctx) {
		c.nc.Close()
		return
	}
	var writerDone sync.WaitGroup
	writerDone.Add(1)
	go func() {
		defer writerDone.Done()
		c.writeLoop()
	}()

	var reqs sync.WaitGroup
	c.readLoop(ctx, &reqs)
	reqs.Wait()
	close(c.out)
	writerDone.Wait()
	c.nc.Close()
}

func (c *conn) readLoop(ctx context.Context, reqs *sync.WaitGroup) {
	cfg := &c.s.cfg
	r := bufio.NewReaderSize(c.nc, readBufferSize)
	hdrLen := cfg.Framing.HeaderLen()
	var hdr [4]byte
	buf := make([]byte, 0, initialFrameBuffer)
	for !c.stopped.Load() {
		if r.Buffered() < hdrLen {
			c.nc.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		}
		if _, err := readFull(r, hdr[:hdrLen]); err != nil {
			c.logClose(err)
			return
		}
		n, err := cfg.Framing.Length(hdr[:hdrLen])
		if err != nil || n > cfg.MaxFrame || n == 0 {
			c.s.metrics.decodeErrors.WithLabelValues("frame").Inc()
			c.s.log.Info("acceptor closing connection: bad length header", zap.String("remote", c.nc.RemoteAddr().String()),
				zap.Int("length", n), zap.Int("max-frame", cfg.MaxFrame))
			return
		}
		if r.Buffered() < n {
			c.nc.SetReadDeadline(time.Now().Add(cfg.ReadTimeout))
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		frame := buf[:n]
		if _, err := readFull(r, frame); err != nil {
			c.s.metrics.decodeErrors.WithLabelValues("truncated").Inc()
			c.logClose(err)
			return
		}
		var reqHdr []byte
		if hl := cfg.Header.Len(); hl > 0 {
			if len(frame) < hl {
				c.s.metrics.decodeErrors.WithLabelValues("frame").Inc()
				c.s.log.Info("acceptor closing connection: frame shorter than its header", zap.String("remote", c.nc.RemoteAddr().String()))
				return
			}
			reqHdr = append([]byte(nil), frame[:hl]...)
			frame = frame[hl:]
		}
		req, uerr := iso8583.UnpackPartial(cfg.Spec, frame)
		if req != nil && cfg.Mapping != nil {
			if mapped, err := cfg.Mapping.Back(req, nil); err == nil {
				req = mapped
			} else if uerr == nil {
				uerr = err
			}
		}
		if req == nil {
			c.s.metrics.decodeErrors.WithLabelValues("mti").Inc()
			c.s.log.Info("acceptor closing connection: unreadable MTI", zap.String("remote", c.nc.RemoteAddr().String()))
			return
		}
		if uerr != nil {
			c.s.metrics.decodeErrors.WithLabelValues("message").Inc()
		} else if req.MAC != nil || req.MAC2 != nil {
			// The MAC covers the bytes as the terminal sent them, in this listener's dialect.
			field := 64
			if req.MAC2 != nil {
				field = 128
			}
			if in, ok := cfg.Spec.MACInput(frame, field); ok {
				req.MACInput = append([]byte(nil), in...) // the frame's buffer is read into again
			}
		}
		if !c.acquire(ctx) {
			return
		}
		reqs.Add(1)
		c.s.workers.run(func() {
			defer reqs.Done()
			defer c.release()
			var resp *iso8583.Message
			if uerr != nil {
				resp = c.s.handler.HandleMalformed(ctx, req, uerr)
			} else {
				resp = c.s.handler.Handle(ctx, req)
			}
			if resp != nil {
				c.send(resp, reqHdr)
			}
		})
	}
}

// acquire takes a connection slot and a global slot, waiting (which stops reading: TCP
// back-pressure) while either limit is reached.
func (c *conn) acquire(ctx context.Context) bool {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	select {
	case c.s.inFlight <- struct{}{}:
	case <-ctx.Done():
		<-c.slots
		return false
	}
	c.s.metrics.inFlight.Inc()
	return true
}

func (c *conn) release() {
	c.s.metrics.inFlight.Dec()
	<-c.s.inFlight
	<-c.slots
}

func (c *conn) send(resp *iso8583.Message, reqHdr []byte) {
	cfg := &c.s.cfg
	if cfg.Mapping != nil {
		mapped, err := cfg.Mapping.Out(resp)
		if err != nil {
			c.s.log.Error("acceptor cannot map response", zap.String("mti", resp.MTI), zap.Error(err))
			return
		}
		resp = mapped
	}
	b, err := resp.Pack(cfg.Spec)
	if err != nil {
		c.s.log.Error("acceptor cannot pack response", zap.String("mti", resp.MTI), zap.Error(err))
		return
	}
	if cfg.Header.Len() > 0 {
		b = append(cfg.Header.AppendAnswer(make([]byte, 0, cfg.Header.Len()+len(b)), reqHdr), b...)
	}
	framed, err := iso8583.AppendFrame(make([]byte, 0, len(b)+4), cfg.Framing, b)
	if err != nil {
		c.s.log.Error("acceptor response too large for the framing", zap.Int("bytes", len(b)))
		return
	}
	c.out <- framed
}

// writeLoop writes responses as they come, coalescing whatever is queued into one write.
func (c *conn) writeLoop() {
	w := bufio.NewWriterSize(c.nc, writeBufferSize)
	broken := false
	for b := range c.out {
		if broken {
			continue // keep draining so that senders never block; the reader sees the closed conn
		}
		w.Write(b)
	coalesce:
		for {
			select {
			case more, ok := <-c.out:
				if !ok {
					break coalesce
				}
				w.Write(more)
			default:
				break coalesce
			}
		}
		c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
		if err := w.Flush(); err != nil {
			broken = true
			c.nc.Close()
		}
	}
}

func (c *conn) logClose(err error) {
	if c.stopped.Load() || errors.Is(err, net.ErrClosed) || isEOF(err) {
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.s.log.Debug("acceptor closing idle connection", zap.String("remote", c.nc.RemoteAddr().String()))
		return
	}
	c.s.log.Debug("acceptor connection read error", zap.String("remote", c.nc.RemoteAddr().String()), zap.Error(err))
}

// maxIdleWorkers bounds the handler goroutines kept waiting for work between bursts.
const maxIdleWorkers = 1024

// Buffer sizes: big enough to take a burst of pipelined requests in one read syscall.
const (
	readBufferSize     = 32 << 10
	writeBufferSize    = 32 << 10
	initialFrameBuffer = 512
)
