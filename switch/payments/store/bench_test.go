package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// BenchmarkWriterPayments commits what one card payment writes (its intent, then its outcome with
// an event each and the idempotency record), from many callers at once as the API does.
func BenchmarkWriterPayments(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			cfg := store.Config{Path: filepath.Join(b.TempDir(), "ledger.db")}
			if db == "postgres" {
				cfg = store.Config{DatabaseURL: pgtest.Schema(b)}
			}
			s, err := store.Open(context.Background(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			w := store.NewWriter(s, store.WriterConfig{})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = w.Run(ctx) }()
			defer func() { cancel(); <-done }()
			var n atomic.Int64
			now := time.Now()
			b.ResetTimer()
			var wg sync.WaitGroup
			const callers = 256
			per := b.N/callers + 1
			for c := 0; c < callers; c++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						id := fmt.Sprintf("pay_%012d", n.Add(1))
						p := payment(id, now)
						p.PendingOp, p.PendingID = store.OpAuthorize, "0200/W0000000/000000/1206000000"
						idem := store.Idempotency{APIKeyID: "k", Key: id, RequestHash: "h", Op: "create_payment", ResourceID: id, CreatedAt: now}
						ev := store.Event{ID: "evt_" + id, PaymentID: id, Merchant: "M1", Type: "payment.created", Status: "created", CreatedAt: now}
						if err := w.Commit(ctx, &store.Write{Payments: []*store.Payment{p}, Events: []store.Event{ev}, Idempotency: []store.Idempotency{idem}, ClockSecond: 1}); err != nil {
							b.Error(err)
							return
						}
						q := *p
						q.Status, q.PendingOp = store.StatusSucceeded, ""
						ev2 := ev
						ev2.ID, ev2.Type = "evt2_"+id, "payment.succeeded"
						idem.Status, idem.Body = 201, `{"id":"`+id+`","status":"succeeded","amount":1000}`
						if err := w.Commit(ctx, &store.Write{Payments: []*store.Payment{&q}, Events: []store.Event{ev2}, Idempotency: []store.Idempotency{idem}}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "payments/s")
		})
	}
}
