package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// Store is what the dispatcher needs of the payments store.
type Store interface {
	DueOutbox(ctx context.Context, now time.Time, limit int) ([]*store.Outbox, error)
	Endpoints(ctx context.Context, merchant string) ([]*store.Endpoint, error)
	RecordDelivery(ctx context.Context, o *store.Outbox, d *store.Delivery) error
}

// DefaultBackoff is the wait before each retry: attempt n+1 waits DefaultBackoff[n-1] after attempt
// n. The waits add up to a little over three days; a message with no 2xx by the last attempt is
// given up.
func DefaultBackoff() []time.Duration {
	return defaultBackoff[:len(defaultBackoff):len(defaultBackoff)]
}

var defaultBackoff = [...]time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 12 * time.Hour, 12 * time.Hour, 12 * time.Hour,
	12 * time.Hour, 12 * time.Hour}

// Config tunes the dispatcher.
type Config struct {
	// Workers bounds deliveries in flight. Default 16.
	Workers int
	// Timeout bounds one delivery (connect, send, answer). Default 10s.
	Timeout time.Duration
	// Poll is how often the outbox is read when nothing wakes the dispatcher. Default 1s.
	Poll time.Duration
	// Guard checks every address dialled.
	Guard *Guard
	// Backoff are the waits between attempts (DefaultBackoff when empty).
	Backoff []time.Duration
}

// Dispatcher delivers outbox messages at least once: a message is marked delivered only after a
// 2xx, and every attempt is recorded.
type Dispatcher struct {
	cfg    Config
	store  Store
	client *http.Client
	log    *zap.Logger
	now    func() time.Time
	count  func(result string)
	wake   chan struct{}
	mu     struct {
		sync.Mutex
		busy map[string]bool // outbox ids being delivered
	}
}

// NewDispatcher builds a dispatcher; count (may be nil) is told each attempt's result.
func NewDispatcher(cfg Config, s Store, log *zap.Logger, now func() time.Time, count func(string)) *Dispatcher {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if len(cfg.Backoff) == 0 {
		cfg.Backoff = DefaultBackoff()
	}
	if cfg.Guard == nil {
		cfg.Guard = &Guard{}
	}
	if count == nil {
		count = func(string) {}
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout, Control: cfg.Guard.Control}
	tr := &http.Transport{Proxy: nil, DialContext: dialer.DialContext, MaxIdleConnsPerHost: 4,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: cfg.Timeout, ResponseHeaderTimeout: cfg.Timeout}
	d := &Dispatcher{cfg: cfg, store: s, log: log, now: now, count: count, wake: make(chan struct{}, 1),
		client: &http.Client{Transport: tr, Timeout: cfg.Timeout,
			// A redirect is not followed: it could lead to an address the guard never saw.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	d.mu.busy = map[string]bool{}
	return d
}

// Notify wakes the dispatcher: messages were queued.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the deliveries in flight.
func (d *Dispatcher) Run(ctx context.Context) error {
	sem := make(chan struct{}, d.cfg.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
	tick := time.NewTicker(d.cfg.Poll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-d.wake:
		}
		due, err := d.store.DueOutbox(ctx, d.now(), 4*d.cfg.Workers)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("webhook outbox not read", zap.Error(err))
			}
			continue
		}
		if len(due) == 0 {
			continue
		}
		eps, err := d.endpoints(ctx)
		if err != nil {
			continue
		}
		for _, o := range due {
			if !d.take(o.ID) {
				continue
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				d.give(o.ID)
				return nil
			}
			wg.Add(1)
			go func(o *store.Outbox) {
				defer wg.Done()
				defer func() { <-sem }()
				defer d.give(o.ID)
				d.deliver(ctx, o, eps[o.EndpointID])
			}(o)
		}
	}
}

func (d *Dispatcher) endpoints(ctx context.Context) (map[string]*store.Endpoint, error) {
	all, err := d.store.Endpoints(ctx, "")
	if err != nil {
		return nil, err
	}
	m := make(map[string]*store.Endpoint, len(all))
	for _, e := range all {
		m[e.ID] = e
	}
	return m, nil
}

func (d *Dispatcher) take(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mu.busy[id] {
		return false
	}
	d.mu.busy[id] = true
	return true
}

func (d *Dispatcher) give(id string) {
	d.mu.Lock()
	delete(d.mu.busy, id)
	d.mu.Unlock()
}

// deliver makes one attempt and records it with the message's next state.
func (d *Dispatcher) deliver(ctx context.Context, o *store.Outbox, ep *store.Endpoint) {
	start := d.now()
	attempt := o.Attempts + 1
	rec := &store.Delivery{ID: fmt.Sprintf("%s_%d", o.ID, attempt), OutboxID: o.ID, EndpointID: o.EndpointID,
		EventID: o.EventID, EventType: o.EventType, Attempt: attempt, AttemptedAt: start}
	var status int
	var err error
	if ep == nil || !ep.Enabled {
		err = errors.New("the endpoint is disabled")
	} else {
		status, err = d.post(ctx, ep, o, start)
	}
	rec.Duration, rec.StatusCode = d.now().Sub(start), status
	o.Attempts = attempt
	result := "delivered"
	switch {
	case err == nil && status >= 200 && status < 300:
		o.State = store.OutboxDelivered
	case ep == nil || !ep.Enabled || attempt > len(d.cfg.Backoff):
		o.State, result = store.OutboxFailed, "gave_up"
	default:
		o.NextAttemptAt = start.Add(d.cfg.Backoff[attempt-1])
		rec.NextAttemptAt = o.NextAttemptAt
		result = "failed_attempt"
	}
	if err != nil {
		rec.Error = err.Error()
		if errors.Is(err, ErrPrivateAddress) {
			result = "refused"
		}
	} else if o.State != store.OutboxDelivered {
		rec.Error = fmt.Sprintf("the endpoint answered %d", status)
	}
	d.count(result)
	if err := d.store.RecordDelivery(context.WithoutCancel(ctx), o, rec); err != nil {
		d.log.Warn("webhook delivery not recorded (it will be attempted again)", zap.String("message", o.ID), zap.Error(err))
	}
}

// post sends one signed message and returns the endpoint's status.
func (d *Dispatcher) post(ctx context.Context, ep *store.Endpoint, o *store.Outbox, now time.Time) (int, error) {
	body := []byte(o.Payload)
	sig, err := Sign(ep.Secret, o.EventID, now, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "cardswitch-webhooks/1")
	req.Header.Set("webhook-id", o.EventID)
	req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
	req.Header.Set("webhook-signature", sig)
	resp, err := d.client.Do(req)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && errors.Is(err, ErrPrivateAddress) {
			return 0, ErrPrivateAddress
		}
		return 0, errors.New("no answer: " + shortErr(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
