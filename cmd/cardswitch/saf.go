package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/ledger"
)

// newSAFCmd is `cardswitch saf`: the store-and-forward queue for operators (CONTRACT §1). It works
// on the ledger's database directly, beside a running switch or without one; a running switch's
// delivery loops pick up a retried item at their next poll.
func newSAFCmd() *cobra.Command {
	f := &ledgerFlags{}
	cmd := &cobra.Command{
		Use:   "saf",
		Short: "The store-and-forward queue: list, retry or park the reversals and advices owed to issuers",
		Long: `The store-and-forward queue: the reversals, completions and advices the switch owes issuers,
kept in the ledger's database until the issuer answers (docs/reliability.md). An item not delivered
within saf.max_age is parked; "retry" queues it again, due now, its age counted from now; "park"
stops a queued item until it is retried. Every retry and park is recorded in the audit log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return usagef("saf: name a subcommand (see --help)") },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.databaseURL, "database-url", os.Getenv("CARDSWITCH_DATABASE_URL"), "PostgreSQL URL of the ledger (default $CARDSWITCH_DATABASE_URL; empty: the embedded store)")
	pf.StringVar(&f.dataDir, "data-dir", config.DefaultDataDir, "directory of the embedded store")
	pf.BoolVar(&f.json, "json", false, "print JSON")
	cmd.AddCommand(newSAFListCmd(f), newSAFChangeCmd(f, "retry"), newSAFChangeCmd(f, "park"))
	return cmd
}

func newSAFListCmd(f *ledgerFlags) *cobra.Command {
	var (
		issuer, states string
		limit          int
	)
	cmd := &cobra.Command{
		Use:   "list [--issuer NAME] [--state queued,parked] [--limit N] [--json]",
		Short: "List items, oldest first (default: queued and parked)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			filter := ledger.SAFFilter{Issuer: issuer, Limit: limit}
			for _, name := range strings.Split(states, ",") {
				st, ok := safStates[strings.TrimSpace(name)]
				if !ok {
					return usagef("--state %q must be a list of intent, queued, delivered, parked", name)
				}
				filter.States = append(filter.States, st)
			}
			if limit < 1 || limit > ledger.MaxSAFList {
				return usagef("--limit %d must be 1..%d", limit, ledger.MaxSAFList)
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			items, err := s.SAFList(cmd.Context(), filter)
			if err != nil {
				return err
			}
			if f.json {
				if items == nil {
					items = []ledger.SAFItem{}
				}
				return writeJSON(cmd.OutOrStdout(), map[string]any{"items": items})
			}
			return printSAF(cmd.OutOrStdout(), items, time.Now())
		},
	}
	cmd.Flags().StringVar(&issuer, "issuer", "", "only this issuer's items")
	cmd.Flags().StringVar(&states, "state", "queued,parked", "states to list: intent, queued, delivered, parked")
	cmd.Flags().IntVar(&limit, "limit", 100, "at most this many items")
	return cmd
}

var safStates = map[string]ledger.SAFState{"intent": ledger.SAFIntent, "queued": ledger.SAFQueued,
	"delivered": ledger.SAFDelivered, "parked": ledger.SAFParked}

// newSAFChangeCmd is `saf retry ID...` (parked → queued) or `saf park ID...` (queued → parked).
func newSAFChangeCmd(f *ledgerFlags, verb string) *cobra.Command {
	op, from, action := ledger.SAFRetry, ledger.SAFParked, audit.ActionSAFRetry
	short := "Queue parked items again, due now (their age counted from now)"
	if verb == "park" {
		op, from, action = ledger.SAFPark, ledger.SAFQueued, audit.ActionSAFPark
		short = "Park queued items until they are retried"
	}
	var reason string
	cmd := &cobra.Command{
		Use:   verb + " ID...",
		Short: short,
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var seqs []int64
			for _, a := range args {
				n, err := strconv.ParseInt(a, 10, 64)
				if err != nil || n <= 0 {
					return usagef("%q is not an item id (a positive integer, as `cardswitch saf list` shows)", a)
				}
				seqs = append(seqs, n)
			}
			ctx := cmd.Context()
			s, err := f.open(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			log, err := f.openAudit(ctx)
			if err != nil {
				return err
			}
			defer log.Close()
			var failed error
			for _, seq := range seqs {
				msg, err := changeSAFItem(ctx, s, seq, op, from, reason)
				e := audit.Entry{Actor: audit.ActorCLI(), Action: action, Target: strconv.FormatInt(seq, 10), Detail: msg}
				switch {
				case errors.Is(err, errSAFState) || errors.Is(err, ledger.ErrNotFound):
					e.Result = audit.ResultRefused
					failed = usagef("item %d: %v", seq, err)
				case err != nil:
					e.Result, e.Detail = audit.ResultFailed, err.Error()
					failed = fmt.Errorf("item %d: %w", seq, err)
				}
				log.Record(ctx, e)
				if err == nil {
					fmt.Fprintf(cmd.OutOrStdout(), "item %d %s: %s\n", seq, map[string]string{"retry": "queued", "park": "parked"}[verb], msg)
				}
			}
			return failed
		},
	}
	if verb == "park" {
		cmd.Flags().StringVar(&reason, "reason", "parked by an operator", "why (kept as the item's last error)")
	}
	return cmd
}

var errSAFState = errors.New("not in a state this command changes")

// changeSAFItem applies op to item seq if it is in state from, and describes what happened.
func changeSAFItem(ctx context.Context, s ledger.Store, seq int64, op ledger.SAFOp, from ledger.SAFState, reason string) (string, error) {
	it, err := s.SAFItem(ctx, seq)
	if err != nil {
		return "", err
	}
	what := fmt.Sprintf("%s %s of %s for %s", it.Kind, it.MTI, it.RRN, it.Issuer)
	if it.State != from {
		return what + " is " + it.State.String(), fmt.Errorf("%w: it is %s, not %s", errSAFState, it.State, from)
	}
	if err := ledger.ChangeSAFDirect(ctx, s, []ledger.SAFChange{{Op: op, Seq: seq, At: time.Now(), Error: reason}}); err != nil {
		return what, err
	}
	return what, nil
}

func printSAF(out io.Writer, items []ledger.SAFItem, now time.Time) error {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tISSUER\tKIND\tSTATE\tMTI\tRRN\tPAN\tAMOUNT\tAGE\tATTEMPTS\tNEXT\tLAST ERROR")
	for _, it := range items {
		next := "-"
		if it.State == ledger.SAFQueued {
			next = it.NextAttemptAt.Sub(now).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", it.Seq, it.Issuer, it.Kind, it.State, it.MTI, it.RRN,
			it.MaskedPAN, it.Amount, now.Sub(it.QueuedAt).Round(time.Second), it.Attempts, next, it.LastError)
	}
	return tw.Flush()
}
