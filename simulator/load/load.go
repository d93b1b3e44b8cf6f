// Package load is the card and terminal simulator as a load generator (CONTRACT §8): a fleet of
// terminals, each with its own STAN sequence and TCP connections, sending a mix of purchases,
// pre-authorizations (some captured later by a completion), refunds, reversals and declines with
// test cards, at a fixed rate (open model, latency from each request's intended send time) or
// with a fixed number of requests outstanding (closed model). Every answer is checked against what
// the request should get; requests that get no answer are reversed, as a terminal would.
package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// examplesMax bounds the unexpected answers described in the log and the report.
const examplesMax = 10

// ErrDial is wrapped when the target cannot be reached at the start of a run.
var ErrDial = errors.New("load: target unreachable")

// generator is one run: what every connection shares.
type generator struct {
	cfg           Config
	cards         []card
	merchantIDs   []string
	merchantCum   []int // cumulative weights
	merchantTotal int
	mixTotal      int
	approveEnds   []int64 // amount endings the issuer simulator approves
	conns         []*conn
	ledgerLog     *lineWriter
	start, end    time.Time
	slotNanos     float64      // open model: nanoseconds between two slots of the run
	slots         int64        // open model: slots in the duration (Rate × Duration)
	interruptedAt atomic.Int64 // unix nanoseconds when a connection first saw the interrupt; 0: none
	claimed       atomic.Int64 // slots claimed, against Requests
	exhaustedAt   atomic.Int64 // unix nanoseconds when the last of Requests was claimed; 0: not yet

	examples struct {
		sync.Mutex
		list []string
	}
}

// Run sends load as cfg says until the duration is over (and the answers in flight are in) or ctx
// ends (then answers in flight are awaited for InterruptGrace), and returns what it measured. An
// interrupted run is not an error: its report says so. The error is for a bad config or a target
// that cannot be reached at the start.
func Run(ctx context.Context, cfg Config) (Report, error) {
	g, err := newGenerator(cfg)
	if err != nil {
		return Report{}, err
	}
	if err := g.dialAll(ctx); err != nil {
		return Report{}, err
	}
	g.cfg.Log.Info("load started", zap.String("target", g.cfg.Target), zap.Int("connections", len(g.conns)),
		zap.Int("rate", g.cfg.Rate), zap.Int("concurrency", g.cfg.Concurrency), zap.Duration("duration", g.cfg.Duration),
		zap.String("mix", g.cfg.Mix.String()))
	g.start = time.Now()
	g.end = g.start.Add(g.cfg.Duration)
	var wg sync.WaitGroup
	for _, c := range g.conns {
		wg.Go(func() { c.run(ctx) })
	}
	stopTicker := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Go(func() { g.tick(stopTicker) })
	wg.Wait()
	finished := time.Now()
	close(stopTicker)
	ticker.Wait()
	var logErr error
	if g.ledgerLog != nil {
		logErr = g.ledgerLog.flush()
	}
	rep := g.report(finished, ctx.Err() != nil)
	g.cfg.Log.Info("load finished", zap.Int64("sent", rep.Sent), zap.Int64("answered", rep.Answered),
		zap.Int64("unexpected", rep.Unexpected), zap.Int64("timeouts", rep.Timeouts))
	if logErr != nil {
		return rep, fmt.Errorf("ledger log: %w", logErr)
	}
	return rep, nil
}

func newGenerator(cfg Config) (*generator, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	cfg.CompletionShare, cfg.PartialShare, cfg.RepeatsMax = max(cfg.CompletionShare, 0), max(cfg.PartialShare, 0), max(cfg.RepeatsMax, 0)
	g := &generator{cfg: cfg, mixTotal: cfg.Mix.total()}
	if cfg.Rate > 0 {
		g.slotNanos = float64(time.Second) / float64(cfg.Rate)
		g.slots = int64(float64(cfg.Rate)*cfg.Duration.Seconds() + 0.5)
	}
	g.cards = newCards(cfg.Cards, cfg.PANLength, cfg.BINs, cfg.Now(), rand.New(rand.NewPCG(cfg.Seed, 0)))
	for _, m := range cfg.Merchants {
		g.merchantIDs = append(g.merchantIDs, m.ID)
		g.merchantTotal += m.Weight
		g.merchantCum = append(g.merchantCum, g.merchantTotal)
	}
	for e := int64(0); e < 100; e++ {
		if e != endingSlow && e != endingNever && !isDeclineEnding(fmt.Sprintf("%02d", e)) {
			g.approveEnds = append(g.approveEnds, e)
		}
	}
	if err := g.preparePINs(); err != nil {
		return nil, err
	}
	if cfg.LedgerLog != nil {
		g.ledgerLog = newLineWriter(cfg.LedgerLog)
	}
	if err := g.newConns(); err != nil {
		return nil, err
	}
	return g, nil
}

// newConns builds the terminals, their templates and connections, and checks each template once.
func (g *generator) newConns() error {
	cfg := &g.cfg
	conns := cfg.conns()
	for t := 0; t < cfg.Terminals; t++ {
		term := &terminal{id: terminalID(cfg.TerminalPrefix, t+1)}
		tmpl := make([][shapeCount]*template, len(g.merchantIDs))
		for m, mid := range g.merchantIDs {
			for sh := shape(0); sh < shapeCount; sh++ {
				tp, err := newTemplate(cfg.Spec, cfg.Header, sh, term.id, mid, cfg.Currency, cfg.PANLength, g.macs())
				if err != nil {
					return err
				}
				if err := tp.selfCheck(cfg.Spec, sh, term.id, mid, cfg.Currency, g.sampleFields(sh)); err != nil {
					return err
				}
				tmpl[m][sh] = tp
			}
		}
		for k := 0; k < cfg.ConnsPerTerminal; k++ {
			idx := len(g.conns)
			window := 0
			if cfg.Concurrency > 0 {
				window = cfg.Concurrency / conns
				if idx < cfg.Concurrency%conns {
					window++
				}
			}
			g.conns = append(g.conns, newConn(g, idx, term, tmpl, window))
		}
	}
	return nil
}

// sampleFields are values for a template's self-check, with every digit position in use.
func (g *generator) sampleFields(sh shape) *fields {
	f7, f12, f13 := [10]byte([]byte("1231235958")), [6]byte([]byte("235958")), [4]byte([]byte("1231"))
	ref := [refLen]byte([]byte("ABCDEFGH987654"))
	orig := [42]byte([]byte("020098765412312359580000000000000000000000"))
	v := &fields{mti: iso8583.MTIAuthorization, pan: g.cards[0].pan, pc: pcRefund, amount: 987_654_321_012, f7: &f7,
		stan: 987654, f12: &f12, f13: &f13, expiry: &g.cards[0].expiry, ref: &ref}
	switch sh {
	case shapeAdvice, shapeAdviceNoRRN:
		v.mti, v.ref, v.orig, v.rrn = repeatMTI(iso8583.MTIReversal), nil, &orig, "ABC123DEF456"
	case shapeFinancialPIN:
		v.pin = &[pinBlockChars]byte{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'}
	}
	return v
}

// terminalID is the prefix followed by n, zero-padded to 8 characters.
func terminalID(prefix string, n int) string {
	b := make([]byte, terminalIDLen)
	copy(b, prefix)
	putDigits(b[len(prefix):], uint64(n))
	return string(b)
}

// dialAll connects every connection; one that cannot connect fails the run.
func (g *generator) dialAll(ctx context.Context) error {
	for i, c := range g.conns {
		if err := c.dial(ctx); err != nil {
			for _, d := range g.conns[:i] {
				d.nc.Close()
			}
			return fmt.Errorf("%w: %w", ErrDial, err)
		}
	}
	return nil
}

// claim takes one send slot from the Requests budget; false when it is spent.
func (g *generator) claim(now time.Time) bool {
	if g.cfg.Requests == 0 {
		return true
	}
	n := g.claimed.Add(1)
	if n == g.cfg.Requests {
		g.exhaustedAt.CompareAndSwap(0, now.UnixNano())
	}
	return n <= g.cfg.Requests
}

// exhausted reports whether every slot of the Requests budget is taken.
func (g *generator) exhausted() bool {
	return g.cfg.Requests > 0 && g.claimed.Load() >= g.cfg.Requests
}

// closed reports whether the run is a closed model.
func (g *generator) closed() bool { return g.cfg.Concurrency > 0 }

// slot returns the run's slot number of the k-th slot of connection i in the open model, and its
// intended send time: the run's slots, evenly paced at Rate, are dealt to the connections in turn.
// ok is false past the last slot of the duration.
func (g *generator) slot(i int, k int64) (intended time.Time, ok bool) {
	j := int64(i) + k*int64(len(g.conns))
	if j >= g.slots {
		return time.Time{}, false
	}
	return g.start.Add(time.Duration(float64(j) * g.slotNanos)), true
}

func (g *generator) drawMerchant(r int) int {
	for i, c := range g.merchantCum {
		if r < c {
			return i
		}
	}
	return 0
}

// approvedAmount draws an amount the issuer simulator approves.
func (g *generator) approvedAmount(rng *rand.Rand) int64 {
	a := g.cfg.AmountMin + rng.Int64N(g.cfg.AmountMax-g.cfg.AmountMin)
	a = a - a%100 + g.approveEnds[rng.IntN(len(g.approveEnds))]
	if a < g.cfg.AmountMin {
		a += 100
	}
	return a
}

// noteUnexpected keeps and logs the first few unexpected answers (PAN masked).
func (g *generator) noteUnexpected(r *request, resp *iso8583.Message, terminal, reason string) {
	g.examples.Lock()
	defer g.examples.Unlock()
	if len(g.examples.list) >= examplesMax {
		return
	}
	ex := fmt.Sprintf("%s %s terminal %s STAN %06d PAN %s amount %d: %s (expected %s, got %s/%s)",
		r.kind, r.mti, terminal, r.stan, iso8583.MaskPAN(r.card.pan), r.amount, reason, r.expectText(), resp.MTI,
		resp.ResponseCode)
	g.examples.list = append(g.examples.list, ex)
	g.cfg.Log.Warn("unexpected answer", zap.String("kind", r.kind.String()), zap.String("mti", r.mti),
		zap.String("terminal", terminal), zap.Uint32("stan", r.stan), zap.String("pan", iso8583.MaskPAN(r.card.pan)),
		zap.String("expected", r.expectText()), zap.String("response-mti", resp.MTI),
		zap.String("response-code", resp.ResponseCode), zap.String("reason", reason))
}

// noteUnreadable keeps the first few answers that do not unpack (the error names the field only).
func (g *generator) noteUnreadable(terminal string, err error) {
	g.examples.Lock()
	defer g.examples.Unlock()
	if len(g.examples.list) >= examplesMax {
		return
	}
	g.examples.list = append(g.examples.list, "terminal "+terminal+": unreadable answer: "+err.Error())
	g.cfg.Log.Warn("unreadable answer", zap.String("terminal", terminal), zap.Error(err))
}

// tick reports progress and flushes the ledger log every ProgressInterval until stop is closed.
func (g *generator) tick(stop <-chan struct{}) {
	t := time.NewTicker(g.cfg.ProgressInterval)
	defer t.Stop()
	agg := newHistogram(2 * (g.cfg.Timeout + tickMax))
	var lastAnswered int64
	last := g.start
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			now := time.Now() // not the tick's time: on a starved machine the tick is read late
			if g.ledgerLog != nil {
				if err := g.ledgerLog.flush(); err != nil {
					g.cfg.Log.Warn("ledger log write failed", zap.Error(err))
				}
			}
			if g.cfg.Progress == nil {
				continue
			}
			var sum counters
			var inflight int64
			agg.Reset()
			for _, c := range g.conns {
				c.mu.Lock()
				sum.add(&c.mu.stats.counters)
				agg.Merge(c.mu.stats.hist)
				inflight += int64(len(c.mu.inflight))
				c.mu.Unlock()
			}
			p := Progress{Elapsed: now.Sub(g.start), Duration: g.cfg.Duration, Sent: sum.sent, Answered: sum.answered,
				Timeouts: sum.timeouts, Unexpected: sum.unexpected, InFlight: inflight,
				P99: time.Duration(agg.ValueAtQuantile(99)) * time.Microsecond}
			if dt := now.Sub(last).Seconds(); dt > 0 {
				p.Rate = float64(sum.answered-lastAnswered) / dt
			}
			lastAnswered, last = sum.answered, now
			g.cfg.Progress(p)
		}
	}
}

// ledgerLine appends the ledger-log line of an approved answer (see docs/load.md).
func (g *generator) ledgerLine(b []byte, r *request, resp *iso8583.Message, terminal string) []byte {
	b = append(b, `{"rrn":`...)
	b = appendJSONString(b, resp.RRN)
	b = append(b, `,"mti":"`...)
	b = append(b, r.mti...)
	b = append(b, `","kind":"`...)
	b = append(b, r.kind.String()...)
	b = append(b, `","terminal":`...)
	b = appendJSONString(b, terminal)
	b = append(b, `,"stan":"`...)
	b = appendSTAN(b, r.stan)
	b = append(b, `","transmitted":"`...)
	b = append(b, r.f7[:]...)
	b = append(b, `","merchant":`...)
	b = appendJSONString(b, g.merchantIDs[r.merchant])
	b = append(b, `,"amount":`...)
	b = strconv.AppendInt(b, r.amount, 10)
	b = append(b, `,"currency":"`...)
	b = append(b, g.cfg.Currency...)
	b = append(b, `","pan":"`...)
	b = append(b, iso8583.MaskPAN(r.card.pan)...)
	b = append(b, `","approval":`...)
	b = appendJSONString(b, resp.ApprovalCode)
	if r.hasOrig {
		b = append(b, `,"original":{"mti":"`...)
		b = append(b, r.orig.mti...)
		b = append(b, `","stan":"`...)
		b = appendSTAN(b, r.orig.stan)
		b = append(b, `","transmitted":"`...)
		b = append(b, r.orig.f7[:]...)
		b = append(b, `","rrn":`...)
		b = appendJSONString(b, r.orig.rrn)
		b = append(b, `,"amount":`...)
		b = strconv.AppendInt(b, r.orig.amount, 10)
		b = append(b, '}')
	}
	return append(b, "}\n"...)
}

func appendSTAN(b []byte, stan uint32) []byte {
	var s [6]byte
	putDigits(s[:], uint64(stan))
	return append(b, s[:]...)
}

// appendJSONString appends s as a JSON string, escaping quotes, backslashes and control bytes.
func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7F:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
