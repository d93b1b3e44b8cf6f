package sqlite_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/ledgertest"
)

// go test -run '^$' -bench . -benchtime 20000x ./ledger/sqlite/
func BenchmarkWriter(b *testing.B) {
	open := harness().Open
	b.Run("transfers", func(b *testing.B) { ledgertest.Benchmark(b, open, false, false) })
	b.Run("purchases", func(b *testing.B) { ledgertest.Benchmark(b, open, true, false) })
	b.Run("purchases-hot", func(b *testing.B) { ledgertest.Benchmark(b, open, true, true) })
	b.Run("authorizations", func(b *testing.B) { benchmarkAuthorizations(b, false) })
	b.Run("authorizations-intents", func(b *testing.B) { benchmarkAuthorizations(b, true) })
}

// benchmarkAuthorizations is the ledger's share of scripts/bench-e2e.sh: approved
// pre-authorizations (a journal row and a pending transfer each) of one merchant from 8 terminals,
// 256 callers at once (8 connections × 32 outstanding requests), STANs counting up per terminal.
// With intents, each is preceded by its intent (written and durable first, as the engine does
// before a request leaves) and resolves it.
func benchmarkAuthorizations(b *testing.B, intents bool) {
	const (
		terminals = 8
		callers   = 256
	)
	s := harness().Open(b)
	w := ledger.NewWriter(s, ledger.WriterConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	payee := ledger.Payee{Kind: ledger.Merchant, ID: "MERCHANT0000001",
		Fee: ledger.FeeSchedule{Percent: decimal.RequireFromString("1.50"), Fixed: 10}}
	at := time.Date(2025, 11, 26, 14, 30, 15, 0, time.UTC)
	var seq atomic.Int64
	authorize := func() error {
		n := seq.Add(1)
		terminal, stan := fmt.Sprintf("BENCH%03d", n%terminals), fmt.Sprintf("%06d", n/terminals%999999+1)
		ev := ledger.Event{
			ID: "0100/" + terminal + "/" + stan + "/" + fmt.Sprint(1126143015+n/terminals/999999), Kind: ledger.Authorize,
			Currency: "840", Amount: 1000 + n%9000, Payee: payee, Issuer: "alpha", RRN: fmt.Sprintf("53301%07d", n),
			STAN: stan, Terminal: terminal, MTI: "0100", MaskedPAN: "411111******1111", ResponseCode: "00",
			ApprovalCode: "A00001", At: at}
		if intents {
			in := ledger.Intent{Key: "rrn:" + ev.RRN, EventID: ev.ID, Issuer: "alpha", Node: "0", Payee: payee.ID,
				Message: ledger.SAFMessage{MTI: "0400", RRN: ev.RRN, MaskedPAN: ev.MaskedPAN, Currency: "840", Amount: ev.Amount,
					Packed: benchReversal, PANSealed: benchSealed}}
			if err := w.Intend(context.Background(), in); err != nil {
				return err
			}
			ev.Intent = ledger.IntentRef{Key: in.Key, Approved: true}
		}
		_, err := w.Commit(context.Background(), ev)
		return err
	}
	for range 100 { // accounts exist before the clock starts
		if err := authorize(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := authorize(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "authorizations/s")
}

// benchReversal and benchSealed are the sizes of a packed 0400 without its PAN (about 200 bytes)
// and of a sealed PAN.
var (
	benchReversal = make([]byte, 200)
	benchSealed   = make([]byte, 45)
)
