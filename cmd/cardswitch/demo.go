package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/iso8583"
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

// demoCheck is one check of the summary.
type demoCheck struct {
	name   string
	ok     bool
	detail string
}

// runDemo wires the system, runs the load, reads the ledger and reports. It returns an error
// naming the first failed check.
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
	cfg.Acceptor.Listen, cfg.HTTP.Listen = "127.0.0.1:0", "127.0.0.1:0"
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
	fmt.Fprintf(out, "  switch %s (HTTP %s), issuers alpha %s and beta %s\n", app.acqLn.Addr(), app.httpLn.Addr(),
		sims.alpha.Addr(), sims.beta.Addr())
	if !temporary {
		fmt.Fprintf(out, "  log (warnings and errors) in %s\n", filepath.Join(dir, demoLogFile))
	}
	fmt.Fprintln(out)

	rep, err := runDemoLoad(ctx, app.acqLn.Addr().String(), o, log, errOut)
	if err != nil {
		return err
	}
	tb, tbErr := app.store.TrialBalance(swCtx)
	if tbErr != nil {
		return fmt.Errorf("trial balance: %w", tbErr)
	}
	after, verifyErr := ledgerVerify(swCtx, app.store)

	writeDemoLoad(out, rep)
	writeDemoLedger(out, tb)
	checks := demoChecks(rep, tb, before, after, verifyErr)
	if failed := writeDemoChecks(out, checks); failed != nil {
		return fmt.Errorf("check failed: %s: %s", failed.name, failed.detail)
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
	for _, is := range app.issuers {
		if !is.Status().Up {
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

// demoChecks are the demo's promises: every request answered as it should be, the ledger
// balanced and consistent, one decision recorded per answer, no payee owing money.
func demoChecks(rep load.Report, tb ledger.TrialBalance, before, after *ledger.VerifyReport, verifyErr error) []demoCheck {
	checks := []demoCheck{
		{"every request answered", rep.Answered == rep.Sent && rep.Timeouts == 0 && rep.Unanswered == 0 && rep.Sent > 0,
			fmt.Sprintf("%s of %s answered, %d timeouts", thousands(rep.Answered), thousands(rep.Sent), rep.Timeouts)},
		{"every answer as expected", rep.Unexpected == 0 && rep.Unmatched == 0,
			fmt.Sprintf("%d unexpected, %d unreadable", rep.Unexpected, rep.Unmatched)},
	}
	balanced := demoCheck{name: "trial balance nets to zero", ok: tb.Balanced()}
	for _, c := range tb.Currencies {
		t := c.Totals
		balanced.detail += fmt.Sprintf("%s: debits = credits posted %s = %s, pending %s = %s; ", c.Currency,
			minor(t.DebitsPosted, c.Exponent), minor(t.CreditsPosted, c.Exponent), minor(t.DebitsPending, c.Exponent),
			minor(t.CreditsPending, c.Exponent))
	}
	balanced.detail = strings.TrimSuffix(balanced.detail, "; ")
	checks = append(checks, balanced)
	switch {
	case verifyErr != nil:
		checks = append(checks, demoCheck{"ledger invariants hold", false, verifyErr.Error()})
	default:
		v := demoCheck{"ledger invariants hold", after.OK(), fmt.Sprintf("%s transfers, %d violations", thousands(after.Transfers), len(after.Violations))}
		if !after.OK() {
			v.detail += ": " + after.Violations[0].Check + ": " + after.Violations[0].Detail
		}
		recorded := after.Transactions
		if before != nil {
			recorded -= before.Transactions
		}
		checks = append(checks, v, demoCheck{"one ledger decision per answer", recorded == rep.Answered,
			fmt.Sprintf("%s decisions recorded, %s answers", thousands(recorded), thousands(rep.Answered))})
	}
	neg := demoCheck{name: "no payable negative", ok: true, detail: "every merchant and agency is owed money or nothing"}
	for _, c := range tb.Currencies {
		for _, a := range c.Accounts {
			if strings.HasSuffix(a.Account, ":payable") && a.CreditsPosted < a.DebitsPosted {
				neg.ok, neg.detail = false, fmt.Sprintf("%s is %s", a.Account, minor(a.CreditsPosted-a.DebitsPosted, c.Exponent))
			}
		}
	}
	return append(checks, neg)
}

func writeDemoLoad(w io.Writer, rep load.Report) {
	stopped := ""
	if rep.Interrupted {
		stopped = " (interrupted)"
	}
	fmt.Fprintf(w, "Throughput  %s requests answered in %.1fs: %.1f/s%s\n", thousands(rep.Answered), rep.DurationSeconds,
		rep.AchievedRate, stopped)
	l := rep.Latency
	fmt.Fprintf(w, "Latency     p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	fmt.Fprintf(w, "Requests   ")
	for _, k := range []string{"purchase", "preauth", "completion", "refund", "reversal", "decline", "timeout_reversal"} {
		if kc, ok := rep.Kinds[k]; ok {
			fmt.Fprintf(w, " %s %s", k, thousands(kc.Sent))
		}
	}
	fmt.Fprintln(w)
	pct := func(n int64) float64 { return 100 * float64(n) / float64(max(rep.Answered, 1)) }
	approved := rep.ResponseCodes[iso8583.RCApproved]
	var others []string
	for _, code := range slices.Sorted(maps.Keys(rep.ResponseCodes)) {
		if code == iso8583.RCApproved {
			continue
		}
		name := "unknown"
		if rc, ok := iso8583.LookupResponseCode(code); ok {
			name = strings.ReplaceAll(rc.Name, "_", " ")
		}
		others = append(others, fmt.Sprintf("%s %s %s", code, name, thousands(rep.ResponseCodes[code])))
	}
	fmt.Fprintf(w, "Responses   00 approved %s (%.1f%%), other %s (%.1f%%)\n", thousands(approved), pct(approved),
		thousands(rep.Answered-approved), pct(rep.Answered-approved))
	for i := 0; i < len(others); i += 4 {
		fmt.Fprintf(w, "              %s\n", strings.Join(others[i:min(i+4, len(others))], ", "))
	}
}

func writeDemoLedger(w io.Writer, tb ledger.TrialBalance) {
	for _, c := range tb.Currencies {
		fmt.Fprintf(w, "\nLedger, currency %s (amounts in major units)\n", c.Currency)
		fmt.Fprintf(w, "  %-34s %16s %16s %16s %16s\n", "account", "debits posted", "credits posted", "debits pending", "credits pending")
		row := func(name string, t ledger.Totals) {
			fmt.Fprintf(w, "  %-34s %16s %16s %16s %16s\n", name, minor(t.DebitsPosted, c.Exponent), minor(t.CreditsPosted, c.Exponent),
				minor(t.DebitsPending, c.Exponent), minor(t.CreditsPending, c.Exponent))
		}
		for _, a := range c.Accounts {
			row(a.Account, a.Totals)
		}
		row("total", c.Totals)
		fmt.Fprintf(w, "\nPayees, currency %s: owed now (posted) and held (pending)\n", c.Currency)
		for _, a := range c.Accounts {
			owner, id, kind := splitAccountName(a.Account)
			if kind != "payable" {
				continue
			}
			fmt.Fprintf(w, "  %-8s %-16s %15s posted %15s pending\n", owner, id, minor(a.CreditsPosted-a.DebitsPosted, c.Exponent),
				minor(a.CreditsPending-a.DebitsPending, c.Exponent))
		}
	}
}

// splitAccountName splits "owner:id:kind".
func splitAccountName(name string) (owner, id, kind string) {
	parts := strings.SplitN(name, ":", 3)
	if len(parts) != 3 {
		return "", name, ""
	}
	return parts[0], parts[1], parts[2]
}

// writeDemoChecks prints the checks and returns the first that failed, if any.
func writeDemoChecks(w io.Writer, checks []demoCheck) *demoCheck {
	fmt.Fprintln(w, "\nChecks")
	var failed *demoCheck
	for i, c := range checks {
		mark := "ok  "
		if !c.ok {
			mark = "FAIL"
			if failed == nil {
				failed = &checks[i]
			}
		}
		fmt.Fprintf(w, "  %s  %s: %s\n", mark, c.name, c.detail)
	}
	if failed == nil {
		fmt.Fprintln(w, "\nAll checks hold.")
	}
	return failed
}

// minor renders an amount in minor units with the currency's exponent: 123456, 2 → "1,234.56".
func minor(v int64, exp int32) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	div := int64(1)
	for range exp {
		div *= 10
	}
	s := sign + thousands(v/div)
	if exp > 0 {
		s += fmt.Sprintf(".%0*d", exp, v%div)
	}
	return s
}

// thousands renders n with comma thousands separators.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
