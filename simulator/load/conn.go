package load

import (
	"context"
	"crypto/tls"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Connection tuning, each with its reason.
const (
	// sendBatchMax bounds the requests written in one go, so that a connection that fell behind
	// catches up in bursts the switch can read, and the writer rechecks timeouts between them.
	sendBatchMax = 512
	// tickMax is the longest the writer sleeps: timeouts and due completions are noticed within it.
	tickMax = 20 * time.Millisecond
	// followUpsMax bounds the reversals and repeats waiting to be sent on a connection.
	followUpsMaxPerInFlight = 2
	// poolSize bounds the approved transactions a connection remembers as candidates for a
	// reversal or a refund, and the holds waiting for their capture.
	poolSize = 256
	// readBufferSize holds dozens of answers, so that one read syscall serves many.
	readBufferSize = 32 << 10
	// redialMin and redialMax bound the wait between attempts to reconnect a lost connection.
	redialMin = 50 * time.Millisecond
	redialMax = time.Second
)

// terminal is one simulated terminal: its ID (field 41) and STAN sequence (field 11), shared by
// its connections.
type terminal struct {
	id   string
	stan atomic.Uint32 // the last STAN used
}

// stanMax is the highest STAN; the sequence wraps to 000001 after it.
const stanMax = 999_999

func (t *terminal) nextSTAN() uint32 {
	for {
		old := t.stan.Load()
		next := old%stanMax + 1
		if t.stan.CompareAndSwap(old, next) {
			return next
		}
	}
}

// phase is where a connection is in the run.
type phase uint8

const (
	phaseSending     phase = iota // new requests are sent
	phaseDraining                 // the duration is over: answers, reversals and repeats only
	phaseInterrupted              // the run was interrupted: answers in flight only, briefly
)

// conn is one TCP connection of a terminal: a writer (run, the owner) that paces and sends, and a
// reader that matches and checks answers. The mutex guards everything both touch.
type conn struct {
	g      *generator
	idx    int
	term   *terminal
	tmpl   [][shapeCount]*template // per merchant
	rng    *rand.Rand              // the writer's
	window int                     // closed model: requests outstanding on this connection
	freed  chan struct{}           // reader → writer: room in flight (only while the writer waits for it)
	wait   atomic.Bool             // the writer waits for freed

	// Writer-owned.
	nc        net.Conn
	out       []byte
	macs      []macSpan // requests in out still waiting for their MAC
	dates     dateCache
	slotsDone int64 // open model: slots sent or skipped
	ph        phase
	deadline  time.Time // end of draining or of the interrupt grace
	lastScan  time.Time

	mu struct {
		sync.Mutex
		inflight    map[uint32]*request
		free        []*request
		followUps   ring[*request]
		purchases   ring[original]
		preauths    ring[original]
		completions ring[pendingCompletion]
		stats       connStats
	}
}

func newConn(g *generator, idx int, term *terminal, tmpl [][shapeCount]*template, window int) *conn {
	cfg := &g.cfg
	c := &conn{g: g, idx: idx, term: term, tmpl: tmpl, window: window, freed: make(chan struct{}, 1),
		rng: rand.New(rand.NewPCG(cfg.Seed, uint64(idx)+1))}
	c.mu.inflight = make(map[uint32]*request, cfg.MaxInFlightPerConn)
	c.mu.followUps = newRing[*request](followUpsMaxPerInFlight * cfg.MaxInFlightPerConn)
	c.mu.purchases = newRing[original](poolSize)
	c.mu.preauths = newRing[original](poolSize)
	c.mu.completions = newRing[pendingCompletion](poolSize)
	c.mu.stats = newConnStats(2 * (cfg.Timeout + tickMax))
	return c
}

// dial opens the connection.
func (c *conn) dial(ctx context.Context) error {
	d := net.Dialer{Timeout: c.g.cfg.DialTimeout}
	nc, err := d.DialContext(ctx, "tcp", c.g.cfg.Target)
	if err != nil {
		return err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	if c.g.cfg.TLS != nil {
		tc := tls.Client(nc, c.g.cfg.TLS)
		hctx, cancel := context.WithTimeout(ctx, c.g.cfg.DialTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			nc.Close()
			return fmt.Errorf("tls handshake: %w", err)
		}
		nc = tc
	}
	c.nc = nc
	return nil
}

// run is the connection's writer: it sends until its part of the run is over, reconnecting when
// the connection is lost. The connection was dialled by Run.
func (c *conn) run(ctx context.Context) {
	for {
		if c.nc == nil && !c.redial(ctx) {
			break
		}
		readerDone := make(chan struct{})
		nc := c.nc
		go func() {
			defer close(readerDone)
			c.readLoop(nc)
		}()
		finished := c.sendLoop(ctx, readerDone)
		nc.Close()
		<-readerDone
		c.nc = nil
		if finished {
			break
		}
		c.lost(time.Now())
	}
	// What is left was not answered in time for the end of the run, or not sent.
	c.mu.Lock()
	for stan, r := range c.mu.inflight {
		delete(c.mu.inflight, stan)
		c.mu.stats.unanswered++
		c.recycleLocked(r)
	}
	for c.mu.followUps.len() > 0 {
		c.mu.stats.dropped++
		c.recycleLocked(c.mu.followUps.popOldest())
	}
	c.mu.Unlock()
}

// redial reconnects with a growing pause until it succeeds or the connection's part of the run
// is over; it reports whether the connection is up.
func (c *conn) redial(ctx context.Context) bool {
	pause := redialMin
	for {
		now := time.Now()
		c.advancePhase(ctx, now)
		if c.ph == phaseInterrupted || now.After(c.deadline) && c.ph == phaseDraining {
			return false
		}
		if c.ph == phaseDraining && c.idle() {
			return false
		}
		err := c.dial(ctx)
		if err == nil {
			return true
		}
		c.mu.Lock()
		c.mu.stats.connErrors++
		c.mu.Unlock()
		c.g.cfg.Log.Debug("reconnect failed", zap.String("terminal", c.term.id), zap.Error(err))
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		pause = min(2*pause, redialMax)
	}
}

// lost handles a connection that failed: every request in flight on it will never be answered,
// so each is a timeout now (and is reversed or repeated like one).
func (c *conn) lost(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.stats.connErrors++
	for stan, r := range c.mu.inflight {
		delete(c.mu.inflight, stan)
		c.timedOutLocked(r)
	}
	c.lastScan = now
}

// advancePhase moves the connection to draining at the end of the duration, or to interrupted when
// ctx ends, and sets the deadline of that phase.
func (c *conn) advancePhase(ctx context.Context, now time.Time) {
	cfg := &c.g.cfg
	if c.ph != phaseInterrupted && ctx.Err() != nil {
		c.ph, c.deadline = phaseInterrupted, now.Add(cfg.InterruptGrace)
		c.g.interruptedAt.CompareAndSwap(0, now.UnixNano())
		return
	}
	if c.ph == phaseSending && c.sendingOver(now) {
		// Time for the answers in flight, then for the reversals of those that time out and
		// their repeats; it ends as soon as nothing is in flight or waiting.
		c.ph, c.deadline = phaseDraining, now.Add(time.Duration(2+cfg.RepeatsMax)*(cfg.Timeout+tickMax)+tickMax)
	}
}

// sendingOver reports whether the connection has sent all it will: the Requests budget is spent,
// or, in the closed model, the duration is over, or, in the open model, every slot of the duration
// has been sent or skipped (a writer that fell behind still sends the slots due before the end).
func (c *conn) sendingOver(now time.Time) bool {
	if c.g.exhausted() {
		return true
	}
	if c.g.closed() {
		return !now.Before(c.g.end)
	}
	_, more := c.g.slot(c.idx, c.slotsDone)
	return !more
}

// idle reports whether nothing is in flight or waiting to be sent.
func (c *conn) idle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mu.inflight) == 0 && c.mu.followUps.len() == 0
}

// sendLoop sends what is due until the connection's part of the run is over (true) or the
// connection fails (false).
func (c *conn) sendLoop(ctx context.Context, readerDone <-chan struct{}) bool {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	done := ctx.Done()
	for {
		now := time.Now()
		c.advancePhase(ctx, now)
		if c.ph != phaseSending && (now.After(c.deadline) || c.idle()) {
			return true
		}
		wake, blocked, err := c.sendDue(now)
		if err != nil {
			c.g.cfg.Log.Debug("write failed", zap.String("terminal", c.term.id), zap.Error(err))
			return false
		}
		var freed <-chan struct{}
		if blocked {
			c.wait.Store(true)
			if !c.stillBlocked() {
				c.wait.Store(false)
				continue
			}
			freed = c.freed
		}
		timer.Reset(max(wake.Sub(time.Now()), 0))
		select {
		case <-timer.C:
		case <-freed:
		case <-done:
			done = nil
		case <-readerDone:
			return false
		}
		c.wait.Store(false)
		timer.Stop() // since Go 1.23 a stopped timer delivers nothing stale after Reset
	}
}

// stillBlocked reports whether the connection still has no room for a request.
func (c *conn) stillBlocked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roomLocked() == 0
}

// roomLocked is how many more requests may be in flight now: the in-flight limit, and in the
// closed model the connection's window.
func (c *conn) roomLocked() int {
	limit := c.g.cfg.MaxInFlightPerConn
	if c.g.closed() {
		limit = min(limit, c.window)
		if c.ph != phaseSending {
			limit = c.g.cfg.MaxInFlightPerConn // follow-ups are not held back by the window
		}
	}
	return max(limit-len(c.mu.inflight), 0)
}

// sendDue expires timeouts, builds every request due now and writes them in one write. It returns
// when to wake up next and whether sending is held back until an answer frees room.
func (c *conn) sendDue(now time.Time) (wake time.Time, blocked bool, err error) {
	cfg := &c.g.cfg
	wake = now.Add(tickMax)
	c.out, c.macs = c.out[:0], c.macs[:0]
	c.mu.Lock()
	if now.Sub(c.lastScan) >= tickMax {
		c.expireLocked(now)
		c.lastScan = now
	}
	room := c.roomLocked()
	for room > 0 && c.ph != phaseInterrupted && c.mu.followUps.len() > 0 {
		r := c.mu.followUps.popOldest()
		if r = c.followUpLocked(r, now); r != nil {
			if err = c.sendLocked(r, now); err != nil {
				break
			}
			room--
		}
	}
	if c.ph == phaseSending && err == nil {
		if c.g.closed() {
			for n := 0; room > 0 && n < sendBatchMax && err == nil && c.g.claim(now); n++ {
				err = c.sendLocked(c.newRequestLocked(now), now)
				room--
			}
			blocked = room == 0
		} else {
			wake, blocked, err = c.sendSlotsLocked(now, room)
		}
	}
	c.mu.Unlock()
	if err == nil && len(c.macs) > 0 {
		err = c.macFrames()
	}
	if err != nil {
		return wake, blocked, err
	}
	if len(c.out) > 0 {
		c.nc.SetWriteDeadline(now.Add(cfg.Timeout))
		if _, err := c.nc.Write(c.out); err != nil {
			return wake, blocked, err
		}
	}
	return wake, blocked, nil
}

// sendSlotsLocked sends the open model's slots that are due, skipping those already later than
// the timeout, and returns the next slot's time.
func (c *conn) sendSlotsLocked(now time.Time, room int) (wake time.Time, blocked bool, err error) {
	timeout := c.g.cfg.Timeout
	for n := 0; n < sendBatchMax; n++ {
		intended, ok := c.g.slot(c.idx, c.slotsDone)
		if !ok {
			return now.Add(tickMax), false, nil
		}
		if intended.After(now) {
			return intended, false, nil
		}
		if now.Sub(intended) > timeout {
			c.slotsDone++
			c.mu.stats.skipped++
			continue
		}
		if room == 0 {
			return now.Add(tickMax), true, nil
		}
		if !c.g.claim(now) {
			return now, false, nil // the budget is spent: the next round drains
		}
		if err := c.sendLocked(c.newRequestLocked(intended), now); err != nil {
			return now, false, err
		}
		c.slotsDone++
		room--
	}
	return now, false, nil // more are due: go round again at once
}

// newRequestLocked builds the request of one send slot: a due completion, or a draw from the mix.
func (c *conn) newRequestLocked(intended time.Time) *request {
	if c.mu.completions.len() > 0 && !c.mu.completions.oldest().due.After(intended) {
		pc := c.mu.completions.popOldest()
		r := c.allocLocked()
		r.kind, r.mti, r.pc = KindCompletion, iso8583.MTICompletion, pcPurchase
		r.card, r.merchant, r.amount = pc.hold.card, pc.hold.merchant, pc.amount
		r.hasOrig, r.orig, r.expect = true, pc.hold, iso8583.RCApproved
		r.intended = intended
		return r
	}
	g := c.g
	kind := g.cfg.Mix.draw(c.rng.IntN(g.mixTotal))
	r := c.allocLocked()
	r.intended = intended
	switch kind {
	case KindRefund:
		if c.mu.purchases.len() == 0 {
			kind = KindPurchase
			break
		}
		o := c.mu.purchases.popNewest()
		r.kind, r.mti, r.pc = KindRefund, iso8583.MTIFinancial, pcRefund
		r.card, r.merchant, r.amount, r.expect = o.card, o.merchant, max(o.amount/4, 1), iso8583.RCApproved
		return r
	case KindReversal:
		o, ok := c.reversalCandidateLocked()
		if !ok {
			kind = KindPurchase
			break
		}
		r.kind, r.mti, r.pc = KindReversal, iso8583.MTIReversal, o.pc
		r.card, r.merchant, r.amount, r.expect = o.card, o.merchant, o.amount, iso8583.RCApproved
		r.hasOrig, r.orig = true, o
		return r
	}
	r.kind, r.mti, r.pc, r.expect = kind, iso8583.MTIFinancial, pcPurchase, iso8583.RCApproved
	r.card = &g.cards[c.rng.IntN(len(g.cards))]
	r.merchant = g.drawMerchant(c.rng.IntN(g.merchantTotal))
	r.amount = g.approvedAmount(c.rng)
	if kind == KindPurchase || kind == KindPreauth {
		r.pin = c.wantsPIN()
	}
	switch kind {
	case KindPreauth:
		r.mti = iso8583.MTIAuthorization
		if c.rng.IntN(100) < g.cfg.CompletionShare {
			r.capture = r.amount
			if c.rng.IntN(100) < g.cfg.PartialShare {
				r.capture = max(r.amount*int64(50+c.rng.IntN(50))/100, 1)
			}
		}
	case KindDecline:
		r.expect = g.cfg.Declines[c.rng.IntN(len(g.cfg.Declines))]
		r.amount = r.amount - r.amount%100 + int64(atoi2(r.expect))
	case KindTimeout:
		r.expect = iso8583.RCIssuerUnavailable
		r.amount = r.amount - r.amount%100 + endingNever
	case KindSlow:
		r.expect = iso8583.RCIssuerUnavailable
		r.amount = r.amount - r.amount%100 + endingSlow
	}
	return r
}

// reversalCandidateLocked takes the newest approved hold or purchase, choosing between the two
// pools at random when both have one.
func (c *conn) reversalCandidateLocked() (original, bool) {
	holds, sales := c.mu.preauths.len(), c.mu.purchases.len()
	switch {
	case holds == 0 && sales == 0:
		return original{}, false
	case sales == 0 || (holds > 0 && c.rng.IntN(2) == 0):
		return c.mu.preauths.popNewest(), true
	}
	return c.mu.purchases.popNewest(), true
}

// followUpLocked turns a request that got no answer into what is sent about it: a reversal of a
// 0100/0200, or a repeat of a reversal or completion. It returns nil when nothing is to be sent.
func (c *conn) followUpLocked(r *request, now time.Time) *request {
	if r.follow == followRepeat {
		r.mti = repeatMTI(r.mti)
		r.repeats++
		r.intended = now
		c.mu.stats.repeats++
		return r
	}
	rev := c.allocLocked()
	rev.kind, rev.mti, rev.pc = KindTimeoutReversal, iso8583.MTIReversal, r.pc
	rev.card, rev.merchant, rev.amount = r.card, r.merchant, r.amount
	rev.hasOrig, rev.orig = true, r.asOriginal("")
	rev.intended = now
	c.mu.stats.reversals++
	c.recycleLocked(r)
	return rev
}

// sendLocked numbers, dates and encodes r into the write buffer and puts it in flight. A repeat
// keeps its STAN and dates.
func (c *conn) sendLocked(r *request, now time.Time) error {
	if r.repeats == 0 {
		r.stan = c.term.nextSTAN()
		d := c.dates.at(c.g.cfg.Now())
		r.f7, r.f12, r.f13 = d.f7, d.f12, d.f13
	}
	sh := shapeFinancial
	v := fields{mti: r.mti, pan: r.card.pan, pc: r.pc, amount: r.amount, f7: &r.f7, stan: r.stan, f12: &r.f12, f13: &r.f13,
		expiry: &r.card.expiry}
	var ref [refLen]byte
	var orig [42]byte
	if r.hasOrig {
		sh = shapeAdvice
		if r.orig.rrn == "" {
			sh = shapeAdviceNoRRN
		}
		v.rrn = r.orig.rrn
		copy(orig[:4], iso8583.MTIClass(r.orig.mti))
		putDigits(orig[4:10], uint64(r.orig.stan))
		copy(orig[10:20], r.orig.f7[:])
		for i := 20; i < len(orig); i++ {
			orig[i] = '0'
		}
		v.orig = &orig
	} else {
		copy(ref[:], c.term.id)
		putDigits(ref[terminalIDLen:], uint64(r.stan))
		v.ref = &ref
		if r.pin {
			sh, v.pin = shapeFinancialPIN, &r.card.pinBlock
			c.mu.stats.pinSent++
		}
	}
	tp := c.tmpl[r.merchant][sh]
	start := len(c.out) + c.g.cfg.Framing.HeaderLen() + c.g.cfg.Header.Len()
	out, err := tp.appendTo(c.out, c.g.cfg.Framing, &v)
	if err != nil {
		c.recycleLocked(r)
		return fmt.Errorf("encode: %w", err)
	}
	c.out = out
	if tp.macAt >= 0 {
		c.macs = append(c.macs, macSpan{from: start, at: start + tp.macAt})
	}
	r.sent = now
	c.mu.inflight[r.stan] = r
	c.mu.stats.sent++
	c.mu.stats.kinds[r.kind].Sent++
	return nil
}

// expireLocked counts every request in flight longer than the timeout and queues its follow-up.
func (c *conn) expireLocked(now time.Time) {
	timeout := c.g.cfg.Timeout
	for stan, r := range c.mu.inflight {
		if now.Sub(r.sent) > timeout {
			delete(c.mu.inflight, stan)
			c.timedOutLocked(r)
		}
	}
}

// timedOutLocked counts a timeout and queues what a terminal sends about it: a reversal of a
// 0100/0200, a repeat of a reversal or completion.
func (c *conn) timedOutLocked(r *request) {
	cfg := &c.g.cfg
	c.mu.stats.timeouts++
	c.mu.stats.kinds[r.kind].Timeouts++
	switch iso8583.MTIClass(r.mti) {
	case iso8583.MTIAuthorization, iso8583.MTIFinancial:
		if cfg.NoReversal {
			c.recycleLocked(r)
			return
		}
		r.follow = followReverse
	default:
		if r.repeats >= cfg.RepeatsMax {
			c.recycleLocked(r)
			return
		}
		r.follow = followRepeat
	}
	if dropped, full := c.mu.followUps.push(r); full {
		c.mu.stats.dropped++
		c.recycleLocked(dropped)
	}
}

func (c *conn) allocLocked() *request {
	if n := len(c.mu.free); n > 0 {
		r := c.mu.free[n-1]
		c.mu.free = c.mu.free[:n-1]
		return r
	}
	return &request{}
}

// recycleLocked keeps r for reuse; the free list never holds more than the in-flight limit.
func (c *conn) recycleLocked(r *request) {
	*r = request{}
	if len(c.mu.free) < c.g.cfg.MaxInFlightPerConn {
		c.mu.free = append(c.mu.free, r)
	}
}
