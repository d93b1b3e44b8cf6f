package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cardswitch/cardswitch/iso8583"
	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
)

// newIssuerSimCmd is `cardswitch issuer-sim`: an issuer host answering by the rules of CONTRACT §5.
func newIssuerSimCmd() *cobra.Command {
	var (
		cfg      simissuer.Config
		framing  string
		specName string
		header   string
		logLevel string
		keys     simKeys
		journal  string
		jsync    bool
		tlsF     serverTLSFlags
	)
	cmd := &cobra.Command{
		Use:   "issuer-sim --listen ADDR [--name N] [--slow-delay 10s] [--latency 0s] [--framing binary2] [--spec S] [--header H] [--max-conns N] [--journal FILE [--journal-sync]] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--lmk test --zpk CRYPTOGRAM [--pin 1234] --zak CRYPTOGRAM]",
		Short: "Run an issuer host simulator (decisions on the last two digits of the amount)",
		Long: `Run an issuer host simulator. It answers on the last two digits of field 4 (minor units):
05, 14, 51, 54, 55, 57, 61, 62, 65 with that response code; 98 with an approval after --slow-delay;
99 never; anything else with 00 and an approval code. 0800, reversals, advices and refunds get 00.
With --zpk it first checks field 52: a PIN other than --pin under that ZPK is answered 55; with
--zak every request's MAC (64, or 128 with a secondary bitmap) is checked: a bad one gets 63.
With --journal every request, advice and reversal is appended to FILE (JSON lines) with its answer
before the answer is sent: what ` + "`cardswitch ledger reconcile --journal FILE`" + ` compares with the ledger.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case cfg.Listen == "":
				return usagef("--listen is required (host:port)")
			case !validListen(cfg.Listen):
				return usagef("--listen %q must be host:port", cfg.Listen)
			case cfg.Name == "":
				return usagef("--name must not be empty")
			case cfg.SlowDelay <= 0:
				return usagef("--slow-delay %v must be positive", cfg.SlowDelay)
			case cfg.Latency < 0:
				return usagef("--latency %v must not be negative", cfg.Latency)
			case cfg.MaxConns < 1:
				return usagef("--max-conns %d must be at least 1", cfg.MaxConns)
			}
			f, err := iso8583.ParseFraming(framing)
			if err != nil {
				return usagef("--framing: %v", err)
			}
			cfg.Framing = f
			if cfg.Spec, err = iso8583.LoadSpec(specName); err != nil {
				return usagef("--spec: %v", err)
			}
			if cfg.Header, err = iso8583.ParseHeader(header); err != nil {
				return usagef("--header: %v", err)
			}
			if cfg.Security, err = keys.security(); err != nil {
				return err
			}
			if cfg.TLS, err = tlsF.config(); err != nil {
				return err
			}
			level, err := zapcore.ParseLevel(logLevel)
			if err != nil {
				return usagef("--log-level %q: %v", logLevel, err)
			}
			zc := zap.NewProductionConfig()
			zc.Level = zap.NewAtomicLevelAt(level)
			log, err := zc.Build()
			if err != nil {
				return fmt.Errorf("logger: %w", err)
			}
			defer log.Sync()
			if journal != "" {
				j, err := simissuer.OpenJournal(journal, jsync)
				if err != nil {
					return usagef("--journal: %v", err)
				}
				defer j.Close()
				cfg.Journal = j
			} else if jsync {
				return usagef("--journal-sync needs --journal")
			}
			sim, err := simissuer.New(cfg, log)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "issuer-sim %s listening on %s\n", cfg.Name, sim.Addr())
			return sim.Run(cmd.Context())
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&cfg.Listen, "listen", "", "address to listen on, host:port (required)")
	fl.StringVar(&cfg.Name, "name", "issuer-sim", "issuer name in logs")
	fl.DurationVar(&cfg.SlowDelay, "slow-delay", simissuer.DefaultSlowDelay, "delay before approving an amount ending in 98")
	fl.DurationVar(&cfg.Latency, "latency", 0, "added to every answer")
	fl.StringVar(&framing, "framing", "binary2", "length header: binary2, ascii4 or bcd2")
	fl.StringVar(&specName, "spec", iso8583.SpecContract, "spec: contract, moov-spec87ascii, moov-spec87hex, or a moov-io JSON spec file (docs/iso8583.md)")
	fl.StringVar(&header, "header", "", "message header after the length: tpdu:<10 hex digits> (answered with its NIIs swapped), hex:<bytes> or ascii:<text>")
	fl.IntVar(&cfg.MaxConns, "max-conns", simissuer.DefaultMaxConns, "concurrent connections accepted")
	fl.StringVar(&journal, "journal", "", "append every request, advice and reversal with its answer to this file (JSON lines)")
	fl.BoolVar(&jsync, "journal-sync", false, "fsync the journal after every record (survives a power loss, not only a kill)")
	fl.StringVar(&logLevel, "log-level", "info", "log level: debug logs connections and bad frames, info start and stop")
	keys.flags(cmd)
	tlsF.register(cmd)
	return cmd
}

func validListen(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port != ""
}
