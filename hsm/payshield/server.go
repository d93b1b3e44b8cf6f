package payshield

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/hsm"
)

// Server defaults. Each is a limit so that no client can make the server hold unbounded work.
const (
	// DefaultHeaderLen is payShield's factory message header length.
	DefaultHeaderLen = 4
	// DefaultConnsMax bounds concurrent connections: a switch keeps a small pool per instance.
	DefaultConnsMax = 256
	// DefaultInFlightPerConnMax bounds commands executing at once for one connection; the reader
	// stops reading (TCP back-pressure) while it is reached.
	DefaultInFlightPerConnMax = 32
	// DefaultMessageSizeMax bounds one message after its length prefix; payShield's own buffer
	// is 32 KiB and the largest command here (M6 with 32 KiB of data) fits.
	DefaultMessageSizeMax = 32 << 10
	// DefaultReadTimeout is how long the rest of a message may take once its length arrived.
	DefaultReadTimeout = 5 * time.Second
	// DefaultIdleTimeout closes a connection that sends nothing for this long.
	DefaultIdleTimeout = 10 * time.Minute
	// DefaultWriteTimeout bounds writing one response to a slow reader.
	DefaultWriteTimeout = 5 * time.Second
	// DefaultDrainTimeout bounds how long shutdown waits for commands in flight.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultFirmware is the 9-character firmware number NC reports.
	DefaultFirmware = "0007-E000"
	// HeaderLenMax bounds the configurable header length.
	HeaderLenMax = 32
)

// Config configures a Server. The zero value of each field but HeaderLen means its default.
type Config struct {
	HeaderLen          int           // message header length in characters, echoed back; 0 for none (payShield's factory setting is DefaultHeaderLen)
	ConnsMax           int           // concurrent connections; more are closed at once (default 256)
	InFlightPerConnMax int           // commands executing at once per connection (default 32)
	MessageSizeMax     int           // bytes after the length prefix (default 32 KiB, at most 65535)
	ReadTimeout        time.Duration // for the rest of a message once its length arrived (default 5s)
	IdleTimeout        time.Duration // a connection silent this long is closed (default 10m)
	WriteTimeout       time.Duration // for writing one response (default 5s)
	DrainTimeout       time.Duration // shutdown waits this long for commands in flight (default 10s)
	// DisabledCommands are command codes answered with error 68 (command disabled).
	DisabledCommands []string
	// Firmware is the 9-character firmware number NC reports (default "0007-E000").
	Firmware string
}

// withDefaults returns c with zero fields set to their defaults, or an error naming a bad field.
func (c Config) withDefaults() (Config, error) {
	if c.HeaderLen < 0 || c.HeaderLen > HeaderLenMax {
		return c, fmt.Errorf("header length %d: must be 0 to %d", c.HeaderLen, HeaderLenMax)
	}
	setDefault(&c.ConnsMax, DefaultConnsMax)
	setDefault(&c.InFlightPerConnMax, DefaultInFlightPerConnMax)
	setDefault(&c.MessageSizeMax, DefaultMessageSizeMax)
	if c.MessageSizeMax > 0xFFFF {
		return c, fmt.Errorf("message size max %d: the 2-byte length allows at most 65535", c.MessageSizeMax)
	}
	setDefault(&c.ReadTimeout, DefaultReadTimeout)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.DrainTimeout, DefaultDrainTimeout)
	if c.Firmware == "" {
		c.Firmware = DefaultFirmware
	}
	if len(c.Firmware) != 9 {
		return c, fmt.Errorf("firmware %q: must be 9 characters", c.Firmware)
	}
	for _, cmd := range c.DisabledCommands {
		if len(cmd) != 2 {
			return c, fmt.Errorf("disabled command %q: must be 2 characters", cmd)
		}
	}
	return c, nil
}

func setDefault[T int | time.Duration](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Server answers payShield host commands over TCP with a software HSM.
type Server struct {
	hsm      *hsm.Soft
	cfg      Config
	log      *zap.Logger
	disabled map[string]bool

	mu struct {
		sync.Mutex
		conns    map[net.Conn]struct{}
		draining bool
	}
}

// NewServer returns a server for soft with cfg (zero fields take their defaults).
func NewServer(soft *hsm.Soft, cfg Config, log *zap.Logger) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{hsm: soft, cfg: cfg, log: log, disabled: map[string]bool{}}
	for _, c := range cfg.DisabledCommands {
		s.disabled[c] = true
	}
	s.mu.conns = map[net.Conn]struct{}{}
	return s, nil
}

// Serve accepts connections on ln until ctx is done, then drains: it stops accepting and
// reading, lets commands in flight finish and answer (up to DrainTimeout), closes every
// connection and returns nil. It closes ln.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	var wg sync.WaitGroup
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		ln.Close()
	}()
	slots := make(chan struct{}, s.cfg.ConnsMax)
	var acceptErr error
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				acceptErr = fmt.Errorf("accept: %w", err)
			}
			break
		}
		select {
		case slots <- struct{}{}:
		default:
			s.log.Warn("connection refused: limit reached", zap.Int("conns-max", s.cfg.ConnsMax))
			c.Close()
			continue
		}
		if !s.track(c) {
			c.Close()
			<-slots
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
	close(stop)
	s.drain(&wg)
	return acceptErr
}

// drain stops every connection's reader, waits for their commands up to DrainTimeout, then
// closes what is left.
func (s *Server) drain(wg *sync.WaitGroup) {
	s.mu.Lock()
	s.mu.draining = true
	for c := range s.mu.conns {
		c.SetReadDeadline(time.Now()) // wakes the reader; commands in flight still answer
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(s.cfg.DrainTimeout)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	s.log.Warn("drain timeout: closing connections with commands in flight")
	s.mu.Lock()
	for c := range s.mu.conns {
		c.Close()
	}
	s.mu.Unlock()
	<-done
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.draining {
		return false
	}
	s.mu.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
}

func (s *Server) isDraining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.draining
}

// serveConn reads commands from c, runs up to InFlightPerConnMax of them at once and writes
// each response as soon as it is ready (clients match responses to requests by header).
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	responses := make(chan []byte, s.cfg.InFlightPerConnMax)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(c, responses)
	}()
	sem := make(chan struct{}, s.cfg.InFlightPerConnMax)
	var handlers sync.WaitGroup
	br := bufio.NewReaderSize(c, 4096)
	for {
		frame, oversized, err := s.readFrame(c, br)
		if err != nil {
			if !errors.Is(err, io.EOF) && !s.isDraining() {
				s.log.Debug("connection read ended", zap.Error(err))
			}
			break
		}
		sem <- struct{}{}
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			responses <- s.respond(frame, oversized)
			<-sem
		}()
	}
	handlers.Wait()
	close(responses)
	<-writerDone
}

// writeLoop writes responses until the channel closes; after a write error it keeps draining
// the channel so that handlers never block.
func (s *Server) writeLoop(c net.Conn, responses <-chan []byte) {
	failed := false
	for r := range responses {
		if failed {
			continue
		}
		c.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if _, err := c.Write(r); err != nil {
			s.log.Debug("connection write failed", zap.Error(err))
			failed = true
			c.Close() // unblocks the reader
		}
	}
}

// readFrame reads one length-prefixed message. A message over MessageSizeMax is read past and
// returned truncated to its header and command code with oversized set, to be answered with
// error 15.
func (s *Server) readFrame(c net.Conn, br *bufio.Reader) (frame []byte, oversized bool, err error) {
	c.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
	var lenBuf [2]byte
	if _, err := io.ReadFull(br, lenBuf[:]); err != nil {
		return nil, false, err
	}
	n := int(binary.BigEndian.Uint16(lenBuf[:]))
	c.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout))
	if n <= s.cfg.MessageSizeMax {
		frame = make([]byte, n)
		if _, err := io.ReadFull(br, frame); err != nil {
			return nil, false, err
		}
		return frame, false, nil
	}
	keep := min(n, s.cfg.HeaderLen+2)
	frame = make([]byte, keep)
	if _, err := io.ReadFull(br, frame); err != nil {
		return nil, false, err
	}
	if _, err := io.CopyN(io.Discard, br, int64(n-keep)); err != nil {
		return nil, false, err
	}
	return frame, true, nil
}
