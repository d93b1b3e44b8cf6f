package ledger_test

import (
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// The report classifies each group of transfers by its code and accounts; the numbers below are
// one merchant, one agency and one issuer with every kind of movement.
func TestBuildSettlementReport(t *testing.T) {
	const (
		m, g, iss = "merchant:M1:payable", "agency:G1:payable", "issuer:alpha:receivable"
	)
	rows := []ledger.SettlementRow{
		{DebitAccount: iss, CreditAccount: m, Currency: "840", Code: ledger.CodePrincipal, Amount: 30000, Count: 3},
		{DebitAccount: m, CreditAccount: ledger.FeesIncome, Currency: "840", Code: ledger.CodeMerchantFee, Amount: 480, Count: 3},
		{DebitAccount: m, CreditAccount: iss, Currency: "840", Code: ledger.CodeRefund, Amount: 2500, Count: 1},
		{DebitAccount: iss, CreditAccount: m, Currency: "840", Code: ledger.CodeReversal, Amount: 500, Count: 1},               // a refund reversed
		{DebitAccount: m, CreditAccount: iss, Currency: "840", Code: ledger.CodeReversal, Amount: 10000, Count: 1},             // a sale reversed
		{DebitAccount: ledger.FeesIncome, CreditAccount: m, Currency: "840", Code: ledger.CodeReversal, Amount: 160, Count: 1}, // its fee
		{DebitAccount: iss, CreditAccount: g, Currency: "840", Code: ledger.CodePrincipal, Amount: 5000, Count: 1},
		{DebitAccount: iss, CreditAccount: ledger.ConvenienceFeesIncome, Currency: "840", Code: ledger.CodeConvenienceFee,
			PayeeKind: ledger.Agency, PayeeID: "G1", Amount: 100, Count: 1},
	}
	payments := []ledger.SettlementPayment{{AgencyID: "G1", Currency: "840", PaymentRef: "BILL-7", TransactionID: "G-1", Code: ledger.CodePrincipal, Amount: 5000}}
	rep := ledger.BuildSettlementReport("2025-11-26", rows, payments)
	if len(rep.Merchants) != 1 || len(rep.Agencies) != 1 || len(rep.Issuers) != 1 {
		t.Fatalf("report %+v", rep)
	}
	// Merchant: sales 300.00, refunds 25.00 − 5.00 reversed, reversals 100.00; fees 4.80 − 1.60.
	mer := rep.Merchants[0]
	if mer.Sales != (ledger.Movement{Count: 3, Amount: 30000}) || mer.Refunds != (ledger.Movement{Count: 1, Amount: 2000}) ||
		mer.Reversals != (ledger.Movement{Count: 1, Amount: 10000}) || mer.Fees != 320 || mer.Gross != 18000 || mer.Net != 17680 {
		t.Errorf("merchant %+v", mer)
	}
	// Its net is what its payable moved: +30000 −480 −2500 +500 −10000 +160.
	if mer.Net != 30000-480-2500+500-10000+160 {
		t.Errorf("merchant net %d is not the payable's movement", mer.Net)
	}
	ag := rep.Agencies[0]
	if ag.Sales.Amount != 5100 || ag.Fees != 100 || ag.Net != 5000 || len(ag.Payments) != 1 || ag.Payments[0].PaymentRef != "BILL-7" {
		t.Errorf("agency %+v", ag)
	}
	is := rep.Issuers[0]
	if is.Net != 30000-2500+500-10000+5000+100 || is.Fees != 0 {
		t.Errorf("issuer %+v", is)
	}
}

func TestNextCutover(t *testing.T) {
	utc := time.UTC
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	for _, tc := range []struct {
		name string
		now  time.Time
		at   time.Duration
		loc  *time.Location
		want time.Time
	}{
		{"later today", time.Date(2025, 11, 26, 14, 0, 0, 0, utc), 23 * time.Hour, utc, time.Date(2025, 11, 26, 23, 0, 0, 0, utc)},
		{"already past: tomorrow", time.Date(2025, 11, 26, 23, 30, 0, 0, utc), 23 * time.Hour, utc, time.Date(2025, 11, 27, 23, 0, 0, 0, utc)},
		{"exactly now", time.Date(2025, 11, 26, 23, 0, 0, 0, utc), 23 * time.Hour, utc, time.Date(2025, 11, 26, 23, 0, 0, 0, utc)},
		{"wall clock across a DST change", time.Date(2025, 11, 1, 23, 0, 0, 0, ny), 22 * time.Hour, ny, time.Date(2025, 11, 2, 22, 0, 0, 0, ny)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ledger.NextCutover(tc.now, tc.at, tc.loc); !got.Equal(tc.want) {
				t.Errorf("NextCutover = %s, want %s", got, tc.want)
			}
		})
	}
}
