package ledgertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/ledger"
)

// A COMMIT whose connection fails may or may not have taken effect: the writer finds out by the
// batch's deterministic ids before anyone acts on it.

// flakyBackend wraps a store's Backend: its next COMMIT is reported in doubt (after really
// committing, or after rolling back), and it can refuse to begin batches (a database that is down).
type flakyBackend struct {
	ledger.Backend
	mu        sync.Mutex
	doubt     string // "committed" or "lost": what the next COMMIT really does before failing
	refuse    bool   // BeginBatch fails
	downAfter bool   // the database goes away with the in-doubt COMMIT
}

var errDown = errors.New("database down (test)")

func (b *flakyBackend) BeginBatch(ctx context.Context, exclusive bool) (ledger.BatchTx, error) {
	b.mu.Lock()
	refuse := b.refuse
	b.mu.Unlock()
	if refuse {
		return nil, errDown
	}
	tx, err := b.Backend.BeginBatch(ctx, exclusive)
	if err != nil {
		return nil, err
	}
	return &flakyTx{BatchTx: tx, b: b}, nil
}

type flakyTx struct {
	ledger.BatchTx
	b *flakyBackend
}

func (t *flakyTx) Commit(ctx context.Context) error {
	t.b.mu.Lock()
	doubt := t.b.doubt
	t.b.doubt = ""
	t.b.mu.Unlock()
	switch doubt {
	case "committed":
		if err := t.BatchTx.Commit(ctx); err != nil {
			return err
		}
	case "lost":
		_ = t.BatchTx.Rollback(ctx)
	default:
		return t.BatchTx.Commit(ctx)
	}
	t.b.mu.Lock()
	if t.b.downAfter {
		t.b.refuse, t.b.downAfter = true, false
	}
	t.b.mu.Unlock()
	return ledger.ErrCommitInDoubt
}

func (t *flakyTx) Rollback(ctx context.Context) error { return t.BatchTx.Rollback(ctx) }

func testCommitInDoubt(t *testing.T, h Harness) {
	store := h.Open(t)
	clock := NewClock()
	fb := &flakyBackend{Backend: store}
	w := ledger.NewWriter(fb, ledger.WriterConfig{Now: clock.Now, Logger: zaptest.NewLogger(t), CommitResolveMax: 200 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	})
	e := &env{t: t, store: store, writer: w, clock: clock}
	set := func(doubt string, refuse bool) {
		fb.mu.Lock()
		fb.doubt, fb.refuse = doubt, refuse
		fb.mu.Unlock()
	}
	payable := func() int64 {
		return e.balances()[ledger.AccountKey{Name: merchantPayable, Currency: usd}].CreditsPosted
	}

	set("committed", false)
	if out, err := e.commit(event(ledger.Purchase, "0200/TERM0001/000001/1206120000", 1000)); err != nil || out.Duplicate {
		t.Fatalf("a batch that committed though its COMMIT failed: %v %+v, want its outcome", err, out)
	}
	if got := payable(); got != 1000 {
		t.Fatalf("payable %d after one purchase, want 1000 (held once)", got)
	}

	set("lost", false)
	if _, err := e.commit(event(ledger.Purchase, "0200/TERM0001/000002/1206120000", 2000)); err != nil {
		t.Fatalf("a batch whose COMMIT was lost: %v, want it retried and held", err)
	}
	if got := payable(); got != 3000 {
		t.Fatalf("payable %d, want 3000", got)
	}

	// The database goes away right after an in-doubt COMMIT: nobody can tell in time.
	set("committed", false)
	fb.mu.Lock()
	fb.downAfter = true
	fb.mu.Unlock()
	_, err := e.commit(event(ledger.Purchase, "0200/TERM0001/000003/1206120000", 4000))
	if !errors.Is(err, ledger.ErrCommitUnknown) || !errors.Is(err, ledger.ErrUnavailable) {
		t.Fatalf("in doubt with the database gone: %v, want ErrCommitUnknown (an ErrUnavailable)", err)
	}
	if w.Err() == nil {
		t.Fatal("the writer reports no failure while the database is down")
	}
	set("", false)
	if got := payable(); got != 7000 {
		t.Fatalf("payable %d: the unknown commit had taken effect (7000)", got)
	}
	if _, err := e.commit(event(ledger.Purchase, "0200/TERM0001/000004/1206120000", 1)); err != nil || w.Err() != nil {
		t.Fatalf("after the database is back: %v, writer error %v", err, w.Err())
	}
}
