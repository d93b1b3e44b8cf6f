package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/hsm/payshield"
)

// newHSMCmd is `cardswitch hsm`: the software HSM speaking the payShield host protocol.
func newHSMCmd() *cobra.Command {
	var (
		listen    string
		lmkSource string
		headerLen int
		logLevel  string
	)
	cmd := &cobra.Command{
		Use:   "hsm --listen ADDR [--lmk test|FILE] [--header-len 4]",
		Short: "Run the software HSM speaking the Thales payShield host protocol",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if listen == "" {
				return usagef("--listen is required (host:port)")
			}
			if _, _, err := net.SplitHostPort(listen); err != nil {
				return usagef("--listen %q must be host:port", listen)
			}
			if headerLen < 0 || headerLen > payshield.HeaderLenMax {
				return usagef("--header-len %d must be 0 to %d", headerLen, payshield.HeaderLenMax)
			}
			level, err := zapcore.ParseLevel(logLevel)
			if err != nil {
				return usagef("--log-level %q: %v", logLevel, err)
			}
			var lmk *hsm.LMK
			if lmkSource == "test" {
				lmk = hsm.TestLMK()
			} else if lmk, err = hsm.LoadLMKFile(lmkSource); err != nil {
				return usagef("--lmk: %v", err)
			}
			cfg := zap.NewProductionConfig()
			cfg.Level = zap.NewAtomicLevelAt(level)
			log, err := cfg.Build()
			if err != nil {
				return fmt.Errorf("logger: %w", err)
			}
			defer log.Sync()
			srv, err := payshield.NewServer(hsm.NewSoft(lmk), payshield.Config{HeaderLen: headerLen}, log)
			if err != nil {
				return usagef("%v", err)
			}
			ln, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("listen: %w", err)
			}
			log.Info("hsm listening", zap.String("addr", ln.Addr().String()),
				zap.Bool("test-lmk", lmk.IsTest()), zap.String("lmk-check-value", lmk.CheckValue()[:6]),
				zap.Int("header-len", headerLen))
			fmt.Fprintf(cmd.OutOrStdout(), "hsm listening on %s (LMK check value %s)\n", ln.Addr(), lmk.CheckValue()[:6])
			err = srv.Serve(cmd.Context(), ln)
			log.Info("hsm stopped")
			return err
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "address to listen on, host:port (required)")
	cmd.Flags().StringVar(&lmkSource, "lmk", "test", `"test" for the public Thales test LMK set, or an LMK file (see docs/hsm.md)`)
	cmd.Flags().IntVar(&headerLen, "header-len", payshield.DefaultHeaderLen, "message header length in characters, echoed back")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug logs every command (code and result only), info logs start and stop")
	return cmd
}
