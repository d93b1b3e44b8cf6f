package sqlite

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cardswitch/cardswitch/ledger"
)

// v1Expected is testdata/v1/expected.json: what the store of the first schema answered about
// testdata/v1/ledger.db (see testdata/v1/generate.go).
// The answers stay JSON: they are compared in their JSON form.
type v1Expected struct {
	Days         []string                   `json:"days"`
	TrialBalance json.RawMessage            `json:"trial_balance"`
	Reports      []json.RawMessage          `json:"reports"`
	ByRRN        map[string]json.RawMessage `json:"by_rrn"`
	Transfers    int64                      `json:"transfers"`
	Transactions int64                      `json:"transactions"`
}

// TestMigrateV1File opens a file written by the first schema's code (two business days, the first
// cut over and settled; purchases, captures, a void, an expired hold, reversals, refunds, a
// rejection, a decline, e-government payments, submitted transfers): the migration keeps every
// answer the old code gave, and the file goes on working (cutover, settlement, new events).
func TestMigrateV1File(t *testing.T) {
	ctx := context.Background()
	var want v1Expected
	readJSON(t, filepath.Join("testdata", "v1", "expected.json"), &want)
	path := filepath.Join(t.TempDir(), "ledger.db")
	data, err := os.ReadFile(filepath.Join("testdata", "v1", "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatalf("open v1 file: %v", err)
	}
	t.Cleanup(s.Close)
	var versions []int
	rows, err := s.read.QueryContext(ctx, `SELECT version FROM ledger_schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	rows.Close()
	embedded, err := ledger.ReadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	if len(versions) != len(embedded) || versions[len(versions)-1] != embedded[len(embedded)-1].Version {
		t.Fatalf("migrations applied: %v, want every embedded one (%d, the last %d)", versions, len(embedded),
			embedded[len(embedded)-1].Version)
	}

	now := time.Date(2025, 11, 26, 17, 0, 0, 0, time.UTC)
	tb, err := s.TrialBalance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sameJSON(t, "trial balance", tb, want.TrialBalance)
	for i, day := range want.Days {
		rep, err := ledger.Report(ctx, s, day, now)
		if err != nil {
			t.Fatal(err)
		}
		sameJSON(t, "report of "+day, rep, want.Reports[i])
	}
	for rrn, wt := range want.ByRRN {
		got, err := s.TransactionByRRN(ctx, rrn)
		if err != nil {
			t.Fatalf("rrn %s: %v", rrn, err)
		}
		sameJSON(t, "transaction "+rrn, got, wt)
	}
	v, err := s.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK() || v.Transfers != want.Transfers || v.Transactions != want.Transactions {
		t.Fatalf("verify: %+v, want OK with %d transfers and %d transactions", v, want.Transfers, want.Transactions)
	}

	// The open day cuts over and settles as the old code reported it; the next day takes events.
	rep, err := ledger.Cutover(ctx, s, now, "")
	if err != nil {
		t.Fatal(err)
	}
	open := want.Days[1]
	sameJSON(t, "cutover of "+open, withStatus(t, rep, "x"), withStatus(t, want.Reports[1], "x"))
	if got := settlementStatuses(rep); got != "created" {
		t.Errorf("settlement transfers of the cutover: %s, want created", got)
	}
	again, err := ledger.Report(ctx, s, open, now)
	if err != nil {
		t.Fatal(err)
	}
	if got := settlementStatuses(again); got != "exists" {
		t.Errorf("settlement transfers after the cutover: %s, want exists", got)
	}
	w := ledger.NewWriter(s, ledger.WriterConfig{Now: func() time.Time { return now }})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	payee := ledger.Payee{Kind: ledger.Merchant, ID: "MERCHANT0000001",
		Fee: ledger.FeeSchedule{Percent: decimal.RequireFromString("1.50"), Fixed: 10}}
	_, err = w.Commit(ctx, ledger.Event{ID: "0200/TERM0002/000001/1127090000", Kind: ledger.Purchase, Currency: "840",
		Amount: 10000, Payee: payee, Issuer: "alpha", RRN: "533020000001", STAN: "000001", Terminal: "TERM0002",
		MTI: "0200", MaskedPAN: "411111******1111", ResponseCode: "00", ApprovalCode: "B00001", At: now})
	stop()
	if werr := <-done; werr != nil {
		t.Fatal(werr)
	}
	if err != nil {
		t.Fatalf("new event: %v", err)
	}
	day, err := s.BusinessDay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	next, err := ledger.Report(ctx, s, day, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Merchants) != 1 || next.Merchants[0].Sales.Amount != 10000 || next.Merchants[0].Net != 10000-160 {
		t.Errorf("report of the new day %s: %+v, want the one purchase of 100.00 (fee 1.60)", day, next.Merchants)
	}
	if v, err := s.Verify(ctx); err != nil || !v.OK() {
		t.Fatalf("verify after new events: %+v, %v", v, err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// sameJSON compares got, marshaled, with want, JSON text, both in canonical form.
func sameJSON(t *testing.T, what string, got any, want json.RawMessage) {
	t.Helper()
	g, w := canonical(t, got), canonical(t, want)
	if g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// canonical returns v as JSON with object keys sorted (v may be JSON text already).
func canonical(t *testing.T, v any) string {
	t.Helper()
	b, ok := v.(json.RawMessage)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var generic any
	if err := json.Unmarshal(b, &generic); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// withStatus returns rep as JSON text with every settlement transfer's status set to status.
func withStatus(t *testing.T, rep any, status string) json.RawMessage {
	t.Helper()
	var generic map[string]any
	if err := json.Unmarshal([]byte(canonical(t, rep)), &generic); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"merchants", "agencies", "issuers"} {
		lines, _ := generic[key].([]any)
		for _, l := range lines {
			if st, ok := l.(map[string]any)["settlement"].(map[string]any); ok {
				st["status"] = status
			}
		}
	}
	b, err := json.Marshal(generic)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// settlementStatuses returns the distinct statuses of rep's settlement transfers, joined by ",".
func settlementStatuses(rep *ledger.SettlementReport) string {
	seen := map[string]bool{}
	var out []string
	for _, lines := range [][]ledger.SettlementLine{rep.Merchants, rep.Agencies, rep.Issuers} {
		for _, l := range lines {
			if l.Settlement != nil && !seen[l.Settlement.Status] {
				seen[l.Settlement.Status] = true
				out = append(out, l.Settlement.Status)
			}
		}
	}
	return strings.Join(out, ",")
}
