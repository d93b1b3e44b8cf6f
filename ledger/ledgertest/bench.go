package ledgertest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// Benchmark measures a store's Writer: each iteration is one request (a single-phase transfer, or
// a card purchase with its fee) from many concurrent callers, each waiting for its COMMIT. With
// hot, half of the transfers credit one account. It reports transfers/s and the mean batch size.
func Benchmark(b *testing.B, open func(testing.TB) ledger.Store, events, hot bool) {
	s := open(b)
	clock := NewClock()
	w := startWriter(b, s, clock, ledger.WriterConfig{})
	const accounts = 1000
	var seq atomic.Int64
	request := func(ctx context.Context) (int, error) {
		n := seq.Add(1)
		credit := fmt.Sprintf("bench:c%04d:liability", n%accounts)
		merchant := fmt.Sprintf("M%014d", n%accounts)
		if hot && n%2 == 0 {
			credit, merchant = "bench:hot:liability", merchantID
		}
		if events {
			ev := event(ledger.Purchase, fmt.Sprintf("P%012d", n), 1000+n%9000)
			ev.Payee.ID = merchant
			out, err := w.Commit(ctx, ev)
			return len(out.Transfers), err
		}
		res, err := w.Submit(ctx, []ledger.Transfer{{ID: ledger.DeriveTransferID("bench", fmt.Sprint(n)),
			DebitAccount: fmt.Sprintf("bench:c%04d:asset", n%accounts), CreditAccount: credit, Currency: usd, Amount: 1 + n%9999}})
		if err == nil && res[0].Status != ledger.TransferCreated {
			err = fmt.Errorf("transfer %d: %v", n, res[0].Reason)
		}
		return 1, err
	}
	ctx := context.Background()
	for range 2 * accounts { // accounts exist before the clock starts
		if _, err := request(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var transfers atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(256) // 512 callers on 2 cores: enough to fill batches
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n, err := request(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			transfers.Add(int64(n))
		}
	})
	b.ReportMetric(float64(transfers.Load())/time.Since(start).Seconds(), "transfers/s")
}
