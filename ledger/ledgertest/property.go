package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/cardswitch/cardswitch/ledger"
)

// modelFee is the merchant fee computed independently of the ledger: 1.50 % in basis points,
// rounded half-up in integers, plus 0.10, never above the amount.
func modelFee(a int64) int64 { return min((a*150+5000)/10000+10, a) }

// Hold states of the model.
const (
	held = iota
	captured
	voided
	expired
)

type mAuth struct {
	amount  int64
	expires time.Time
	state   int
	capture string
}

// mPosting is a purchase, capture or refund: what a reversal would compensate.
type mPosting struct {
	kind      ledger.EventKind
	principal int64
	fee       int64
	reversed  bool
	sale      string   // a refund naming its sale: the sale's id
	refunds   []string // a sale: the refunds naming it
}

type mEvent struct {
	ev  ledger.Event
	err error // the first answer
}

// model predicts every answer of the ledger for one merchant and one issuer, and their totals.
type model struct {
	now                        func() time.Time
	auths                      map[string]*mAuth
	postings                   map[string]*mPosting
	events                     []mEvent
	payableCP, payableDP       int64
	issuerDP, issuerCP         int64
	pendingHeld                int64
	merchant, issuer, idPrefix string
	nextID                     int
}

func (m *model) id() string {
	m.nextID++
	return fmt.Sprintf("%s-%03d", m.idPrefix, m.nextID)
}

func (m *model) event(kind ledger.EventKind, amount int64) ledger.Event {
	ev := event(kind, m.id(), amount)
	ev.Payee.ID, ev.Issuer = m.merchant, m.issuer
	return ev
}

// holdState is the hold's state as of now (an expired hold is expired even before the sweep).
func (m *model) holdState(a *mAuth) int {
	if a.state == held && !m.now().Before(a.expires) {
		a.state = expired
		m.pendingHeld -= a.amount
	}
	return a.state
}

func (m *model) authorize(amount int64, timeout time.Duration) (ledger.Event, error) {
	ev := m.event(ledger.Authorize, amount)
	ev.HoldTimeout = timeout
	m.auths[ev.ID] = &mAuth{amount: amount, expires: m.now().Add(timeout)}
	m.pendingHeld += amount
	return ev, nil
}

func (m *model) purchase(amount int64) (ledger.Event, error) {
	ev := m.event(ledger.Purchase, amount)
	m.post(ev.ID, ledger.Purchase, amount)
	return ev, nil
}

func (m *model) post(id string, kind ledger.EventKind, amount int64) {
	fee := modelFee(amount)
	m.postings[id] = &mPosting{kind: kind, principal: amount, fee: fee}
	m.payableCP += amount
	m.payableDP += fee
	m.issuerDP += amount
}

func (m *model) capture(authID string, amount int64) (ledger.Event, error) {
	ev := m.event(ledger.Capture, amount)
	ev.OriginalID = authID
	a := m.auths[authID]
	switch m.holdState(a) {
	case captured:
		return ev, ledger.ErrAlreadyCaptured
	case voided:
		return ev, ledger.ErrHoldVoided
	case expired:
		return ev, ledger.ErrHoldExpired
	}
	if amount > a.amount {
		return ev, ledger.ErrCaptureExceedsHold
	}
	a.state, a.capture = captured, ev.ID
	m.pendingHeld -= a.amount
	m.post(ev.ID, ledger.Capture, amount)
	return ev, nil
}

// refund gives amount back, naming the sale it refunds (the event sale) or none (sale.ev.ID "").
func (m *model) refund(amount int64, sale mEvent) (ledger.Event, error) {
	ev := m.event(ledger.Refund, amount)
	ev.OriginalID = sale.ev.ID
	if ev.OriginalID != "" {
		if reason := m.refundable(sale, amount); reason != nil {
			return ev, reason
		}
	}
	if m.payableDP+amount > m.payableCP {
		return ev, ledger.ErrExceedsCredits
	}
	m.postings[ev.ID] = &mPosting{kind: ledger.Refund, principal: amount, sale: ev.OriginalID}
	if ev.OriginalID != "" {
		s := m.postings[ev.OriginalID]
		s.refunds = append(s.refunds, ev.ID)
	}
	m.payableDP += amount
	m.issuerCP += amount
	return ev, nil
}

// refundable is the ledger's answer to a refund of amount naming sale.
func (m *model) refundable(sale mEvent, amount int64) error {
	s := m.postings[sale.ev.ID]
	switch {
	case sale.err != nil:
		return ledger.ErrOriginalNotFound
	case s == nil || s.kind == ledger.Refund:
		return ledger.ErrNotASale
	case s.reversed:
		return ledger.ErrAlreadyReversed
	case m.refunded(s)+amount > s.principal:
		return ledger.ErrRefundExceedsOriginal
	}
	return nil
}

// refunded is what the refunds naming a sale give back, reversed ones excluded.
func (m *model) refunded(s *mPosting) int64 {
	var total int64
	for _, id := range s.refunds {
		if r := m.postings[id]; !r.reversed {
			total += r.principal
		}
	}
	return total
}

func (m *model) reverse(orig mEvent) (ledger.Event, error) {
	ev := m.event(ledger.Reverse, 0)
	ev.OriginalID = orig.ev.ID
	if orig.err != nil || orig.ev.Kind == ledger.Reverse {
		return ev, ledger.ErrNothingToReverse
	}
	target := orig.ev.ID
	if a := m.auths[target]; a != nil {
		switch m.holdState(a) {
		case held:
			a.state = voided
			m.pendingHeld -= a.amount
			return ev, nil
		case voided:
			return ev, ledger.ErrAlreadyReversed
		case expired:
			return ev, ledger.ErrHoldExpired
		}
		target = a.capture
	}
	p := m.postings[target]
	if p.reversed {
		return ev, ledger.ErrAlreadyReversed
	}
	if p.kind != ledger.Refund && m.refunded(p) > 0 {
		return ev, ledger.ErrRefunded
	}
	if p.kind == ledger.Refund {
		p.reversed = true
		m.payableCP += p.principal
		m.issuerDP += p.principal
		return ev, nil
	}
	if m.payableDP+p.principal > m.payableCP+p.fee {
		return ev, ledger.ErrExceedsCredits
	}
	p.reversed = true
	m.payableDP += p.principal
	m.payableCP += p.fee
	m.issuerCP += p.principal
	return ev, nil
}

func testProperty(t *testing.T, h Harness) {
	e := h.start(t)
	n := 0 // iterations share the store; each has its own merchant and issuer
	rapid.Check(t, func(rt *rapid.T) {
		n++
		m := &model{now: e.clock.Now, auths: map[string]*mAuth{}, postings: map[string]*mPosting{},
			merchant: fmt.Sprintf("PROPM%05d", n), issuer: fmt.Sprintf("propi%05d", n), idPrefix: fmt.Sprintf("it%05d", n)}
		steps := rapid.IntRange(1, 20).Draw(rt, "steps")
		for range steps {
			runAction(rt, e, m)
		}
		if _, err := e.writer.Expire(context.Background()); err != nil {
			rt.Fatalf("expire: %v", err)
		}
		for _, a := range m.auths {
			m.holdState(a)
		}
		checkModel(rt, e, m, n%verifyEvery == 0)
	})
	e.verify()
}

func runAction(rt *rapid.T, e *env, m *model) {
	amount := rapid.Int64Range(1, 100000)
	var ev ledger.Event
	var want error
	switch action := rapid.IntRange(0, 8).Draw(rt, "action"); {
	case action == 0 || action == 1:
		ev, want = m.purchase(amount.Draw(rt, "amount"))
	case action == 2:
		timeout := rapid.SampledFrom([]time.Duration{30 * time.Second, time.Hour}).Draw(rt, "timeout")
		ev, want = m.authorize(amount.Draw(rt, "amount"), timeout)
	case action == 3 && len(m.auths) > 0:
		id := rapid.SampledFrom(sortedKeys(m.auths)).Draw(rt, "auth")
		ev, want = m.capture(id, rapid.Int64Range(1, m.auths[id].amount+10).Draw(rt, "capture"))
	case action == 4:
		var sale mEvent // none: a refund naming no sale
		if len(m.events) > 0 && rapid.Bool().Draw(rt, "names its sale") {
			sale = rapid.SampledFrom(m.events).Draw(rt, "sale")
		}
		ev, want = m.refund(rapid.Int64Range(1, 50000).Draw(rt, "refund"), sale)
	case action == 5 && len(m.events) > 0:
		ev, want = m.reverse(rapid.SampledFrom(m.events).Draw(rt, "original"))
	case action == 6 && len(m.events) > 0:
		first := rapid.SampledFrom(m.events).Draw(rt, "duplicate")
		out, err := e.commit(first.ev)
		if !out.Duplicate || !errIs(err, first.err) {
			rt.Fatalf("duplicate of %s: %+v, %v; want the first answer %v", first.ev.ID, out, err, first.err)
		}
		if first.ev.Kind != ledger.Reverse {
			changed := first.ev
			changed.Amount++
			if _, err := e.commit(changed); !errors.Is(err, ledger.ErrEventConflict) {
				rt.Fatalf("changed resubmission of %s: %v, want ErrEventConflict", first.ev.ID, err)
			}
		}
		return
	case action == 7:
		e.clock.Advance(rapid.SampledFrom([]time.Duration{time.Second, time.Minute, 2 * time.Hour}).Draw(rt, "advance"))
		return
	case action == 8:
		burst(rt, e, m, rapid.IntRange(2, 8).Draw(rt, "burst"))
		return
	default:
		return
	}
	_, err := e.commit(ev)
	if !errIs(err, want) {
		rt.Fatalf("%s %s (original %q, amount %d): %v, want %v", ev.Kind, ev.ID, ev.OriginalID, ev.Amount, err, want)
	}
	m.events = append(m.events, mEvent{ev: ev, err: want})
}

// burst submits purchases concurrently (batched together) with a duplicate of the first.
func burst(rt *rapid.T, e *env, m *model, k int) {
	evs := make([]ledger.Event, k)
	for i := range evs {
		evs[i], _ = m.purchase(rapid.Int64Range(1, 100000).Draw(rt, "amount"))
	}
	evs = append(evs, evs[0])
	errs := make([]error, len(evs))
	dups := make([]bool, len(evs))
	var wg sync.WaitGroup
	for i := range evs {
		wg.Go(func() {
			out, err := e.commit(evs[i])
			errs[i], dups[i] = err, out.Duplicate
		})
	}
	wg.Wait()
	nDup := 0
	for i, err := range errs {
		if err != nil {
			rt.Fatalf("burst purchase %s: %v", evs[i].ID, err)
		}
		if dups[i] {
			nDup++
		}
	}
	if nDup != 1 {
		rt.Fatalf("burst: %d duplicates, want exactly 1", nDup)
	}
	for _, ev := range evs[:k] {
		m.events = append(m.events, mEvent{ev: ev})
	}
}

// verifyEvery spaces the full Verify between iterations (it reads every table, which grows with
// each iteration); the model's balances are checked after every iteration, Verify once more at
// the end.
const verifyEvery = 10

func checkModel(rt *rapid.T, e *env, m *model, verify bool) {
	accounts, err := e.store.Balances(context.Background())
	if err != nil {
		rt.Fatal(err)
	}
	got := map[string]ledger.AccountBalance{}
	for _, a := range accounts {
		got[a.Name] = a
	}
	payable := got[ledger.PayeePayable(ledger.Merchant, m.merchant)]
	issuer := got[ledger.IssuerReceivable(m.issuer)]
	if payable.CreditsPosted != m.payableCP || payable.DebitsPosted != m.payableDP || payable.CreditsPending != m.pendingHeld {
		rt.Fatalf("merchant payable: credits %d debits %d pending %d; model %d %d %d",
			payable.CreditsPosted, payable.DebitsPosted, payable.CreditsPending, m.payableCP, m.payableDP, m.pendingHeld)
	}
	if issuer.DebitsPosted != m.issuerDP || issuer.CreditsPosted != m.issuerCP || issuer.DebitsPending != m.pendingHeld {
		rt.Fatalf("issuer receivable: debits %d credits %d pending %d; model %d %d %d",
			issuer.DebitsPosted, issuer.CreditsPosted, issuer.DebitsPending, m.issuerDP, m.issuerCP, m.pendingHeld)
	}
	tb := ledger.NewTrialBalance(accounts)
	if !tb.Balanced() {
		rt.Fatalf("trial balance does not balance: %+v", tb.Currencies[0].Totals)
	}
	if !verify {
		return
	}
	rep, err := e.store.Verify(context.Background())
	if err != nil || !rep.OK() {
		rt.Fatalf("verify: %v %+v", err, rep.Violations)
	}
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
