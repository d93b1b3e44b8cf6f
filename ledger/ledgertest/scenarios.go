package ledgertest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardswitch/cardswitch/ledger"
)

func testExpiry(t *testing.T, h Harness) {
	t.Run("Expire releases due holds", func(t *testing.T) {
		t.Parallel()
		e := h.start(t)
		ev := event(ledger.Authorize, "A1", 1000)
		ev.HoldTimeout = time.Minute
		e.mustCommit(ev)
		e.mustCommit(event(ledger.Authorize, "A2", 2000)) // default timeout: days
		if n, err := e.writer.Expire(context.Background()); err != nil || n != 0 {
			t.Fatalf("expire before the timeout: %d, %v", n, err)
		}
		e.clock.Advance(2 * time.Minute)
		if n, err := e.writer.Expire(context.Background()); err != nil || n != 1 {
			t.Fatalf("expire after the timeout: %d, %v; want 1", n, err)
		}
		if got := e.balances()[ledger.AccountKey{Name: merchantPayable, Currency: usd}].CreditsPending; got != 2000 {
			t.Errorf("pending credits after expiry: %d, want 2000 (A2 only)", got)
		}
		tx, err := e.store.Transaction(context.Background(), "A1")
		if err != nil || tx.Status != ledger.StatusExpired {
			t.Fatalf("A1: %v, %v; want expired", tx, err)
		}
		e.verify()
	})
	t.Run("the loop sweeps on its own", func(t *testing.T) {
		t.Parallel()
		s := h.Open(t)
		clock := NewClock()
		w := startWriter(t, s, clock, ledger.WriterConfig{ExpiryInterval: 10 * time.Millisecond})
		e := &env{t: t, store: s, writer: w, clock: clock}
		ev := event(ledger.Authorize, "A1", 1000)
		ev.HoldTimeout = time.Second
		e.mustCommit(ev)
		clock.Advance(time.Hour)
		deadline := time.Now().Add(10 * time.Second)
		for e.balances()[ledger.AccountKey{Name: merchantPayable, Currency: usd}].CreditsPending != 0 {
			if time.Now().After(deadline) {
				t.Fatal("hold not released by the expiry loop within 10s")
			}
			time.Sleep(5 * time.Millisecond)
		}
		e.verify()
	})
}

func testBatchIsolatesOffender(t *testing.T, h Harness) {
	s := h.Open(t)
	clock := NewClock()
	reg := prometheus.NewRegistry()
	metrics, err := ledger.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	// A long wait gathers the concurrent events below into few batches.
	w := startWriter(t, s, clock, ledger.WriterConfig{BatchWaitMax: 200 * time.Millisecond, Metrics: metrics})
	e := &env{t: t, store: s, writer: w, clock: clock}
	const n = 40
	type result struct {
		ev  ledger.Event
		out ledger.Outcome
		err error
	}
	results := make(chan result, n+2)
	var wg sync.WaitGroup
	submitAsync := func(ev ledger.Event) {
		wg.Go(func() {
			out, err := e.commit(ev)
			results <- result{ev, out, err}
		})
	}
	for i := range n {
		submitAsync(event(ledger.Purchase, fmt.Sprintf("P%03d", i), 1000))
	}
	overdraw := event(ledger.Refund, "F-EMPTY", 500)
	overdraw.Payee.ID = "EMPTYMERCHANT01"
	submitAsync(overdraw)
	submitAsync(event(ledger.Purchase, "P000", 1000)) // a duplicate racing its original
	wg.Wait()
	close(results)
	var committed, dups int
	for r := range results {
		switch {
		case r.ev.ID == "F-EMPTY":
			if !errors.Is(r.err, ledger.ErrExceedsCredits) {
				t.Errorf("overdrawing refund: %v, want ErrExceedsCredits", r.err)
			}
		case r.err != nil:
			t.Errorf("%s: %v (an innocent event failed with the offender)", r.ev.ID, r.err)
		case r.out.Duplicate:
			dups++
		default:
			committed++
		}
	}
	if committed != n || dups != 1 {
		t.Errorf("committed %d and duplicates %d, want %d and 1", committed, dups, n)
	}
	if got := e.balances()[ledger.AccountKey{Name: merchantPayable, Currency: usd}]; got.CreditsPosted != n*1000 || got.DebitsPosted != n*25 {
		t.Errorf("merchant payable %+v, want credits %d debits %d", got, n*1000, n*25)
	}
	if batches := histogramCount(t, reg, "cardswitch_ledger_batch_items"); batches >= n {
		t.Errorf("%d batches for %d concurrent events: nothing was batched", batches, n+2)
	}
	e.verify()
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 && mf.GetMetric()[0].GetHistogram() != nil {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

func testLookups(t *testing.T, h Harness) {
	e := h.start(t)
	a := event(ledger.Authorize, "0100/TERM0001/000123/1126143015", 10000)
	a.RRN, a.STAN = "533012000123", "000123"
	e.mustCommit(a)
	e.clock.Advance(time.Minute)
	c := of(event(ledger.Capture, "0220/TERM0001/000124/1126143115", 7550), a.ID)
	c.RRN, c.STAN = a.RRN, "000124"
	e.mustCommit(c)
	ctx := context.Background()

	got, err := e.store.TransactionByRRN(ctx, "533012000123")
	if err != nil {
		t.Fatalf("by rrn: %v", err)
	}
	if got.ID != a.ID || got.Status != ledger.StatusCaptured || got.MaskedPAN != "411111******1111" {
		t.Errorf("by rrn: %s %s %s, want the captured authorization with its masked PAN", got.ID, got.Status, got.MaskedPAN)
	}
	if len(got.Transfers) != 1 || got.Transfers[0].Phase != "pending" || got.Transfers[0].State != ledger.StatePendingPosted ||
		got.Transfers[0].DebitAccount != alphaReceivable || got.Transfers[0].CreditAccount != merchantPayable {
		t.Errorf("authorization transfers: %+v", got.Transfers)
	}
	if len(got.Related) != 1 || got.Related[0].ID != c.ID || got.Related[0].Fee != 123 || len(got.Related[0].Transfers) != 2 {
		t.Errorf("related: %+v, want the capture with its post and fee", got.Related)
	}
	js, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"status":"captured"`, `"masked_pan":"411111******1111"`, `"response_code":"00"`, `"code":"merchant_fee"`} {
		if !strings.Contains(string(js), key) {
			t.Errorf("transaction JSON lacks %s: %s", key, js)
		}
	}

	latest, err := e.store.LatestByTerminalSTAN(ctx, "TERM0001", "000124")
	if err != nil || latest.ID != c.ID {
		t.Errorf("by terminal and STAN: %v, %v", latest, err)
	}
	if _, err := e.store.TransactionByRRN(ctx, "999999999999"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown RRN: %v, want ErrNotFound", err)
	}
	if _, err := e.store.Transaction(ctx, "nope"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
}

func testTrialBalanceJSON(t *testing.T, h Harness) {
	e := h.start(t)
	e.mustCommit(event(ledger.Purchase, "P1", 10003))
	tb, err := e.store.TrialBalance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(tb)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"currencies":[{"currency":"840","exponent":2,"accounts":[` +
		`{"account":"acquirer:fees:income","debits_posted":0,"credits_posted":160,"debits_pending":0,"credits_pending":0},` +
		`{"account":"issuer:alpha:receivable","debits_posted":10003,"credits_posted":0,"debits_pending":0,"credits_pending":0},` +
		`{"account":"merchant:MERCHANT0000001:payable","debits_posted":160,"credits_posted":10003,"debits_pending":0,"credits_pending":0}],` +
		`"totals":{"debits_posted":10163,"credits_posted":10163,"debits_pending":0,"credits_pending":0}}]}`
	if string(got) != want {
		t.Errorf("trial balance JSON:\n got %s\nwant %s", got, want)
	}
	if !tb.Balanced() {
		t.Error("trial balance does not balance")
	}
}

func testVerifyDetectsCorruption(t *testing.T, h Harness) {
	e := h.start(t)
	e.mustCommit(event(ledger.Purchase, "P1", 10003))
	e.verify()
	h.Corrupt(t, e.store, merchantPayable, usd, 1)
	rep, err := e.store.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]bool{}
	for _, v := range rep.Violations {
		checks[v.Check] = true
	}
	if rep.OK() || !checks["account_totals"] || !checks["posted_balance"] {
		t.Errorf("verify after corrupting one account: %+v, want account_totals and posted_balance", rep.Violations)
	}
}

func testCutover(t *testing.T, h Harness) {
	e := h.start(t)
	ctx := context.Background()
	day, err := e.store.BusinessDay(ctx)
	if err != nil {
		t.Fatal(err)
	}
	gov := func(id string, amount int64, ref string) ledger.Event {
		ev := event(ledger.Purchase, id, amount)
		ev.Payee, ev.PaymentRef = agency(), ref
		return ev
	}
	for _, ev := range []ledger.Event{
		event(ledger.Purchase, "P1", 10003), gov("G1", 5100, "BILL-1"), gov("G2", 2100, "BILL-2"),
		event(ledger.Authorize, "A1", 10000), of(event(ledger.Capture, "C1", 7550), "A1"),
		event(ledger.Purchase, "P2", 1000), of(event(ledger.Reverse, "R2", 0), "P2"),
		event(ledger.Refund, "F1", 2000), event(ledger.Authorize, "A2", 3000), // A2 stays held
	} {
		e.mustCommit(ev)
	}
	rep, err := ledger.Cutover(ctx, e.store, e.clock.Now(), "")
	if err != nil {
		t.Fatalf("cutover: %v", err)
	}
	if rep.BusinessDay != day {
		t.Fatalf("closed %s, want %s", rep.BusinessDay, day)
	}
	// Merchant: sales P1 + C1 + P2 = 185.53; refund 20.00; reversal 10.00; fees 1.60 + 1.23 +
	// 0.25 − 0.25 (reversed) = 2.83; net 155.53 − 2.83 = 152.70.
	wantMerchant := ledger.SettlementLine{ID: merchantID, Currency: usd, Exponent: 2, Count: 5, Gross: 15553, Fees: 283,
		Net: 15270, Sales: ledger.Movement{Count: 3, Amount: 18553}, Refunds: ledger.Movement{Count: 1, Amount: 2000},
		Reversals: ledger.Movement{Count: 1, Amount: 1000}}
	wantAgency := ledger.SettlementLine{ID: agencyID, Currency: usd, Exponent: 2, Count: 2, Gross: 7200, Fees: 200,
		Net: 7000, Sales: ledger.Movement{Count: 2, Amount: 7200}}
	wantIssuer := ledger.SettlementLine{ID: "alpha", Currency: usd, Exponent: 2, Count: 7, Gross: 22753, Net: 22753,
		Sales: ledger.Movement{Count: 5, Amount: 25753}, Refunds: ledger.Movement{Count: 1, Amount: 2000},
		Reversals: ledger.Movement{Count: 1, Amount: 1000}}
	checkLine(t, "merchant", rep.Merchants, wantMerchant)
	checkLine(t, "agency", rep.Agencies, wantAgency)
	checkLine(t, "issuer", rep.Issuers, wantIssuer)
	if len(rep.Agencies) == 1 {
		var refs []string
		for _, p := range rep.Agencies[0].Payments {
			refs = append(refs, p.PaymentRef)
		}
		if strings.Join(refs, ",") != "BILL-1,BILL-2" {
			t.Errorf("agency payment references %v, want BILL-1, BILL-2", refs)
		}
	}
	b := e.balances()
	want := map[string]int64{ // credits − debits posted after settlement
		merchantPayable: 0, ledger.SettlementAccount("merchant", merchantID): 15270,
		agencyPayable: 0, ledger.SettlementAccount("agency", agencyID): 7000,
		alphaReceivable: 0, ledger.SettlementAccount("issuer", "alpha"): -22753,
	}
	for name, w := range want {
		if got := b[ledger.AccountKey{Name: name, Currency: usd}].Balance(); got != w {
			t.Errorf("%s balance %d after settlement, want %d", name, got, w)
		}
	}
	if b[ledger.AccountKey{Name: merchantPayable, Currency: usd}].CreditsPending != 3000 {
		t.Error("the held authorization A2 must stay pending across the cutover")
	}

	again, err := ledger.Cutover(ctx, e.store, e.clock.Now(), day)
	if err != nil {
		t.Fatalf("second cutover of %s: %v", day, err)
	}
	if s := again.Merchants[0].Settlement; s == nil || s.Status != "exists" {
		t.Errorf("re-run settlement: %+v, want exists", s)
	}
	if after := e.balances(); after[ledger.AccountKey{Name: merchantPayable, Currency: usd}] != b[ledger.AccountKey{Name: merchantPayable, Currency: usd}] {
		t.Error("re-running the cutover moved money again")
	}
	next, err := e.store.BusinessDay(ctx)
	if err != nil || next <= day {
		t.Fatalf("open day after cutover: %s, %v; want after %s", next, err, day)
	}
	e.mustCommit(of(event(ledger.Capture, "C2", 3000), "A2"))
	c2, err := e.store.Transaction(ctx, "C2")
	if err != nil || c2.BusinessDay != next {
		t.Errorf("capture after cutover booked on %v (%v), want %s", c2, err, next)
	}
	var csv bytes.Buffer
	if err := rep.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(csv.String()), "\n"); len(lines) != 4 ||
		!strings.HasPrefix(lines[0], "business_day,party,id,currency") ||
		!strings.Contains(csv.String(), ",agency,"+agencyID+",840,2,2,7200,200,7000,") ||
		!strings.HasSuffix(lines[2], "BILL-1;BILL-2") {
		t.Errorf("settlement CSV:\n%s", csv.String())
	}
	e.verify()
}

func checkLine(t *testing.T, party string, lines []ledger.SettlementLine, want ledger.SettlementLine) {
	t.Helper()
	if len(lines) != 1 {
		t.Errorf("%s lines: %d, want 1", party, len(lines))
		return
	}
	got := lines[0]
	got.Settlement, got.Payments = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s line:\n got %+v\nwant %+v", party, got, want)
	}
	if s := lines[0].Settlement; s == nil || s.Amount != abs(want.Net) || s.Status != "created" {
		t.Errorf("%s settlement transfer: %+v, want %d created", party, s, abs(want.Net))
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

func testDrain(t *testing.T, h Harness) {
	s := h.Open(t)
	clock := NewClock()
	w := ledger.NewWriter(s, ledger.WriterConfig{Now: clock.Now})
	const n = 20
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := w.Commit(context.Background(), event(ledger.Purchase, fmt.Sprintf("P%d", i), 1000))
			errs <- err
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for w.Queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events queued after 10s", w.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run drains what is queued, then returns
	if err := w.Run(ctx); err != nil {
		t.Fatalf("run: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("queued event after drain: %v, want committed", err)
		}
	}
	if _, err := w.Commit(context.Background(), event(ledger.Purchase, "late", 1000)); !errors.Is(err, ledger.ErrWriterClosed) {
		t.Errorf("commit after drain: %v, want ErrWriterClosed", err)
	}
	e := &env{t: t, store: s, writer: w, clock: clock}
	if got := e.balances()[ledger.AccountKey{Name: merchantPayable, Currency: usd}].CreditsPosted; got != n*1000 {
		t.Errorf("merchant credits %d after drain, want %d", got, n*1000)
	}
}
