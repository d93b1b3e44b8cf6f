// Package saf delivers the store-and-forward queue: the reversals, completions and advices the
// switch owes issuers, stored in the ledger's database with the decisions that caused them
// (ledger/saf.go). Per issuer, a delivery loop reads the due items in queue order, sends them
// over the issuer link (several at once, but never two of one transaction), records each result,
// retries with exponential backoff until the issuer answers, and parks an item older than its
// maximum age for an operator. A maintenance loop publishes the queue's shape, runs the recovery
// sweep (intents that nothing resolved are reversed at their issuer) and prunes delivered items.
//
// Nothing is held in memory that is not also in the database: a restart loses nothing.
package saf

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// Store is the queue's read side (a ledger store).
type Store interface {
	SAFDue(ctx context.Context, issuer string, now time.Time, limit int) ([]ledger.SAFItem, error)
	SAFList(ctx context.Context, f ledger.SAFFilter) ([]ledger.SAFItem, error)
	SAFStats(ctx context.Context) ([]ledger.SAFStats, error)
}

// Writer records the queue's changes (the ledger's batch writer).
type Writer interface {
	ChangeSAF(ctx context.Context, changes []ledger.SAFChange) error
	Recover(ctx context.Context, before time.Time, node string) ([]ledger.SAFItem, error)
	PruneSAF(ctx context.Context, before time.Time, max int) error
}

// Sender delivers one message to a named issuer and returns its answer.
type Sender interface {
	Send(ctx context.Context, issuer string, msg *iso8583.Message) (*iso8583.Message, error)
}

// Opener opens the sealed PAN of a stored message (hsm.DataProtector).
type Opener interface {
	Open(sealed []byte) (string, error)
}

// Config bounds the queue's work. Zero fields take the defaults below.
type Config struct {
	// Issuers are the configured issuers: one delivery loop each.
	Issuers []string
	// Node is this switch instance (config node_id): at start it recovers its own intents.
	Node string
	// Window bounds the deliveries in flight per issuer. Default 8.
	Window int
	// FetchMax bounds the due items read per round. Default 256.
	FetchMax int
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout time.Duration
	// RetryMin and RetryMax bound the exponential backoff between an item's attempts (with up to
	// 20 % jitter). Defaults 1s and 5m.
	RetryMin, RetryMax time.Duration
	// MaxAge is how long an item may wait for delivery (since it was queued, or retried by an
	// operator) before it is parked for an operator. Default 24h.
	MaxAge time.Duration
	// Poll is how often an idle loop looks for due items (a committed batch that queues items
	// wakes it at once). Default 1s.
	Poll time.Duration
	// StaleAfter is the age past which an unresolved intent is recovered: longer than any request
	// can take from its intent to its commit (issuer timeout, ledger queue, commit). Default 1m.
	StaleAfter time.Duration
	// MaintainEvery is the period of the maintenance loop (metrics, recovery sweep). Default 5s.
	MaintainEvery time.Duration
	// Retention is how long delivered items are kept (for /v1/transactions). Default 7 days.
	Retention time.Duration
	// PruneMax bounds the delivered items deleted per maintenance round. Default 10000.
	PruneMax int
}

// Defaults of Config.
const (
	DefaultWindow        = 8
	DefaultFetchMax      = 256
	DefaultTimeout       = 10 * time.Second
	DefaultRetryMin      = time.Second
	DefaultRetryMax      = 5 * time.Minute
	DefaultMaxAge        = 24 * time.Hour
	DefaultPoll          = time.Second
	DefaultStaleAfter    = time.Minute
	DefaultMaintainEvery = 5 * time.Second
	DefaultRetention     = 7 * 24 * time.Hour
	DefaultPruneMax      = 10000
)

func (c *Config) setDefaults() {
	set := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.FetchMax <= 0 {
		c.FetchMax = DefaultFetchMax
	}
	if c.PruneMax <= 0 {
		c.PruneMax = DefaultPruneMax
	}
	set(&c.Timeout, DefaultTimeout)
	set(&c.RetryMin, DefaultRetryMin)
	set(&c.RetryMax, DefaultRetryMax)
	set(&c.MaxAge, DefaultMaxAge)
	set(&c.Poll, DefaultPoll)
	set(&c.StaleAfter, DefaultStaleAfter)
	set(&c.MaintainEvery, DefaultMaintainEvery)
	set(&c.Retention, DefaultRetention)
}

// Queue runs the delivery, recovery and maintenance loops.
type Queue struct {
	cfg     Config
	store   Store
	writer  Writer
	sender  Sender
	opener  Opener
	spec    *iso8583.Spec
	log     *zap.Logger
	now     func() time.Time
	metrics *Metrics
	wake    map[string]chan struct{} // one per issuer, capacity 1
}

// New builds a queue; start it with Run (after RecoverOwn at start).
func New(cfg Config, store Store, writer Writer, sender Sender, opener Opener, log *zap.Logger, m *Metrics, now func() time.Time) *Queue {
	cfg.setDefaults()
	q := &Queue{cfg: cfg, store: store, writer: writer, sender: sender, opener: opener, spec: iso8583.AcquirerSpec(),
		log: log, now: now, metrics: m, wake: map[string]chan struct{}{}}
	for _, is := range cfg.Issuers {
		q.wake[is] = make(chan struct{}, 1)
	}
	m.issuers(cfg.Issuers)
	return q
}

// Wake tells the delivery loops that items were queued (the ledger writer calls it after a
// commit); it never blocks.
func (q *Queue) Wake() {
	for _, ch := range q.wake {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// RecoverOwn reverses, at their issuers, every request this instance had in flight when it last
// stopped without answering it (its intents that nothing resolved). Call it at start, before the
// switch takes traffic.
func (q *Queue) RecoverOwn(ctx context.Context) (int, error) {
	items, err := q.writer.Recover(ctx, q.now(), q.cfg.Node)
	q.recovered(items, "startup")
	return len(items), err
}

func (q *Queue) recovered(items []ledger.SAFItem, when string) {
	if len(items) == 0 {
		return
	}
	q.metrics.recovered.WithLabelValues(when).Add(float64(len(items)))
	q.log.Warn("requests without a durable outcome reversed at their issuers", zap.String("when", when),
		zap.Int("requests", len(items)))
	for _, it := range items {
		q.log.Info("request reversed after recovery", zap.String("transaction", it.EventID), zap.String("rrn", it.RRN),
			zap.String("issuer", it.Issuer), zap.String("pan", it.MaskedPAN))
	}
}

// Run delivers until ctx ends. It returns nil after every loop has stopped.
func (q *Queue) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for issuer, wake := range q.wake {
		wg.Go(func() { q.deliverLoop(ctx, issuer, wake) })
	}
	wg.Go(func() { q.maintainLoop(ctx) })
	wg.Wait()
	return nil
}

// deliverLoop delivers an issuer's due items, round after round, until ctx ends.
func (q *Queue) deliverLoop(ctx context.Context, issuer string, wake chan struct{}) {
	poll := time.NewTimer(q.cfg.Poll)
	defer poll.Stop()
	for ctx.Err() == nil {
		n, err := q.round(ctx, issuer)
		if err != nil && ctx.Err() == nil {
			q.log.Warn("store-and-forward round failed", zap.String("issuer", issuer), zap.Error(err))
		}
		if n == q.cfg.FetchMax && err == nil {
			continue // more may be due
		}
		poll.Reset(q.cfg.Poll)
		select {
		case <-ctx.Done():
		case <-wake:
		case <-poll.C:
		}
	}
}

// round delivers up to FetchMax due items of issuer and records the results in one change; it
// returns how many it read.
func (q *Queue) round(ctx context.Context, issuer string) (int, error) {
	items, err := q.store.SAFDue(ctx, issuer, q.now(), q.cfg.FetchMax)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	// Items of one transaction go one after the other, in queue order; transactions in parallel.
	var chains [][]ledger.SAFItem
	byRRN := map[string]int{}
	for _, it := range items {
		if i, ok := byRRN[it.RRN]; ok && it.RRN != "" {
			chains[i] = append(chains[i], it)
			continue
		}
		byRRN[it.RRN] = len(chains)
		chains = append(chains, []ledger.SAFItem{it})
	}
	results := make([][]ledger.SAFChange, len(chains))
	sem := make(chan struct{}, q.cfg.Window)
	var wg sync.WaitGroup
	for i, chain := range chains {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, it := range chain {
				c := q.attempt(ctx, it)
				results[i] = append(results[i], c)
				if c.Op != ledger.SAFDeliver {
					break // the rest of the transaction waits for this one
				}
			}
		})
	}
	wg.Wait()
	var changes []ledger.SAFChange
	for _, r := range results {
		changes = append(changes, r...)
	}
	if len(changes) == 0 {
		return len(items), nil
	}
	// Recorded even when ctx ended meanwhile: a delivered item must not be sent again.
	if err := q.writer.ChangeSAF(context.WithoutCancel(ctx), changes); err != nil {
		return len(items), fmt.Errorf("record %d results: %w", len(changes), err)
	}
	return len(items), nil
}

// attempt delivers one item once and returns the change that records the result.
func (q *Queue) attempt(ctx context.Context, it ledger.SAFItem) ledger.SAFChange {
	now := q.now()
	msg, err := q.message(it)
	if err == nil {
		attemptCtx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
		var resp *iso8583.Message
		resp, err = q.sender.Send(attemptCtx, it.Issuer, msg)
		cancel()
		if err == nil {
			q.metrics.attempts.WithLabelValues(it.Issuer, "delivered").Inc()
			q.metrics.delivered.WithLabelValues(it.Issuer).Inc()
			return ledger.SAFChange{Op: ledger.SAFDeliver, Seq: it.Seq, At: q.now(), ResponseCode: resp.ResponseCode}
		}
	}
	q.metrics.attempts.WithLabelValues(it.Issuer, "failed").Inc()
	if now.Sub(it.QueuedAt) >= q.cfg.MaxAge {
		q.metrics.parkedTotal.WithLabelValues(it.Issuer).Inc()
		q.log.Error("store-and-forward item parked: older than its maximum age", zap.Int64("id", it.Seq),
			zap.String("issuer", it.Issuer), zap.String("mti", it.MTI), zap.String("rrn", it.RRN),
			zap.Int("attempts", it.Attempts+1), zap.Error(err))
		return ledger.SAFChange{Op: ledger.SAFPark, Seq: it.Seq, At: now,
			Error: fmt.Sprintf("not delivered within %s: %v", q.cfg.MaxAge, err)}
	}
	return ledger.SAFChange{Op: ledger.SAFFailed, Seq: it.Seq, At: now, NextAttemptAt: now.Add(q.backoff(it.Attempts)),
		Error: truncate(err.Error(), 200)}
}

// message rebuilds an item's message: unpacked, its PAN opened, marked as a repeat after the
// first attempt.
func (q *Queue) message(it ledger.SAFItem) (*iso8583.Message, error) {
	msg, err := iso8583.Unpack(q.spec, it.Packed)
	if err != nil {
		return nil, fmt.Errorf("stored message: %w", err)
	}
	if it.PANSealed != nil {
		if q.opener == nil {
			return nil, errors.New("no data protector to open the stored PAN")
		}
		if msg.PAN, err = q.opener.Open(it.PANSealed); err != nil {
			return nil, fmt.Errorf("stored PAN: %w", err)
		}
	}
	if it.Attempts > 0 && !iso8583.IsRepeat(msg.MTI) {
		msg.MTI = msg.MTI[:3] + "1"
	}
	return msg, nil
}

// backoff is the wait before attempt n+1: RetryMin doubled per attempt up to RetryMax, minus up
// to 20 % (so that items queued together spread out).
func (q *Queue) backoff(attempts int) time.Duration {
	d := q.cfg.RetryMin
	for range min(attempts, 30) {
		if d >= q.cfg.RetryMax {
			break
		}
		d *= 2
	}
	d = min(d, q.cfg.RetryMax)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// maintainLoop publishes the queue's shape, runs the recovery sweep and prunes delivered items.
func (q *Queue) maintainLoop(ctx context.Context) {
	t := time.NewTicker(q.cfg.MaintainEvery)
	defer t.Stop()
	for {
		q.maintain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (q *Queue) maintain(ctx context.Context) {
	if err := q.publish(ctx); err != nil && ctx.Err() == nil {
		q.log.Warn("store-and-forward statistics not read", zap.Error(err))
	}
	items, err := q.writer.Recover(ctx, q.now().Add(-q.cfg.StaleAfter), "")
	if err != nil && ctx.Err() == nil {
		q.log.Warn("recovery sweep failed", zap.Error(err))
	}
	q.recovered(items, "sweep")
	if err := q.writer.PruneSAF(ctx, q.now().Add(-q.cfg.Retention), q.cfg.PruneMax); err != nil && ctx.Err() == nil {
		q.log.Warn("store-and-forward pruning failed", zap.Error(err))
	}
}

// publish sets the gauges from the store.
func (q *Queue) publish(ctx context.Context) error {
	stats, err := q.store.SAFStats(ctx)
	if err != nil {
		return err
	}
	q.metrics.set(stats, q.now())
	return nil
}

// Snapshot is the queue as /v1/saf shows it: the items waiting for delivery or parked.
type Snapshot struct {
	Depth            int              `json:"depth"`
	Queued           int              `json:"queued"`
	Parked           int              `json:"parked"`
	Intents          int              `json:"in_flight_intents"`
	OldestAgeSeconds float64          `json:"oldest_age_seconds"`
	Issuers          []IssuerSnapshot `json:"issuers"`
	Items            []ledger.SAFItem `json:"items"`
}

// IssuerSnapshot is one issuer's part of the queue.
type IssuerSnapshot struct {
	Issuer           string  `json:"issuer"`
	Queued           int     `json:"queued"`
	Parked           int     `json:"parked"`
	Intents          int     `json:"in_flight_intents"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
}

// Snapshot reads the queue: depth (queued and parked), the age of the oldest queued item, and up
// to ledger.MaxSAFList items, oldest first.
func (q *Queue) Snapshot(ctx context.Context, f ledger.SAFFilter) (Snapshot, error) {
	stats, err := q.store.SAFStats(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Issuers: []IssuerSnapshot{}}
	now := q.now()
	for _, st := range stats {
		is := IssuerSnapshot{Issuer: st.Issuer, Queued: st.Queued, Parked: st.Parked, Intents: st.Intents}
		if !st.OldestQueued.IsZero() {
			is.OldestAgeSeconds = max(0, now.Sub(st.OldestQueued).Seconds())
		}
		s.Queued += st.Queued
		s.Parked += st.Parked
		s.Intents += st.Intents
		s.OldestAgeSeconds = max(s.OldestAgeSeconds, is.OldestAgeSeconds)
		s.Issuers = append(s.Issuers, is)
	}
	s.Depth = s.Queued + s.Parked
	if s.Items, err = q.store.SAFList(ctx, f); err != nil {
		return Snapshot{}, err
	}
	if s.Items == nil {
		s.Items = []ledger.SAFItem{}
	}
	return s, nil
}
