package ledger

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// planner decides one batch in Go: it walks the batch's items in order over the state loaded
// from the store (and what earlier items of the batch wrote), applies TigerBeetle's transfer
// semantics, and accumulates the Plan. It never touches the database.
type planner struct {
	now                time.Time
	day                string
	holdTimeoutDefault time.Duration

	shared       *accountCache                  // the Writer's; this batch only reads it
	local        *localAccounts                 // accounts this batch resolved; shared after COMMIT
	journal      map[string]*Transaction        // loaded originals and duplicates, and new rows
	transfers    map[TransferID]*TransferRecord // loaded and new transfers
	posts        map[TransferID]*TransferRecord // pending id → its post or void (loaded and new)
	newTransfers map[TransferID]bool            // written by this batch
	changed      map[TransferID]TransferState   // pending id → new state
	deltas       map[int64]*AccountDelta
	safKeys      map[string]bool           // store-and-forward keys found stored (careful batches)
	refunds      map[string][]*Transaction // sale id → accepted refunds naming it (loaded and new)

	plan Plan
}

func newPlanner(now time.Time, day string, holdTimeoutDefault time.Duration, shared *accountCache) *planner {
	if shared == nil {
		shared = newAccountCache()
	}
	return &planner{
		now: now, day: day, holdTimeoutDefault: holdTimeoutDefault,
		shared:       shared,
		local:        newLocalAccounts(),
		journal:      map[string]*Transaction{},
		transfers:    map[TransferID]*TransferRecord{},
		posts:        map[TransferID]*TransferRecord{},
		newTransfers: map[TransferID]bool{},
		changed:      map[TransferID]TransferState{},
		deltas:       map[int64]*AccountDelta{},
		safKeys:      map[string]bool{},
		refunds:      map[string][]*Transaction{},
		plan:         Plan{BusinessDay: day, Now: now},
	}
}

// accountCache is the Writer's map of accounts known to exist, shared by the batches in flight.
// Accounts are only ever added.
type accountCache struct {
	mu    sync.RWMutex
	byKey map[AccountKey]AccountInfo
	byID  map[int64]AccountInfo
}

func newAccountCache() *accountCache {
	return &accountCache{byKey: map[AccountKey]AccountInfo{}, byID: map[int64]AccountInfo{}}
}

func (c *accountCache) add(a AccountInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byKey[a.Key] = a
	c.byID[a.ID] = a
}

func (c *accountCache) key(k AccountKey) (AccountInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.byKey[k]
	return a, ok
}

func (c *accountCache) id(id int64) (AccountInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	a, ok := c.byID[id]
	return a, ok
}

// localAccounts are the accounts one batch resolved.
type localAccounts struct {
	byKey map[AccountKey]AccountInfo
	byID  map[int64]AccountInfo
}

func newLocalAccounts() *localAccounts {
	return &localAccounts{byKey: map[AccountKey]AccountInfo{}, byID: map[int64]AccountInfo{}}
}

func (p *planner) addAccount(a AccountInfo) {
	p.local.byKey[a.Key] = a
	p.local.byID[a.ID] = a
}

func (p *planner) accountByKey(k AccountKey) (AccountInfo, bool) {
	if a, ok := p.local.byKey[k]; ok {
		return a, true
	}
	return p.shared.key(k)
}

func (p *planner) accountByID(id int64) (AccountInfo, bool) {
	if a, ok := p.local.byID[id]; ok {
		return a, true
	}
	return p.shared.id(id)
}

func (p *planner) addLoadedTransfer(r *TransferRecord) {
	p.transfers[r.ID] = r
	if r.State != StateRejected && r.Flags&(PostPending|VoidPending) != 0 {
		p.posts[r.PendingID] = r
	}
}

// stateOf is a transfer's state as of this point in the batch.
func (p *planner) stateOf(r *TransferRecord) TransferState {
	if s, ok := p.changed[r.ID]; ok {
		return s
	}
	return r.State
}

// delta returns the running increment of an account.
func (p *planner) delta(account int64) *AccountDelta {
	d := p.deltas[account]
	if d == nil {
		d = &AccountDelta{AccountID: account}
		p.deltas[account] = d
	}
	return d
}

// timedOut reports whether a pending transfer's timeout has passed.
func (p *planner) timedOut(r *TransferRecord) bool {
	return !r.TimeoutAt.IsZero() && !p.now.Before(r.TimeoutAt)
}

// expire releases a pending transfer whose timeout passed. It is applied at once, whatever
// becomes of the item that noticed it.
func (p *planner) expire(r *TransferRecord) {
	p.changed[r.ID] = StatePendingExpired
	p.delta(r.DebitAccountID).DebitsPending -= r.Amount
	p.delta(r.CreditAccountID).CreditsPending -= r.Amount
}

// leg is a transfer about to be applied, with its accounts resolved to ids (0 on a post or void:
// the pending transfer's).
type leg struct {
	id         TransferID
	debit      int64
	credit     int64
	currency   string
	amount     int64
	flags      TransferFlags
	pendingID  TransferID
	timeout    time.Duration
	code       TransferCode
	eventID    string
	paymentRef string
}

// chainScratch holds what a chain would write until the whole chain is known to succeed.
type chainScratch struct {
	records []*TransferRecord
	created map[TransferID]*TransferRecord
	states  map[TransferID]TransferState
}

func (p *planner) lookup(s *chainScratch, id TransferID) *TransferRecord {
	if r := s.created[id]; r != nil {
		return r
	}
	return p.transfers[id]
}

func (p *planner) pendingState(s *chainScratch, r *TransferRecord) TransferState {
	if st, ok := s.states[r.ID]; ok {
		return st
	}
	return p.stateOf(r)
}

// applyChain applies a linked chain atomically. It returns nil when every leg applied, or the
// index of the failing leg and its reason (nothing of the chain is applied then).
func (p *planner) applyChain(legs []leg) (int, *Reason) {
	s := &chainScratch{created: map[TransferID]*TransferRecord{}, states: map[TransferID]TransferState{}}
	for i := range legs {
		r, reason := p.checkLeg(s, &legs[i])
		if reason != nil {
			return i, reason
		}
		s.records = append(s.records, r)
		s.created[r.ID] = r
	}
	for _, r := range s.records {
		p.commitRecord(r)
	}
	return -1, nil
}

// checkLeg validates one leg against the state so far and returns the record it would write.
func (p *planner) checkLeg(s *chainScratch, l *leg) (*TransferRecord, *Reason) {
	if l.id.IsZero() {
		return nil, ErrInvalidTransfer
	}
	if p.lookup(s, l.id) != nil {
		return nil, ErrInvalidTransfer // the callers resolve existing ids before; a clash here is a bug
	}
	phases := 0
	for _, f := range []TransferFlags{Pending, PostPending, VoidPending} {
		if l.flags&f != 0 {
			phases++
		}
	}
	if phases > 1 {
		return nil, ErrFlagsAreMutuallyExclusive
	}
	r := &TransferRecord{
		ID: l.id, DebitAccountID: l.debit, CreditAccountID: l.credit, Amount: l.amount, Currency: l.currency,
		Flags: l.flags, PendingID: l.pendingID, State: StatePosted, Code: l.code, EventID: l.eventID,
		PaymentRef: l.paymentRef, BusinessDay: p.day, CreatedAt: p.now,
	}
	if l.flags&(PostPending|VoidPending) != 0 {
		return r, p.checkPostOrVoid(s, l, r)
	}
	if reason := p.checkAccounts(l.debit, l.credit, l.currency); reason != nil {
		return nil, reason
	}
	if l.amount <= 0 {
		return nil, ErrAmountMustBePositive
	}
	if l.flags&Pending != 0 {
		r.State = StatePending
		if l.timeout > 0 {
			r.TimeoutAt = p.now.Add(l.timeout)
		}
	}
	return r, nil
}

func (p *planner) checkAccounts(debit, credit int64, currency string) *Reason {
	d, okD := p.accountByID(debit)
	c, okC := p.accountByID(credit)
	if !okD || !okC {
		return ErrInvalidTransfer
	}
	if debit == credit {
		return ErrAccountsMustBeDifferent
	}
	if d.Key.Currency != currency || c.Key.Currency != currency {
		return ErrCurrencyMismatch
	}
	return nil
}

// checkPostOrVoid validates a post or void against its pending transfer and fills r from it.
func (p *planner) checkPostOrVoid(s *chainScratch, l *leg, r *TransferRecord) *Reason {
	if l.pendingID.IsZero() {
		return ErrPendingIDRequired
	}
	pend := p.lookup(s, l.pendingID)
	if pend == nil || pend.State == StateRejected {
		return ErrPendingTransferNotFound
	}
	if pend.Flags&Pending == 0 {
		return ErrPendingTransferNotPending
	}
	if (l.debit != 0 && l.debit != pend.DebitAccountID) || (l.credit != 0 && l.credit != pend.CreditAccountID) {
		return ErrPendingTransferHasDifferentAccounts
	}
	if l.currency != pend.Currency {
		return ErrCurrencyMismatch
	}
	switch p.pendingState(s, pend) {
	case StatePendingPosted:
		return ErrPendingTransferAlreadyPosted
	case StatePendingVoided:
		return ErrPendingTransferAlreadyVoided
	case StatePendingExpired:
		return ErrPendingTransferExpired
	}
	if p.timedOut(pend) {
		if s.created[pend.ID] == nil { // a pending of this very chain cannot have timed out
			p.expire(pend)
		}
		return ErrPendingTransferExpired
	}
	r.DebitAccountID, r.CreditAccountID = pend.DebitAccountID, pend.CreditAccountID
	if l.flags&VoidPending != 0 {
		r.Amount = pend.Amount
		s.states[pend.ID] = StatePendingVoided
		return nil
	}
	switch {
	case l.amount == 0:
		r.Amount = pend.Amount
	case l.amount < 0:
		return ErrAmountMustBePositive
	case l.amount > pend.Amount:
		return ErrExceedsPendingTransferAmount
	}
	s.states[pend.ID] = StatePendingPosted
	return nil
}

// commitRecord makes a checked record part of the batch: the new row, the pending state change
// and the balance increments.
func (p *planner) commitRecord(r *TransferRecord) {
	p.transfers[r.ID] = r
	p.newTransfers[r.ID] = true
	p.plan.Transfers = append(p.plan.Transfers, r)
	switch {
	case r.Flags&Pending != 0:
		p.delta(r.DebitAccountID).DebitsPending += r.Amount
		p.delta(r.CreditAccountID).CreditsPending += r.Amount
	case r.Flags&(PostPending|VoidPending) != 0:
		pend := p.transfers[r.PendingID]
		p.posts[pend.ID] = r
		p.delta(pend.DebitAccountID).DebitsPending -= pend.Amount
		p.delta(pend.CreditAccountID).CreditsPending -= pend.Amount
		if r.Flags&PostPending != 0 {
			p.changed[pend.ID] = StatePendingPosted
			p.delta(r.DebitAccountID).DebitsPosted += r.Amount
			p.delta(r.CreditAccountID).CreditsPosted += r.Amount
		} else {
			p.changed[pend.ID] = StatePendingVoided
		}
	default:
		p.delta(r.DebitAccountID).DebitsPosted += r.Amount
		p.delta(r.CreditAccountID).CreditsPosted += r.Amount
	}
}

// rejectRecord remembers a refused transfer (no balance effect).
func (p *planner) rejectRecord(r *TransferRecord, reason *Reason) {
	r.State = StateRejected
	r.Reason = reason.Code
	p.transfers[r.ID] = r
	p.newTransfers[r.ID] = true
	p.plan.Transfers = append(p.plan.Transfers, r)
}

// finish completes the plan: state changes of rows written by this batch go into the rows
// themselves; the rest become StateChanges, in id order; deltas in account order.
func (p *planner) finish() *Plan {
	for id, st := range p.changed {
		if p.newTransfers[id] {
			p.transfers[id].State = st
			continue
		}
		p.plan.StateChanges = append(p.plan.StateChanges, StateChange{ID: id, State: st})
	}
	slices.SortFunc(p.plan.StateChanges, func(a, b StateChange) int { return compareIDs(a.ID, b.ID) })
	for _, d := range p.deltas {
		if *d != (AccountDelta{AccountID: d.AccountID}) {
			p.plan.Deltas = append(p.plan.Deltas, *d)
		}
	}
	slices.SortFunc(p.plan.Deltas, func(a, b AccountDelta) int { return cmpInt64(a.AccountID, b.AccountID) })
	return &p.plan
}

func compareIDs(a, b TransferID) int {
	for i := range a {
		if a[i] != b[i] {
			return int(a[i]) - int(b[i])
		}
	}
	return 0
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// planIntent stores an intent, unless its key is taken (a careful batch found it stored, or an
// earlier item of this batch wrote it).
func (p *planner) planIntent(it *item) {
	in := it.intent
	if p.safKeys[in.Key] {
		it.err = fmt.Errorf("intent %s: %w", in.Key, ErrIntentExists)
		return
	}
	p.safKeys[in.Key] = true
	m := in.Message
	p.plan.SAFInserts = append(p.plan.SAFInserts, &SAFItem{
		Key: in.Key, EventID: in.EventID, Issuer: in.Issuer, Node: in.Node, Payee: in.Payee, Kind: SAFReversal,
		State: SAFIntent, MTI: m.MTI, RRN: m.RRN, MaskedPAN: m.MaskedPAN, Currency: m.Currency, Amount: m.Amount,
		CreatedAt: p.now, QueuedAt: p.now, NextAttemptAt: p.now, UpdatedAt: p.now,
		Packed: m.Packed, PANSealed: m.PANSealed,
	})
}
