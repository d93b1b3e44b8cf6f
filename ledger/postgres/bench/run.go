package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/shopspring/decimal"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/postgres"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

// hotAccount takes the hot share of credits.
const hotAccount = "bench:hot:liability"

func bench(ctx context.Context, c config) error {
	url, drop, err := pgtest.CreateSchema(ctx, c.url)
	if err != nil {
		return err
	}
	defer func() { _ = drop(context.Background()) }()
	store, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		return err
	}
	defer store.Close()
	reg := prometheus.NewRegistry()
	metrics, err := ledger.NewMetrics(reg)
	if err != nil {
		return err
	}
	w := ledger.NewWriter(store, ledger.WriterConfig{BatchItemsMax: c.batch, BatchWaitMax: c.batchWait,
		BatchesInFlightMax: c.inFlight, Metrics: metrics})
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()

	// Start from a checkpoint, so that the previous run's writes (a copy baseline writes
	// millions of rows) are not flushed during this one. It needs a superuser; without one, skip.
	if err := checkpoint(ctx, url); err != nil {
		fmt.Println("no CHECKPOINT before the run:", err)
	}
	g := newGenerator(c)
	fmt.Printf("mode %s, %s, hot %.0f%% of requests on one account, %d cold accounts\n",
		c.mode, model(c), 100*c.hot, c.accounts)
	if c.warmup > 0 {
		if _, err := load(ctx, c, w, g, c.warmup); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	batchesBefore, itemsBefore := batchStats(reg)
	cpuBefore := cpuTime()
	res, err := load(ctx, c, w, g, c.duration)
	if err != nil {
		return err
	}
	batches, items := batchStats(reg)
	res.batches, res.items = batches-batchesBefore, items-itemsBefore
	res.cpu = cpuTime() - cpuBefore
	res.print(c)
	if rep, err := store.Verify(ctx); err != nil || !rep.OK() {
		return fmt.Errorf("verify after the run: %v %+v", err, rep.Violations)
	}
	fmt.Println("verify: every invariant holds")
	if c.baseline > 0 {
		copied, err := copyBaseline(ctx, url, g, c)
		if err != nil {
			return fmt.Errorf("copy baseline: %w", err)
		}
		fmt.Printf("plain CopyFrom of the same rows (%d per transaction): %.0f transfers/s; the Writer reaches %.1f%% of it\n",
			copyChunk, copied, 100*res.transfersPerSecond()/copied)
	}
	return nil
}

func model(c config) string {
	if c.rate > 0 {
		return fmt.Sprintf("open model at %d requests/s", c.rate)
	}
	return fmt.Sprintf("closed model, %d callers", c.concurrency)
}

// generator makes unique requests: transfers or purchase events.
type generator struct {
	c                              config
	prefix                         uint64
	seq                            atomic.Uint64
	assets, liabilities, merchants []string // names made once: the load generator is not measured
}

func newGenerator(c config) *generator {
	g := &generator{c: c, prefix: rand.Uint64()}
	for i := range c.accounts {
		g.assets = append(g.assets, fmt.Sprintf("bench:c%05d:asset", i))
		g.liabilities = append(g.liabilities, fmt.Sprintf("bench:c%05d:liability", i))
		g.merchants = append(g.merchants, fmt.Sprintf("M%014d", i))
	}
	return g
}

func (g *generator) id() ledger.TransferID {
	var id ledger.TransferID
	binary.BigEndian.PutUint64(id[:8], g.prefix)
	binary.BigEndian.PutUint64(id[8:], g.seq.Add(1))
	return id
}

func (g *generator) transfer() ledger.Transfer {
	credit := hotAccount
	if rand.Float64() >= g.c.hot {
		credit = g.liabilities[rand.IntN(g.c.accounts)]
	}
	return ledger.Transfer{ID: g.id(), DebitAccount: g.assets[rand.IntN(g.c.accounts)],
		CreditAccount: credit, Currency: "840", Amount: 1 + rand.Int64N(100000)}
}

func (g *generator) event() ledger.Event {
	merchant := "MERCHANT0000001"
	if rand.Float64() >= g.c.hot {
		merchant = g.merchants[rand.IntN(g.c.accounts)]
	}
	n := g.seq.Add(1)
	return ledger.Event{
		ID: fmt.Sprintf("0200/T%07d/%06d/%016x", n%10000000, n%1000000, g.prefix^n), Kind: ledger.Purchase,
		Currency: "840", Amount: 100 + rand.Int64N(100000), Issuer: [2]string{"alpha", "beta"}[n%2],
		Payee: ledger.Payee{Kind: ledger.Merchant, ID: merchant,
			Fee: ledger.FeeSchedule{Percent: decimal.RequireFromString("1.50"), Fixed: 10}},
		RRN: fmt.Sprintf("%012d", n), STAN: fmt.Sprintf("%06d", n%1000000), Terminal: fmt.Sprintf("T%07d", n%10000),
		MTI: "0200", MaskedPAN: "411111******1111", ResponseCode: "00", ApprovalCode: "123456", At: time.Now(),
	}
}

// one submits one request; it returns the transfers it created.
func (g *generator) one(ctx context.Context, w *ledger.Writer) (int, error) {
	if g.c.mode == "events" {
		out, err := w.Commit(ctx, g.event())
		return len(out.Transfers), err
	}
	res, err := w.Submit(ctx, []ledger.Transfer{g.transfer()})
	if err == nil && res[0].Status != ledger.TransferCreated {
		err = fmt.Errorf("transfer %s: status %d %v", res[0].ID, res[0].Status, res[0].Reason)
	}
	return 1, err
}

// maxInFlight bounds the open model's unanswered requests: 2.5 s of requests at 20,000/s, far
// beyond any healthy latency, so that an overloaded run is reported rather than collapsing.
const maxInFlight = 50000

type result struct {
	elapsed          time.Duration
	requests, xfers  int64
	latency          *hdrhistogram.Histogram // microseconds
	batches, items   float64
	cpu              time.Duration
	late, lateNeeded int64
	shed             int64
}

func (r *result) transfersPerSecond() float64 { return float64(r.xfers) / r.elapsed.Seconds() }

func (r *result) print(c config) {
	q := func(p float64) string {
		return (time.Duration(r.latency.ValueAtQuantile(p)) * time.Microsecond).String()
	}
	fmt.Printf("%d requests, %d transfers in %s: %.0f requests/s, %.0f transfers/s\n",
		r.requests, r.xfers, r.elapsed.Round(time.Millisecond), float64(r.requests)/r.elapsed.Seconds(), r.transfersPerSecond())
	fmt.Printf("acknowledgement latency: p50 %s p90 %s p99 %s p99.9 %s max %s\n", q(50), q(90), q(99), q(99.9),
		time.Duration(r.latency.Max())*time.Microsecond)
	if r.batches > 0 {
		fmt.Printf("%.0f batches, %.0f requests per batch on average; this process used %.2f CPU cores\n",
			r.batches, r.items/r.batches, r.cpu.Seconds()/r.elapsed.Seconds())
	}
	if r.shed > 0 {
		fmt.Printf("OVERLOADED: %d requests shed (more than %d unanswered)\n", r.shed, maxInFlight)
	}
	if c.rate > 0 && r.lateNeeded > 0 {
		fmt.Printf("the pacer fell behind its schedule for %d of %d requests (they still count from their intended time)\n", r.late, r.lateNeeded)
	}
}

// load runs the closed or the open model for d.
func load(ctx context.Context, c config, w *ledger.Writer, g *generator, d time.Duration) (*result, error) {
	res := &result{latency: hdrhistogram.New(1, int64(time.Minute/time.Microsecond), 3)}
	var mu sync.Mutex
	var firstErr error
	record := func(intended time.Time, n int, err error) {
		lat := time.Since(intended).Microseconds()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		res.requests++
		res.xfers += int64(n)
		_ = res.latency.RecordValue(max(lat, 1))
	}
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	if c.rate == 0 {
		for range c.concurrency {
			wg.Go(func() {
				for ctx.Err() == nil && time.Now().Before(end) {
					t0 := time.Now()
					n, err := g.one(ctx, w)
					record(t0, n, err)
				}
			})
		}
	} else {
		// An open-model generator with a bound: a request that finds maxInFlight requests
		// unanswered is counted as shed rather than piling up goroutines without limit.
		var inFlight atomic.Int64
		res.lateNeeded, res.late = pace(ctx, c.rate, start, end, &wg, func(intended time.Time) {
			if inFlight.Add(1) > maxInFlight {
				inFlight.Add(-1)
				mu.Lock()
				res.shed++
				mu.Unlock()
				return
			}
			defer inFlight.Add(-1)
			n, err := g.one(ctx, w)
			record(intended, n, err)
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res, firstErr
}

// pace starts one request per 1/rate from start to end (open model), each in its own goroutine,
// and counts the requests it started more than a millisecond after their intended time.
func pace(ctx context.Context, rate int, start, end time.Time, wg *sync.WaitGroup, do func(time.Time)) (int64, int64) {
	interval := time.Second / time.Duration(rate)
	var n, late int64
	for i := int64(0); ; i++ {
		intended := start.Add(time.Duration(i) * interval)
		if !intended.Before(end) || ctx.Err() != nil {
			return n, late
		}
		if wait := time.Until(intended); wait > time.Millisecond {
			time.Sleep(wait)
		} else if wait < -time.Millisecond {
			late++
		}
		n++
		wg.Go(func() { do(intended) })
	}
}

func batchStats(reg *prometheus.Registry) (batches, items float64) {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "cardswitch_ledger_batch_items" {
			h := mf.GetMetric()[0].GetHistogram()
			return float64(h.GetSampleCount()), h.GetSampleSum()
		}
	}
	return 0, 0
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
