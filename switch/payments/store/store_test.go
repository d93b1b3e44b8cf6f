package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// eachStore runs a test against the embedded SQLite file and the real PostgreSQL.
func eachStore(t *testing.T, test func(t *testing.T, cfg store.Config)) {
	t.Run("sqlite", func(t *testing.T) { test(t, store.Config{Path: filepath.Join(t.TempDir(), "ledger.db")}) })
	t.Run("postgres", func(t *testing.T) { test(t, store.Config{DatabaseURL: pgtest.Schema(t)}) })
}

func open(t *testing.T, cfg store.Config) (*store.Store, *store.Writer) {
	t.Helper()
	s, err := store.Open(context.Background(), cfg)
	require.NoError(t, err)
	w := store.NewWriter(s, store.WriterConfig{BatchMax: 64})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		s.Close()
	})
	return s, w
}

func payment(id string, at time.Time) *store.Payment {
	return &store.Payment{ID: id, Merchant: "M1", Status: store.StatusCreated, Amount: 1000, Currency: "840", Reference: "ref",
		Description: "d", Capture: "automatic", CreatedAt: at, UpdatedAt: at}
}

func TestMigrationsAreIdempotentAndOwnTheirTable(t *testing.T) {
	eachStore(t, func(t *testing.T, cfg store.Config) {
		s1, _ := open(t, cfg)
		s2, err := store.Open(context.Background(), cfg) // a second start applies nothing
		require.NoError(t, err)
		s2.Close()
		n, err := s1.ClockSecond(context.Background())
		require.NoError(t, err)
		require.Zero(t, n)
	})
}

func TestGroupCommitKeepsEveryWrite(t *testing.T) {
	eachStore(t, func(t *testing.T, cfg store.Config) {
		s, w := open(t, cfg)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		var wg sync.WaitGroup
		const n = 300
		errs := make(chan error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				p := payment(fmt.Sprintf("pay_%04d", i), now.Add(time.Duration(i)*time.Millisecond))
				ev := store.Event{ID: fmt.Sprintf("evt_%04d", i), PaymentID: p.ID, Merchant: "M1", Type: "payment.created", Status: p.Status, CreatedAt: now}
				errs <- w.Commit(ctx, &store.Write{Payments: []*store.Payment{p}, Events: []store.Event{ev}, ClockSecond: int64(1000 + i),
					Idempotency: []store.Idempotency{{APIKeyID: "k", Key: fmt.Sprintf("idem-%d", i), RequestHash: "h", Op: "create_payment", ResourceID: p.ID, CreatedAt: now}}})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		ps, err := s.Payments(ctx, store.PaymentFilter{Merchant: "M1", Limit: 1000})
		require.NoError(t, err)
		require.Len(t, ps, n)
		require.Equal(t, "pay_0299", ps[0].ID, "newest first")
		sec, err := s.ClockSecond(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1000+n-1, sec, "the clock keeps the latest second")
		inflight, err := s.InFlightIdempotency(ctx)
		require.NoError(t, err)
		require.Len(t, inflight, n)
	})
}

func TestLastVersionInABatchWinsAndAnswersAreKeptOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, cfg store.Config) {
		s, w := open(t, cfg)
		ctx := context.Background()
		now := time.Now().UTC()
		p1 := payment("pay_a", now)
		p2 := *p1
		p2.Status, p2.AmountCaptured, p2.CardSealed = store.StatusSucceeded, 1000, "sealed"
		idem := store.Idempotency{APIKeyID: "k", Key: "x", RequestHash: "h1", Op: "create_payment", ResourceID: "pay_a", CreatedAt: now}
		done := idem
		done.Status, done.Body = 201, `{"id":"pay_a"}`
		require.NoError(t, w.Commit(ctx, &store.Write{Payments: []*store.Payment{p1, &p2}, Idempotency: []store.Idempotency{idem, done}}))
		got, err := s.Payment(ctx, "M1", "pay_a")
		require.NoError(t, err)
		require.Equal(t, store.StatusSucceeded, got.Status)
		require.Equal(t, "sealed", got.CardSealed)
		_, err = s.Payment(ctx, "M2", "pay_a")
		require.ErrorIs(t, err, store.ErrNotFound, "another merchant's payment is not found")

		// A completed answer is never overwritten.
		again := done
		again.Status, again.Body = 500, "other"
		require.NoError(t, w.Commit(ctx, &store.Write{Idempotency: []store.Idempotency{again}}))
		rec, err := s.Idempotency(ctx, "k", "x")
		require.NoError(t, err)
		require.Equal(t, 201, rec.Status)
		require.Equal(t, `{"id":"pay_a"}`, rec.Body)
		n, err := s.PurgeIdempotency(ctx, now.Add(time.Hour))
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	})
}

func TestUnresolvedAndFilters(t *testing.T) {
	eachStore(t, func(t *testing.T, cfg store.Config) {
		s, w := open(t, cfg)
		ctx := context.Background()
		now := time.Now().UTC()
		a, b := payment("pay_1", now), payment("pay_2", now.Add(time.Second))
		a.PendingOp, a.PendingID = store.OpAuthorize, "0200/W/000001/1206000000"
		b.Reference, b.Status = "other", store.StatusSucceeded
		r := &store.Refund{ID: "ref_1", PaymentID: "pay_2", Merchant: "M1", Status: store.RefundProcessing, Amount: 5, Currency: "840", CreatedAt: now, UpdatedAt: now}
		require.NoError(t, w.Commit(ctx, &store.Write{Payments: []*store.Payment{a, b}, Refunds: []*store.Refund{r}}))
		un, err := s.Unresolved(ctx)
		require.NoError(t, err)
		require.Len(t, un, 1)
		require.Equal(t, "pay_1", un[0].ID)
		rs, err := s.ProcessingRefunds(ctx)
		require.NoError(t, err)
		require.Len(t, rs, 1)
		ps, err := s.Payments(ctx, store.PaymentFilter{Merchant: "M1", Reference: "other", Limit: 10})
		require.NoError(t, err)
		require.Len(t, ps, 1)
		ps, err = s.Payments(ctx, store.PaymentFilter{Merchant: "M1", Status: store.StatusCreated, CreatedFrom: now.Add(-time.Minute), CreatedTo: now.Add(time.Minute), Limit: 10})
		require.NoError(t, err)
		require.Len(t, ps, 1)
		ps, err = s.Payments(ctx, store.PaymentFilter{Merchant: "M1", Before: "pay_2", Limit: 10})
		require.NoError(t, err)
		require.Len(t, ps, 1)
		require.Equal(t, "pay_1", ps[0].ID)
	})
}

func TestKeysEndpointsOutboxAndDeliveries(t *testing.T) {
	eachStore(t, func(t *testing.T, cfg store.Config) {
		s, w := open(t, cfg)
		ctx := context.Background()
		now := time.Now().UTC()
		k := &store.APIKey{ID: "key_1", Merchant: "M1", Hash: "abc", Prefix: "sk_live_abcd", Scopes: []string{"payments"}, CreatedAt: now}
		require.NoError(t, s.CreateAPIKey(ctx, k))
		got, err := s.APIKeyByHash(ctx, "abc")
		require.NoError(t, err)
		require.Equal(t, "M1", got.Merchant)
		require.NoError(t, s.RevokeAPIKey(ctx, "key_1", now))
		_, err = s.APIKeyByHash(ctx, "abc")
		require.ErrorIs(t, err, store.ErrNotFound)
		require.ErrorIs(t, s.RevokeAPIKey(ctx, "key_1", now), store.ErrNotFound)

		ep := &store.Endpoint{ID: "we_1", Merchant: "M1", URL: "http://127.0.0.1/x", Events: []string{"payment.succeeded"}, Secret: "whsec_x", Enabled: true, CreatedAt: now}
		require.NoError(t, s.CreateEndpoint(ctx, ep, nil))
		require.NoError(t, w.Commit(ctx, &store.Write{Outbox: []store.Outbox{{ID: "msg_1", EventID: "evt_1", EndpointID: "we_1",
			EventType: "payment.succeeded", Payload: "{}", State: store.OutboxPending, NextAttemptAt: now, CreatedAt: now}}}))
		due, err := s.DueOutbox(ctx, now.Add(time.Second), 10)
		require.NoError(t, err)
		require.Len(t, due, 1)
		o := due[0]
		o.Attempts, o.NextAttemptAt = 1, now.Add(time.Hour)
		require.NoError(t, s.RecordDelivery(ctx, o, &store.Delivery{ID: "msg_1_1", OutboxID: "msg_1", EndpointID: "we_1", EventID: "evt_1",
			EventType: "payment.succeeded", Attempt: 1, StatusCode: 500, AttemptedAt: now, NextAttemptAt: o.NextAttemptAt}))
		due, err = s.DueOutbox(ctx, now.Add(time.Second), 10)
		require.NoError(t, err)
		require.Empty(t, due, "not due before its next attempt")
		ds, seqs, err := s.Deliveries(ctx, "we_1", 0, 10)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Len(t, seqs, 1)
		require.Equal(t, 500, ds[0].StatusCode)
	})
}
