// Package saf is the store-and-forward queue: advices and reversals that the switch has already
// answered and recorded, delivered to their issuer and retried until the issuer acknowledges them.
//
// This implementation keeps the queue in memory: it survives issuer outages but not a restart of
// the switch (items still queued at shutdown are logged and counted). A durable queue in the
// ledger's database replaces it behind the same interface.
package saf

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Sender delivers one message to a named issuer and returns its answer.
type Sender interface {
	Send(ctx context.Context, issuer string, msg *iso8583.Message) (*iso8583.Message, error)
}

// ErrFull means the queue is at its capacity: the advice cannot be taken.
var ErrFull = errors.New("store-and-forward queue full")

// ErrUnknownIssuer means an advice names an issuer the queue was not built for.
var ErrUnknownIssuer = errors.New("store-and-forward: unknown issuer")

// Config bounds the queue and its retries.
type Config struct {
	Capacity   int           // items across all issuers
	Timeout    time.Duration // per delivery attempt
	RetryMin   time.Duration // first retry delay, doubled up to RetryMax
	RetryMax   time.Duration
	MaxAttempt int // attempts before an item is dropped and counted; 0: retry forever
}

// Item is one queued advice, as /v1/saf shows it.
type Item struct {
	Issuer    string    `json:"issuer"`
	MTI       string    `json:"mti"`
	RRN       string    `json:"rrn"`
	MaskedPAN string    `json:"masked_pan"`
	Amount    string    `json:"amount"`
	Queued    time.Time `json:"queued_at"`
	Attempts  int       `json:"attempts"`
	LastError string    `json:"last_error,omitempty"`
	msg       *iso8583.Message
}

// Queue is the store-and-forward queue; one delivery loop per issuer keeps each issuer's advices
// in order.
type Queue struct {
	cfg     Config
	sender  Sender
	log     *zap.Logger
	now     func() time.Time
	metrics *metrics

	mu struct {
		sync.Mutex
		size   int
		queues map[string][]*Item
	}
	wake map[string]chan struct{} // one per issuer, capacity 1
}

// New builds a queue for the given issuers.
func New(cfg Config, issuers []string, sender Sender, log *zap.Logger, reg prometheus.Registerer, now func() time.Time) *Queue {
	q := &Queue{cfg: cfg, sender: sender, log: log, now: now, metrics: newMetrics(reg), wake: make(map[string]chan struct{})}
	q.mu.queues = make(map[string][]*Item)
	for _, is := range issuers {
		q.wake[is] = make(chan struct{}, 1)
	}
	return q
}

// Enqueue queues msg for issuer. It never blocks: a full queue is ErrFull.
func (q *Queue) Enqueue(_ context.Context, issuer string, msg *iso8583.Message) error {
	wake, ok := q.wake[issuer]
	if !ok {
		return ErrUnknownIssuer
	}
	q.mu.Lock()
	if q.mu.size >= q.cfg.Capacity {
		q.mu.Unlock()
		q.metrics.rejected.Inc()
		return ErrFull
	}
	q.mu.queues[issuer] = append(q.mu.queues[issuer], &Item{Issuer: issuer, MTI: msg.MTI, RRN: msg.RRN,
		MaskedPAN: iso8583.MaskPAN(msg.PAN), Amount: msg.Amount, Queued: q.now(), msg: msg})
	q.mu.size++
	q.metrics.depth.Set(float64(q.mu.size))
	q.mu.Unlock()
	select {
	case wake <- struct{}{}:
	default:
	}
	return nil
}

// Snapshot is the queue as /v1/saf shows it.
type Snapshot struct {
	Depth            int     `json:"depth"`
	OldestAgeSeconds float64 `json:"oldest_age_seconds"`
	Items            []Item  `json:"items"`
}

// maxSnapshotItems bounds the items listed by Snapshot (the depth is always exact).
const maxSnapshotItems = 1000

// Snapshot returns the depth, the age of the oldest item and up to 1000 items.
func (q *Queue) Snapshot() Snapshot {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := Snapshot{Depth: q.mu.size, Items: []Item{}}
	now := q.now()
	for _, items := range q.mu.queues {
		for _, it := range items {
			if age := now.Sub(it.Queued).Seconds(); age > s.OldestAgeSeconds {
				s.OldestAgeSeconds = age
			}
			if len(s.Items) < maxSnapshotItems {
				s.Items = append(s.Items, *it)
			}
		}
	}
	return s
}

// Run delivers queued items until ctx ends. Items still queued then are logged as undelivered.
func (q *Queue) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for issuer, wake := range q.wake {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.deliverLoop(ctx, issuer, wake)
		}()
	}
	wg.Wait()
	if left := q.Snapshot().Depth; left > 0 {
		q.log.Warn("store-and-forward items not delivered at shutdown", zap.Int("items", left))
	}
	return nil
}

func (q *Queue) deliverLoop(ctx context.Context, issuer string, wake chan struct{}) {
	delay := q.cfg.RetryMin
	for {
		it := q.head(issuer)
		if it == nil {
			select {
			case <-wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if q.deliver(ctx, it) {
			q.pop(issuer)
			delay = q.cfg.RetryMin
			continue
		}
		if q.cfg.MaxAttempt > 0 && it.Attempts >= q.cfg.MaxAttempt {
			q.log.Error("store-and-forward item dropped after its last attempt", zap.String("issuer", issuer),
				zap.String("mti", it.MTI), zap.String("rrn", it.RRN), zap.Int("attempts", it.Attempts))
			q.metrics.dropped.Inc()
			q.pop(issuer)
			continue
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		delay = min(2*delay, q.cfg.RetryMax)
	}
}

// deliver makes one attempt; any answer from the issuer acknowledges the advice.
func (q *Queue) deliver(ctx context.Context, it *Item) bool {
	q.mu.Lock()
	it.Attempts++
	msg := it.msg
	if it.Attempts > 1 && !iso8583.IsRepeat(msg.MTI) {
		repeat := *msg
		repeat.MTI = msg.MTI[:3] + "1"
		it.msg, msg = &repeat, &repeat
	}
	q.mu.Unlock()
	attemptCtx, cancel := context.WithTimeout(ctx, q.cfg.Timeout)
	defer cancel()
	_, err := q.sender.Send(attemptCtx, it.Issuer, msg)
	q.metrics.attempts.Inc()
	if err != nil {
		q.mu.Lock()
		it.LastError = err.Error()
		q.mu.Unlock()
		return false
	}
	q.metrics.delivered.Inc()
	return true
}

func (q *Queue) head(issuer string) *Item {
	q.mu.Lock()
	defer q.mu.Unlock()
	if items := q.mu.queues[issuer]; len(items) > 0 {
		return items[0]
	}
	return nil
}

func (q *Queue) pop(issuer string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.mu.queues[issuer]
	items[0] = nil
	q.mu.queues[issuer] = items[1:]
	q.mu.size--
	q.metrics.depth.Set(float64(q.mu.size))
}

type metrics struct {
	depth     prometheus.Gauge
	attempts  prometheus.Counter
	delivered prometheus.Counter
	rejected  prometheus.Counter
	dropped   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		depth:     prometheus.NewGauge(prometheus.GaugeOpts{Name: "cardswitch_saf_depth", Help: "Advices and reversals waiting for their issuer."}),
		attempts:  prometheus.NewCounter(prometheus.CounterOpts{Name: "cardswitch_saf_attempts_total", Help: "Delivery attempts of queued advices."}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{Name: "cardswitch_saf_delivered_total", Help: "Queued advices the issuer acknowledged."}),
		rejected:  prometheus.NewCounter(prometheus.CounterOpts{Name: "cardswitch_saf_rejected_total", Help: "Advices refused because the queue was full."}),
		dropped:   prometheus.NewCounter(prometheus.CounterOpts{Name: "cardswitch_saf_dropped_total", Help: "Advices dropped after their last attempt."}),
	}
	reg.MustRegister(m.depth, m.attempts, m.delivered, m.rejected, m.dropped)
	return m
}
