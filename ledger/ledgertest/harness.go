// Package ledgertest is the test suite every ledger store must pass: the posting rules to the
// cent, TigerBeetle's transfer semantics, idempotency, expiry, batching, lookups, verify,
// settlement, property tests of the invariants over random card-event sequences, and two writers
// sharing one database. ledger/postgres and ledger/sqlite run it against real databases.
package ledgertest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/ledger"
)

// Harness is what a store gives the suite.
type Harness struct {
	// Open returns a new, empty store, closed and removed when the test ends.
	Open func(t testing.TB) ledger.Store
	// OpenShared returns a second store over s's database, as a second process would open it.
	OpenShared func(t testing.TB, s ledger.Store) ledger.Store
	// Corrupt adds delta to an account's posted credits behind the ledger's back.
	Corrupt func(t testing.TB, s ledger.Store, account, currency string, delta int64)
}

// Run runs the whole suite.
func Run(t *testing.T, h Harness) {
	t.Run("PostingRules", func(t *testing.T) { testPostingRules(t, h) })
	t.Run("WorkedExample", func(t *testing.T) { testWorkedExample(t, h) })
	t.Run("TransferSemantics", func(t *testing.T) { testTransferSemantics(t, h) })
	t.Run("Expiry", func(t *testing.T) { testExpiry(t, h) })
	t.Run("BatchIsolatesOffender", func(t *testing.T) { testBatchIsolatesOffender(t, h) })
	t.Run("Lookups", func(t *testing.T) { testLookups(t, h) })
	t.Run("TrialBalanceJSON", func(t *testing.T) { testTrialBalanceJSON(t, h) })
	t.Run("VerifyDetectsCorruption", func(t *testing.T) { testVerifyDetectsCorruption(t, h) })
	t.Run("Cutover", func(t *testing.T) { testCutover(t, h) })
	t.Run("Drain", func(t *testing.T) { testDrain(t, h) })
	t.Run("Property", func(t *testing.T) { testProperty(t, h) })
	t.Run("TwoWriters", func(t *testing.T) { testTwoWriters(t, h) })
	t.Run("SAF", func(t *testing.T) { testSAF(t, h) })
	t.Run("CommitInDoubt", func(t *testing.T) { testCommitInDoubt(t, h) })
	t.Run("Journal", func(t *testing.T) { testJournal(t, h) })
}

// Clock is a settable clock for expiry and cutover.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at a fixed instant.
func NewClock() *Clock { return &Clock{now: time.Date(2025, 11, 26, 14, 30, 15, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// env is a store with a running Writer.
type env struct {
	t      testing.TB
	store  ledger.Store
	writer *ledger.Writer
	clock  *Clock
}

// startWriter runs a Writer over store until the test ends.
func startWriter(t testing.TB, store ledger.Store, clock *Clock, cfg ledger.WriterConfig) *ledger.Writer {
	t.Helper()
	cfg.Now = clock.Now
	cfg.Logger = zaptest.NewLogger(t)
	w := ledger.NewWriter(store, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
	})
	return w
}

func (h Harness) start(t testing.TB) *env {
	t.Helper()
	s := h.Open(t)
	clock := NewClock()
	return &env{t: t, store: s, clock: clock, writer: startWriter(t, s, clock, ledger.WriterConfig{})}
}

func (e *env) commit(ev ledger.Event) (ledger.Outcome, error) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if ev.At.IsZero() {
		ev.At = e.clock.Now()
	}
	return e.writer.Commit(ctx, ev)
}

func (e *env) mustCommit(ev ledger.Event) ledger.Outcome {
	e.t.Helper()
	out, err := e.commit(ev)
	if err != nil {
		e.t.Fatalf("commit %s: %v", ev.ID, err)
	}
	return out
}

func (e *env) balances() map[ledger.AccountKey]ledger.AccountBalance {
	e.t.Helper()
	accounts, err := e.store.Balances(context.Background())
	if err != nil {
		e.t.Fatalf("balances: %v", err)
	}
	out := map[ledger.AccountKey]ledger.AccountBalance{}
	for _, a := range accounts {
		out[ledger.AccountKey{Name: a.Name, Currency: a.Currency}] = a
	}
	return out
}

func (e *env) verify() {
	e.t.Helper()
	rep, err := e.store.Verify(context.Background())
	if err != nil {
		e.t.Fatalf("verify: %v", err)
	}
	if !rep.OK() {
		e.t.Fatalf("verify: %d violations: %+v", len(rep.Violations), rep.Violations)
	}
}

// Parties of the default topology (CONTRACT.md §6).
const (
	merchantID = "MERCHANT0000001"
	agencyID   = "GOVAGENCY000001"
	usd        = "840"
)

var (
	merchantPayable = ledger.PayeePayable(ledger.Merchant, merchantID)
	agencyPayable   = ledger.PayeePayable(ledger.Agency, agencyID)
	alphaReceivable = ledger.IssuerReceivable("alpha")
)

func merchant() ledger.Payee {
	return ledger.Payee{Kind: ledger.Merchant, ID: merchantID,
		Fee: ledger.FeeSchedule{Percent: decimal.RequireFromString("1.50"), Fixed: 10}}
}

func agency() ledger.Payee {
	return ledger.Payee{Kind: ledger.Agency, ID: agencyID, ConvenienceFee: 100}
}

// event builds a card event of the default topology.
func event(kind ledger.EventKind, id string, amount int64) ledger.Event {
	return ledger.Event{ID: id, Kind: kind, Currency: usd, Amount: amount, Payee: merchant(), Issuer: "alpha",
		RRN: "RRN" + id, STAN: "000001", Terminal: "TERM0001", MTI: mtiOf(kind), MaskedPAN: "411111******1111",
		ResponseCode: "00", ApprovalCode: "A00001"}
}

func mtiOf(k ledger.EventKind) string {
	switch k {
	case ledger.Authorize:
		return "0100"
	case ledger.Capture:
		return "0220"
	case ledger.Reverse:
		return "0400"
	}
	return "0200"
}

func of(ev ledger.Event, original string) ledger.Event {
	ev.OriginalID = original
	return ev
}

func errIs(got, want error) bool {
	if want == nil {
		return got == nil
	}
	return errors.Is(got, want)
}
