package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/simulator/load"
)

// apiLoadFlags are the flags of `cardswitch load --api`.
type apiLoadFlags struct {
	on    bool
	keys  []string
	shops int
}

func (a *apiLoadFlags) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&a.on, "api", false, "drive the payments API instead: --target is its URL (e.g. http://127.0.0.1:8081), simulated shops pay, capture, cancel and refund")
	fl.StringSliceVar(&a.keys, "key", nil, "--api: API keys the shops use in turn (default the test keys sk_test_MERCHANT0000001, sk_test_GOVAGENCY000001)")
	fl.IntVar(&a.shops, "shops", 0, "--api: concurrent simulated shops (default 128; the --concurrency in the closed model)")
}

// runAPILoad is `cardswitch load --api`: the same report, thresholds and progress as the ISO 8583 load.
func runAPILoad(cmd *cobra.Command, f *loadFlags, a *apiLoadFlags) error {
	switch {
	case f.target == "":
		return usagef("--target is required (the API's URL, e.g. http://127.0.0.1:8081)")
	case (f.rate > 0) == (f.concurrency > 0):
		return usagef("one of --rate N (open model) or --concurrency N (closed model) is required")
	case f.duration <= 0:
		return usagef("--duration %v must be positive", f.duration)
	case a.shops < 0:
		return usagef("--shops %d must not be negative", a.shops)
	}
	mix, err := load.ParseMix(f.mix)
	if err != nil {
		return usagef("--mix: %v", err)
	}
	var thresholds []load.Threshold
	if f.expect != "" {
		if thresholds, err = load.ParseThresholds(f.expect); err != nil {
			return usagef("--expect: %v", err)
		}
	}
	log, err := stderrLogger(f.logLevel, cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	defer log.Sync()
	cfg := load.APIConfig{Target: f.target, Keys: a.keys, Rate: f.rate, Concurrency: f.concurrency, Duration: f.duration,
		Mix: mix, Shops: a.shops, CompletionShare: f.completionShare, PartialShare: f.partialShare, Timeout: f.timeout,
		Seed: f.seed, Log: log.Named("load")}
	if f.repeats > 0 && f.repeats != load.DefaultRepeatsMax {
		cfg.RetriesMax = f.repeats
	}
	if !f.quiet {
		errOut := cmd.ErrOrStderr()
		cfg.Progress = func(p load.Progress) { fmt.Fprintln(errOut, p) }
	}
	if f.ledgerLog != "" {
		lf, err := os.Create(f.ledgerLog)
		if err != nil {
			return usagef("--ledger-log: %v", err)
		}
		defer lf.Close()
		cfg.LedgerLog = lf
	}
	rep, err := load.RunAPI(cmd.Context(), cfg)
	if errors.Is(err, load.ErrConfig) {
		return usagef("%v", err)
	}
	if err != nil && rep.Sent == 0 {
		return err
	}
	if werr := rep.WriteText(cmd.OutOrStdout()); werr != nil {
		return werr
	}
	if f.report != "" {
		if rerr := writeReport(f.report, rep); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return err
	}
	return expectations(cmd.ErrOrStderr(), rep, thresholds)
}
