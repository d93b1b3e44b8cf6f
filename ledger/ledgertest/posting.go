package ledgertest

import (
	"context"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// step submits one event (after moving the clock) and states what must come back.
type step struct {
	advance time.Duration
	ev      ledger.Event
	err     error // errors.Is target; nil means accepted
	dup     bool
}

// totals are an account's expected totals in USD minor units: debits/credits posted/pending.
type totals struct{ dp, cp, dpe, cpe int64 }

func testPostingRules(t *testing.T, h Harness) {
	purchase := func(id string, a int64) ledger.Event { return event(ledger.Purchase, id, a) }
	auth := func(id string, a int64) ledger.Event { return event(ledger.Authorize, id, a) }
	capture := func(id, orig string, a int64) ledger.Event { return of(event(ledger.Capture, id, a), orig) }
	reverse := func(id, orig string) ledger.Event { return of(event(ledger.Reverse, id, 0), orig) }
	refund := func(id string, a int64) ledger.Event { return event(ledger.Refund, id, a) }
	gov := func(ev ledger.Event) ledger.Event { ev.Payee = agency(); ev.PaymentRef = "BILL-2025-0042"; return ev }
	decline := func(id string) ledger.Event {
		ev := event(ledger.Decline, id, 5005)
		ev.ResponseCode = "05"
		return ev
	}
	shortHold := func(ev ledger.Event) ledger.Event { ev.HoldTimeout = time.Minute; return ev }
	withAmount := func(ev ledger.Event, a int64) ledger.Event { ev.Amount = a; return ev }

	tests := []struct {
		name   string
		steps  []step
		want   map[string]totals
		status map[string]ledger.TransactionStatus
	}{
		{
			// 100.03 × 1.50 % = 1.50045 → 1.50 (half-up to 2 decimals) + 0.10 fixed = 1.60.
			name:  "purchase posts the amount and charges percent plus fixed fee",
			steps: []step{{ev: purchase("P1", 10003)}},
			want: map[string]totals{
				alphaReceivable: {dp: 10003}, merchantPayable: {dp: 160, cp: 10003}, ledger.FeesIncome: {cp: 160},
			},
			status: map[string]ledger.TransactionStatus{"P1": ledger.StatusPosted},
		},
		{
			// 101.00 × 1.50 % = 1.515 → 1.52 (the half rounds up) + 0.10 = 1.62.
			name:  "fee rounds half up",
			steps: []step{{ev: purchase("P1", 10100)}},
			want:  map[string]totals{merchantPayable: {dp: 162, cp: 10100}, ledger.FeesIncome: {cp: 162}},
		},
		{
			name:   "authorization holds the amount as pending",
			steps:  []step{{ev: auth("A1", 10000)}},
			want:   map[string]totals{alphaReceivable: {dpe: 10000}, merchantPayable: {cpe: 10000}},
			status: map[string]ledger.TransactionStatus{"A1": ledger.StatusHeld},
		},
		{
			name:  "full capture posts the hold and charges the fee",
			steps: []step{{ev: auth("A1", 10000)}, {ev: capture("C1", "A1", 10000)}},
			want: map[string]totals{
				alphaReceivable: {dp: 10000}, merchantPayable: {dp: 160, cp: 10000}, ledger.FeesIncome: {cp: 160},
			},
			status: map[string]ledger.TransactionStatus{"A1": ledger.StatusCaptured, "C1": ledger.StatusPosted},
		},
		{
			// 75.50 × 1.50 % = 1.1325 → 1.13 + 0.10 = 1.23; the other 24.50 of the hold is released.
			name:  "partial capture posts part of the hold and releases the rest",
			steps: []step{{ev: auth("A1", 10000)}, {ev: capture("C1", "A1", 7550)}},
			want: map[string]totals{
				alphaReceivable: {dp: 7550}, merchantPayable: {dp: 123, cp: 7550}, ledger.FeesIncome: {cp: 123},
			},
		},
		{
			name:   "reversal before capture voids the hold",
			steps:  []step{{ev: auth("A1", 10000)}, {ev: reverse("R1", "A1")}},
			want:   map[string]totals{alphaReceivable: {}, merchantPayable: {}},
			status: map[string]ledger.TransactionStatus{"A1": ledger.StatusVoided, "R1": ledger.StatusPosted},
		},
		{
			name:  "reversal after a purchase compensates amount and fee: nets to zero",
			steps: []step{{ev: purchase("P1", 10003)}, {ev: reverse("R1", "P1")}},
			want: map[string]totals{
				alphaReceivable: {dp: 10003, cp: 10003}, merchantPayable: {dp: 10163, cp: 10163},
				ledger.FeesIncome: {dp: 160, cp: 160},
			},
			status: map[string]ledger.TransactionStatus{"P1": ledger.StatusReversed},
		},
		{
			name:  "reversal of a captured authorization compensates its capture",
			steps: []step{{ev: auth("A1", 10000)}, {ev: capture("C1", "A1", 10000)}, {ev: reverse("R1", "A1")}},
			want: map[string]totals{
				alphaReceivable: {dp: 10000, cp: 10000}, merchantPayable: {dp: 10160, cp: 10160},
				ledger.FeesIncome: {dp: 160, cp: 160},
			},
			status: map[string]ledger.TransactionStatus{"A1": ledger.StatusReversed, "C1": ledger.StatusReversed},
		},
		{
			name:  "reversal of a capture compensates it",
			steps: []step{{ev: auth("A1", 10000)}, {ev: capture("C1", "A1", 5000)}, {ev: reverse("R1", "C1")}},
			want: map[string]totals{
				alphaReceivable: {dp: 5000, cp: 5000}, merchantPayable: {dp: 5085, cp: 5085},
			},
			status: map[string]ledger.TransactionStatus{"A1": ledger.StatusReversed, "C1": ledger.StatusReversed},
		},
		{
			name:  "refund moves the amount back and keeps the original fee",
			steps: []step{{ev: purchase("P1", 10003)}, {ev: refund("F1", 2000)}},
			want: map[string]totals{
				alphaReceivable: {dp: 10003, cp: 2000}, merchantPayable: {dp: 2160, cp: 10003}, ledger.FeesIncome: {cp: 160},
			},
		},
		{
			// 10.00 − (0.15 + 0.10) leaves 9.75 payable: a 20.00 refund would make it negative.
			name:  "refund larger than the payable is rejected",
			steps: []step{{ev: purchase("P1", 1000)}, {ev: refund("F1", 2000), err: ledger.ErrExceedsCredits}},
			want:  map[string]totals{merchantPayable: {dp: 25, cp: 1000}, alphaReceivable: {dp: 1000}},
		},
		{
			// The payer pays 51.00 including the 1.00 convenience fee; the agency gets 50.00.
			name:  "e-government payment credits the agency net of the convenience fee",
			steps: []step{{ev: gov(purchase("G1", 5100))}},
			want: map[string]totals{
				alphaReceivable: {dp: 5100}, agencyPayable: {cp: 5000}, ledger.ConvenienceFeesIncome: {cp: 100},
			},
		},
		{
			name:  "e-government hold and partial capture keep the convenience fee whole",
			steps: []step{{ev: gov(auth("A1", 5100))}, {ev: gov(capture("C1", "A1", 3100))}},
			want: map[string]totals{
				alphaReceivable: {dp: 3100}, agencyPayable: {cp: 3000}, ledger.ConvenienceFeesIncome: {cp: 100},
			},
		},
		{
			name:  "e-government reversal returns amount and convenience fee",
			steps: []step{{ev: gov(purchase("G1", 5100))}, {ev: reverse("R1", "G1")}},
			want: map[string]totals{
				alphaReceivable: {dp: 5100, cp: 5100}, agencyPayable: {dp: 5000, cp: 5000},
				ledger.ConvenienceFeesIncome: {dp: 100, cp: 100},
			},
		},
		{
			name:   "decline is journaled and moves no money",
			steps:  []step{{ev: decline("D1")}},
			want:   map[string]totals{alphaReceivable: {}, merchantPayable: {}},
			status: map[string]ledger.TransactionStatus{"D1": ledger.StatusDeclined},
		},
		{
			name:  "convenience fee not below the amount is rejected",
			steps: []step{{ev: gov(purchase("G1", 100)), err: ledger.ErrAmountNotAboveFee}},
			want:  map[string]totals{agencyPayable: {}},
		},
		{
			name:  "capture of an unknown original is rejected",
			steps: []step{{ev: capture("C1", "NOPE", 1000), err: ledger.ErrOriginalNotFound}},
		},
		{
			name:  "reversal of an unknown original is rejected",
			steps: []step{{ev: reverse("R1", "NOPE"), err: ledger.ErrOriginalNotFound}},
		},
		{
			name: "capture of a voided hold is rejected",
			steps: []step{{ev: auth("A1", 1000)}, {ev: reverse("R1", "A1")},
				{ev: capture("C1", "A1", 1000), err: ledger.ErrHoldVoided}},
			want: map[string]totals{merchantPayable: {}},
		},
		{
			name: "a second capture (double post) is rejected",
			steps: []step{{ev: auth("A1", 1000)}, {ev: capture("C1", "A1", 1000)},
				{ev: capture("C2", "A1", 1000), err: ledger.ErrAlreadyCaptured}},
			want: map[string]totals{merchantPayable: {dp: 25, cp: 1000}},
		},
		{
			name:  "capture above the hold is rejected",
			steps: []step{{ev: auth("A1", 1000)}, {ev: capture("C1", "A1", 1001), err: ledger.ErrCaptureExceedsHold}},
			want:  map[string]totals{merchantPayable: {cpe: 1000}},
		},
		{
			name:  "capture of a purchase is rejected",
			steps: []step{{ev: purchase("P1", 1000)}, {ev: capture("C1", "P1", 1000), err: ledger.ErrNotAnAuthorization}},
		},
		{
			name: "a second reversal is rejected",
			steps: []step{{ev: purchase("P1", 1000)}, {ev: reverse("R1", "P1")},
				{ev: reverse("R2", "P1"), err: ledger.ErrAlreadyReversed}},
			want: map[string]totals{merchantPayable: {dp: 1025, cp: 1025}},
		},
		{
			name:  "reversal of a decline has nothing to reverse",
			steps: []step{{ev: decline("D1")}, {ev: reverse("R1", "D1"), err: ledger.ErrNothingToReverse}},
		},
		{
			name: "capture after the hold expired is rejected and the hold released",
			steps: []step{{ev: shortHold(auth("A1", 1000))},
				{advance: 2 * time.Minute, ev: capture("C1", "A1", 1000), err: ledger.ErrHoldExpired}},
			want:   map[string]totals{merchantPayable: {}, alphaReceivable: {}},
			status: map[string]ledger.TransactionStatus{"A1": ledger.StatusExpired},
		},
		{
			name: "reversal after the hold expired is rejected",
			steps: []step{{ev: shortHold(auth("A1", 1000))},
				{advance: 2 * time.Minute, ev: reverse("R1", "A1"), err: ledger.ErrHoldExpired}},
			want: map[string]totals{merchantPayable: {}},
		},
		{
			name: "a duplicate returns the first decision; other content conflicts",
			steps: []step{{ev: purchase("P1", 1000)}, {ev: purchase("P1", 1000), dup: true},
				{ev: withAmount(purchase("P1", 1000), 999), err: ledger.ErrEventConflict}},
			want: map[string]totals{merchantPayable: {dp: 25, cp: 1000}},
		},
		{
			name: "a rejected event's retry gets the same rejection",
			steps: []step{{ev: capture("C1", "NOPE", 1000), err: ledger.ErrOriginalNotFound},
				{ev: capture("C1", "NOPE", 1000), err: ledger.ErrOriginalNotFound, dup: true}},
			status: map[string]ledger.TransactionStatus{"C1": ledger.StatusRejected},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := h.start(t)
			for i, s := range tc.steps {
				e.clock.Advance(s.advance)
				out, err := e.commit(s.ev)
				if !errIs(err, s.err) {
					t.Fatalf("step %d (%s %s): error %v, want %v", i, s.ev.Kind, s.ev.ID, err, s.err)
				}
				if out.Duplicate != s.dup {
					t.Fatalf("step %d (%s %s): duplicate %v, want %v", i, s.ev.Kind, s.ev.ID, out.Duplicate, s.dup)
				}
			}
			got := e.balances()
			for name, want := range tc.want {
				a := got[ledger.AccountKey{Name: name, Currency: usd}]
				if g := (totals{a.DebitsPosted, a.CreditsPosted, a.DebitsPending, a.CreditsPending}); g != want {
					t.Errorf("%s: got %+v, want %+v", name, g, want)
				}
			}
			for id, want := range tc.status {
				tx, err := e.store.Transaction(context.Background(), id)
				if err != nil {
					t.Fatalf("transaction %s: %v", id, err)
				}
				if tx.Status != want {
					t.Errorf("%s: status %s, want %s", id, tx.Status, want)
				}
			}
			e.verify()
		})
	}
}

// testWorkedExample posts the example of docs/ledger.md and asserts its trial balance.
func testWorkedExample(t *testing.T, h Harness) {
	e := h.start(t)
	gov := event(ledger.Purchase, "G1", 5100)
	gov.Payee, gov.PaymentRef = agency(), "BILL-2025-0042"
	for _, ev := range []ledger.Event{
		event(ledger.Purchase, "P1", 10003),
		event(ledger.Authorize, "A1", 10000), of(event(ledger.Capture, "C1", 7550), "A1"),
		event(ledger.Purchase, "P2", 10100), of(event(ledger.Reverse, "R2", 0), "P2"),
		event(ledger.Refund, "F1", 2000),
		gov,
	} {
		e.mustCommit(ev)
	}
	want := map[string]totals{
		ledger.ConvenienceFeesIncome: {cp: 100},
		ledger.FeesIncome:            {dp: 162, cp: 445},
		agencyPayable:                {cp: 5000},
		alphaReceivable:              {dp: 32753, cp: 12100},
		merchantPayable:              {dp: 12545, cp: 27815},
	}
	tb, err := e.store.TrialBalance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := tb.Currencies[0]
	if len(c.Accounts) != len(want) || c.Totals.DebitsPosted != 45460 || c.Totals.CreditsPosted != 45460 {
		t.Errorf("trial balance %+v, want 5 accounts and 454.60 on each side", c)
	}
	for _, a := range c.Accounts {
		if g := (totals{a.DebitsPosted, a.CreditsPosted, a.DebitsPending, a.CreditsPending}); g != want[a.Account] {
			t.Errorf("%s: %+v, want %+v", a.Account, g, want[a.Account])
		}
	}
	e.verify()
}
