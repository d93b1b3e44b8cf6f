package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/ledger"
	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
	"github.com/cardswitch/cardswitch/simulator/load"
)

// Demo settings, each with its reason.
const (
	// demoReadyTimeout bounds the wait for the switch's issuer links to come up.
	demoReadyTimeout = 10 * time.Second
	// demoTerminalTimeout is the terminals' timeout: the load generator's default, above the
	// switch's 5 s issuer timeout, so that a machine busy with other work does not fail the demo.
	demoTerminalTimeout = load.DefaultTimeout
	// demoRepeats is how often a timed-out reversal is repeated (one repeat keeps the end near).
	demoRepeats = 1
	// demoInterruptGrace is how long an interrupted demo waits for the answers in flight (they
	// normally take milliseconds) before it reads the ledger.
	demoInterruptGrace = 5 * time.Second
	// demoBarWidth is the progress bar's width in characters.
	demoBarWidth = 30
	// demoBarInterval redraws the bar on a terminal; plain progress lines come every second.
	demoBarInterval = 200 * time.Millisecond
	// demoMerchants sends a tenth of the payments to the government agency of the default topology.
	demoMerchants = "MERCHANT0000001=90,GOVAGENCY000001=10"
	// demoShops are the web shops paying over the payments API.
	demoShops = 16
	// demoLogFile is where the demo's components log (warn level), inside the data directory.
	demoLogFile = "cardswitch.log"
)

// newDemoCmd is `cardswitch demo`: the whole system in one process, driven by the load generator.
func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo [--duration 10s] [--rate 500]",
		Short: "Run the switch, two issuer simulators and a terminal fleet in one process, then check the ledger",
		Long: `Run the whole system in one process: the software HSM, two issuer simulators, the switch (default
topology, on loopback ports of its own choosing) with the embedded ledger in a temporary directory,
and the card and terminal simulator driving it with the default mix. At the end a summary:
throughput, latency, response codes, the ledger's trial balance and the payees' balances, and the
checks. Exit status 0 when every check holds.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.duration <= 0 {
				return usagef("--duration %v must be positive", o.duration)
			}
			if o.rate <= 0 {
				return usagef("--rate %d must be positive", o.rate)
			}
			return runDemo(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cmd.Flags().DurationVar(&o.duration, "duration", 10*time.Second, "how long the terminals send")
	cmd.Flags().IntVar(&o.rate, "rate", 500, "requests per second in total")
	cmd.Flags().StringVar(&o.dataDir, "data-dir", "", "keep the ledger and the log in this directory (default: a temporary one, removed when every check holds)")
	cmd.Flags().StringVar(&o.databaseURL, "database-url", "", "use this PostgreSQL database for the ledger instead of the embedded store")
	return cmd
}

type demoOptions struct {
	duration    time.Duration
	rate        int
	dataDir     string
	databaseURL string
}

// runDemo wires the system, runs the load, reads the ledger and writes the summary. It returns an
// error naming the first failed check.
func runDemo(ctx context.Context, o demoOptions, out, errOut io.Writer) (err error) {
	dir, temporary := o.dataDir, o.dataDir == ""
	if temporary {
		if dir, err = os.MkdirTemp("", "cardswitch-demo-"); err != nil {
			return err
		}
	} else if err = os.MkdirAll(dir, 0o750); err != nil {
		return usagef("--data-dir: %v", err)
	}
	logFile, err := os.OpenFile(filepath.Join(dir, demoLogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.AddSync(logFile), zap.WarnLevel))
	passed := false
	defer func() {
		log.Sync()
		logFile.Close()
		if temporary && passed {
			os.RemoveAll(dir)
		} else if temporary {
			fmt.Fprintf(out, "The ledger and the log (%s) are kept in %s\n", demoLogFile, dir)
		}
	}()

	sims, err := startDemoIssuers(log)
	if err != nil {
		return err
	}
	defer sims.stop()

	cfg := config.Default()
	cfg.Acceptor.Listen, cfg.HTTP.Listen, cfg.API.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Issuers[0].Addr, cfg.Issuers[1].Addr = sims.alpha.Addr(), sims.beta.Addr()
	cfg.Ledger.DataDir, cfg.Ledger.DatabaseURL = dir, o.databaseURL
	cfg.Log.Level = "warn"
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	// The switch gets its own context: an interrupt stops the terminals first, and the ledger is
	// read before the switch stops.
	swCtx, stopSwitch := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSwitch()
	app, err := buildSwitch(swCtx, cfg, log, time.Now)
	if err != nil {
		return err
	}
	swDone := make(chan error, 1)
	go func() { swDone <- app.run(swCtx) }()
	defer func() {
		stopSwitch()
		if swErr := <-swDone; swErr != nil && err == nil {
			err = fmt.Errorf("switch: %w", swErr)
		}
	}()
	if err := waitReady(ctx, app, swDone); err != nil {
		return err
	}
	before, _ := ledgerVerify(swCtx, app.store)

	storeName := "embedded ledger in " + dir
	if temporary {
		storeName = "embedded ledger (in a temporary directory)"
	}
	if o.databaseURL != "" {
		storeName = "PostgreSQL ledger"
	}
	fmt.Fprintf(out, "cardswitch demo: %v at %d requests/s on the %s\n", o.duration, o.rate, storeName)
	fmt.Fprintf(out, "  switch %s (HTTP %s, payments API %s), issuers alpha %s and beta %s\n", app.acqLn.Addr(), app.httpLn.Addr(),
		app.payapi.ln.Addr(), sims.alpha.Addr(), sims.beta.Addr())
	if !temporary {
		fmt.Fprintf(out, "  log (warnings and errors) in %s\n", filepath.Join(dir, demoLogFile))
	}
	fmt.Fprintln(out)

	// Web shops pay over the payments API beside the terminals, at a fifth of their rate.
	apiDone := make(chan struct{})
	var apiRep load.Report
	var apiErr error
	go func() {
		defer close(apiDone)
		apiRep, apiErr = load.RunAPI(ctx, load.APIConfig{Target: "http://" + app.payapi.ln.Addr().String(),
			Rate: max(o.rate/5, 1), Duration: o.duration, Shops: demoShops, Mix: load.Mix{60, 20, 10, 5, 5, 0},
			Timeout: demoTerminalTimeout, Log: log.Named("load-api")})
	}()
	rep, err := runDemoLoad(ctx, app.acqLn.Addr().String(), o, log, errOut)
	<-apiDone
	if err != nil {
		return err
	}
	if apiErr != nil {
		return fmt.Errorf("payments API load: %w", apiErr)
	}
	tb, tbErr := app.store.TrialBalance(swCtx)
	if tbErr != nil {
		return fmt.Errorf("trial balance: %w", tbErr)
	}
	after, verifyErr := ledgerVerify(swCtx, app.store)

	sys := load.System{Load: rep, TrialBalance: tb, Verify: after, VerifyErr: verifyErr, API: &apiRep}
	if before != nil {
		sys.DecisionsBefore = before.Transactions
	}
	failed, err := sys.WriteSummary(out)
	if err != nil {
		return err
	}
	if failed != nil {
		return fmt.Errorf("check failed: %s: %s", failed.Name, failed.Detail)
	}
	passed = true
	return nil
}

// demoIssuers are the two in-process issuer simulators of the default topology.
type demoIssuers struct {
	alpha, beta *simissuer.Simulator
	cancel      context.CancelFunc
	wg          sync.WaitGroup
}

func startDemoIssuers(log *zap.Logger) (*demoIssuers, error) {
	d := &demoIssuers{}
	var err error
	if d.alpha, err = simissuer.New(simissuer.Config{Listen: "127.0.0.1:0", Name: "alpha"}, log.Named("issuer-sim")); err != nil {
		return nil, err
	}
	if d.beta, err = simissuer.New(simissuer.Config{Listen: "127.0.0.1:0", Name: "beta"}, log.Named("issuer-sim")); err != nil {
		// alpha is listening: Run with a cancelled context releases it.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		d.alpha.Run(ctx)
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	for _, s := range []*simissuer.Simulator{d.alpha, d.beta} {
		d.wg.Go(func() {
			if err := s.Run(ctx); err != nil {
				log.Warn("issuer simulator stopped", zap.Error(err))
			}
		})
	}
	return d, nil
}

func (d *demoIssuers) stop() {
	d.cancel()
	d.wg.Wait()
}

// waitReady polls until the switch is ready (an issuer link up), it stops, or ctx ends.
func waitReady(ctx context.Context, app *switchApp, swDone <-chan error) error {
	deadline := time.Now().Add(demoReadyTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for app.ready() != nil || !bothIssuersUp(app) {
		if time.Now().After(deadline) {
			return fmt.Errorf("switch not ready after %v: %v", demoReadyTimeout, app.ready())
		}
		select {
		case err := <-swDone:
			return fmt.Errorf("switch stopped while starting: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}

func bothIssuersUp(app *switchApp) bool {
	for _, l := range app.links.list() {
		if !l.link.Status().Up {
			return false
		}
	}
	return true
}

// runDemoLoad drives the switch with the default mix, drawing a progress bar on a terminal and
// printing plain progress lines otherwise.
func runDemoLoad(ctx context.Context, target string, o demoOptions, log *zap.Logger, errOut io.Writer) (load.Report, error) {
	merchants, err := load.ParseMerchants(demoMerchants)
	if err != nil {
		return load.Report{}, err
	}
	cfg := load.Config{Target: target, Rate: o.rate, Duration: o.duration, Merchants: merchants,
		Timeout: demoTerminalTimeout, RepeatsMax: demoRepeats, InterruptGrace: demoInterruptGrace, Log: log.Named("load")}
	tty := isTerminal(errOut)
	if tty {
		cfg.ProgressInterval = demoBarInterval
		cfg.Progress = func(p load.Progress) { fmt.Fprintf(errOut, "\r  %s\x1b[K", p.Bar(demoBarWidth)) }
	} else {
		cfg.Progress = func(p load.Progress) { fmt.Fprintf(errOut, "  %s\n", p) }
	}
	rep, err := load.Run(ctx, cfg)
	if tty {
		fmt.Fprint(errOut, "\r\x1b[K")
	}
	return rep, err
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ledgerVerify runs the store's invariant checks when it has them.
func ledgerVerify(ctx context.Context, s ledgerStore) (*ledger.VerifyReport, error) {
	v, ok := s.(interface {
		Verify(context.Context) (ledger.VerifyReport, error)
	})
	if !ok {
		return nil, errors.New("this store has no verify")
	}
	r, err := v.Verify(ctx)
	if err != nil {
		return nil, err
	}
	return &r, nil
}
