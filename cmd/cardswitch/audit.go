package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/ledger"
)

// openAudit opens the audit log in the ledger's database: PostgreSQL when a URL is set, the
// embedded store's file otherwise (the ledger must have been opened first, which creates it).
func openAudit(ctx context.Context, c config.Ledger, log *zap.Logger) (*audit.Log, error) {
	l, err := audit.Open(ctx, audit.Config{DatabaseURL: c.DatabaseURL, SQLitePath: filepath.Join(c.DataDir, embeddedLedgerFile), Logger: log})
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return l, nil
}

// recordCutover records a scheduled cutover (err nil: it closed and settled rep's day).
func (a *switchApp) recordCutover(ctx context.Context, rep *ledger.SettlementReport, err error) {
	e := audit.Entry{Actor: audit.ActorSystem("cutover-schedule"), Action: audit.ActionCutover, Target: rep.BusinessDay}
	if err != nil {
		e.Result, e.Detail = audit.ResultFailed, err.Error()
	} else {
		e.Detail = cutoverDetail(rep)
	}
	// Record logs the entry whether or not the database took it; nothing more to do here.
	a.audit.Record(ctx, e)
}

func cutoverDetail(rep *ledger.SettlementReport) string {
	return fmt.Sprintf("business day closed and settled: %d merchants, %d agencies, %d issuers",
		len(rep.Merchants), len(rep.Agencies), len(rep.Issuers))
}

// newAuditCmd is `cardswitch audit`: the operators' audit log.
func newAuditCmd() *cobra.Command {
	f := &ledgerFlags{}
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "The operators' audit log: who did what and when (docs/security.md)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return usagef("audit: name a subcommand (see --help)") },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.databaseURL, "database-url", os.Getenv("CARDSWITCH_DATABASE_URL"), "PostgreSQL URL of the ledger (default $CARDSWITCH_DATABASE_URL; empty: the embedded store)")
	pf.StringVar(&f.dataDir, "data-dir", config.DefaultDataDir, "directory of the embedded store")
	pf.BoolVar(&f.json, "json", false, "print JSON")
	cmd.AddCommand(newAuditListCmd(f))
	return cmd
}

func newAuditListCmd(f *ledgerFlags) *cobra.Command {
	var (
		since, action string
		limit         int
	)
	cmd := &cobra.Command{
		Use:   "list [--since 24h|RFC3339] [--action NAME] [--limit N] [--json]",
		Short: "List operator actions, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter := audit.Filter{Action: action, Limit: limit}
			if since != "" {
				t, err := audit.ParseSince(since, time.Now())
				if err != nil {
					return usagef("--since: %v", err)
				}
				filter.Since = t
			}
			if limit < 0 || limit > audit.ListMax {
				return usagef("--limit %d must be 0..%d", limit, audit.ListMax)
			}
			l, err := f.openAudit(cmd.Context())
			if err != nil {
				return err
			}
			defer l.Close()
			entries, err := l.List(cmd.Context(), filter)
			if err != nil {
				return err
			}
			if f.json {
				if entries == nil {
					entries = []audit.Entry{}
				}
				return writeJSON(cmd.OutOrStdout(), map[string]any{"entries": entries})
			}
			return printAudit(cmd.OutOrStdout(), entries)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only actions since this time (RFC 3339) or this long ago (24h)")
	cmd.Flags().StringVar(&action, "action", "", "only this action (e.g. ledger.cutover)")
	cmd.Flags().IntVar(&limit, "limit", audit.ListDefault, "at most this many entries")
	return cmd
}

// openAudit opens the audit log of the store the flags name (its migrations are applied).
func (f *ledgerFlags) openAudit(ctx context.Context) (*audit.Log, error) {
	if f.dataDir == "" && f.databaseURL == "" {
		return nil, usagef("--data-dir must not be empty")
	}
	if f.databaseURL == "" {
		if err := os.MkdirAll(f.dataDir, 0o750); err != nil {
			return nil, usagef("--data-dir: %v", err)
		}
	}
	return openAudit(ctx, config.Ledger{DatabaseURL: f.databaseURL, DataDir: f.dataDir}, zap.NewNop())
}

func printAudit(out io.Writer, entries []audit.Entry) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tACTOR\tACTION\tTARGET\tRESULT\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Format(time.RFC3339), e.Actor, e.Action, e.Target, e.Result,
			strings.ReplaceAll(e.Detail, "\n", " "))
	}
	return tw.Flush()
}
