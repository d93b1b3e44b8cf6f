package main

// cardswitch ledger settlement --agency: an agency's reconciliation of a business day (the
// ledger's settlement report joined with the payments API's bills and payments), the same report
// as GET /v1/settlements/{day}_{currency}/transactions (docs/government-payments.md).

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

type agencyFlags struct {
	agency, currency, apiFile string
}

func (a *agencyFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&a.agency, "agency", "", "print this agency's (or merchant's) reconciliation: every movement with its bill, control number, revenue codes and fee")
	cmd.Flags().StringVar(&a.currency, "currency", "840", "with --agency: the currency (ISO 4217 numeric)")
	cmd.Flags().StringVar(&a.apiFile, "api-file", "", "with --agency: the payments API's SQLite file when api.database_file sets one (default the ledger's)")
}

// reportOnly is the engine of a service that only reads reports: it is never called.
type reportOnly struct{}

func (reportOnly) Handle(context.Context, *iso8583.Message) *iso8583.Message { return nil }

func (a *agencyFlags) print(ctx context.Context, out io.Writer, f *ledgerFlags, r *reportFlags, s ledger.Store) error {
	if len(a.agency) != 15 {
		return usagef("--agency %q must be 15 characters (field 42)", a.agency)
	}
	if _, err := ledger.Exponent(a.currency); err != nil {
		return usagef("--currency %q must be an ISO 4217 numeric code the ledger knows", a.currency)
	}
	st, err := openPaymentsStore(ctx, config.Ledger{DatabaseURL: f.databaseURL, DataDir: f.dataDir}, a.apiFile)
	if err != nil {
		return err
	}
	defer st.Close()
	key := make([]byte, 32) // seals nothing here: the report never reads a card
	if _, err := rand.Read(key); err != nil {
		return err
	}
	ck, err := payments.NewCardKey(key)
	if err != nil {
		return err
	}
	m := payments.Merchant{ID: a.agency, Agency: true, Currencies: []string{a.currency}}
	svc, err := payments.NewService(payments.Config{Merchants: []payments.Merchant{m}},
		payments.Deps{Store: st, Writer: store.NewWriter(st, store.WriterConfig{}), Engine: reportOnly{}, Ledger: s, CardKey: ck,
			Log: zap.NewNop(), Now: time.Now, Settlements: ledgerSettlements{s, time.Now}}, 0)
	if err != nil {
		return err
	}
	rep, err := svc.AgencySettlement(ctx, &m, r.day, a.currency)
	if err != nil {
		return fmt.Errorf("agency %s, business day %s: %w", a.agency, r.day, err)
	}
	switch {
	case f.json:
		return writeJSON(out, rep.SettlementTransactionList)
	case r.csv:
		return rep.WriteCSV(out)
	}
	st2 := rep.Settlement
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "settlement %s\tstatus %s\tcount %d\tgross %d\tfees %d\tnet %d\tbills paid %d\n", st2.Id, st2.Status,
		st2.Count, st2.Gross, st2.Fees, st2.Net, st2.BillsPaid)
	fmt.Fprintln(tw, "kind\treference\tbill\tpayment\tamount\tfee\trrn\t")
	for _, t := range rep.Data {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n", t.Kind, t.Reference, deref(t.BillReference), deref(t.PaymentId), t.Amount, t.Fee, deref(t.Rrn))
	}
	for _, rc := range rep.RevenueCodes {
		fmt.Fprintf(tw, "revenue %s\t%d items\t%d\t\t\t\t\t\n", rc.RevenueCode, rc.Count, rc.Amount)
	}
	return tw.Flush()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
