package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/cardswitch/cardswitch/ledger"
)

// testTwoWriters runs two Writers on two connections to one database, as two switch processes
// would: both post to the same hot merchant and issuer, both receive the same events (a terminal
// retransmitting to another instance), and both try to capture and reverse the same
// authorizations. Nothing may be lost or doubled.
func testTwoWriters(t *testing.T, h Harness) {
	s1 := h.Open(t)
	s2 := h.OpenShared(t, s1)
	clock := NewClock()
	writers := []*ledger.Writer{
		startWriter(t, s1, clock, ledger.WriterConfig{}),
		startWriter(t, s2, clock, ledger.WriterConfig{}),
	}
	const (
		workers    = 4  // per writer
		perWorker  = 15 // event groups per worker
		saleAmount = 1000
	)
	type tally struct {
		mu                sync.Mutex
		committed, dups   map[string]int
		captures, revs    map[string]int // per authorization: successful captures, reversals
		rejected, failure []string
	}
	tl := &tally{committed: map[string]int{}, dups: map[string]int{}, captures: map[string]int{}, revs: map[string]int{}}
	commit := func(w *ledger.Writer, ev ledger.Event) error {
		ev.At = clock.Now()
		out, err := w.Commit(context.Background(), ev)
		tl.mu.Lock()
		defer tl.mu.Unlock()
		var rj *ledger.RejectionError
		switch {
		case err == nil && out.Duplicate:
			tl.dups[ev.ID]++
		case err == nil:
			tl.committed[ev.ID]++
		case errors.As(err, &rj):
			tl.rejected = append(tl.rejected, ev.ID)
		default:
			tl.failure = append(tl.failure, fmt.Sprintf("%s: %v", ev.ID, err))
		}
		return err
	}
	var wg sync.WaitGroup
	for wi := range workers {
		for g := range perWorker {
			// Each group goes to both writers at once: one purchase, one authorization, and two
			// competing captures and reversals of it.
			p := event(ledger.Purchase, fmt.Sprintf("P-%d-%d", wi, g), saleAmount)
			a := event(ledger.Authorize, fmt.Sprintf("A-%d-%d", wi, g), 2*saleAmount)
			for i, w := range writers {
				wg.Go(func() {
					_ = commit(w, p)
					if commit(w, a) != nil {
						return
					}
					c := of(event(ledger.Capture, fmt.Sprintf("C-%d-%d-%d", wi, g, i), saleAmount), a.ID)
					if commit(w, c) == nil {
						tl.mu.Lock()
						tl.captures[a.ID]++
						tl.mu.Unlock()
					}
					r := of(event(ledger.Reverse, fmt.Sprintf("R-%d-%d-%d", wi, g, i), 0), a.ID)
					if commit(w, r) == nil {
						tl.mu.Lock()
						tl.revs[a.ID]++
						tl.mu.Unlock()
					}
				})
			}
		}
	}
	wg.Wait()
	if len(tl.failure) > 0 {
		t.Fatalf("%d events failed: %v", len(tl.failure), tl.failure[:min(5, len(tl.failure))])
	}
	for wi := range workers {
		for g := range perWorker {
			for _, id := range []string{fmt.Sprintf("P-%d-%d", wi, g), fmt.Sprintf("A-%d-%d", wi, g)} {
				if tl.committed[id] != 1 || tl.dups[id] != 1 {
					t.Errorf("%s: committed %d times, duplicate %d times; want 1 and 1", id, tl.committed[id], tl.dups[id])
				}
			}
			// Each side reverses after its capture attempt, so exactly one reversal wins: it voids
			// the hold or compensates the one capture that won.
			a := fmt.Sprintf("A-%d-%d", wi, g)
			if tl.captures[a] > 1 || tl.revs[a] != 1 {
				t.Errorf("%s: %d captures and %d reversals succeeded; want at most 1 and exactly 1", a, tl.captures[a], tl.revs[a])
			}
		}
	}
	// Only the purchases remain: each credits 10.00 and is charged 0.25.
	const purchases = workers * perWorker
	e := &env{t: t, store: s1, clock: clock}
	b := e.balances()[ledger.AccountKey{Name: merchantPayable, Currency: usd}]
	if b.Balance() != purchases*(saleAmount-25) || b.CreditsPending != 0 {
		t.Errorf("merchant payable %+v: balance %d, want %d and nothing pending", b, b.Balance(), purchases*(saleAmount-25))
	}
	e.verify()
}
