package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/postgres"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

// runLedger runs `cardswitch ledger args...` in-process and returns its output and error.
func runLedger(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs(append([]string{"ledger"}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

// postPurchases commits purchases through a Writer on the database, as the switch would.
func postPurchases(t *testing.T, url string, amounts ...int64) {
	t.Helper()
	ctx := context.Background()
	s, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := ledger.NewWriter(s, ledger.WriterConfig{})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for i, a := range amounts {
		_, err := w.Commit(ctx, ledger.Event{ID: "0200/TERM0001/" + string(rune('A'+i)), Kind: ledger.Purchase, Currency: "840",
			Amount: a, Issuer: "alpha", Payee: ledger.Payee{Kind: ledger.Merchant, ID: "MERCHANT0000001",
				Fee: ledger.FeeSchedule{Percent: decimal.RequireFromString("1.50"), Fixed: 10}}, At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLedgerCommand(t *testing.T) {
	url := pgtest.Schema(t)
	db := "--database-url=" + url

	out, err := runLedger(t, "migrate", db)
	if err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	postPurchases(t, url, 10003, 60000)

	out, err = runLedger(t, "trial-balance", "--json", db)
	if err != nil {
		t.Fatalf("trial-balance: %v", err)
	}
	var tb ledger.TrialBalance
	if err := json.Unmarshal([]byte(out), &tb); err != nil {
		t.Fatalf("trial-balance JSON: %v\n%s", err, out)
	}
	// Fees: 1.60 on 100.03 and 9.10 on 600.00.
	if len(tb.Currencies) != 1 || !tb.Balanced() || tb.Currencies[0].Totals.CreditsPosted != 70003+160+910 {
		t.Errorf("trial balance: %+v", tb)
	}
	out, err = runLedger(t, "trial-balance", db)
	if err != nil || !strings.Contains(out, "merchant:MERCHANT0000001:payable") || !strings.Contains(out, "700.03") {
		t.Errorf("trial-balance text: %v\n%s", err, out)
	}
	out, err = runLedger(t, "balances", "--account", "merchant:", db)
	if err != nil || !strings.Contains(out, "689.33") {
		t.Errorf("balances: %v\n%s", err, out) // 700.03 − 10.70
	}

	out, err = runLedger(t, "verify", db)
	if err != nil || !strings.Contains(out, "every invariant holds") {
		t.Fatalf("verify on a sound ledger: %v\n%s", err, out)
	}
	out, err = runLedger(t, "cutover", "--json", db)
	if err != nil {
		t.Fatalf("cutover: %v\n%s", err, out)
	}
	var rep ledger.SettlementReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Merchants) != 1 || rep.Merchants[0].Net != 68933 {
		t.Fatalf("cutover report: %v\n%s", err, out)
	}
	out, err = runLedger(t, "settlement", "--business-day", rep.BusinessDay, "--csv", db)
	if err != nil || !strings.Contains(out, "merchant,MERCHANT0000001,840,2,2,70003,1070,68933,") || !strings.Contains(out, ",exists,") {
		t.Errorf("settlement CSV: %v\n%s", err, out)
	}

	corrupt(t, url)
	out, err = runLedger(t, "verify", db)
	var ue usageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(out, "VIOLATION account_totals") {
		t.Errorf("verify after corrupting a row: %v (want a failure, exit 1)\n%s", err, out)
	}
}

func corrupt(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(),
		`UPDATE ledger_accounts SET debits_posted = debits_posted + 1 WHERE name = 'issuer:alpha:receivable'`); err != nil {
		t.Fatal(err)
	}
}

func TestLedgerCommandBadFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no subcommand", nil},
		{"settlement without a day", []string{"settlement"}},
		{"malformed day", []string{"settlement", "--business-day", "26/11/2025"}},
		{"csv and json", []string{"cutover", "--csv", "--json"}},
		{"unknown flag", []string{"verify", "--frobnicate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runLedger(t, tc.args...)
			var ue usageError
			if !errors.As(err, &ue) && (err == nil || !isFlagError(err)) {
				t.Errorf("%v: %v, want a usage error (exit 2)", tc.args, err)
			}
		})
	}
}

func TestMoney(t *testing.T) {
	for _, tc := range []struct {
		v    int64
		exp  int32
		want string
	}{{10003, 2, "100.03"}, {5, 2, "0.05"}, {-160, 2, "-1.60"}, {1500, 0, "1500"}, {1, 3, "0.001"}, {0, 2, "0.00"}} {
		if got := money(tc.v, tc.exp); got != tc.want {
			t.Errorf("money(%d, %d) = %s, want %s", tc.v, tc.exp, got, tc.want)
		}
	}
}

// Without a database URL the commands use the embedded store in --data-dir.
func TestLedgerCommandEmbedded(t *testing.T) {
	t.Setenv("CARDSWITCH_DATABASE_URL", "")
	dir := "--data-dir=" + t.TempDir()
	for _, args := range [][]string{{"migrate", dir}, {"verify", dir}, {"trial-balance", "--json", dir}} {
		out, err := runLedger(t, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if args[0] == "trial-balance" && strings.TrimSpace(out) != `{
  "currencies": []
}` {
			t.Errorf("empty trial balance: %s", out)
		}
	}
}
