// Command bench measures the ledger's batch posting to PostgreSQL with durability on (fsync and
// synchronous_commit as the server has them): sustained transfers per second through the Writer
// (closed model, -rate 0) or acknowledgement latency at a fixed arrival rate (open model, latency
// measured from each request's intended send time), optionally with a share of transfers hitting
// one hot account, and, in the same run, a plain CopyFrom of the same rows into a table of the same
// shape: the physical limit the Writer is compared with.
//
//	go run ./ledger/postgres/bench -duration 60s -hot 0.5
//	go run ./ledger/postgres/bench -duration 60s -rate 20000
//
// It works in a schema of its own, dropped at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

type config struct {
	url         string
	duration    time.Duration
	warmup      time.Duration
	mode        string
	rate        int
	concurrency int
	hot         float64
	accounts    int
	batch       int
	baseline    time.Duration
	batchWait   time.Duration
	inFlight    int
	cpuProfile  string
}

func main() { os.Exit(run()) }

func run() int {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.StringVar(&c.url, "database-url", pgtest.BaseURL(), "PostgreSQL server (a schema is created and dropped in it)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured load duration")
	fs.DurationVar(&c.warmup, "warmup", 3*time.Second, "load before measuring (accounts created, caches warm)")
	fs.StringVar(&c.mode, "mode", "transfers", "transfers (one single-phase transfer per request) or events (card purchases: a journal row, amount and fee transfers)")
	fs.IntVar(&c.rate, "rate", 0, "open model: requests per second (0: closed model at saturation)")
	fs.IntVar(&c.concurrency, "concurrency", 2048, "closed model: callers, each waiting for its commit")
	fs.Float64Var(&c.hot, "hot", 0, "share of requests that credit one hot account (0 to 1)")
	fs.IntVar(&c.accounts, "accounts", 10000, "cold accounts the other requests spread over")
	fs.IntVar(&c.batch, "batch", 0, "Writer BatchItemsMax (0: the default)")
	fs.DurationVar(&c.baseline, "baseline", 10*time.Second, "plain CopyFrom of the same rows for this long (0: skip)")
	fs.DurationVar(&c.batchWait, "batch-wait", 0, "Writer BatchWaitMax")
	fs.IntVar(&c.inFlight, "in-flight", 0, "Writer BatchesInFlightMax (0: the default)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write this process's CPU profile to the file")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if err := c.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if c.cpuProfile != "" {
		out, err := os.Create(c.cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if err := bench(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	return 0
}

func (c *config) validate() error {
	switch {
	case c.mode != "transfers" && c.mode != "events":
		return fmt.Errorf("-mode %q: want transfers or events", c.mode)
	case c.duration <= 0 || c.warmup < 0 || c.baseline < 0:
		return errors.New("-duration must be positive, -warmup and -baseline not negative")
	case c.rate < 0 || c.concurrency <= 0:
		return errors.New("-rate must not be negative, -concurrency must be positive")
	case c.hot < 0 || c.hot > 1:
		return fmt.Errorf("-hot %v: want 0 to 1", c.hot)
	case c.accounts < 2:
		return errors.New("-accounts must be at least 2")
	}
	return nil
}
