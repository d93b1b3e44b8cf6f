package payments

import (
	"context"
	"sync"
	"time"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// Event types (CONTRACT §12); payment.created is journaled but not delivered.
const (
	EventCreated         = "payment.created"
	EventAuthorised      = "payment.authorised"
	EventSucceeded       = "payment.succeeded"
	EventDeclined        = "payment.declined"
	EventFailed          = "payment.failed"
	EventCancelled       = "payment.cancelled"
	EventExpired         = "payment.expired"
	EventRefundSucceeded = "refund.succeeded"
	EventRefundFailed    = "refund.failed"
)

// WebhookEventTypes are the types an endpoint may subscribe to.
var WebhookEventTypes = []string{EventAuthorised, EventSucceeded, EventDeclined, EventFailed, EventCancelled,
	EventExpired, EventRefundSucceeded, EventRefundFailed, EventBillPaid, EventBillExpired}

// endpointCache holds the enabled webhook endpoints by merchant, so that a state change finds the
// messages to queue without a read. It is updated by this process's endpoint changes and re-read
// every endpointReload (for endpoints changed by another instance).
type endpointCache struct {
	s  *store.Store
	mu struct {
		sync.RWMutex
		byMerchant map[string][]*store.Endpoint
		loaded     time.Time
	}
}

const endpointReload = 30 * time.Second

func newEndpointCache(s *store.Store) *endpointCache {
	c := &endpointCache{s: s}
	c.mu.byMerchant = map[string][]*store.Endpoint{}
	return c
}

func (c *endpointCache) load(ctx context.Context) error {
	all, err := c.s.Endpoints(ctx, "")
	if err != nil {
		return err
	}
	by := map[string][]*store.Endpoint{}
	for _, e := range all {
		if e.Enabled {
			by[e.Merchant] = append(by[e.Merchant], e)
		}
	}
	c.mu.Lock()
	c.mu.byMerchant, c.mu.loaded = by, time.Now()
	c.mu.Unlock()
	return nil
}

func (c *endpointCache) forMerchant(merchant string) []*store.Endpoint {
	c.mu.RLock()
	eps, stale := c.mu.byMerchant[merchant], time.Since(c.mu.loaded) > endpointReload
	c.mu.RUnlock()
	if stale {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if c.load(ctx) == nil {
			c.mu.RLock()
			eps = c.mu.byMerchant[merchant]
			c.mu.RUnlock()
		}
		cancel()
	}
	return eps
}

// webhookEnvelope is the body of a webhook: {id, type, created_at, data}.
type webhookEnvelope struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Data      any       `json:"data"`
}

// record adds an event to w, and a webhook message for every endpoint of the merchant that wants
// it: in the same write (the same transaction) as the change it announces.
func (s *Service) record(w *store.Write, p *store.Payment, typ string, amount int64, refund *store.Refund, code string, now time.Time) {
	ev := store.Event{ID: newID("evt", now), PaymentID: p.ID, Merchant: p.Merchant, Type: typ, Status: p.Status,
		Amount: amount, ResponseCode: code, CreatedAt: now}
	if refund != nil {
		ev.RefundID = refund.ID
	}
	w.Events = append(w.Events, ev)
	if typ == EventCreated {
		return
	}
	var body []byte
	for _, ep := range s.endpoints.forMerchant(p.Merchant) {
		if !ep.Wants(typ) {
			continue
		}
		if body == nil {
			env := webhookEnvelope{ID: ev.ID, Type: typ, CreatedAt: now}
			if refund != nil {
				env.Data = refundView(refund)
			} else {
				env.Data = s.paymentView(p, "")
			}
			body = encode(env)
		}
		w.Outbox = append(w.Outbox, store.Outbox{ID: newID("msg", now), EventID: ev.ID, EndpointID: ep.ID, EventType: typ,
			Payload: string(body), State: store.OutboxPending, NextAttemptAt: now, CreatedAt: now})
	}
}
