package ledgertest

import (
	"context"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// testJournal checks JournalReader: each entry's own movement on its issuer's receivable, for
// every posting rule, with holds that are pending, posted, voided and expired.
func testJournal(t *testing.T, h Harness) {
	e := h.start(t)
	gov := event(ledger.Purchase, "G1", 5100)
	gov.Payee = agency()
	beta := event(ledger.Purchase, "B1", 700)
	beta.Issuer = "beta"
	short := event(ledger.Authorize, "A4", 800)
	short.HoldTimeout = time.Minute
	decline := event(ledger.Decline, "D1", 900)
	decline.ResponseCode = "51"
	for _, ev := range []ledger.Event{
		event(ledger.Purchase, "P1", 10003),
		event(ledger.Refund, "R1", 2000),
		event(ledger.Authorize, "A1", 10000),
		of(event(ledger.Capture, "C1", 7550), "A1"),
		event(ledger.Authorize, "A2", 3000),
		of(event(ledger.Reverse, "V2", 3000), "A2"),
		event(ledger.Authorize, "A3", 4000),
		event(ledger.Purchase, "P2", 6000),
		of(event(ledger.Reverse, "V3", 6000), "P2"),
		of(event(ledger.Reverse, "V4", 6000), "P2"), // a second reversal: rejected, moves nothing
		gov, beta, short, decline,
	} {
		e.commit(ev)
		e.clock.Advance(time.Second)
	}
	// A4's timeout passes: it counts as expired before the sweep releases it, and after.
	e.clock.Advance(2 * time.Minute)
	want := map[string][2]int64{ // id → held, expired
		"P1": {10003, 0}, "R1": {-2000, 0}, "A1": {0, 0}, "C1": {7550, 0}, "A2": {0, 0}, "V2": {0, 0},
		"A3": {4000, 0}, "P2": {6000, 0}, "V3": {-6000, 0}, "V4": {0, 0}, "G1": {5100, 0}, "B1": {700, 0},
		"A4": {0, 800}, "D1": {0, 0},
	}
	check := func(stage string, f ledger.JournalFilter, ids ...string) {
		t.Helper()
		got := map[string][2]int64{}
		var (
			order []string
			last  time.Time
		)
		err := e.store.Journal(context.Background(), f, func(je *ledger.JournalEntry) error {
			got[je.ID] = [2]int64{je.Held, je.Expired}
			order = append(order, je.ID)
			if je.At.Before(last) {
				t.Errorf("%s: %s at %v listed after an entry at %v", stage, je.ID, je.At, last)
			}
			last = je.At
			if je.ID == "C1" && (je.OriginalID != "A1" || je.RRN != "RRNC1" || je.Kind != ledger.Capture || je.Issuer != "alpha") {
				t.Errorf("%s: C1 is %+v", stage, je)
			}
			if je.ID == "V4" && je.Rejection == "" {
				t.Errorf("%s: the second reversal V4 has no rejection", stage)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: journal: %v", stage, err)
		}
		if len(got) != len(ids) {
			t.Errorf("%s: %d entries %v, want %d", stage, len(got), order, len(ids))
		}
		for _, id := range ids {
			if got[id] != want[id] {
				t.Errorf("%s: %s held, expired = %v, want %v", stage, id, got[id], want[id])
			}
		}
	}
	alpha := []string{"P1", "R1", "A1", "C1", "A2", "V2", "A3", "P2", "V3", "V4", "G1", "A4", "D1"}
	check("before the sweep", ledger.JournalFilter{Issuer: "alpha", Now: e.clock.Now()}, alpha...)
	check("every issuer", ledger.JournalFilter{Now: e.clock.Now()}, append(alpha, "B1")...)
	check("beta", ledger.JournalFilter{Issuer: "beta", Now: e.clock.Now()}, "B1")
	if n, err := e.writer.Expire(context.Background()); err != nil || n != 1 {
		t.Fatalf("expire: %d, %v; want 1", n, err)
	}
	check("after the sweep", ledger.JournalFilter{Issuer: "alpha", Now: e.clock.Now()}, alpha...)
	e.verify()
}
