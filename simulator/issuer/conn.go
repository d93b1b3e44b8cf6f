package issuer

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger/reconcile"
)

// Buffer sizes of a connection: a read buffer that holds dozens of typical requests, a write
// buffer that batches the answers decided while the writer was busy into one write.
const (
	readBufferSize  = 16 << 10
	writeBufferSize = 32 << 10
)

// outMsg is a decided answer waiting for its time.
type outMsg struct {
	due  time.Time // zero: as soon as possible
	body []byte    // the packed response, without its length header
	slow bool
}

// simConn is one accepted connection: a reader goroutine (serve) that decides, and a writer
// goroutine that sends each answer when it is due. pending bounds the answers between them.
type simConn struct {
	s       *Simulator
	nc      net.Conn
	log     *zap.Logger
	out     chan outMsg   // reader → writer; capacity MaxInFlight, never fuller than pending allows
	pending chan struct{} // semaphore: a place is taken per answer until it is written
	wdone   chan struct{} // closed when the writer has returned
	// more is set while the reader has further requests buffered: the writer then holds its answers
	// for one write (batching) until the reader pokes it, having reached the end of its buffer.
	more  atomic.Bool
	poke  chan struct{} // capacity 1
	drain atomic.Int64  // unix nanoseconds until which the writer drains after the reader stops; 0: do not drain
}

func newSimConn(s *Simulator, nc net.Conn) *simConn {
	return &simConn{
		s:       s,
		nc:      nc,
		log:     s.log.With(zap.String("peer", nc.RemoteAddr().String())),
		out:     make(chan outMsg, s.cfg.MaxInFlight),
		pending: make(chan struct{}, s.cfg.MaxInFlight),
		wdone:   make(chan struct{}),
		poke:    make(chan struct{}, 1),
	}
}

// stopReading makes the reader return at once (Simulator.stop).
func (c *simConn) stopReading() {
	c.nc.SetReadDeadline(time.Now())
}

// serve runs the connection: the writer in a goroutine of its own, the reader here; it returns
// when both are done and the connection is closed.
func (c *simConn) serve() {
	c.log.Debug("issuer simulator connection open")
	go c.writeLoop()
	c.readLoop()
	close(c.out)
	<-c.wdone
	c.nc.Close()
	c.log.Debug("issuer simulator connection closed")
}

// readLoop reads, decides and hands answers to the writer until the peer closes, a frame cannot
// be resynchronised, the writer fails, or the simulator stops.
func (c *simConn) readLoop() {
	cfg := c.s.cfg
	br := bufio.NewReaderSize(c.nc, readBufferSize)
	var buf []byte
	for {
		frame, err := iso8583.ReadFrame(br, cfg.Framing, cfg.MaxFrame, buf)
		if err != nil {
			c.readFailed(err)
			return
		}
		buf = frame[:0]
		arrived := time.Now()
		hdr, msg, err := cfg.Header.Split(frame)
		if err != nil {
			c.log.Debug("frame shorter than its header: closing the connection")
			return
		}
		body, timing, ok := c.s.handle(msg)
		if ok && body != nil && cfg.Header.Len() > 0 {
			body = append(cfg.Header.AppendAnswer(make([]byte, 0, cfg.Header.Len()+len(body)), hdr), body...)
		}
		if !ok {
			c.log.Debug("unreadable MTI: closing the connection")
			return
		}
		more := br.Buffered() > 0
		c.more.Store(more)
		if body != nil && timing != Never {
			if !c.reserve() {
				return
			}
			m := outMsg{body: body, slow: timing == Slow}
			if d := c.delay(timing); d > 0 {
				m.due = arrived.Add(d)
			}
			c.out <- m
		}
		if !more {
			c.pokeWriter()
		}
	}
}

// pokeWriter tells the writer that the reader has no request left in its buffer, so that what the
// writer holds is flushed now.
func (c *simConn) pokeWriter() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// reserve takes a place for one pending answer, waiting while all are taken. It reports false when
// the writer is gone or the simulator stops while waiting; a free place is taken even when stopping,
// so that an answer already decided is not lost to the race.
func (c *simConn) reserve() bool {
	select {
	case c.pending <- struct{}{}:
		return true
	default:
	}
	// About to wait: let the writer flush what it holds back for the batch.
	c.more.Store(false)
	c.pokeWriter()
	select {
	case c.pending <- struct{}{}:
		return true
	case <-c.wdone:
		return false
	case <-c.s.stopCh:
		c.readFailed(net.ErrClosed)
		return false
	}
}

func (c *simConn) delay(t Timing) time.Duration {
	if t == Slow {
		return c.s.cfg.Latency + c.s.cfg.SlowDelay
	}
	return c.s.cfg.Latency
}

// readFailed notes why reading ended and, when the simulator is stopping, lets the writer drain.
func (c *simConn) readFailed(err error) {
	if c.s.stopping.Load() {
		c.drain.Store(time.Now().Add(c.s.cfg.DrainTimeout).UnixNano())
		return
	}
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, iso8583.ErrFrameTooLarge), errors.Is(err, iso8583.ErrBadHeader):
		c.log.Debug("bad frame header: closing the connection", zap.Error(err))
	default:
		c.log.Debug("read failed", zap.Error(err))
	}
}

// handle unpacks one request and decides its answer. It returns the packed answer (nil when none
// is due: a response sent to the simulator, or a malformed frame whose response MTI does not exist)
// and ok=false when the MTI is unreadable and the connection must close. A request that does not
// unpack but has a readable MTI is answered 30 (format error), echoing what could be read.
func (s *Simulator) handle(frame []byte) (body []byte, timing Timing, ok bool) {
	req, err := iso8583.Unpack(s.cfg.Spec, frame)
	if err != nil {
		return s.formatError(frame)
	}
	if s.cfg.OnRequest != nil {
		s.cfg.OnRequest(req)
	}
	resp, timing := s.decide(req, frame)
	if j := s.cfg.Journal; j != nil && journaled(req.MTI) {
		var answer *iso8583.Message
		if timing != Never {
			answer = resp
		}
		if err := j.Append(reconcile.NewRecord(req, answer, time.Now())); err != nil && answer != nil {
			// An issuer that cannot record a decision does not make it.
			s.log.Error("journal append failed: answering 96", zap.Error(err))
			failed := echo(req, resp.MTI)
			failed.ResponseCode = iso8583.RCSystemMalfunction
			resp, timing = failed, Now
		}
	}
	if resp == nil {
		return nil, Never, true
	}
	return s.pack(resp), timing, true
}

// decide applies the security checks (when configured) and then the rules.
func (s *Simulator) decide(req *iso8583.Message, frame []byte) (*iso8583.Message, Timing) {
	if sc := s.cfg.Security; sc != nil && iso8583.ResponseMTI(req.MTI) != "" {
		if code := sc.check(req, frame); code != "" {
			s.log.Debug("request refused by the security check", zap.String("mti", req.MTI), zap.String("response_code", code))
			return refuse(req, code), Now
		}
	}
	return Decide(req)
}

// formatError answers a frame that does not unpack: 30 with the fields read before the bad one.
func (s *Simulator) formatError(frame []byte) (body []byte, timing Timing, ok bool) {
	partial, _ := iso8583.UnpackPartial(s.cfg.Spec, frame)
	if partial == nil {
		return nil, Never, false
	}
	mti := iso8583.ResponseMTI(partial.MTI)
	if mti == "" {
		return nil, Never, true
	}
	resp := echo(partial, mti)
	resp.ResponseCode = iso8583.RCFormatError
	return s.pack(resp), Now, true
}

func (s *Simulator) pack(resp *iso8583.Message) []byte {
	b, err := resp.Pack(s.cfg.Spec)
	if err != nil {
		// Only an echoed field that does not fit can fail; answer with the bare format error.
		s.log.Debug("answer does not pack: answering 30", zap.Error(err))
		b, err = (&iso8583.Message{MTI: resp.MTI, STAN: resp.STAN, ResponseCode: iso8583.RCFormatError}).Pack(s.cfg.Spec)
		if err != nil {
			return nil
		}
	}
	return b
}

// writeLoop writes each answer when it is due, batching what is ready into one write. Answers are
// due in the order they were decided within each timing (latency, or latency plus slow delay), so
// two FIFO queues hold them.
func (c *simConn) writeLoop() {
	defer close(c.wdone)
	defer c.nc.Close() // unblocks the reader if the writer stops first
	bw := bufio.NewWriterSize(c.nc, writeBufferSize)
	var now, later fifo
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	in := c.out
	for {
		if err := c.writeDue(bw, &now, &later); err != nil {
			return
		}
		if in == nil && !c.dueWithinDrain(nextDue(&now, &later)) {
			bw.Flush()
			return
		}
		if len(in) == 0 && !c.more.Load() && bw.Buffered() > 0 {
			if err := bw.Flush(); err != nil {
				return
			}
		}
		resetTimer(timer, nextDue(&now, &later))
		select {
		case m, open := <-in:
			if !open {
				in = nil
				continue
			}
			if m.slow {
				later.push(m)
			} else {
				now.push(m)
			}
		case <-timer.C:
		case <-c.poke:
		}
	}
}

// dueWithinDrain reports whether, after the reader stopped, the next answer (due at next; zero:
// none) is still to be written: only when the simulator is stopping and it is due before the drain
// deadline. A peer that closed its side gets nothing more.
func (c *simConn) dueWithinDrain(next time.Time) bool {
	d := c.drain.Load()
	return d != 0 && !next.IsZero() && next.UnixNano() < d
}

// writeDue writes every queued answer whose time has come.
func (c *simConn) writeDue(bw *bufio.Writer, qs ...*fifo) error {
	t := time.Now()
	var hdr [4]byte
	for _, q := range qs {
		for !q.empty() && !q.head().due.After(t) {
			m := q.pop()
			h := hdr[:c.s.cfg.Framing.HeaderLen()]
			if err := c.s.cfg.Framing.PutLength(h, len(m.body)); err == nil {
				bw.Write(h)
				if _, err := bw.Write(m.body); err != nil {
					return err
				}
			}
			<-c.pending
		}
	}
	return nil
}

func nextDue(qs ...*fifo) time.Time {
	var t time.Time
	for _, q := range qs {
		if !q.empty() {
			t = minTime(t, q.head().due)
		}
	}
	return t
}

// minTime is the earlier of two times, where the zero time means "none".
func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

// resetTimer arms t for wake (zero: disarmed).
func resetTimer(t *time.Timer, wake time.Time) {
	if wake.IsZero() {
		t.Stop()
		return
	}
	t.Reset(time.Until(wake))
}

// fifo is a queue of answers in due order.
type fifo struct {
	items []outMsg
	head0 int
}

func (q *fifo) empty() bool   { return q.head0 == len(q.items) }
func (q *fifo) head() *outMsg { return &q.items[q.head0] }
func (q *fifo) push(m outMsg) { q.items = append(q.items, m) }
func (q *fifo) pop() outMsg {
	m := q.items[q.head0]
	q.items[q.head0] = outMsg{}
	q.head0++
	if q.head0 == len(q.items) {
		q.items, q.head0 = q.items[:0], 0
	} else if q.head0 > 1024 && q.head0*2 > len(q.items) {
		n := copy(q.items, q.items[q.head0:])
		q.items, q.head0 = q.items[:n], 0
	}
	return m
}
