package ledger

import "time"

// item is one unit of a batch: a card event, or one linked chain of submitted transfers. A
// batch that violates a balance limit is retried in parts down to single items.
type item struct {
	event      *Event
	chain      []Transfer
	intent     *Intent     // Writer.Intend
	safChanges []SAFChange // Writer.ChangeSAF
	prune      *prune      // Writer.PruneSAF

	// forced is set when the item alone violated a balance limit: it is then recorded as rejected.
	forced *Reason

	outcome Outcome          // event
	err     error            // event
	results []TransferResult // chain
}

func (it *item) reset() {
	it.outcome, it.err, it.results = Outcome{}, nil, nil
}

// planChain applies one linked chain of submitted transfers, or answers its retry.
func (p *planner) planChain(it *item) {
	ts := it.chain
	it.results = make([]TransferResult, len(ts))
	if p.answerRetry(it) {
		return
	}
	legs := make([]leg, len(ts))
	for i := range ts {
		legs[i] = p.legOf(&ts[i])
	}
	failed, reason := -1, it.forced
	if reason != nil {
		failed = p.forcedIndex(legs, reason)
	} else {
		failed, reason = p.applyChain(legs)
	}
	if reason == nil {
		for i := range ts {
			it.results[i] = TransferResult{ID: ts[i].ID, Status: TransferCreated}
		}
		return
	}
	seen := map[TransferID]bool{}
	for i := range legs {
		r := ErrLinkedEventFailed
		if i == failed {
			r = reason
		}
		it.results[i] = TransferResult{ID: ts[i].ID, Status: TransferRejected, Reason: r}
		if id := legs[i].id; !id.IsZero() && !seen[id] {
			seen[id] = true
			p.rejectRecord(p.recordOf(&legs[i]), r)
		}
	}
}

// answerRetry answers a chain whose transfers (some or all) exist already: each existing one
// with its first result, a new one as failed with the chain. It reports whether it answered.
func (p *planner) answerRetry(it *item) bool {
	exists := false
	for i := range it.chain {
		if p.transfers[it.chain[i].ID] != nil {
			exists = true
		}
	}
	if !exists {
		return false
	}
	for i := range it.chain {
		t := &it.chain[i]
		r := p.transfers[t.ID]
		res := TransferResult{ID: t.ID}
		switch {
		case r == nil:
			res.Status, res.Reason = TransferRejected, ErrLinkedEventFailed
		case !p.sameTransfer(t, r):
			res.Status = TransferConflict
		case r.State == StateRejected:
			res.Status, res.Reason = TransferRejected, ReasonFromCode(r.Reason)
		default:
			res.Status = TransferExists
		}
		it.results[i] = res
	}
	return true
}

func (p *planner) legOf(t *Transfer) leg {
	var debit, credit int64
	if t.DebitAccount != "" {
		debit = p.account(t.DebitAccount, t.Currency)
	}
	if t.CreditAccount != "" {
		credit = p.account(t.CreditAccount, t.Currency)
	}
	return leg{id: t.ID, debit: debit, credit: credit, currency: t.Currency, amount: t.Amount, flags: t.Flags,
		pendingID: t.PendingID, timeout: t.Timeout, code: t.Code, eventID: t.EventID, paymentRef: t.PaymentRef}
}

// recordOf is the row remembering a refused leg.
func (p *planner) recordOf(l *leg) *TransferRecord {
	r := &TransferRecord{
		ID: l.id, DebitAccountID: l.debit, CreditAccountID: l.credit, Amount: l.amount, Currency: l.currency,
		Flags: l.flags, PendingID: l.pendingID, Code: l.code, EventID: l.eventID, PaymentRef: l.paymentRef,
		BusinessDay: p.day, CreatedAt: p.now,
	}
	if l.flags&Pending != 0 && l.timeout > 0 {
		r.TimeoutAt = p.now.Add(l.timeout)
	}
	return r
}

// forcedIndex picks the leg to blame for a balance-limit violation of the whole chain: the first
// that debits (or credits) an account carrying the violated flag.
func (p *planner) forcedIndex(legs []leg, reason *Reason) int {
	for i := range legs {
		account := legs[i].debit
		flag := DebitsMustNotExceedCredits
		if reason == ErrExceedsDebits {
			account, flag = legs[i].credit, CreditsMustNotExceedDebits
		}
		if pend := p.transfers[legs[i].pendingID]; account == 0 && pend != nil {
			account = pend.DebitAccountID
			if reason == ErrExceedsDebits {
				account = pend.CreditAccountID
			}
		}
		if a, ok := p.accountByID(account); ok && a.Flags&flag != 0 {
			return i
		}
	}
	return 0
}

// sameTransfer reports whether a resubmitted transfer asks for what r recorded.
func (p *planner) sameTransfer(t *Transfer, r *TransferRecord) bool {
	if t.Currency != r.Currency || t.Flags != r.Flags || t.PendingID != r.PendingID || t.Code != r.Code ||
		t.EventID != r.EventID || t.PaymentRef != r.PaymentRef {
		return false
	}
	if t.DebitAccount != "" && p.account(t.DebitAccount, t.Currency) != r.DebitAccountID ||
		t.CreditAccount != "" && p.account(t.CreditAccount, t.Currency) != r.CreditAccountID {
		return false
	}
	amountFree := t.Flags&VoidPending != 0 || t.Flags&PostPending != 0 && t.Amount == 0
	if !amountFree && t.Amount != r.Amount {
		return false
	}
	if t.Flags&Pending != 0 {
		if r.TimeoutAt.IsZero() != (t.Timeout <= 0) {
			return false
		}
		if t.Timeout > 0 && r.TimeoutAt.Sub(r.CreatedAt).Round(time.Millisecond) != t.Timeout.Round(time.Millisecond) {
			return false
		}
	}
	return true
}
