package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/ledger"
)

// ledgerFlags are the flags every `cardswitch ledger` subcommand shares.
type ledgerFlags struct {
	databaseURL string
	dataDir     string
	json        bool
}

// newLedgerCmd is `cardswitch ledger`: administration of the ledger store (CONTRACT.md §9).
func newLedgerCmd() *cobra.Command {
	f := &ledgerFlags{}
	cmd := &cobra.Command{
		Use:   "ledger",
		Short: "Administer the ledger: migrate, trial balance, balances, verify, cutover, settlement, reconcile",
		Long: `Administer the ledger. The store is PostgreSQL when --database-url (or CARDSWITCH_DATABASE_URL)
is set, otherwise the embedded store in --data-dir. Amounts in JSON are minor units of the currency.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return usagef("ledger: name a subcommand (see --help)") },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.databaseURL, "database-url", os.Getenv("CARDSWITCH_DATABASE_URL"), "PostgreSQL URL (default $CARDSWITCH_DATABASE_URL; empty: the embedded store)")
	pf.StringVar(&f.dataDir, "data-dir", config.DefaultDataDir, "directory of the embedded store")
	pf.BoolVar(&f.json, "json", false, "print JSON")
	cmd.AddCommand(
		newLedgerMigrateCmd(f),
		newLedgerTrialBalanceCmd(f),
		newLedgerBalancesCmd(f),
		newLedgerVerifyCmd(f),
		newLedgerCutoverCmd(f),
		newLedgerSettlementCmd(f),
		newLedgerReconcileCmd(f),
	)
	return cmd
}

// open opens the store the flags name. Opening applies pending migrations.
func (f *ledgerFlags) open(ctx context.Context) (ledger.Store, error) {
	if f.dataDir == "" && f.databaseURL == "" {
		return nil, usagef("--data-dir must not be empty")
	}
	s, err := openLedger(ctx, config.Ledger{DatabaseURL: f.databaseURL, DataDir: f.dataDir}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	full, ok := s.(ledger.Store)
	if !ok {
		s.Close()
		return nil, fmt.Errorf("ledger store %s lacks the administration API", s.Describe())
	}
	return full, nil
}

func newLedgerMigrateCmd(f *ledgerFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the embedded schema migrations the store lacks",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			day, err := s.BusinessDay(cmd.Context())
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(cmd.OutOrStdout(), map[string]string{"status": "migrated", "business_day": day})
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "ledger schema up to date; open business day %s\n", day)
			return err
		},
	}
}

func newLedgerTrialBalanceCmd(f *ledgerFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "trial-balance",
		Short: "Print every account's posted and pending debits and credits, per currency, with totals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			tb, err := s.TrialBalance(cmd.Context())
			if err != nil {
				return err
			}
			if f.json {
				return writeJSON(cmd.OutOrStdout(), tb)
			}
			return printTrialBalance(cmd.OutOrStdout(), tb)
		},
	}
}

func printTrialBalance(out io.Writer, tb ledger.TrialBalance) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, c := range tb.Currencies {
		fmt.Fprintf(tw, "currency %s\t debits posted\t credits posted\t debits pending\t credits pending\t\n", c.Currency)
		row := func(name string, t ledger.Totals) {
			fmt.Fprintf(tw, "%s\t %s\t %s\t %s\t %s\t\n", name, money(t.DebitsPosted, c.Exponent), money(t.CreditsPosted, c.Exponent),
				money(t.DebitsPending, c.Exponent), money(t.CreditsPending, c.Exponent))
		}
		for _, a := range c.Accounts {
			row(a.Account, a.Totals)
		}
		row("total", c.Totals)
		fmt.Fprintln(tw, "\t\t\t\t\t")
	}
	if len(tb.Currencies) == 0 {
		fmt.Fprintln(tw, "no accounts yet")
	}
	if !tb.Balanced() {
		fmt.Fprintln(tw, "NOT BALANCED: run `cardswitch ledger verify`")
	}
	return tw.Flush()
}

func newLedgerBalancesCmd(f *ledgerFlags) *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "balances [--account PREFIX]",
		Short: "Print each account's balance (credits minus debits posted) and its pending amounts",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			all, err := s.Balances(cmd.Context())
			if err != nil {
				return err
			}
			type line struct {
				Account        string `json:"account"`
				Currency       string `json:"currency"`
				Exponent       int32  `json:"exponent"`
				Balance        int64  `json:"balance"`
				DebitsPending  int64  `json:"debits_pending"`
				CreditsPending int64  `json:"credits_pending"`
			}
			lines := []line{}
			for _, a := range all {
				if strings.HasPrefix(a.Name, prefix) {
					exp, _ := ledger.Exponent(a.Currency)
					lines = append(lines, line{a.Name, a.Currency, exp, a.Balance(), a.DebitsPending, a.CreditsPending})
				}
			}
			if f.json {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"accounts": lines})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "account\t currency\t balance\t debits pending\t credits pending\t")
			for _, l := range lines {
				fmt.Fprintf(tw, "%s\t %s\t %s\t %s\t %s\t\n", l.Account, l.Currency, money(l.Balance, l.Exponent),
					money(l.DebitsPending, l.Exponent), money(l.CreditsPending, l.Exponent))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&prefix, "account", "", "only accounts whose name starts with this (e.g. merchant:)")
	return cmd
}

func newLedgerVerifyCmd(f *ledgerFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "verify",
		Short: "Check every ledger invariant; exit 1 on any violation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := s.Verify(cmd.Context())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if f.json {
				err = writeJSON(out, rep)
			} else {
				err = printVerify(out, rep)
			}
			if err != nil {
				return err
			}
			if !rep.OK() {
				return fmt.Errorf("ledger verify: %d invariant violations", len(rep.Violations))
			}
			return nil
		},
	}
}

func printVerify(out io.Writer, rep ledger.VerifyReport) error {
	for _, v := range rep.Violations {
		if _, err := fmt.Fprintf(out, "VIOLATION %s: %s\n", v.Check, v.Detail); err != nil {
			return err
		}
	}
	verdict := "every invariant holds"
	if !rep.OK() {
		verdict = fmt.Sprintf("%d violations", len(rep.Violations))
	}
	_, err := fmt.Fprintf(out, "checked %d accounts, %d transfers, %d transactions: %s\n",
		rep.Accounts, rep.Transfers, rep.Transactions, verdict)
	return err
}

// reportFlags choose the settlement report's format.
type reportFlags struct {
	day string
	csv bool
}

func (r *reportFlags) add(cmd *cobra.Command, dayUsage string) {
	cmd.Flags().StringVar(&r.day, "business-day", "", dayUsage)
	cmd.Flags().BoolVar(&r.csv, "csv", false, "print the settlement report as CSV")
}

func (r *reportFlags) check(f *ledgerFlags, dayRequired bool) error {
	if r.csv && f.json {
		return usagef("--csv and --json are exclusive")
	}
	if r.day == "" && dayRequired {
		return usagef("--business-day is required (YYYY-MM-DD)")
	}
	if _, err := time.Parse(time.DateOnly, r.day); r.day != "" && err != nil {
		return usagef("--business-day %q must be YYYY-MM-DD", r.day)
	}
	return nil
}

func (r *reportFlags) print(out io.Writer, f *ledgerFlags, rep *ledger.SettlementReport) error {
	switch {
	case f.json:
		return writeJSON(out, rep)
	case r.csv:
		return rep.WriteCSV(out)
	}
	return printSettlement(out, rep)
}

func newLedgerCutoverCmd(f *ledgerFlags) *cobra.Command {
	r := &reportFlags{}
	cmd := &cobra.Command{
		Use:   "cutover [--business-day YYYY-MM-DD] [--json|--csv]",
		Short: "Close the open business day, move each party's net position to its settlement account, print the report",
		Long: `Close the open business day (with --business-day, only if that day is still open), open the next
one, and settle the closed day: per merchant, agency and issuer, the net position moves to the party's
settlement account by a transfer whose id derives from the day. Run again for a closed day, it
prints the report and moves no money twice.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.check(f, false); err != nil {
				return err
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			rep, err := ledger.Cutover(cmd.Context(), s, time.Now(), r.day)
			if aerr := f.recordCutover(cmd.Context(), r.day, rep, err); aerr != nil && err == nil {
				// the day is closed: print its report, then fail for the missing audit entry
				if perr := r.print(cmd.OutOrStdout(), f, rep); perr != nil {
					return perr
				}
				return aerr
			}
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), f, rep)
		},
	}
	r.add(cmd, "close only this day (idempotent: a closed day is settled again, never twice)")
	return cmd
}

func newLedgerSettlementCmd(f *ledgerFlags) *cobra.Command {
	r := &reportFlags{}
	a := &agencyFlags{}
	cmd := &cobra.Command{
		Use:   "settlement --business-day YYYY-MM-DD [--agency ID [--currency 840]] [--json|--csv]",
		Short: "Print a business day's settlement report without moving money (with --agency, the agency's reconciliation)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := r.check(f, true); err != nil {
				return err
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if a.agency != "" {
				return a.print(cmd.Context(), cmd.OutOrStdout(), f, r, s)
			}
			rep, err := ledger.Report(cmd.Context(), s, r.day, time.Now())
			if err != nil {
				return err
			}
			return r.print(cmd.OutOrStdout(), f, rep)
		},
	}
	r.add(cmd, "the business day to report (required)")
	a.add(cmd)
	return cmd
}

func printSettlement(out io.Writer, rep *ledger.SettlementReport) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "business day %s\t\t\t\t\t\t\t\t\n", rep.BusinessDay)
	fmt.Fprintln(tw, "party\t id\t currency\t count\t gross\t fees\t net\t settlement\t")
	for _, g := range []struct {
		party string
		lines []ledger.SettlementLine
	}{{"merchant", rep.Merchants}, {"agency", rep.Agencies}, {"issuer", rep.Issuers}} {
		for _, l := range g.lines {
			status := "-"
			if l.Settlement != nil {
				status = l.Settlement.Status
			}
			fmt.Fprintf(tw, "%s\t %s\t %s\t %d\t %s\t %s\t %s\t %s\t\n", g.party, l.ID, l.Currency, l.Count,
				money(l.Gross, l.Exponent), money(l.Fees, l.Exponent), money(l.Net, l.Exponent), status)
		}
	}
	return tw.Flush()
}

// money formats minor units with the currency's exponent: 10003, 2 → "100.03".
func money(v int64, exp int32) string {
	if exp <= 0 {
		return strconv.FormatInt(v, 10)
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	s := strconv.FormatInt(v, 10)
	if len(s) <= int(exp) {
		s = strings.Repeat("0", int(exp)-len(s)+1) + s
	}
	return sign + s[:len(s)-int(exp)] + "." + s[len(s)-int(exp):]
}

func writeJSON(out io.Writer, v any) error {
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// recordCutover records a cutover run from the command line in the audit log (err: it failed).
func (f *ledgerFlags) recordCutover(ctx context.Context, day string, rep *ledger.SettlementReport, err error) error {
	l, aerr := f.openAudit(ctx)
	if aerr != nil {
		return aerr
	}
	defer l.Close()
	e := audit.Entry{Actor: audit.ActorCLI(), Action: audit.ActionCutover, Target: day}
	switch {
	case err != nil:
		e.Result, e.Detail = audit.ResultFailed, err.Error()
	default:
		e.Target, e.Detail = rep.BusinessDay, cutoverDetail(rep)
	}
	if e.Target == "" {
		e.Target = "open business day"
	}
	_, aerr = l.Record(ctx, e)
	return aerr
}
