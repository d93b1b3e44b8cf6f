package ledgertest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// The store-and-forward queue and intents (ledger/saf.go): written with the events that cause
// them, resolved by their events, recovered when nothing resolved them.

func testSAF(t *testing.T, h Harness) {
	t.Run("IntentResolvedWhenTheLedgerHoldsTheAnswer", func(t *testing.T) { testIntentResolved(t, h) })
	t.Run("IntentReversedOnTimeout", func(t *testing.T) { testIntentReversedOnTimeout(t, h) })
	t.Run("IntentReversedWhenTheLedgerRefuses", func(t *testing.T) { testIntentReversedOnRefusal(t, h) })
	t.Run("FollowUps", func(t *testing.T) { testFollowUps(t, h) })
	t.Run("Recover", func(t *testing.T) { testRecover(t, h) })
	t.Run("Delivery", func(t *testing.T) { testSAFDelivery(t, h) })
	t.Run("TerminalLookups", func(t *testing.T) { testTerminalLookups(t, h) })
}

func safMessage(mti, rrn string) ledger.SAFMessage {
	return ledger.SAFMessage{MTI: mti, RRN: rrn, MaskedPAN: "411111******1111", Currency: usd, Amount: 1000,
		Packed: []byte("0400 packed " + rrn), PANSealed: []byte{1, 2, 3}}
}

func intentFor(ev ledger.Event) ledger.Intent {
	return ledger.Intent{Key: "intent:" + ev.RRN, EventID: ev.ID, Issuer: ev.Issuer, Node: "0", Payee: ev.Payee.ID,
		Message: safMessage("0400", ev.RRN)}
}

func (e *env) intend(in ledger.Intent) error {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.writer.Intend(ctx, in)
}

func (e *env) saf(states ...ledger.SAFState) []ledger.SAFItem {
	e.t.Helper()
	items, err := e.store.SAFList(context.Background(), ledger.SAFFilter{States: states})
	if err != nil {
		e.t.Fatalf("saf list: %v", err)
	}
	return items
}

func (e *env) requireSAF(what string, want int, states ...ledger.SAFState) []ledger.SAFItem {
	e.t.Helper()
	items := e.saf(states...)
	if len(items) != want {
		e.t.Fatalf("%s: %d items in states %v, want %d: %+v", what, len(items), states, want, items)
	}
	return items
}

func testIntentResolved(t *testing.T, h Harness) {
	e := h.start(t)
	for _, c := range []struct {
		name string
		ev   ledger.Event
		ref  ledger.IntentRef
	}{
		{"approval", event(ledger.Purchase, "0200/TERM0001/000001/1126143015", 1000), ledger.IntentRef{Approved: true}},
		{"decline", func() ledger.Event {
			ev := event(ledger.Decline, "0200/TERM0001/000002/1126143015", 1051)
			ev.ResponseCode = "51"
			return ev
		}(), ledger.IntentRef{}},
	} {
		in := intentFor(c.ev)
		if err := e.intend(in); err != nil {
			t.Fatalf("%s: intend: %v", c.name, err)
		}
		e.requireSAF(c.name+" before the answer", 1, ledger.SAFIntent)
		c.ev.Intent = c.ref
		c.ev.Intent.Key = in.Key
		e.mustCommit(c.ev)
		e.requireSAF(c.name+" once the ledger holds the answer", 0, ledger.SAFIntent, ledger.SAFQueued)
	}
	// A resolved intent is deleted: its key is free again (then stored, and taken).
	if err := e.intend(intentFor(event(ledger.Purchase, "0200/TERM0001/000001/1126143015", 1000))); err != nil {
		t.Fatalf("intend with a resolved key: %v", err)
	}
	if err := e.intend(intentFor(event(ledger.Purchase, "0200/TERM0001/000001/1126143015", 1000))); !errors.Is(err, ledger.ErrIntentExists) {
		t.Fatalf("intend with a stored key: %v, want ErrIntentExists", err)
	}
	e.verify()
}

func testIntentReversedOnTimeout(t *testing.T, h Harness) {
	e := h.start(t)
	ev := event(ledger.Decline, "0100/TERM0001/000003/1126143015", 1000)
	ev.ResponseCode = "91"
	in := intentFor(ev)
	if err := e.intend(in); err != nil {
		t.Fatal(err)
	}
	ev.Intent = ledger.IntentRef{Key: in.Key, Reverse: true}
	e.mustCommit(ev)
	items := e.requireSAF("after the timeout", 1, ledger.SAFQueued)
	it := items[0]
	if it.Kind != ledger.SAFReversal || it.EventID != ev.ID || it.Issuer != "alpha" || it.MTI != "0400" ||
		!bytes.Equal(it.Packed, in.Message.Packed) || !bytes.Equal(it.PANSealed, in.Message.PANSealed) {
		t.Fatalf("queued item %+v, want the intent's reversal", it)
	}
	due, err := e.store.SAFDue(context.Background(), "alpha", e.clock.Now(), 10)
	if err != nil || len(due) != 1 || due[0].Seq != it.Seq {
		t.Fatalf("due: %v, %+v", err, due)
	}
	// A retransmission of the same (declined) transaction does not queue the reversal twice.
	e.mustCommit(ev)
	e.requireSAF("after the retransmission", 1, ledger.SAFQueued)
	tx, err := e.store.TransactionByRRN(context.Background(), ev.RRN)
	if err != nil || len(tx.SAF) != 1 || tx.SAF[0].Seq != it.Seq {
		t.Fatalf("transaction view: %v, saf %+v", err, tx)
	}
}

func testIntentReversedOnRefusal(t *testing.T, h Harness) {
	e := h.start(t)
	ev := event(ledger.Refund, "0200/TERM0001/000004/1126143015", 5000) // nothing to refund from: refused
	in := intentFor(ev)
	if err := e.intend(in); err != nil {
		t.Fatal(err)
	}
	ev.Intent = ledger.IntentRef{Key: in.Key, Approved: true}
	if _, err := e.commit(ev); !errors.Is(err, ledger.ErrExceedsCredits) {
		t.Fatalf("refund over the payable: %v", err)
	}
	e.requireSAF("approval the ledger refused", 1, ledger.SAFQueued)
	e.verify()
}

func testFollowUps(t *testing.T, h Harness) {
	e := h.start(t)
	auth := event(ledger.Authorize, "0100/TERM0001/000005/1126143015", 2000)
	e.mustCommit(auth)
	capture := of(event(ledger.Capture, "0220/TERM0001/000006/1126143016", 2000), auth.ID)
	capture.FollowUps = []ledger.FollowUp{{Issuer: "alpha", Kind: ledger.SAFCompletion, When: ledger.FollowIfHeld,
		Message: safMessage("0220", auth.RRN)}}
	e.mustCommit(capture)
	e.requireSAF("completion held", 1, ledger.SAFQueued)
	e.mustCommit(capture) // a retransmission: nothing new
	e.requireSAF("completion retransmitted", 1, ledger.SAFQueued)

	second := of(event(ledger.Capture, "0220/TERM0001/000007/1126143017", 2000), auth.ID) // already captured: refused
	second.FollowUps = capture.FollowUps
	if _, err := e.commit(second); !errors.Is(err, ledger.ErrAlreadyCaptured) {
		t.Fatalf("second capture: %v", err)
	}
	e.requireSAF("refused completion not forwarded", 1, ledger.SAFQueued)

	rev := of(event(ledger.Reverse, "0400/TERM0001/000008/1126143018", 2000), "0100/TERM0001/999999/1126143015")
	rev.FollowUps = []ledger.FollowUp{{Issuer: "alpha", Kind: ledger.SAFTerminalReversal, When: ledger.FollowAlways,
		Message: safMessage("0400", "UNKNOWN")}}
	if _, err := e.commit(rev); !errors.Is(err, ledger.ErrOriginalNotFound) {
		t.Fatalf("reversal of an unknown original: %v", err)
	}
	items := e.requireSAF("reversal of an unknown original forwarded", 2, ledger.SAFQueued)
	if items[1].Kind != ledger.SAFTerminalReversal {
		t.Fatalf("second item %+v", items[1])
	}
	// A reversal of the captured authorization waits behind its completion: one transaction's
	// items reach the issuer in order.
	rev2 := of(event(ledger.Reverse, "0400/TERM0001/000009/1126143019", 2000), auth.ID)
	rev2.FollowUps = []ledger.FollowUp{{Issuer: "alpha", Kind: ledger.SAFTerminalReversal, When: ledger.FollowIfHeld,
		Message: safMessage("0400", auth.RRN)}}
	e.mustCommit(rev2)
	e.requireSAF("reversal of the captured authorization", 3, ledger.SAFQueued)
	due, err := e.store.SAFDue(context.Background(), "alpha", e.clock.Now(), 10)
	if err != nil || len(due) != 2 || due[0].MTI != "0220" || due[1].RRN != "UNKNOWN" {
		t.Fatalf("due: %v %+v", err, due)
	}
	if err := e.writer.ChangeSAF(context.Background(), []ledger.SAFChange{{Op: ledger.SAFDeliver, Seq: due[0].Seq, At: e.clock.Now()}}); err != nil {
		t.Fatal(err)
	}
	due, err = e.store.SAFDue(context.Background(), "alpha", e.clock.Now(), 10)
	if err != nil || len(due) != 2 || due[1].MTI != "0400" || due[1].RRN != auth.RRN {
		t.Fatalf("due after the completion: %v %+v", err, due)
	}
	e.verify()
}

func testRecover(t *testing.T, h Harness) {
	e := h.start(t)
	ctx := context.Background()
	lost := event(ledger.Purchase, "0200/TERM0001/000010/1126143015", 1000)
	other := event(ledger.Purchase, "0200/TERM0002/000011/1126143015", 1000)
	held := event(ledger.Purchase, "0200/TERM0001/000012/1126143015", 1000)
	for _, ev := range []ledger.Event{lost, other, held} {
		in := intentFor(ev)
		if ev.ID == other.ID {
			in.Node = "1"
		}
		if err := e.intend(in); err != nil {
			t.Fatal(err)
		}
	}
	// held: the ledger holds the purchase, but its intent was never resolved (a second send of it
	// after a restart, say): recovery reverses that send without journaling anything.
	e.mustCommit(held)
	e.clock.Advance(time.Minute)

	got, err := e.writer.Recover(ctx, e.clock.Now(), "0")
	if err != nil || len(got) != 2 {
		t.Fatalf("recover node 0: %v, %d intents", err, len(got))
	}
	e.requireSAF("after recovery of node 0", 2, ledger.SAFQueued)
	e.requireSAF("node 1's intent untouched", 1, ledger.SAFIntent)
	tx, err := e.store.Transaction(ctx, lost.ID)
	if err != nil || tx.Kind != ledger.Recovered || tx.Status != ledger.StatusRecovered || tx.ResponseCode != "96" ||
		tx.RRN != lost.RRN || tx.Terminal != "TERM0001" || tx.STAN != "000010" || tx.Amount != 1000 {
		t.Fatalf("recovered transaction: %v %+v", err, tx)
	}
	tx, err = e.store.Transaction(ctx, held.ID)
	if err != nil || tx.Kind != ledger.Purchase {
		t.Fatalf("held purchase after recovery: %v %+v", err, tx)
	}

	// The lost purchase's own event arrives late: the recovery decided first.
	late := lost
	late.Intent = ledger.IntentRef{Key: "intent:late", Approved: true}
	in := intentFor(late)
	in.Key = "intent:late"
	if err := e.intend(in); err != nil {
		t.Fatal(err)
	}
	out, err := e.commit(late)
	if err != nil || !out.Duplicate || out.Original.Kind != ledger.Recovered {
		t.Fatalf("late event of a recovered transaction: %v %+v", err, out)
	}
	e.requireSAF("the late send reversed too", 3, ledger.SAFQueued)

	if got, err := e.writer.Recover(ctx, e.clock.Now(), "0"); err != nil || len(got) != 0 {
		t.Fatalf("second recovery: %v, %d", err, len(got))
	}
	if got, err := e.writer.Recover(ctx, e.clock.Now(), ""); err != nil || len(got) != 1 {
		t.Fatalf("recovery of any node: %v, %d", err, len(got))
	}
	e.verify()
	if tb, err := e.store.TrialBalance(ctx); err != nil || len(tb.Currencies) != 1 ||
		tb.Currencies[0].Totals.DebitsPosted != tb.Currencies[0].Totals.CreditsPosted {
		t.Fatalf("trial balance: %v %+v", err, tb)
	}
}

func testSAFDelivery(t *testing.T, h Harness) {
	e := h.start(t)
	ctx := context.Background()
	var evs []ledger.Event
	for i, id := range []string{"0100/TERM0001/000020/1126143015", "0100/TERM0001/000021/1126143015", "0100/TERM0001/000022/1126143015"} {
		ev := event(ledger.Decline, id, int64(1000+i))
		ev.ResponseCode = "91"
		in := intentFor(ev)
		if err := e.intend(in); err != nil {
			t.Fatal(err)
		}
		ev.Intent = ledger.IntentRef{Key: in.Key, Reverse: true}
		e.mustCommit(ev)
		evs = append(evs, ev)
	}
	items := e.requireSAF("queued", 3, ledger.SAFQueued)
	now := e.clock.Now()
	change := func(cs ...ledger.SAFChange) {
		t.Helper()
		if err := e.writer.ChangeSAF(ctx, cs); err != nil {
			t.Fatalf("change: %v", err)
		}
	}
	change(ledger.SAFChange{Op: ledger.SAFFailed, Seq: items[0].Seq, At: now, NextAttemptAt: now.Add(time.Minute), Error: "issuer unavailable"},
		ledger.SAFChange{Op: ledger.SAFDeliver, Seq: items[1].Seq, At: now, ResponseCode: "00"},
		ledger.SAFChange{Op: ledger.SAFPark, Seq: items[2].Seq, At: now, Error: "older than 24h"})
	due, err := e.store.SAFDue(ctx, "alpha", now, 10)
	if err != nil || len(due) != 0 {
		t.Fatalf("due while the first waits for its retry: %v %+v", err, due)
	}
	due, err = e.store.SAFDue(ctx, "alpha", now.Add(time.Minute), 10)
	if err != nil || len(due) != 1 || due[0].Attempts != 1 || due[0].LastError != "issuer unavailable" {
		t.Fatalf("due at the retry: %v %+v", err, due)
	}
	delivered, err := e.store.SAFItem(ctx, items[1].Seq)
	if err != nil || delivered.State != ledger.SAFDelivered || delivered.ResponseCode != "00" || delivered.Attempts != 1 {
		t.Fatalf("delivered item: %v %+v", err, delivered)
	}
	stats, err := e.store.SAFStats(ctx)
	if err != nil || len(stats) != 1 || stats[0].Queued != 1 || stats[0].Parked != 1 || stats[0].OldestQueued.IsZero() {
		t.Fatalf("stats: %v %+v", err, stats)
	}
	change(ledger.SAFChange{Op: ledger.SAFRetry, Seq: items[2].Seq, At: now.Add(time.Hour)})
	retried, err := e.store.SAFItem(ctx, items[2].Seq)
	if err != nil || retried.State != ledger.SAFQueued || !retried.QueuedAt.Equal(now.Add(time.Hour)) || retried.LastError != "older than 24h" {
		t.Fatalf("retried item: %v %+v", err, retried)
	}
	if err := e.writer.PruneSAF(ctx, now.Add(time.Second), 100); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SAFItem(ctx, items[1].Seq); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("pruned delivered item: %v", err)
	}
	e.requireSAF("left after pruning", 2, ledger.SAFQueued, ledger.SAFParked, ledger.SAFDelivered)
	if tx, err := e.store.TransactionByRRN(ctx, evs[2].RRN); err != nil || len(tx.SAF) != 1 || tx.SAF[0].State != ledger.SAFQueued {
		t.Fatalf("transaction view of the retried item: %v %+v", err, tx)
	}
}

func testTerminalLookups(t *testing.T, h Harness) {
	e := h.start(t)
	ctx := context.Background()
	ev := event(ledger.Purchase, "0200/TERM0009/000030/1126143015", 1000)
	ev.Terminal, ev.STAN, ev.RRN, ev.AcquirerRRN = "TERM0009", "000030", "633000000042", "TERMRRN00001"
	e.mustCommit(ev)
	for _, rrn := range []string{ev.RRN, ev.AcquirerRRN} {
		tx, err := e.store.ByTerminalRRN(ctx, "TERM0009", rrn)
		if err != nil || tx.ID != ev.ID || tx.AcquirerRRN != ev.AcquirerRRN {
			t.Fatalf("by terminal and RRN %s: %v %+v", rrn, err, tx)
		}
	}
	if _, err := e.store.ByTerminalRRN(ctx, "TERM0001", ev.RRN); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("another terminal's RRN: %v", err)
	}
	tx, err := e.store.ByTerminalIdentity(ctx, "TERM0009", "000030", "1126143015")
	if err != nil || tx.ID != ev.ID || len(tx.Transfers) == 0 {
		t.Fatalf("by terminal identity: %v %+v", err, tx)
	}
	if _, err := e.store.ByTerminalIdentity(ctx, "TERM0009", "000030", "1126143016"); !errors.Is(err, ledger.ErrNotFound) {
		t.Fatalf("another transmission time: %v", err)
	}
}
