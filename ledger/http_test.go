package ledger_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/sqlite"
)

// openWriter opens an embedded store with a running Writer for the test.
func openWriter(t *testing.T) (*sqlite.Store, *ledger.Writer) {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	w := ledger.NewWriter(s, ledger.WriterConfig{Logger: zaptest.NewLogger(t)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, w
}

func TestHTTPHandlers(t *testing.T) {
	s, w := openWriter(t)
	ev := validPurchase()
	ev.RRN, ev.MaskedPAN, ev.ResponseCode = "533012000123", "411111******1111", "00"
	if _, err := w.Commit(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /v1/ledger/trial-balance", ledger.TrialBalanceHandler(s))
	mux.Handle("GET /v1/transactions/{rrn}", ledger.TransactionHandler(s))
	get := func(path string) (*httptest.ResponseRecorder, map[string]any) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		var body map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec, body
	}
	rec, body := get("/v1/ledger/trial-balance")
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || body["currencies"] == nil {
		t.Errorf("trial balance: %d %s", rec.Code, rec.Body)
	}
	rec, body = get("/v1/transactions/533012000123")
	if rec.Code != http.StatusOK || body["status"] != "posted" || body["masked_pan"] != "411111******1111" ||
		body["amount"] != float64(1000) || body["response_code"] != "00" || len(body["transfers"].([]any)) != 1 {
		t.Errorf("transaction: %d %s", rec.Code, rec.Body)
	}
	if rec, _ := get("/v1/transactions/000000000000"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown rrn: %d, want 404", rec.Code)
	}
}

func TestCutoverSchedule(t *testing.T) {
	s, _ := openWriter(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before, err := s.BusinessDay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The schedule's time of day is a moment from now (on the real clock: timers are real).
	now := time.Now().UTC()
	at := now.Add(50 * time.Millisecond).Sub(now.Truncate(24 * time.Hour))
	reports := make(chan *ledger.SettlementReport, 1)
	sched := &ledger.CutoverSchedule{Backend: s, At: at % (24 * time.Hour), Logger: zaptest.NewLogger(t),
		OnReport: func(r *ledger.SettlementReport) { reports <- r }}
	done := make(chan error, 1)
	go func() { done <- sched.Run(ctx) }()
	select {
	case rep := <-reports:
		if rep.BusinessDay != before {
			t.Errorf("closed %s, want the open day %s", rep.BusinessDay, before)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no scheduled cutover within 10s")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	after, err := s.BusinessDay(context.Background())
	if err != nil || after <= before {
		t.Errorf("open day after the scheduled cutover: %s (%v), want after %s", after, err, before)
	}
}
