//go:build ignore

// Command generate writes ledger.db, a ledger file in the embedded store's first schema (only
// migration 0001), and expected.json, what the store answered about it. TestMigrateV1File opens a
// copy with the current code (which migrates it) and checks that the answers are the same.
//
// It must run against the code of that schema, commit 0e64cbc (before migration 0002):
//
//	git archive 0e64cbc | tar -x -C /tmp/v1src
//	cp ledger/sqlite/testdata/v1/generate.go /tmp/v1src/ledger/sqlite/testdata/v1/
//	(cd /tmp/v1src && go run ./ledger/sqlite/testdata/v1/generate.go -out $PWD/ledger/sqlite/testdata/v1)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/sqlite"
)

// Expected is what the store answered about the file it wrote.
type Expected struct {
	Days         []string                       `json:"days"` // the closed day, then the open one
	TrialBalance ledger.TrialBalance            `json:"trial_balance"`
	Reports      []*ledger.SettlementReport     `json:"reports"` // of Days, computed without moving money
	ByRRN        map[string]*ledger.Transaction `json:"by_rrn"`
	Transfers    int64                          `json:"transfers"`
	Transactions int64                          `json:"transactions"`
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func main() {
	out := flag.String("out", ".", "directory to write ledger.db and expected.json into")
	flag.Parse()
	if err := run(*out); err != nil {
		log.Fatal(err)
	}
}

func run(out string) error {
	ctx := context.Background()
	path := filepath.Join(out, "ledger.db")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(path + suffix)
	}
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		return err
	}
	clk := &clock{now: time.Date(2025, 11, 26, 14, 30, 15, 0, time.UTC)}
	w := ledger.NewWriter(s, ledger.WriterConfig{Now: clk.Now})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()

	m1 := ledger.Payee{Kind: ledger.Merchant, ID: "MERCHANT0000001",
		Fee: ledger.FeeSchedule{Percent: decimal.RequireFromString("1.50"), Fixed: 10}}
	m2 := ledger.Payee{Kind: ledger.Merchant, ID: "MERCHANT0000002",
		Fee: ledger.FeeSchedule{Percent: decimal.RequireFromString("2.00"), Fixed: 0}}
	gov := ledger.Payee{Kind: ledger.Agency, ID: "GOVAGENCY000001", ConvenienceFee: 100}
	n := 0
	ev := func(kind ledger.EventKind, original string, payee ledger.Payee, amount int64) ledger.Event {
		n++
		mti := map[ledger.EventKind]string{ledger.Authorize: "0100", ledger.Capture: "0220", ledger.Reverse: "0400"}[kind]
		if mti == "" {
			mti = "0200"
		}
		stan := fmt.Sprintf("%06d", n)
		return ledger.Event{ID: mti + "/TERM0001/" + stan + "/1126143015", Kind: kind, OriginalID: original,
			Currency: "840", Amount: amount, Payee: payee, Issuer: "alpha", RRN: fmt.Sprintf("53301000%04d", n),
			STAN: stan, Terminal: "TERM0001", MTI: mti, MaskedPAN: "411111******1111", ResponseCode: "00",
			ApprovalCode: fmt.Sprintf("A%05d", n), At: clk.Now()}
	}
	commit := func(e ledger.Event) (string, error) {
		_, err := w.Commit(ctx, e)
		var rj *ledger.RejectionError
		if err != nil && !errors.As(err, &rj) {
			return "", fmt.Errorf("event %s: %w", e.ID, err)
		}
		clk.advance(time.Second)
		return e.ID, nil
	}
	must := func(id string, err error) string {
		if err != nil {
			log.Fatal(err)
		}
		return id
	}

	// Day 1.
	p1 := must(commit(ev(ledger.Purchase, "", m1, 10003)))
	a1 := must(commit(ev(ledger.Authorize, "", m1, 10000)))
	must(commit(ev(ledger.Capture, a1, m1, 7550)))
	p2 := must(commit(ev(ledger.Purchase, "", m1, 10100)))
	must(commit(ev(ledger.Reverse, p2, m1, 10100)))
	must(commit(ev(ledger.Refund, p1, m1, 2000)))
	g1 := ev(ledger.Purchase, "", gov, 5100)
	g1.PaymentRef = "BILL-0001"
	must(commit(g1))
	a2 := must(commit(ev(ledger.Authorize, "", m2, 5000))) // held across the cutover
	a3 := must(commit(ev(ledger.Authorize, "", m1, 3000)))
	must(commit(ev(ledger.Reverse, a3, m1, 3000))) // voided
	d1 := ev(ledger.Decline, "", m1, 999)
	d1.ResponseCode, d1.ApprovalCode = "51", ""
	must(commit(d1))
	must(commit(ev(ledger.Refund, "", m2, 10000000))) // rejected: exceeds the payable
	a4 := ev(ledger.Authorize, "", m1, 1000)
	a4.HoldTimeout = time.Hour
	must(commit(a4))
	clk.advance(2 * time.Hour)
	if _, err := w.Expire(ctx); err != nil { // a4 expires
		return err
	}
	res, err := w.Submit(ctx, []ledger.Transfer{
		{ID: ledger.DeriveTransferID("v1", "t1"), DebitAccount: "treasury:ops:asset", CreditAccount: "treasury:float:liability",
			Currency: "840", Amount: 500, Flags: ledger.Linked, Code: ledger.CodeUnspecified},
		{ID: ledger.DeriveTransferID("v1", "t2"), DebitAccount: "treasury:ops:asset", CreditAccount: "treasury:float:liability",
			Currency: "840", Amount: 700, Flags: ledger.Pending, Code: ledger.CodeUnspecified},
	})
	if err != nil {
		return err
	}
	for _, r := range res {
		if r.Status != ledger.TransferCreated {
			return fmt.Errorf("submit: %+v", r)
		}
	}
	rep1, err := ledger.Cutover(ctx, s, clk.Now(), "")
	if err != nil {
		return err
	}

	// Day 2.
	must(commit(ev(ledger.Purchase, "", m1, 4200)))
	must(commit(ev(ledger.Capture, a2, m2, 5000)))
	g2 := ev(ledger.Purchase, "", gov, 2100)
	g2.PaymentRef = "BILL-0002"
	must(commit(g2))
	must(commit(ev(ledger.Purchase, "", m2, 1234)))

	stop()
	if err := <-done; err != nil {
		return err
	}
	exp := Expected{ByRRN: map[string]*ledger.Transaction{}}
	if exp.TrialBalance, err = s.TrialBalance(ctx); err != nil {
		return err
	}
	day2, err := s.BusinessDay(ctx)
	if err != nil {
		return err
	}
	exp.Days = []string{rep1.BusinessDay, day2}
	for _, day := range exp.Days {
		rep, err := ledger.Report(ctx, s, day, clk.Now())
		if err != nil {
			return err
		}
		exp.Reports = append(exp.Reports, rep)
	}
	for i := 1; i <= n; i++ {
		rrn := fmt.Sprintf("53301000%04d", i)
		t, err := s.TransactionByRRN(ctx, rrn)
		if err != nil {
			return fmt.Errorf("rrn %s: %w", rrn, err)
		}
		exp.ByRRN[rrn] = t
	}
	v, err := s.Verify(ctx)
	if err != nil {
		return err
	}
	if !v.OK() {
		return fmt.Errorf("verify: %+v", v)
	}
	exp.Transfers, exp.Transactions = v.Transfers, v.Transactions
	s.Close()
	b, err := json.MarshalIndent(exp, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "expected.json"), append(b, '\n'), 0o644)
}
