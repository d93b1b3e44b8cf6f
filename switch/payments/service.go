// Package payments is the payments API of CONTRACT §12: e-commerce sites and government portals
// create, capture, cancel and refund card payments over HTTP/JSON. Each operation becomes an
// ordinary engine request (0100/0200, 0220, 0400, 0200 refund), so that the issuer, the ledger and
// the metrics see what they see of a terminal. The API's own state (payments, events, refunds,
// idempotency keys, API keys, webhooks) lives in the ledger's database (package store).
//
// Crash safety: a payment is written down with the engine identity of its request before the
// request is sent; its outcome is written after. At start, Recover resolves every request whose
// outcome was not recorded from the ledger, which holds every decision that reached a client.
package payments

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// Engine is the switch's transaction engine (engine.Engine).
type Engine interface {
	Handle(ctx context.Context, req *iso8583.Message) *iso8583.Message
}

// Ledger finds the ledger's record of an engine request by its transaction id.
type Ledger interface {
	Transaction(ctx context.Context, id string) (*ledger.Transaction, error)
}

// Config is the API's behaviour.
type Config struct {
	Merchants []Merchant
	// NodeID is the instance's node id (0-9A-Z), part of every STAN it allocates.
	NodeID byte
	// PublicURL is the API's address as payers' browsers and merchants reach it, for links.next_url
	// (e.g. "https://pay.example.org"). Default "http://127.0.0.1:8081".
	PublicURL string
	// CreatedExpiry is how long a payment created without a card waits for the payer before it
	// expires. Default 90m.
	CreatedExpiry time.Duration
	// HoldExpiry is how long an authorised payment waits for its capture before it expires (the
	// ledger's hold timeout). Default 168h.
	HoldExpiry time.Duration
	// EngineTimeout bounds one engine request (the issuer's timeout is shorter). Default 30s.
	EngineTimeout time.Duration
	// Bills are the government bills and the hosted page (bills.go).
	Bills BillsConfig
}

// Deps are the service's collaborators.
type Deps struct {
	Store   *store.Store
	Writer  *store.Writer
	Engine  Engine
	Ledger  Ledger
	CardKey *CardKey
	Log     *zap.Logger
	Now     func() time.Time
	Metrics *Metrics
	// Notify is called after a write that queued webhook messages (nil: none).
	Notify func()
	// Settlements are the ledger's settlement reports, for the agencies' reconciliation
	// (settlements.go; nil: /v1/settlements answers 503).
	Settlements Settlements
}

// Service carries out the API's operations.
type Service struct {
	cfg       Config
	d         Deps
	merchants atomic.Pointer[map[string]*Merchant] // swapped whole by SetMerchants
	ids       *identities
	locks     [256]sync.Mutex // per payment (striped): one operation at a time
	endpoints *endpointCache
}

// NewService builds the service; floor is the last second used for an engine identity
// (store.ClockSecond).
func NewService(cfg Config, d Deps, floor int64) (*Service, error) {
	if d.Store == nil || d.Writer == nil || d.Engine == nil || d.Ledger == nil || d.CardKey == nil || d.Log == nil || d.Now == nil {
		return nil, errors.New("payments: store, writer, engine, ledger, card key, log and clock are required")
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics(nil)
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://127.0.0.1:8081"
	}
	if cfg.CreatedExpiry <= 0 {
		cfg.CreatedExpiry = 90 * time.Minute
	}
	if cfg.HoldExpiry <= 0 {
		cfg.HoldExpiry = 7 * 24 * time.Hour
	}
	if cfg.EngineTimeout <= 0 {
		cfg.EngineTimeout = 30 * time.Second
	}
	cfg.Bills.applyDefaults()
	ms, err := buildMerchants(cfg.Merchants)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, d: d, ids: newIdentities(cfg.NodeID, floor), endpoints: newEndpointCache(d.Store)}
	s.merchants.Store(&ms)
	return s, nil
}

// SetMerchants replaces the merchants and agencies (a configuration reload); requests in progress
// finish with the set they looked up. The caller must not remove a merchant that may still have
// payments.
func (s *Service) SetMerchants(merchants []Merchant) error {
	ms, err := buildMerchants(merchants)
	if err != nil {
		return err
	}
	s.merchants.Store(&ms)
	return nil
}

// LoadEndpoints reads the webhook endpoints into the service's cache (at start).
func (s *Service) LoadEndpoints(ctx context.Context) error { return s.endpoints.load(ctx) }

// Merchant returns a configured merchant.
func (s *Service) Merchant(id string) (*Merchant, bool) {
	m, ok := (*s.merchants.Load())[id]
	return m, ok
}

func (s *Service) lock(paymentID string) func() {
	h := fnv.New32a()
	h.Write([]byte(paymentID))
	mu := &s.locks[h.Sum32()%uint32(len(s.locks))]
	mu.Lock()
	return mu.Unlock
}

// engineCtx is the context of an engine request: detached from the HTTP request (a client that
// hangs up must not cut a request to the issuer short: its outcome must be recorded), bounded.
func (s *Service) engineCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), s.cfg.EngineTimeout)
}

// commit writes w durably; detached from the request for the same reason.
func (s *Service) commit(ctx context.Context, w *store.Write) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.EngineTimeout)
	defer cancel()
	start := time.Now()
	err := s.d.Writer.Commit(cctx, w)
	s.d.Metrics.commit.Observe(time.Since(start).Seconds())
	if err == nil && len(w.Outbox) > 0 && s.d.Notify != nil {
		s.d.Notify()
	}
	return err
}
