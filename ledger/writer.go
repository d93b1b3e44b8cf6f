package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// WriterConfig tunes the batch writer. Zero fields take the defaults below.
type WriterConfig struct {
	// BatchItemsMax bounds the events (or transfer chains) in one database transaction: large
	// enough to spread the per-transaction cost (round trips, WAL flush) thin, small enough that a
	// batch commits in milliseconds. Default 2000.
	BatchItemsMax int
	// BatchWaitMax is how long the writer waits for a batch to fill after its first event. The
	// default 0 takes what is queued and goes: events arriving while a batch commits form the next
	// one (group commit), so latency stays low at low rates without costing throughput at high ones.
	BatchWaitMax time.Duration
	// BatchesInFlightMax bounds the batches the writer runs at once, each on its own connection:
	// while one waits for its COMMIT (and the database works on it), the next is planned and
	// written. Default 2: on the project's 2-core machine a third adds nothing but contention.
	BatchesInFlightMax int
	// QueueDepthMax bounds the requests waiting for the writer; beyond it Commit blocks
	// (back-pressure on the engine) until its context ends. Default 16384.
	QueueDepthMax int
	// HoldTimeoutDefault is how long an authorization hold lives when the event names no timeout.
	// Default 7 days (a typical pre-authorization validity).
	HoldTimeoutDefault time.Duration
	// ExpiryInterval is how often the writer releases pending transfers whose timeout passed.
	// Default 1s.
	ExpiryInterval time.Duration
	// ExpiryBatchMax bounds the pending transfers released per sweep. Default 2000.
	ExpiryBatchMax int
	// BatchTimeout bounds one database transaction (a stuck database answers ErrUnavailable
	// instead of holding every caller). Default 3s: well under an issuer timeout.
	BatchTimeout time.Duration
	// RetriesMax bounds the retries of a batch after a transient error (deadlock, serialization
	// failure, lost connection) or a concurrent duplicate. Default 3.
	RetriesMax int
	// Now is the clock (expiry, journal and transfer times). Default time.Now.
	Now func() time.Time
	// Logger receives batch failures. Default zap.NewNop().
	Logger *zap.Logger
	// Metrics, when set, records batches and results.
	Metrics *Metrics
	// CommitResolveMax bounds how long the writer tries to find out whether a batch whose COMMIT
	// failed on a lost connection took effect (by its rows' deterministic ids) before it answers
	// ErrCommitUnknown. Default 2s: under the issuer timeout, so that a terminal is answered.
	CommitResolveMax time.Duration
	// OnSAFQueued, when set, is called after a batch that made store-and-forward items due
	// commits (it must not block: the delivery loops' wake-up).
	OnSAFQueued func()
}

// Defaults of WriterConfig.
const (
	DefaultBatchItemsMax      = 2000
	DefaultBatchesInFlightMax = 2
	DefaultQueueDepthMax      = 16384
	DefaultHoldTimeout        = 7 * 24 * time.Hour
	DefaultExpiryInterval     = time.Second
	DefaultExpiryBatchMax     = 2000
	DefaultBatchTimeout       = 3 * time.Second
	DefaultRetriesMax         = 3
	DefaultCommitResolveMax   = 2 * time.Second
	commitResolvePause        = 100 * time.Millisecond
	retryBackoff              = 5 * time.Millisecond
	maxSweepsPerExpiryRequest = 1000 // bounds Expire's loop: at most this many sweeps of ExpiryBatchMax
)

func (c *WriterConfig) setDefaults() {
	if c.BatchItemsMax <= 0 {
		c.BatchItemsMax = DefaultBatchItemsMax
	}
	if c.BatchesInFlightMax <= 0 {
		c.BatchesInFlightMax = DefaultBatchesInFlightMax
	}
	if c.QueueDepthMax <= 0 {
		c.QueueDepthMax = DefaultQueueDepthMax
	}
	if c.HoldTimeoutDefault <= 0 {
		c.HoldTimeoutDefault = DefaultHoldTimeout
	}
	if c.ExpiryInterval <= 0 {
		c.ExpiryInterval = DefaultExpiryInterval
	}
	if c.ExpiryBatchMax <= 0 {
		c.ExpiryBatchMax = DefaultExpiryBatchMax
	}
	if c.BatchTimeout <= 0 {
		c.BatchTimeout = DefaultBatchTimeout
	}
	if c.RetriesMax <= 0 {
		c.RetriesMax = DefaultRetriesMax
	}
	if c.CommitResolveMax <= 0 {
		c.CommitResolveMax = DefaultCommitResolveMax
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
}

// Writer is the single batch writer of a process for one store. Callers hand it card events
// (Commit) or transfers (Submit) from any goroutine; its Run loop gathers what is queued into one
// database transaction (at most BatchesInFlightMax at once), and every caller is answered only
// after COMMIT.
type Writer struct {
	b   Backend
	cfg WriterConfig

	queue    chan *request
	stopping chan struct{} // closed when Run starts draining
	running  atomic.Bool

	mu struct {
		sync.Mutex
		stopped bool
	}
	senders sync.WaitGroup // callers between the stopped check and their send

	slots    chan struct{}  // one per batch in flight
	inflight sync.WaitGroup // batches in flight

	accounts *accountCache // accounts known to exist, shared by the batches in flight

	// failing holds the error of the last batch (or expiry sweep, which runs every second and so
	// probes the store even without traffic) when it failed; nil once one succeeds again.
	failing atomic.Pointer[error]
}

// Err returns why the ledger's last batch failed, or nil when it succeeded: the store is
// reachable (for /readyz).
func (w *Writer) Err() error {
	if p := w.failing.Load(); p != nil {
		return *p
	}
	return nil
}

func (w *Writer) health(err error) {
	if err == nil {
		if w.failing.Load() != nil {
			w.failing.Store(nil)
		}
		return
	}
	w.failing.Store(&err)
}

// request is one caller's submission; done is closed when every item is answered.
type request struct {
	items []*item
	sweep bool // Expire: release due pending transfers now
	swept int
	// recovery: Recover's request; recovered lists the intents it activated.
	recovery  *recovery
	recovered []SAFItem
	err       error
	done      chan struct{}
}

// NewWriter returns a Writer over b; start its loop with Run.
func NewWriter(b Backend, cfg WriterConfig) *Writer {
	cfg.setDefaults()
	w := &Writer{
		b: b, cfg: cfg,
		queue:    make(chan *request, cfg.QueueDepthMax),
		stopping: make(chan struct{}),
		slots:    make(chan struct{}, cfg.BatchesInFlightMax),
		accounts: newAccountCache(),
	}
	return w
}

// Commit journals a card event with its transfers and returns after COMMIT. A refused event
// returns a *RejectionError (remembered: its retry returns the same); a duplicate of a committed
// event returns Outcome.Duplicate with the first decision; an event reusing an ID with other
// content returns ErrEventConflict; a store failure returns ErrUnavailable and commits nothing.
// ctx bounds only the wait for a queue slot: once queued, the event is answered after its batch.
func (w *Writer) Commit(ctx context.Context, ev Event) (Outcome, error) {
	if err := ValidateEvent(&ev); err != nil {
		return Outcome{}, err
	}
	it := &item{event: &ev}
	req := &request{items: []*item{it}, done: make(chan struct{})}
	if err := w.enqueue(ctx, req); err != nil {
		return Outcome{}, err
	}
	<-req.done
	return it.outcome, it.err
}

// Submit applies transfers with TigerBeetle's semantics: consecutive transfers flagged Linked form
// a chain that succeeds or fails together; each transfer gets a result. The error is for the
// submission as a whole (a malformed transfer, a store failure).
func (w *Writer) Submit(ctx context.Context, transfers []Transfer) ([]TransferResult, error) {
	var items []*item
	start := 0
	for i := range transfers {
		if err := validateTransfer(&transfers[i]); err != nil {
			return nil, err
		}
		if transfers[i].Flags&Linked == 0 || i == len(transfers)-1 {
			items = append(items, &item{chain: transfers[start : i+1]})
			start = i + 1
		}
	}
	if len(items) == 0 {
		return nil, nil
	}
	req := &request{items: items, done: make(chan struct{})}
	if err := w.enqueue(ctx, req); err != nil {
		return nil, err
	}
	<-req.done
	results := make([]TransferResult, 0, len(transfers))
	for _, it := range items {
		if it.err != nil {
			return nil, it.err
		}
		results = append(results, it.results...)
	}
	return results, nil
}

// Intend stores an intent and returns once it is durable: only then may its request leave for
// the issuer. A store failure returns ErrUnavailable (send nothing: answer 96).
func (w *Writer) Intend(ctx context.Context, in Intent) error {
	if err := ValidateIntent(&in); err != nil {
		return err
	}
	it := &item{intent: &in}
	req := &request{items: []*item{it}, done: make(chan struct{})}
	if err := w.enqueue(ctx, req); err != nil {
		return err
	}
	<-req.done
	return it.err
}

// ChangeSAF applies changes of stored store-and-forward items (delivery results, operator
// actions) and returns after COMMIT.
func (w *Writer) ChangeSAF(ctx context.Context, changes []SAFChange) error {
	if len(changes) == 0 {
		return nil
	}
	it := &item{safChanges: changes}
	req := &request{items: []*item{it}, done: make(chan struct{})}
	if err := w.enqueue(ctx, req); err != nil {
		return err
	}
	<-req.done
	return it.err
}

// Recover resolves intents that nothing resolved: every intent written before before (of
// node, when node is set) is activated — its reversal queued for the issuer — and its
// transaction, when the journal does not hold it, is journaled as Recovered. It returns the
// intents it activated. Run it at start for the instance's own intents (before = now) and
// periodically for anyone's stale ones (before = now − longer than any request can take).
func (w *Writer) Recover(ctx context.Context, before time.Time, node string) ([]SAFItem, error) {
	req := &request{recovery: &recovery{before: before, node: node}, done: make(chan struct{})}
	if err := w.enqueue(ctx, req); err != nil {
		return nil, err
	}
	<-req.done
	return req.recovered, req.err
}

// PruneSAF deletes up to max items delivered before before; it returns after COMMIT.
func (w *Writer) PruneSAF(ctx context.Context, before time.Time, max int) error {
	it := &item{prune: &prune{before: before, max: max}}
	req := &request{items: []*item{it}, done: make(chan struct{})}
	if err := w.enqueue(ctx, req); err != nil {
		return err
	}
	<-req.done
	return it.err
}

// Expire releases, now, every pending transfer whose timeout has passed (the loop also does it
// every ExpiryInterval). It returns how many it released.
func (w *Writer) Expire(ctx context.Context) (int, error) {
	req := &request{sweep: true, done: make(chan struct{})}
	if err := w.enqueue(ctx, req); err != nil {
		return 0, err
	}
	<-req.done
	return req.swept, req.err
}

// Queued returns how many requests wait for the writer.
func (w *Writer) Queued() int { return len(w.queue) }

func (w *Writer) enqueue(ctx context.Context, req *request) error {
	w.mu.Lock()
	if w.mu.stopped {
		w.mu.Unlock()
		return ErrWriterClosed
	}
	w.senders.Add(1)
	w.mu.Unlock()
	defer w.senders.Done()
	select {
	case w.queue <- req:
		return nil
	case <-w.stopping:
		return ErrWriterClosed
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run is the batching loop. When ctx ends it stops accepting, commits everything already queued,
// and returns nil.
func (w *Writer) Run(ctx context.Context) error {
	if !w.running.CompareAndSwap(false, true) {
		return errors.New("ledger writer: Run called twice")
	}
	ticker := time.NewTicker(w.cfg.ExpiryInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			w.drain()
			return nil
		case req := <-w.queue:
			w.slots <- struct{}{} // wait for a free slot: meanwhile the queue fills the batch
			w.launch(w.gather(req))
		case <-ticker.C:
			w.slots <- struct{}{}
			w.inflight.Go(func() {
				defer func() { <-w.slots }()
				_, err := w.sweep()
				w.health(err)
				if err != nil {
					w.cfg.Logger.Warn("ledger expiry sweep failed", zap.Error(err))
				}
			})
		}
	}
}

// launch runs a gathered batch in its own goroutine; the caller holds its slot.
func (w *Writer) launch(reqs []*request) {
	w.inflight.Go(func() {
		defer func() { <-w.slots }()
		w.process(reqs)
	})
}

func (w *Writer) drain() {
	w.mu.Lock()
	w.mu.stopped = true
	w.mu.Unlock()
	close(w.stopping)
	w.senders.Wait() // after this nobody can send: the queue holds all that will ever come
	defer w.inflight.Wait()
	for {
		select {
		case req := <-w.queue:
			w.slots <- struct{}{}
			w.launch(w.gather(req))
		default:
			return
		}
	}
}

// gather takes what is queued behind first, up to BatchItemsMax items, waiting at most
// BatchWaitMax for more.
func (w *Writer) gather(first *request) []*request {
	reqs := []*request{first}
	n := len(first.items)
	var wait <-chan time.Time
	if w.cfg.BatchWaitMax > 0 {
		t := time.NewTimer(w.cfg.BatchWaitMax)
		defer t.Stop()
		wait = t.C
	}
	for n < w.cfg.BatchItemsMax {
		select {
		case r := <-w.queue:
			reqs = append(reqs, r)
			n += len(r.items)
			continue
		default:
		}
		if wait == nil {
			break
		}
		select {
		case r := <-w.queue:
			reqs = append(reqs, r)
			n += len(r.items)
			continue
		case <-wait:
		}
		break
	}
	return reqs
}

// process commits the gathered requests' items as one batch (split only on constraint
// violations), runs any Expire requests, and answers every caller.
func (w *Writer) process(reqs []*request) {
	start := time.Now()
	var items []*item
	for _, r := range reqs {
		items = append(items, r.items...)
	}
	if len(items) > 0 {
		w.apply(items, false)
		w.cfg.Metrics.observeBatch(len(items), time.Since(start).Seconds(), len(w.queue))
	}
	for _, r := range reqs {
		if r.sweep {
			r.swept, r.err = w.expireAll()
		}
		if r.recovery != nil {
			r.recovered, r.err = w.recoverAll(r.recovery)
		}
		for _, it := range r.items {
			w.cfg.Metrics.event(it.result())
		}
		close(r.done)
	}
}

func (it *item) result() string {
	var rj *RejectionError
	switch {
	case it.intent != nil:
		if it.err != nil {
			return "failed"
		}
		return "intent"
	case it.safChanges != nil || it.prune != nil:
		return "saf"
	case it.event == nil:
		return "transfers"
	case it.err == nil && it.outcome.Duplicate:
		return "duplicate"
	case it.err == nil:
		return "committed"
	case errors.As(it.err, &rj):
		return "rejected"
	case errors.Is(it.err, ErrEventConflict):
		return "conflict"
	}
	return "failed"
}

// apply commits items, retrying as the failure calls for: a duplicate written by another
// process → once more reading existing rows first (careful); a balance limit violated → in halves,
// down to the one offending item, which is then recorded as rejected; a transient error → again
// after a pause; anything else → every item fails with ErrUnavailable and nothing is written.
func (w *Writer) apply(items []*item, careful bool) {
	for attempt := 0; ; attempt++ {
		err := w.tryBatch(items, careful)
		if err == nil {
			w.health(nil)
			return
		}
		var ce *ConstraintError
		switch {
		case errors.As(err, &ce) && ce.Kind == ConstraintUnique:
			if !careful {
				careful = true
				continue
			}
			if len(items) > 1 {
				w.bisect(items)
				return
			}
			if attempt < w.cfg.RetriesMax {
				continue
			}
		case errors.As(err, &ce):
			if len(items) > 1 {
				w.bisect(items)
				return
			}
			if items[0].forced == nil {
				items[0].forced = ErrExceedsCredits
				if ce.Kind == ConstraintCreditsMustNotExceedDebits {
					items[0].forced = ErrExceedsDebits
				}
				continue
			}
		case errors.Is(err, ErrTransient) && attempt < w.cfg.RetriesMax:
			time.Sleep(retryBackoff << attempt)
			continue
		}
		w.fail(items, err)
		return
	}
}

// bisect commits items in two halves, in order (a later item may depend on an earlier one); the
// recursion ends at single items, so its depth is log2(BatchItemsMax).
func (w *Writer) bisect(items []*item) {
	mid := len(items) / 2
	w.apply(items[:mid], true)
	w.apply(items[mid:], true)
}

func (w *Writer) fail(items []*item, err error) {
	w.health(err)
	w.cfg.Metrics.failure()
	w.cfg.Logger.Warn("ledger batch failed", zap.Int("items", len(items)), zap.Error(err))
	for _, it := range items {
		it.reset()
		it.err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
}

// tryBatch runs one database transaction for items: load, plan in Go, write, COMMIT.
func (w *Writer) tryBatch(items []*item, careful bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.BatchTimeout)
	defer cancel()
	for _, it := range items {
		it.reset()
	}
	tx, err := w.b.BeginBatch(ctx, false)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = tx.Rollback(ctx)
		}
	}()
	day, err := tx.BusinessDay(ctx)
	if err != nil {
		return err
	}
	p := newPlanner(w.cfg.Now(), day, w.cfg.HoldTimeoutDefault, w.accounts)
	if err := resolveAccounts(ctx, tx, p, items, w.accounts); err != nil {
		return err
	}
	if err := load(ctx, tx, p, items, careful); err != nil {
		return err
	}
	for _, it := range items {
		switch {
		case it.event != nil:
			p.planEvent(it)
		case it.intent != nil:
			p.planIntent(it)
		case it.safChanges != nil:
			p.plan.SAFChanges = append(p.plan.SAFChanges, it.safChanges...)
		case it.prune != nil:
			p.plan.SAFPruneBefore, p.plan.SAFPruneMax = it.prune.before, it.prune.max
		default:
			p.planChain(it)
		}
	}
	plan := p.finish()
	if !plan.Empty() {
		if err := tx.Write(ctx, plan); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		if !errors.Is(err, ErrCommitInDoubt) {
			return err
		}
		committed = true // the transaction is gone either way: nothing to roll back
		if err := w.resolveCommit(plan, err); err != nil {
			return err
		}
	}
	committed = true
	if w.cfg.OnSAFQueued != nil && plan.queuesSAF() {
		w.cfg.OnSAFQueued()
	}
	for _, a := range p.local.byID { // they exist now that the batch committed
		if _, ok := w.accounts.id(a.ID); !ok {
			w.accounts.add(a)
		}
	}
	return nil
}

// resolveAccounts makes sure every account the items name exists and is known to the planner.
func resolveAccounts(ctx context.Context, tx BatchTx, p *planner, items []*item, known *accountCache) error {
	var missing []AccountKey
	add := func(k AccountKey) {
		if _, ok := p.local.byKey[k]; ok {
			return
		}
		if a, ok := known.key(k); ok {
			p.local.byKey[k] = a // the rest of the batch looks it up without the shared lock
			p.local.byID[a.ID] = a
			return
		}
		p.local.byKey[k] = AccountInfo{} // placeholder until EnsureAccounts answers
		missing = append(missing, k)
	}
	for _, it := range items {
		if it.event != nil {
			for _, k := range accountKeys(it.event) {
				add(k)
			}
			continue
		}
		for _, t := range it.chain {
			for _, name := range []string{t.DebitAccount, t.CreditAccount} {
				if name != "" {
					add(AccountKey{Name: name, Currency: t.Currency})
				}
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	infos, err := tx.EnsureAccounts(ctx, missing)
	if err != nil {
		return err
	}
	for _, a := range infos {
		p.addAccount(a)
	}
	return nil
}

// sweep releases up to ExpiryBatchMax due pending transfers in one transaction.
func (w *Writer) sweep() (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.BatchTimeout)
	defer cancel()
	tx, err := w.b.BeginBatch(ctx, false)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	day, err := tx.BusinessDay(ctx)
	if err != nil {
		return 0, err
	}
	now := w.cfg.Now()
	due, err := tx.DuePending(ctx, now, w.cfg.ExpiryBatchMax)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	p := newPlanner(now, day, w.cfg.HoldTimeoutDefault, w.accounts)
	for _, r := range due {
		p.addLoadedTransfer(r)
		p.expire(r)
	}
	if err := tx.Write(ctx, p.finish()); err != nil {
		return 0, err
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	w.cfg.Metrics.expired(len(due))
	return len(due), nil
}

// expireAll sweeps until nothing is due (bounded).
func (w *Writer) expireAll() (int, error) {
	total := 0
	for range maxSweepsPerExpiryRequest {
		n, err := w.sweep()
		total += n
		if err != nil || n < w.cfg.ExpiryBatchMax {
			return total, err
		}
	}
	return total, nil
}

// ErrCommitInDoubt is how a store reports that the connection failed during COMMIT, so that the
// transaction may or may not have taken effect. The Writer then finds out (resolveCommit).
var ErrCommitInDoubt = errors.New("connection lost during COMMIT")

// resolveCommit finds out whether a batch whose COMMIT was in doubt took effect, by looking for
// the first row it wrote under a deterministic id: a journal row, a store-and-forward key, a
// transfer. It returns nil when the batch committed, the original error when it did not (the
// Writer may retry it), and ErrCommitUnknown when the database cannot tell within
// CommitResolveMax. A plan with none of these rows (state changes and deltas only: an expiry
// sweep, delivery results) is idempotent to redo and counts as not committed.
func (w *Writer) resolveCommit(plan *Plan, commitErr error) error {
	deadline := time.Now().Add(w.cfg.CommitResolveMax)
	for {
		held, err := w.committed(plan)
		switch {
		case err == nil && held:
			w.cfg.Logger.Warn("ledger batch committed although its COMMIT failed", zap.Error(commitErr))
			return nil
		case err == nil:
			return fmt.Errorf("%w: %w", ErrTransient, commitErr)
		case time.Now().After(deadline):
			w.cfg.Logger.Error("ledger batch outcome unknown", zap.Error(commitErr), zap.NamedError("check", err))
			return fmt.Errorf("%w: %w", ErrCommitUnknown, commitErr)
		}
		time.Sleep(commitResolvePause)
	}
}

// committed reports whether plan's first deterministic row is in the store.
func (w *Writer) committed(plan *Plan) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.BatchTimeout)
	defer cancel()
	tx, err := w.b.BeginBatch(ctx, false)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	switch {
	case len(plan.Transactions) > 0:
		rows, err := tx.Transactions(ctx, []string{plan.Transactions[0].ID})
		return len(rows) > 0, err
	case len(plan.SAFInserts) > 0:
		keys, err := tx.SAFKeys(ctx, []string{plan.SAFInserts[0].Key})
		return len(keys) > 0, err
	case len(plan.Transfers) > 0:
		rows, err := tx.Transfers(ctx, []TransferID{plan.Transfers[0].ID}, false)
		return len(rows) > 0, err
	}
	return false, nil
}

// recovery is Recover's request.
type recovery struct {
	before time.Time
	node   string
}

// prune is PruneSAF's request.
type prune struct {
	before time.Time
	max    int
}

// recoverAll runs recovery rounds until no stale intent is left (bounded).
func (w *Writer) recoverAll(rc *recovery) ([]SAFItem, error) {
	var all []SAFItem
	for range maxSweepsPerExpiryRequest {
		done, err := w.recoverRound(rc)
		all = append(all, done...)
		if err != nil || len(done) < w.cfg.ExpiryBatchMax {
			return all, err
		}
	}
	return all, nil
}

// recoverRound activates up to ExpiryBatchMax stale intents in one transaction and journals the
// transactions the ledger does not hold as Recovered.
func (w *Writer) recoverRound(rc *recovery) ([]SAFItem, error) {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.BatchTimeout)
	defer cancel()
	tx, err := w.b.BeginBatch(ctx, false)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	day, err := tx.BusinessDay(ctx)
	if err != nil {
		return nil, err
	}
	intents, err := tx.StaleIntents(ctx, rc.before, rc.node, w.cfg.ExpiryBatchMax)
	if err != nil || len(intents) == 0 {
		return nil, err
	}
	ids := make([]string, 0, len(intents))
	for _, in := range intents {
		ids = append(ids, in.EventID)
	}
	rows, err := tx.Transactions(ctx, dedupe(ids))
	if err != nil {
		return nil, err
	}
	journaled := make(map[string]bool, len(rows))
	for _, t := range rows {
		journaled[t.ID] = true
	}
	now := w.cfg.Now()
	p := newPlanner(now, day, w.cfg.HoldTimeoutDefault, w.accounts)
	out := make([]SAFItem, 0, len(intents))
	for _, in := range intents {
		if !journaled[in.EventID] {
			journaled[in.EventID] = true
			p.plan.Transactions = append(p.plan.Transactions, recoveredRow(in, day, now))
		}
		p.plan.SAFChanges = append(p.plan.SAFChanges, SAFChange{Op: SAFActivate, Key: in.Key, At: now})
		out = append(out, *in)
	}
	if err := tx.Write(ctx, p.finish()); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err // a round in doubt is redone by the next Recover: it finds what is left
	}
	if w.cfg.OnSAFQueued != nil {
		w.cfg.OnSAFQueued()
	}
	return out, nil
}

// recoveredRow is the journal row of a request whose outcome the ledger never held.
func recoveredRow(in *SAFItem, day string, now time.Time) *Transaction {
	parts := splitEventID(in.EventID)
	exp, _ := Exponent(in.Currency)
	return &Transaction{
		ID: in.EventID, Kind: Recovered, Status: StatusRecovered, Currency: in.Currency, Exponent: exp,
		Amount: in.Amount, PayeeID: in.Payee, Issuer: in.Issuer, RRN: in.RRN, STAN: parts[2],
		Terminal: parts[1], MTI: parts[0], MaskedPAN: in.MaskedPAN, ResponseCode: recoveredResponseCode,
		At: now, BusinessDay: day,
	}
}

// recoveredResponseCode is what a Recovered transaction answers a retransmission: 96, the switch
// lost its outcome (and reversed it at the issuer).
const recoveredResponseCode = "96"

// splitEventID splits a transaction id "MTI/terminal/STAN/transmission" into its parts (missing
// parts are empty).
func splitEventID(id string) [4]string {
	var out [4]string
	rest := id
	for i := range 3 {
		part, tail, ok := strings.Cut(rest, "/")
		out[i] = part
		if !ok {
			return out
		}
		rest = tail
	}
	out[3] = rest
	return out
}
