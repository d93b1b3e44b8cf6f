package main

import (
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/carddata"
	"github.com/cardswitch/cardswitch/config"
)

// newServeCmd is `cardswitch serve`: the switch daemon.
func newServeCmd() *cobra.Command {
	var (
		configPath  string
		databaseURL string
		printConfig bool
	)
	cmd := &cobra.Command{
		Use:   "serve [--config FILE]",
		Short: "Run the switch (default topology of CONTRACT §6 without --config)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(configPath)
			if err != nil {
				return err
			}
			if databaseURL != "" {
				cfg.Ledger.DatabaseURL = databaseURL
				if err := cfg.Validate(); err != nil {
					return usageError{err}
				}
			}
			if printConfig {
				b, err := cfg.Redacted().YAML()
				if err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			guard := carddata.NewGuard()
			log, level, err := newLogger(cfg.Log, guard)
			if err != nil {
				return err
			}
			defer log.Sync()
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(cfg.Runtime.GCPercent)
			}
			// SIGHUP re-reads the file (before the switch is built: unhandled, it would kill the process).
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			app, err := buildSwitch(cmd.Context(), cfg, log, time.Now)
			if err != nil {
				return err
			}
			app.reg.MustRegister(guard)
			override := func(c *config.Config) {
				if databaseURL != "" {
					c.Ledger.DatabaseURL = databaseURL
				}
			}
			app.reload = newReloader(app.reg, configPath, override, level, cfg, app.now())
			app.hup = hup
			return app.run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "YAML configuration file (default: the built-in default topology)")
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective configuration (defaults, file and environment applied; secrets redacted) and exit")
	cmd.Flags().StringVar(&databaseURL, "database-url", "", "PostgreSQL URL for the ledger (overrides the config and CARDSWITCH_DATABASE_URL)")
	return cmd
}

// loadConfig reads the config file, or the default topology when path is empty, and applies the
// environment. Any problem is a usage error (exit 2) naming the key.
func loadConfig(path string) (*config.Config, error) {
	var (
		cfg *config.Config
		err error
	)
	if path == "" {
		cfg = config.Default()
		cfg.ApplyEnv(os.Getenv)
		if err = cfg.LoadSecrets(); err == nil {
			err = cfg.Validate()
		}
	} else {
		cfg, err = config.Load(path, os.Getenv)
	}
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}
