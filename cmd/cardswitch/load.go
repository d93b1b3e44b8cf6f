package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/simulator/load"
	"github.com/cardswitch/cardswitch/tlsconf"
)

// loadFlags are the command line of `cardswitch load`.
type loadFlags struct {
	target, mix, merchants, bins, framing, prefix, currency, spec, header string
	report, ledgerLog, expect, logLevel                                   string
	rate, concurrency, terminals, connsPerTerminal, cards                 int
	repeats, completionShare, partialShare, maxInFlight                   int
	duration, timeout, completionDelay                                    time.Duration
	noReversal, quiet                                                     bool
	seed                                                                  uint64
	requests                                                              int64
}

// newLoadCmd is `cardswitch load`: the card and terminal simulator as a load generator.
func newLoadCmd() *cobra.Command {
	var f loadFlags
	var keys loadKeys
	var api apiLoadFlags
	var tlsF clientTLSFlags
	cmd := &cobra.Command{
		Use:   "load --target ADDR (--rate N | --concurrency N) [--duration D] [--mix ...] [--report FILE] [--expect ...]",
		Short: "Drive the acquirer interface with a fleet of simulated terminals and check every answer",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if api.on {
				return runAPILoad(cmd, &f, &api)
			}
			cfg, thresholds, err := f.config()
			if err != nil {
				return err
			}
			if cfg.Keys, err = keys.keys(); err != nil {
				return err
			}
			if cfg.TLS, err = tlsF.config(); err != nil {
				return err
			}
			cfg.TLS = tlsconf.ForAddr(cfg.TLS, cfg.Target)
			log, err := stderrLogger(f.logLevel, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer log.Sync()
			cfg.Log = log.Named("load")
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
			rep, err := load.Run(cmd.Context(), cfg)
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
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.target, "target", "", "acquirer interface to load, host:port (required)")
	fl.IntVar(&f.rate, "rate", 0, "open model: requests per second in total, latency measured from each intended send time")
	fl.IntVar(&f.concurrency, "concurrency", 0, "closed model: requests outstanding in total (instead of --rate)")
	fl.DurationVar(&f.duration, "duration", load.DefaultDuration, "how long new requests are sent")
	fl.Int64Var(&f.requests, "requests", 0, "stop sending after this many requests (0: only --duration ends the run)")
	fl.StringVar(&f.mix, "mix", load.DefaultMix.String(), "weights of purchase, preauth, refund, reversal, decline and timeout (amount ending 99)")
	fl.StringVar(&f.merchants, "merchants", load.DefaultMerchant, "merchants (field 42) and their weights, e.g. MERCHANT0000001=90,GOVAGENCY000001=10")
	fl.StringVar(&f.bins, "bins", "4,5", "PAN prefixes of the test cards (the default routes: 4 alpha, 5 beta)")
	fl.IntVar(&f.cards, "cards", load.DefaultCards, "distinct test cards")
	fl.StringVar(&f.currency, "currency", load.DefaultCurrency, "field 49, ISO 4217 numeric")
	fl.IntVar(&f.terminals, "terminals", load.DefaultTerminals, "terminals (field 41), each with its own STAN sequence")
	fl.IntVar(&f.connsPerTerminal, "conns-per-terminal", load.DefaultConnsPerTerminal, "TCP connections per terminal")
	fl.StringVar(&f.prefix, "terminal-prefix", load.DefaultTerminalPrefix, "start of the terminal IDs, padded with digits to 8 characters")
	fl.StringVar(&f.framing, "framing", "binary2", "length header: binary2, ascii4 or bcd2")
	fl.StringVar(&f.spec, "spec", iso8583.SpecContract, "the terminals' spec: contract, moov-spec87ascii, moov-spec87hex, or a moov-io JSON spec file (docs/iso8583.md)")
	fl.StringVar(&f.header, "header", "", "message header after the length: tpdu:<10 hex digits>, hex:<bytes> or ascii:<text>")
	fl.DurationVar(&f.timeout, "timeout", load.DefaultTimeout, "a request unanswered this long is a timeout")
	fl.BoolVar(&f.noReversal, "no-reversal", false, "do not send a 0400 reversal for a 0100/0200 that timed out")
	fl.IntVar(&f.repeats, "repeats", load.DefaultRepeatsMax, "repeats (0401, 0221) of a reversal or completion that timed out")
	fl.IntVar(&f.completionShare, "completion-share", load.DefaultCompletionShare, "percentage of approved pre-authorizations captured by a 0220")
	fl.IntVar(&f.partialShare, "partial-share", load.DefaultPartialShare, "percentage of completions capturing less than the hold")
	fl.DurationVar(&f.completionDelay, "completion-delay", load.DefaultCompletionDelay, "time between a hold's approval and its capture")
	fl.IntVar(&f.maxInFlight, "max-in-flight", load.DefaultMaxInFlightPerConn, "requests outstanding on one connection")
	fl.Uint64Var(&f.seed, "seed", 0, "random seed for cards, amounts and the mix (0: from the clock)")
	fl.StringVar(&f.report, "report", "", "write the summary as JSON to this file")
	fl.StringVar(&f.ledgerLog, "ledger-log", "", "write one JSON line per approved answer to this file (see docs/load.md)")
	fl.StringVar(&f.expect, "expect", "", "thresholds, e.g. p99<50ms,unexpected=0,timeouts=0,rate>=4500: exit 1 when one is not met")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress line each second")
	fl.StringVar(&f.logLevel, "log-level", "warn", "log level on stderr (warn shows the first unexpected answers)")
	keys.flags(cmd)
	api.flags(cmd)
	tlsF.register(cmd)
	return cmd
}

// config checks the flags and builds the run's configuration; every problem is a usage error.
func (f *loadFlags) config() (load.Config, []load.Threshold, error) {
	var thresholds []load.Threshold
	switch {
	case f.target == "":
		return load.Config{}, nil, usagef("--target is required (host:port)")
	case f.rate < 0 || f.concurrency < 0:
		return load.Config{}, nil, usagef("--rate and --concurrency must not be negative")
	case f.rate > 0 && f.concurrency > 0:
		return load.Config{}, nil, usagef("--rate (open model) and --concurrency (closed model) exclude each other")
	case f.rate == 0 && f.concurrency == 0:
		return load.Config{}, nil, usagef("--rate N or --concurrency N is required")
	case f.duration <= 0:
		return load.Config{}, nil, usagef("--duration %v must be positive", f.duration)
	case f.requests < 0:
		return load.Config{}, nil, usagef("--requests %d must not be negative", f.requests)
	case f.timeout <= 0:
		return load.Config{}, nil, usagef("--timeout %v must be positive", f.timeout)
	case f.repeats < 0:
		return load.Config{}, nil, usagef("--repeats %d must not be negative", f.repeats)
	case f.completionShare < 0 || f.completionShare > 100 || f.partialShare < 0 || f.partialShare > 100:
		return load.Config{}, nil, usagef("--completion-share and --partial-share must be 0..100")
	}
	if _, _, err := net.SplitHostPort(f.target); err != nil {
		return load.Config{}, nil, usagef("--target %q must be host:port", f.target)
	}
	mix, err := load.ParseMix(f.mix)
	if err != nil {
		return load.Config{}, nil, usagef("--mix: %v", err)
	}
	merchants, err := load.ParseMerchants(f.merchants)
	if err != nil {
		return load.Config{}, nil, usagef("--%v", err)
	}
	framing, err := iso8583.ParseFraming(f.framing)
	if err != nil {
		return load.Config{}, nil, usagef("--framing: %v", err)
	}
	spec, err := iso8583.LoadSpec(f.spec)
	if err != nil {
		return load.Config{}, nil, usagef("--spec: %v", err)
	}
	header, err := iso8583.ParseHeader(f.header)
	if err != nil {
		return load.Config{}, nil, usagef("--header: %v", err)
	}
	if f.expect != "" {
		if thresholds, err = load.ParseThresholds(f.expect); err != nil {
			return load.Config{}, nil, usagef("--expect: %v", err)
		}
	}
	cfg := load.Config{
		Target: f.target, Rate: f.rate, Concurrency: f.concurrency, Duration: f.duration, Requests: f.requests, Mix: mix,
		Terminals: f.terminals, ConnsPerTerminal: f.connsPerTerminal, TerminalPrefix: f.prefix, Framing: framing,
		BINs: strings.Split(f.bins, ","), Cards: f.cards, Merchants: merchants, Currency: f.currency, Timeout: f.timeout,
		NoReversal: f.noReversal, RepeatsMax: orNone(f.repeats), CompletionShare: orNone(f.completionShare),
		PartialShare: orNone(f.partialShare), CompletionDelay: f.completionDelay, MaxInFlightPerConn: f.maxInFlight,
		Seed: f.seed, Spec: spec, Header: header,
	}
	if f.completionDelay == 0 {
		cfg.CompletionDelay = time.Nanosecond // "at once"; zero would mean the default
	}
	return cfg, thresholds, nil
}

// orNone maps a flag's 0 to the library's "none" (-1), whose zero value means "the default".
func orNone(n int) int {
	if n == 0 {
		return -1
	}
	return n
}

// stderrLogger is a JSON logger on w at level.
func stderrLogger(level string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, usagef("--log-level %q: %v", level, err)
	}
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl)), nil
}

func writeReport(path string, rep load.Report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("--report: %w", err)
	}
	return nil
}

// expectations prints every threshold the run did not meet and fails when there is one.
func expectations(w io.Writer, rep load.Report, thresholds []load.Threshold) error {
	failed := load.Check(rep, thresholds)
	for _, f := range failed {
		fmt.Fprintln(w, "expectation", f)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d expectations not met", len(failed), len(thresholds))
	}
	return nil
}
