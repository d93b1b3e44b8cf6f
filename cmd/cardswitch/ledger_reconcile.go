package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/reconcile"
)

// reconcileListedDefault bounds the differences printed as text (the JSON has them all).
const reconcileListedDefault = 100

// newLedgerReconcileCmd is `cardswitch ledger reconcile`: what an issuer holds (its journal or
// settlement file) and what terminals were told (a load generator's ledger log) against the
// ledger, transaction by transaction. Exit 1 when anything disagrees.
func newLedgerReconcileCmd(f *ledgerFlags) *cobra.Command {
	var (
		issuer, journal, approvals string
		listed                     int
	)
	cmd := &cobra.Command{
		Use:   "reconcile --issuer NAME --journal FILE | --approvals FILE",
		Short: "List every transaction on which an issuer (or the terminals) and the ledger disagree",
		Long: `Compare an issuer's record with the ledger, by RRN: --journal is the journal of
cardswitch issuer-sim --journal, or an issuer's settlement file in CSV (header row with the
journal's field names; see docs/ledger.md). Every RRN on which they disagree is listed: an issuer
approval the ledger does not hold (a cardholder charged for nothing), a ledger approval the issuer
does not hold, amounts that differ, anything approved or posted twice. --approvals compares what
terminals were told (cardswitch load --ledger-log) with the ledger. Exit status 1 when anything
disagrees, 0 when nothing does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case journal == "" && approvals == "":
				return usagef("reconcile: give --issuer and --journal, or --approvals")
			case journal != "" && issuer == "":
				return usagef("--issuer is required with --journal")
			case issuer != "" && journal == "":
				return usagef("--journal is required with --issuer")
			case listed < 0:
				return usagef("--max-listed %d must not be negative", listed)
			}
			in, err := readReconcileInputs(journal, approvals)
			if err != nil {
				return err
			}
			s, err := f.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			filter := ledger.JournalFilter{Issuer: issuer, Now: time.Now()}
			if approvals != "" {
				filter.Issuer = "" // terminals were told about every issuer's transactions
			}
			entries, err := journalEntries(cmd.Context(), s, filter)
			if err != nil {
				return err
			}
			return runReconcile(cmd.OutOrStdout(), f.json, listed, issuer, in, entries)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&issuer, "issuer", "", "the issuer's name in the switch's configuration (issuers[].name)")
	fl.StringVar(&journal, "journal", "", "the issuer's journal (JSON lines) or settlement file (CSV)")
	fl.StringVar(&approvals, "approvals", "", "a load generator's ledger log (cardswitch load --ledger-log): what terminals were told")
	fl.IntVar(&listed, "max-listed", reconcileListedDefault, "differences listed in the text output (JSON lists every one)")
	return cmd
}

// reconcileInputs are the files a reconciliation reads, parsed before the ledger is opened.
type reconcileInputs struct {
	records        []reconcile.Record
	recordStats    reconcile.ReadStats
	approvals      []reconcile.ClientApproval
	approvalsStats reconcile.ReadStats
}

func readReconcileInputs(journal, approvals string) (reconcileInputs, error) {
	var in reconcileInputs
	if journal != "" {
		f, err := os.Open(journal)
		if err != nil {
			return in, usagef("--journal: %v", err)
		}
		defer f.Close()
		if in.records, in.recordStats, err = reconcile.ReadRecords(f); err != nil {
			return in, usagef("--journal %s: %v", journal, err)
		}
	}
	if approvals != "" {
		f, err := os.Open(approvals)
		if err != nil {
			return in, usagef("--approvals: %v", err)
		}
		defer f.Close()
		if in.approvals, in.approvalsStats, err = reconcile.ReadClientLog(f); err != nil {
			return in, usagef("--approvals %s: %v", approvals, err)
		}
	}
	return in, nil
}

func journalEntries(ctx context.Context, s ledger.JournalReader, f ledger.JournalFilter) ([]ledger.JournalEntry, error) {
	var out []ledger.JournalEntry
	err := s.Journal(ctx, f, func(e *ledger.JournalEntry) error {
		out = append(out, *e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ledger journal: %w", err)
	}
	return out, nil
}

// reconcileResult is the JSON of `ledger reconcile --json`.
type reconcileResult struct {
	OK     bool                    `json:"ok"`
	Issuer *reconcile.Report       `json:"issuer,omitempty"`
	Client *reconcile.ClientReport `json:"client,omitempty"`
}

func runReconcile(out io.Writer, asJSON bool, listed int, issuer string, in reconcileInputs, entries []ledger.JournalEntry) error {
	res := reconcileResult{OK: true}
	if issuer != "" {
		res.Issuer = reconcile.Issuer(issuer, in.records, entries)
		res.Issuer.Torn = in.recordStats.Torn
		res.OK = res.OK && res.Issuer.OK()
	}
	if in.approvals != nil {
		res.Client = reconcile.Client(in.approvals, reconcile.NewLedgerBook(entries))
		res.Client.Torn = in.approvalsStats.Torn
		res.OK = res.OK && res.Client.OK()
	}
	var err error
	if asJSON {
		err = writeJSON(out, res)
	} else {
		err = printReconcile(out, res, listed)
	}
	if err != nil {
		return err
	}
	if !res.OK {
		n := 0
		if res.Issuer != nil {
			n += len(res.Issuer.Differences)
		}
		if res.Client != nil {
			n += len(res.Client.Differences)
		}
		return fmt.Errorf("ledger reconcile: %d differences", n)
	}
	return nil
}

func printReconcile(out io.Writer, res reconcileResult, listed int) error {
	w := &errWriter{w: out}
	if r := res.Issuer; r != nil {
		w.printf("issuer %s: %d records%s, %d ledger entries, %d RRNs: %d agree (%d holding money), %d expired holds, %d differ\n",
			r.Issuer, r.IssuerRecords, tornNote(r.Torn), r.LedgerEntries, r.Compared, r.Agreed, r.Held, r.Expired, len(r.Differences))
		for _, k := range reconcile.DiffKinds {
			w.printf("  %-16s %d\n", k, r.Counts[k])
		}
		for i, d := range r.Differences {
			if i == listed {
				w.printf("  … %d more (--json lists every one)\n", len(r.Differences)-listed)
				break
			}
			w.printf("  %s\n", d.Summary())
		}
		if len(r.Unmatched) > 0 {
			w.printf("  %d reversals matched no original (no RRN, field 90 unknown to the issuer)\n", len(r.Unmatched))
		}
	}
	if r := res.Client; r != nil {
		w.printf("terminals: %d approvals%s, %d transactions (%d standing, %d reversed): %d held as told, %d expired holds, %d differ\n",
			r.Approvals, tornNote(r.Torn), r.Transactions, r.Standing, r.Transactions-r.Standing, r.Agreed, r.Expired, len(r.Differences))
		for _, k := range reconcile.ClientDiffKinds {
			w.printf("  %-18s %d\n", k, r.Counts[k])
		}
		for i, d := range r.Differences {
			if i == listed {
				w.printf("  … %d more (--json lists every one)\n", len(r.Differences)-listed)
				break
			}
			w.printf("  %s\n", d.Summary())
		}
	}
	return w.err
}

func tornNote(torn bool) string {
	if torn {
		return " (an incomplete last line left out)"
	}
	return ""
}

// errWriter keeps the first write error, so that a report is printed with one check at the end.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
