package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/postgres"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
	"github.com/cardswitch/cardswitch/ledger/sqlite"
)

// commitEvents commits events through a Writer on the store, as the switch would.
func commitEvents(t *testing.T, s ledger.Store, events ...ledger.Event) {
	t.Helper()
	ctx := context.Background()
	w := ledger.NewWriter(s, ledger.WriterConfig{})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(runCtx) }()
	defer func() { stop(); <-done }()
	for _, ev := range events {
		if _, err := w.Commit(ctx, ev); err != nil {
			t.Fatalf("commit %s: %v", ev.ID, err)
		}
	}
}

func cardEvent(kind ledger.EventKind, id, rrn string, amount int64) ledger.Event {
	mti := "0200"
	switch kind {
	case ledger.Authorize:
		mti = "0100"
	case ledger.Capture:
		mti = "0220"
	case ledger.Reverse:
		mti = "0400"
	}
	return ledger.Event{ID: id, Kind: kind, Currency: "840", Amount: amount, Issuer: "alpha", RRN: rrn, MTI: mti,
		STAN: strings.Split(id, "/")[2], Terminal: "LOAD0001", MaskedPAN: "411111******1111", ResponseCode: "00",
		Payee: ledger.Payee{Kind: ledger.Merchant, ID: "MERCHANT0000001"}, At: time.Now()}
}

// issuerLine is one journal line of issuer alpha.
func issuerLine(mti, rrn, stan string, amount int, code string) string {
	b, _ := json.Marshal(map[string]any{"time": time.Now().UTC(), "mti": mti, "rrn": rrn, "stan": stan,
		"transmitted": "1206100000", "processing_code": "000000", "amount": amount, "currency": "840",
		"response_code": code, "pan": "411111******1111"})
	return string(b) + "\n"
}

func approvalLine(kind, mti, rrn, stan string, amount int, orig string) string {
	m := map[string]any{"rrn": rrn, "mti": mti, "kind": kind, "terminal": "LOAD0001", "stan": stan,
		"transmitted": "1206100000", "merchant": "MERCHANT0000001", "amount": amount, "currency": "840",
		"pan": "411111******1111", "approval": "ABC123"}
	if orig != "" {
		m["original"] = map[string]any{"mti": "0200", "stan": orig, "transmitted": "1206100000", "rrn": rrn, "amount": amount}
	}
	b, _ := json.Marshal(m)
	return string(b) + "\n"
}

// TestLedgerReconcileCommand reconciles an issuer's journal and the terminals' ledger log with a
// ledger on both stores: agreement exits 0; an issuer approval the ledger does not hold, and an
// approval a terminal was told that the ledger does not hold, exit 1 and are listed.
func TestLedgerReconcileCommand(t *testing.T) {
	stores := map[string]func(t *testing.T) (ledger.Store, string){
		"embedded": func(t *testing.T) (ledger.Store, string) {
			dir := t.TempDir()
			s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(dir, embeddedLedgerFile)})
			if err != nil {
				t.Fatal(err)
			}
			return s, "--data-dir=" + dir
		},
		"postgres": func(t *testing.T) (ledger.Store, string) {
			url := pgtest.Schema(t)
			s, err := postgres.Open(context.Background(), postgres.Config{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			return s, "--database-url=" + url
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			s, db := open(t)
			commitEvents(t, s,
				cardEvent(ledger.Purchase, "0200/LOAD0001/000001/1206100000", "RRN000000001", 1000),
				cardEvent(ledger.Authorize, "0100/LOAD0001/000002/1206100000", "RRN000000002", 3000),
				func() ledger.Event {
					ev := cardEvent(ledger.Capture, "0220/LOAD0001/000003/1206100000", "RRN000000002", 2400)
					ev.OriginalID = "0100/LOAD0001/000002/1206100000"
					return ev
				}(),
				cardEvent(ledger.Purchase, "0200/LOAD0001/000004/1206100000", "RRN000000004", 500),
				func() ledger.Event {
					ev := cardEvent(ledger.Reverse, "0400/LOAD0001/000005/1206100000", "RRN000000004", 500)
					ev.OriginalID = "0200/LOAD0001/000004/1206100000"
					return ev
				}(),
			)
			s.Close()
			dir := t.TempDir()
			journal := filepath.Join(dir, "alpha.jsonl")
			agreeing := issuerLine("0200", "RRN000000001", "100001", 1000, "00") +
				issuerLine("0100", "RRN000000002", "100002", 3000, "00") +
				issuerLine("0220", "RRN000000002", "100003", 2400, "00") +
				issuerLine("0200", "RRN000000004", "100004", 500, "00") +
				issuerLine("0420", "RRN000000004", "100005", 500, "00") +
				issuerLine("0200", "RRN000000009", "100009", 1051, "51")
			os.WriteFile(journal, []byte(agreeing), 0o600)
			approvals := filepath.Join(dir, "approvals.jsonl")
			told := approvalLine("purchase", "0200", "RRN000000001", "000001", 1000, "") +
				approvalLine("purchase", "0200", "RRN000000004", "000004", 500, "") +
				approvalLine("reversal", "0400", "RRN000000004", "000005", 500, "000004")
			os.WriteFile(approvals, []byte(told), 0o600)

			out, err := runLedger(t, "reconcile", db, "--issuer", "alpha", "--journal", journal)
			if err != nil || !strings.Contains(out, "0 differ") {
				t.Fatalf("agreeing journal: %v\n%s", err, out)
			}
			out, err = runLedger(t, "reconcile", db, "--approvals", approvals)
			if err != nil || !strings.Contains(out, "2 transactions (1 standing, 1 reversed): 2 held as told, 0 expired holds, 0 differ") {
				t.Fatalf("agreeing approvals: %v\n%s", err, out)
			}

			// The issuer approved a sale the ledger never heard of; a terminal was told of one.
			os.WriteFile(journal, []byte(agreeing+issuerLine("0200", "RRN000000007", "100007", 777, "00")), 0o600)
			os.WriteFile(approvals, []byte(told+approvalLine("purchase", "0200", "RRN000000008", "000008", 888, "")), 0o600)
			out, err = runLedger(t, "reconcile", db, "--issuer", "alpha", "--journal", journal, "--approvals", approvals)
			if err == nil || !strings.Contains(err.Error(), "2 differences") {
				t.Fatalf("differences: %v\n%s", err, out)
			}
			for _, want := range []string{"issuer_only rrn RRN000000007: issuer holds 777, ledger holds 0",
				"lost 0200/LOAD0001/000008/1206100000 rrn RRN000000008: terminal told 888 (purchase), ledger holds 0 (not in the ledger)"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			out, _ = runLedger(t, "reconcile", db, "--issuer", "alpha", "--journal", journal, "--json")
			var res struct {
				OK     bool
				Issuer struct {
					Counts      map[string]int
					Differences []struct{ Kind, RRN string }
				}
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil || res.OK || res.Issuer.Counts["issuer_only"] != 1 ||
				len(res.Issuer.Differences) != 1 || res.Issuer.Differences[0].RRN != "RRN000000007" {
				t.Errorf("JSON: %v %+v\n%s", err, res, out)
			}
		})
	}
}

func TestLedgerReconcileBadFlags(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("{\"mti\":\"0200\"}\nnot json\n{}\n"), 0o600)
	for name, args := range map[string][]string{
		"nothing to compare":     {},
		"journal without issuer": {"--journal", bad},
		"issuer without journal": {"--issuer", "alpha"},
		"missing journal":        {"--issuer", "alpha", "--journal", filepath.Join(dir, "none")},
		"malformed journal":      {"--issuer", "alpha", "--journal", bad},
		"negative max-listed":    {"--approvals", bad, "--max-listed", "-1"},
	} {
		_, err := runLedger(t, append([]string{"reconcile", "--data-dir", dir}, args...)...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: %v, want a usage error (exit 2)", name, err)
		}
	}
}
