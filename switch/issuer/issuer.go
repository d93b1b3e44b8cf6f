// Package issuer is the switch's side of its issuer links: for each issuer, one or more hosts
// (endpoints, in priority order, with failover) and a few TCP connections to each
// (moov-io/iso8583-connection) that dial, sign on, echo, reconnect with backoff and sign off; a
// circuit breaker per endpoint; a per-link STAN numbering that maps every answer back to its
// request (and a late answer back to its timed-out request); and a status for /readyz and
// /v1/issuers.
package issuer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	connection "github.com/moov-io/iso8583-connection"
	"go.uber.org/zap"

	moov "github.com/moov-io/iso8583"

	"github.com/cardswitch/cardswitch/iso8583"
)

// lateQueueLen bounds the late answers waiting for OnLate: a burst after an issuer stall is absorbed,
// a stuck handler does not grow memory (the excess is counted and dropped).
const lateQueueLen = 1024

// Issuer is one issuer's link: its connections, STAN numbering and status. Send is safe for
// concurrent use; Run is called once.
type Issuer struct {
	cfg   Config
	log   *zap.Logger
	m     *linkMetrics
	now   func() time.Time
	stans *stanTable
	slots []*slot // every connection, endpoint by endpoint

	endpoints []*endpoint            // in priority order
	active    atomic.Int32           // the endpoint that carried the last request (-1: none yet)
	circMu    sync.Mutex             // serialises refreshCircuit
	retired   atomic.Bool            // replaced or removed by a reload: the state gauges are no longer its own
	stamp     atomic.Pointer[stamp7] // field 7 of the current second
	lateCh    chan lateAnswer        // to the late dispatcher; never closed
	started   atomic.Bool
}

// lateAnswer is a response that came after its request timed out.
type lateAnswer struct {
	req  *iso8583.Message
	resp *moov.Message
}

// stamp7 caches field 7 for one second of the clock.
type stamp7 struct {
	sec int64
	s   string
}

// New checks cfg (after applying defaults) and returns a link that does nothing until Run. m may be
// shared by every issuer of the process; now is the clock for field 7 and the status times.
func New(cfg Config, log *zap.Logger, m *Metrics, now func() time.Time) (*Issuer, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if now == nil {
		now = time.Now
	}
	i := &Issuer{
		cfg:    cfg,
		log:    log.With(zap.String("issuer", cfg.Name)),
		m:      m.forIssuer(cfg.Name),
		now:    now,
		stans:  newSTANTable(cfg.LateWindow),
		lateCh: make(chan lateAnswer, lateQueueLen),
	}
	i.active.Store(-1)
	for n, ec := range cfg.Endpoints {
		e := newEndpoint(i, n, ec)
		i.endpoints = append(i.endpoints, e)
		i.slots = append(i.slots, e.slots...)
	}
	return i, nil
}

// Name is the issuer's configured name.
func (i *Issuer) Name() string { return i.cfg.Name }

// Run keeps the link's connections up until ctx ends: it dials, signs on, echoes and reconnects
// with backoff. When ctx ends it stops taking requests, waits for those in flight (at most the
// timeout), signs off, closes every connection and returns nil.
func (i *Issuer) Run(ctx context.Context) error {
	if !i.started.CompareAndSwap(false, true) {
		return errors.New("issuer: Run called twice")
	}
	addrs := make([]string, len(i.endpoints))
	for n, e := range i.endpoints {
		addrs[n] = e.cfg.Addr
	}
	i.log.Info("issuer link starting", zap.Strings("endpoints", addrs), zap.Int("connections", len(i.slots)))
	for _, e := range i.endpoints {
		e.refreshUp() // the state gauges exist from the start
	}
	stop := make(chan struct{})
	var late sync.WaitGroup
	late.Go(func() { i.lateLoop(stop) })
	late.Go(func() { i.circuitLoop(stop) })
	var conns sync.WaitGroup
	for _, s := range i.slots {
		conns.Go(func() { s.run(ctx) })
	}
	conns.Wait()
	close(stop)
	late.Wait()
	i.log.Info("issuer link stopped")
	return nil
}

// Send sends req to the issuer and returns its response as received (with the link's STAN). It
// numbers the request with the link's next free STAN (field 11), sets field 7 to now (UTC
// MMDDhhmmss) and field 32 to the acquirer ID, and keeps every other field (37 included); req itself
// is not modified. It waits at most the earlier of ctx's deadline and the link's timeout;
// cancelling ctx without a deadline is noticed only before the request is sent.
//
// Errors: ErrUnavailable (no connection signed on, or ErrCircuitOpen which wraps it) and ErrBusy
// (every connection at its in-flight limit) mean that nothing was sent; a *TimeoutError (wrapping
// ErrTimeout) means that the outcome at the issuer is unknown.
func (i *Issuer) Send(ctx context.Context, req *iso8583.Message) (*iso8583.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wait := i.cfg.Timeout
	if dl, ok := ctx.Deadline(); ok {
		if d := time.Until(dl); d < wait {
			if d <= 0 {
				return nil, context.DeadlineExceeded
			}
			wait = d
		}
	}
	cl, ok := matchClass(i.cfg.Mapping.MTIOut(req.MTI)) // the host's MTI: its answers are matched by it
	if !ok || !iso8583.IsRequest(req.MTI) {
		i.m.failed.Inc()
		return nil, fmt.Errorf("issuer %s: %w", i.cfg.Name, &iso8583.FieldError{Field: 0, Reason: "not a request MTI", Err: iso8583.ErrPack})
	}
	s, c, e, adm, err := i.pick()
	if err != nil {
		return nil, err
	}
	defer s.release()
	stan, ok := i.stans.allocate(cl, req)
	if !ok {
		e.br.release(adm)
		i.m.busy.Inc()
		return nil, fmt.Errorf("issuer %s: every STAN in use: %w", i.cfg.Name, ErrBusy)
	}
	stanText, sent7 := formatSTAN(stan), i.transmissionTime()
	mm, err := i.outbound(ctx, req, stanText, sent7)
	if err != nil {
		e.br.release(adm)
		i.stans.release(stan)
		i.m.failed.Inc()
		return nil, fmt.Errorf("issuer %s: %w", i.cfg.Name, err)
	}
	i.m.inFlight.Inc()
	start := time.Now()
	var resp *moov.Message
	if wait == i.cfg.Timeout {
		resp, err = c.Send(mm)
	} else {
		resp, err = c.Send(mm, connection.SendTimeout(wait))
	}
	i.m.inFlight.Dec()
	if err != nil {
		return nil, i.sendFailed(err, e, adm, req, stan, stanText, sent7)
	}
	i.stans.release(stan)
	i.m.latency.Observe(time.Since(start).Seconds())
	out, err := typedOf(resp)
	if err == nil {
		out, err = i.cfg.Mapping.Back(out, req)
	}
	if err != nil {
		e.br.failure(adm)
		i.m.timeout.Inc()
		return nil, i.unknownOutcome(req.MTI, stanText, sent7, "unreadable answer")
	}
	e.br.success(adm)
	i.m.answered.Inc()
	return out, nil
}

// outbound builds the message the issuer gets: req with the link's STAN, field 7 and field 32,
// packed once, in an envelope for the library.
func (i *Issuer) outbound(ctx context.Context, req *iso8583.Message, stan, sent7 string) (*moov.Message, error) {
	out := *req
	out.STAN, out.TransmissionDateTime = stan, sent7
	if i.cfg.AcquirerID != "" {
		out.AcquirerID = i.cfg.AcquirerID
	}
	return i.envelope(ctx, &out)
}

// envelope packs an outbound message for the library in the host's form (the link's mapping),
// MACing requests when the link has a MAC.
func (i *Issuer) envelope(ctx context.Context, m *iso8583.Message) (*moov.Message, error) {
	m, err := i.cfg.Mapping.Out(m)
	if err != nil {
		return nil, err
	}
	var packed []byte
	if i.cfg.MAC != nil && iso8583.IsRequest(m.MTI) {
		packed, err = i.packMACed(ctx, m)
	} else {
		packed, err = m.Pack(i.cfg.Spec)
	}
	if err != nil {
		return nil, err
	}
	return newEnvelope(m.MTI, m.STAN, packed, nil), nil
}

// sendFailed maps an error of the library's Send to the link's errors and records what became of
// the STAN and, for the endpoint's breaker, of the request. A connection lost with requests in
// flight counts once for the breaker (when its slot notices), not once per request: one dropped
// connection must not open the circuit of an endpoint whose other connections work.
func (i *Issuer) sendFailed(err error, e *endpoint, adm admission, req *iso8583.Message, stan uint32, stanText, sent7 string) error {
	switch {
	case errors.Is(err, connection.ErrSendTimeout):
		e.br.failure(adm)
		i.m.timeout.Inc()
		if late, lateReq := i.stans.expire(stan, i.now()); late != nil {
			i.dispatchLate(lateReq, late)
		}
		return i.unknownOutcome(req.MTI, stanText, sent7, "no answer")
	case errors.Is(err, connection.ErrConnectionClosed):
		if adm == admitProbe {
			e.br.failure(adm)
		}
		i.m.timeout.Inc()
		i.stans.release(stan)
		return i.unknownOutcome(req.MTI, stanText, sent7, "connection lost")
	}
	// A pack error: the message never left.
	e.br.release(adm)
	i.stans.release(stan)
	i.m.failed.Inc()
	return fmt.Errorf("issuer %s: %w: %w", i.cfg.Name, iso8583.ErrPack, err)
}

func (i *Issuer) unknownOutcome(mti, stan, sent7, reason string) error {
	return &TimeoutError{
		Issuer: i.cfg.Name,
		Reason: reason,
		Sent: iso8583.OriginalData{
			MTI: mti, STAN: stan, TransmissionDateTime: sent7,
			AcquirerID: i.cfg.AcquirerID,
		},
	}
}

// transmissionTime is field 7 for now: UTC MMDDhhmmss.
func (i *Issuer) transmissionTime() string {
	now := i.now().UTC()
	sec := now.Unix()
	if st := i.stamp.Load(); st != nil && st.sec == sec {
		return st.s
	}
	s := now.Format("0102150405")
	i.stamp.Store(&stamp7{sec: sec, s: s})
	return s
}

// inbound handles what the library could not match to a waiting Send: late answers, second
// answers, and requests from the issuer (an echo is answered). It runs on a library goroutine.
func (i *Issuer) inbound(c *connection.Connection, mm *moov.Message) {
	mti, _ := mm.GetMTI()
	if iso8583.IsRequest(mti) {
		i.answerIssuerRequest(c, mm, mti)
		return
	}
	s, _ := mm.GetString(11)
	cl, okClass := matchClass(mti)
	stan, okSTAN := parseSTAN(s)
	if okClass && okSTAN {
		switch res, req := i.stans.late(cl, stan, mm); res {
		case lateMatched:
			i.dispatchLate(req, mm)
			return
		case lateHeld:
			return
		}
	}
	i.m.unmatched.Inc()
	i.log.Debug("issuer message matches no request", zap.String("mti", mti), zap.String("stan", s))
}

// answerIssuerRequest answers an issuer's 0800 (echo, sign-on) with 0810/00; other requests from an
// issuer are not part of the link's protocol and are counted and dropped.
func (i *Issuer) answerIssuerRequest(c *connection.Connection, mm *moov.Message, mti string) {
	req, err := typedOf(mm)
	if err == nil {
		req, err = i.cfg.Mapping.Back(req, nil)
	}
	if err != nil || iso8583.MTIClass(req.MTI) != iso8583.MTINetwork {
		i.m.unmatched.Inc()
		i.log.Debug("issuer request not handled", zap.String("mti", mti))
		return
	}
	resp := &iso8583.Message{
		MTI: iso8583.MTINetworkResponse, TransmissionDateTime: req.TransmissionDateTime, STAN: req.STAN,
		AcquirerID: req.AcquirerID, ResponseCode: iso8583.RCApproved, NetworkCode: req.NetworkCode,
	}
	if !i.cfg.Spec.Defines(70) && i.cfg.Mapping == nil {
		resp.NetworkCode = "" // a host whose spec has no field 70
	}
	out, err := i.envelope(context.Background(), resp)
	if err == nil {
		err = c.Reply(out)
	}
	if err != nil {
		i.log.Debug("issuer echo not answered", zap.Error(err))
	}
}

// dispatchLate hands a late answer to the late dispatcher without ever blocking the caller.
func (i *Issuer) dispatchLate(req *iso8583.Message, resp *moov.Message) {
	if req == nil { // a network-management request (echo, sign-on) answered late
		i.log.Debug("late answer to a network management request")
		return
	}
	i.m.late.Inc()
	select {
	case i.lateCh <- lateAnswer{req: req, resp: resp}:
	default:
		i.m.lateDropped.Inc()
		i.log.Warn("late answer dropped: handler queue full", zap.Int("queue", lateQueueLen))
	}
}

// lateLoop calls OnLate for late answers and forgets timed-out requests past the late window,
// until stop; then it hands over what is already queued and returns.
func (i *Issuer) lateLoop(stop <-chan struct{}) {
	sweep := time.NewTicker(sweepInterval(i.cfg.LateWindow))
	defer sweep.Stop()
	for {
		select {
		case la := <-i.lateCh:
			i.handleLate(la)
		case <-sweep.C:
			i.stans.sweep(i.now())
		case <-stop:
			for {
				select {
				case la := <-i.lateCh:
					i.handleLate(la)
				default:
					return
				}
			}
		}
	}
}

func sweepInterval(window time.Duration) time.Duration {
	return min(max(window/4, 100*time.Millisecond), 10*time.Second)
}

func (i *Issuer) handleLate(la lateAnswer) {
	resp, err := typedOf(la.resp)
	if err == nil {
		resp, err = i.cfg.Mapping.Back(resp, la.req)
	}
	if err != nil {
		i.log.Warn("late answer unreadable", zap.Error(err))
		return
	}
	if i.cfg.OnLate == nil {
		i.log.Warn("late issuer answer", zap.String("mti", resp.MTI), zap.String("stan", resp.STAN),
			zap.String("response_code", resp.ResponseCode))
		return
	}
	i.cfg.OnLate(la.req, resp)
}
