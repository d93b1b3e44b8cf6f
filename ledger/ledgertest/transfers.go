package ledgertest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

func submit(t *testing.T, e *env, ts ...ledger.Transfer) []ledger.TransferResult {
	t.Helper()
	res, err := e.writer.Submit(context.Background(), ts)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return res
}

func id(s string) ledger.TransferID { return ledger.DeriveTransferID("test", s) }

func xfer(name string, debit, credit string, amount int64, flags ledger.TransferFlags) ledger.Transfer {
	return ledger.Transfer{ID: id(name), DebitAccount: debit, CreditAccount: credit, Currency: usd, Amount: amount, Flags: flags}
}

// resultOf describes a result for comparison: "created", "exists", "conflict" or the reason code.
func resultOf(r ledger.TransferResult) string {
	switch r.Status {
	case ledger.TransferCreated:
		return "created"
	case ledger.TransferExists:
		return "exists"
	case ledger.TransferConflict:
		return "conflict"
	}
	return r.Reason.Code
}

func testTransferSemantics(t *testing.T, h Harness) {
	const (
		a = "test:a:asset"
		b = "test:b:liability"
		p = "test:p:payable" // debits must not exceed credits
	)
	post := func(name, pending string, amount int64) ledger.Transfer {
		return ledger.Transfer{ID: id(name), Currency: usd, Amount: amount, Flags: ledger.PostPending, PendingID: id(pending)}
	}
	void := func(name, pending string) ledger.Transfer {
		return ledger.Transfer{ID: id(name), Currency: usd, Flags: ledger.VoidPending, PendingID: id(pending)}
	}
	withTimeout := func(tr ledger.Transfer, d time.Duration) ledger.Transfer { tr.Timeout = d; return tr }
	tests := []struct {
		name    string
		batches [][]ledger.Transfer
		advance time.Duration // before the last batch
		want    [][]string    // per batch, per transfer
		totals  map[string]totals
	}{
		{
			name:    "single-phase transfer posts",
			batches: [][]ledger.Transfer{{xfer("t1", a, b, 500, 0)}},
			want:    [][]string{{"created"}},
			totals:  map[string]totals{a: {dp: 500}, b: {cp: 500}},
		},
		{
			name:    "resubmitting the same transfer answers exists",
			batches: [][]ledger.Transfer{{xfer("t1", a, b, 500, 0)}, {xfer("t1", a, b, 500, 0)}},
			want:    [][]string{{"created"}, {"exists"}},
			totals:  map[string]totals{a: {dp: 500}},
		},
		{
			name:    "resubmitting the id with other content conflicts",
			batches: [][]ledger.Transfer{{xfer("t1", a, b, 500, 0)}, {xfer("t1", a, b, 501, 0)}},
			want:    [][]string{{"created"}, {"conflict"}},
			totals:  map[string]totals{a: {dp: 500}},
		},
		{
			name: "a linked chain fails as a whole",
			batches: [][]ledger.Transfer{{xfer("t1", a, b, 500, ledger.Linked), xfer("t2", a, a, 1, ledger.Linked),
				xfer("t3", a, b, 700, 0)}},
			want:   [][]string{{"linked_event_failed", "accounts_must_be_different", "linked_event_failed"}},
			totals: map[string]totals{a: {}, b: {}},
		},
		{
			name:    "a rejected transfer is remembered with its reason",
			batches: [][]ledger.Transfer{{xfer("t1", a, a, 5, 0)}, {xfer("t1", a, a, 5, 0)}},
			want:    [][]string{{"accounts_must_be_different"}, {"accounts_must_be_different"}},
		},
		{
			name:    "zero amount is rejected",
			batches: [][]ledger.Transfer{{xfer("t1", a, b, 0, 0)}},
			want:    [][]string{{"amount_must_be_positive"}},
		},
		{
			name:    "a payable may not go negative",
			batches: [][]ledger.Transfer{{xfer("t1", b, p, 100, 0)}, {xfer("t2", p, b, 101, 0)}, {xfer("t3", p, b, 100, 0)}},
			want:    [][]string{{"created"}, {"exceeds_credits"}, {"created"}},
			totals:  map[string]totals{p: {dp: 100, cp: 100}},
		},
		{
			name:    "partial post releases the rest of the pending amount",
			batches: [][]ledger.Transfer{{xfer("h", a, b, 1000, ledger.Pending)}, {post("p", "h", 600)}},
			want:    [][]string{{"created"}, {"created"}},
			totals:  map[string]totals{a: {dp: 600}, b: {cp: 600}},
		},
		{
			name:    "post with amount 0 posts the full pending amount",
			batches: [][]ledger.Transfer{{xfer("h", a, b, 1000, ledger.Pending)}, {post("p", "h", 0)}},
			want:    [][]string{{"created"}, {"created"}},
			totals:  map[string]totals{a: {dp: 1000}, b: {cp: 1000}},
		},
		{
			name:    "void releases the pending amount",
			batches: [][]ledger.Transfer{{xfer("h", a, b, 1000, ledger.Pending)}, {void("v", "h")}},
			want:    [][]string{{"created"}, {"created"}},
			totals:  map[string]totals{a: {}, b: {}},
		},
		{
			name: "a pending transfer is posted at most once",
			batches: [][]ledger.Transfer{{xfer("h", a, b, 1000, ledger.Pending)}, {post("p1", "h", 100)},
				{post("p2", "h", 100)}, {void("v", "h")}},
			want:   [][]string{{"created"}, {"created"}, {"pending_transfer_already_posted"}, {"pending_transfer_already_posted"}},
			totals: map[string]totals{a: {dp: 100}},
		},
		{
			name:    "post above the pending amount is rejected",
			batches: [][]ledger.Transfer{{xfer("h", a, b, 1000, ledger.Pending)}, {post("p", "h", 1001)}},
			want:    [][]string{{"created"}, {"exceeds_pending_transfer_amount"}},
			totals:  map[string]totals{a: {dpe: 1000}},
		},
		{
			name:    "post of an unknown pending transfer is rejected",
			batches: [][]ledger.Transfer{{post("p", "nope", 1)}},
			want:    [][]string{{"pending_transfer_not_found"}},
		},
		{
			name:    "post of a single-phase transfer is rejected",
			batches: [][]ledger.Transfer{{xfer("t", a, b, 10, 0)}, {post("p", "t", 1)}},
			want:    [][]string{{"created"}, {"pending_transfer_not_pending"}},
		},
		{
			name:    "post after the timeout is rejected and the amount released",
			batches: [][]ledger.Transfer{{withTimeout(xfer("h", a, b, 1000, ledger.Pending), time.Minute)}, {post("p", "h", 1)}},
			advance: 2 * time.Minute,
			want:    [][]string{{"created"}, {"pending_transfer_expired"}},
			totals:  map[string]totals{a: {}, b: {}},
		},
		{
			name: "pending and its post in one chain",
			batches: [][]ledger.Transfer{{xfer("h", a, b, 1000, ledger.Pending|ledger.Linked),
				post("p", "h", 400)}},
			want:   [][]string{{"created", "created"}},
			totals: map[string]totals{a: {dp: 400}, b: {cp: 400}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := h.start(t)
			for i, batch := range tc.batches {
				if i == len(tc.batches)-1 {
					e.clock.Advance(tc.advance)
				}
				res := submit(t, e, batch...)
				for j, r := range res {
					if got := resultOf(r); got != tc.want[i][j] {
						t.Errorf("batch %d transfer %d: %s, want %s", i, j, got, tc.want[i][j])
					}
				}
			}
			got := e.balances()
			for name, want := range tc.totals {
				acc := got[ledger.AccountKey{Name: name, Currency: usd}]
				if g := (totals{acc.DebitsPosted, acc.CreditsPosted, acc.DebitsPending, acc.CreditsPending}); g != want {
					t.Errorf("%s: got %+v, want %+v", name, g, want)
				}
			}
			e.verify()
		})
	}
	t.Run("malformed account name is refused before queueing", func(t *testing.T) {
		e := h.start(t)
		_, err := e.writer.Submit(context.Background(), []ledger.Transfer{xfer("t", "no-colons", b, 1, 0)})
		if err == nil {
			t.Fatal("want an error")
		}
		_, err = e.writer.Submit(context.Background(), []ledger.Transfer{{ID: id("t"), DebitAccount: a, CreditAccount: b, Currency: "999", Amount: 1}})
		if !errors.Is(err, ledger.ErrUnknownCurrency) {
			t.Fatalf("unknown currency: %v", err)
		}
	})
}
