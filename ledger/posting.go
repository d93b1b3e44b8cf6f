package ledger

import "fmt"

// Posting rules: how each card event becomes transfers (DESIGN.md, "The ledger"). A = amount,
// C = convenience fee (included in A), F = merchant fee on A − C.
//
//	Authorize  pending  Dr issuer:X:receivable / Cr <payee>:payable            A − C   (leg hold)
//	           pending  Dr issuer:X:receivable / Cr acquirer:convenience-fees:income C (leg hold-convenience)
//	Capture    post the hold: A' − C to the payee (A' ≤ A; the rest released), C posted
//	           posted   Dr <payee>:payable / Cr acquirer:fees:income            F
//	Purchase   posted   Dr issuer receivable / Cr payee payable A − C, convenience C, fee F
//	Refund     posted   Dr payee payable / Cr issuer receivable                 A   (fees kept)
//	Reverse    of a held authorization: void the hold; of a purchase, capture (or a captured
//	           authorization) or refund: one compensating transfer per posted transfer, accounts
//	           swapped, so that the transaction nets to zero.
//	Decline    journal only.
//
// Every id derives from an event ID and a leg name, except compensations, which derive from the
// compensated transaction's ID: the ledger physically cannot compensate the same postings twice.

// Leg names: part of every derived transfer id, never to be changed.
const (
	legHold            = "hold"
	legHoldConvenience = "hold-convenience"
	legPost            = "post"
	legPostConvenience = "post-convenience"
	legPrincipal       = "principal"
	legConvenience     = "convenience"
	legFee             = "fee"
	legRefund          = "refund"
	legVoid            = "void"
	legVoidConvenience = "void-convenience"
	reversalPrefix     = "reversal-"
)

// ownLegs lists the legs an event of kind may write under its own ID.
func ownLegs(kind EventKind) []string {
	switch kind {
	case Authorize:
		return []string{legHold, legHoldConvenience}
	case Capture:
		return []string{legPost, legPostConvenience, legFee}
	case Purchase:
		return []string{legPrincipal, legConvenience, legFee}
	case Refund:
		return []string{legRefund}
	case Reverse:
		return []string{legVoid, legVoidConvenience}
	}
	return nil
}

// compensableLegs lists the posted legs a Reverse compensates.
func compensableLegs(kind EventKind) []string {
	switch kind {
	case Capture, Purchase, Refund:
		return ownLegs(kind)
	}
	return nil
}

func legIDs(scope string, legs []string) []TransferID {
	ids := make([]TransferID, len(legs))
	for i, l := range legs {
		ids[i] = DeriveTransferID(scope, l)
	}
	return ids
}

// compensationIDs are the ids a Reverse writes when it compensates target of kind.
func compensationIDs(target string, kind EventKind) []TransferID {
	legs := compensableLegs(kind)
	ids := make([]TransferID, len(legs))
	for i, l := range legs {
		ids[i] = DeriveTransferID(target, reversalPrefix+l)
	}
	return ids
}

// TransactionTransferIDs lists every id that may belong to t; stores look them up by primary key.
func TransactionTransferIDs(t *Transaction) []TransferID {
	ids := legIDs(t.ID, ownLegs(t.Kind))
	if t.Kind == Reverse && t.TargetID != "" {
		for _, k := range []EventKind{Capture, Purchase, Refund} {
			ids = append(ids, compensationIDs(t.TargetID, k)...)
		}
	}
	return ids
}

// planEvent decides one card event: a duplicate, a rejection, or its journal row and transfers.
func (p *planner) planEvent(it *item) {
	ev := it.event
	if prev := p.journal[ev.ID]; prev != nil {
		p.duplicate(it, prev)
		return
	}
	row := p.journalRow(ev)
	reason := it.forced
	var legs []leg
	if reason == nil && ev.Kind != Decline {
		legs, reason = p.postings(ev, row)
	}
	if reason == nil && len(legs) > 0 {
		if _, r := p.applyChain(legs); r != nil {
			reason = eventReason(r)
		}
	}
	if reason != nil {
		row.Rejection = reason.Code
		row.Status = StatusRejected
		row.Fee, row.ConvenienceFee, row.HoldExpiresAt, row.TargetID = 0, 0, nil, ""
		it.err = &RejectionError{EventID: ev.ID, Reason: reason}
	} else {
		for _, l := range legs {
			it.outcome.Transfers = append(it.outcome.Transfers, l.id)
		}
	}
	p.journal[ev.ID] = row
	p.plan.Transactions = append(p.plan.Transactions, row)
	if reason == nil && ev.Kind == Refund && ev.OriginalID != "" {
		p.refunds[ev.OriginalID] = append(p.refunds[ev.OriginalID], row)
	}
	p.resolveIntent(ev, reason == nil)
	for _, f := range ev.FollowUps {
		if f.When == FollowAlways || reason == nil {
			p.queueFollowUp(ev, f)
		}
	}
}

// resolveIntent resolves the intent of the issuer request that decided ev: its reversal is
// queued when the issuer's answer is unknown or its approval is not what the ledger holds (held
// says whether the ledger holds ev itself); otherwise the intent is deleted.
func (p *planner) resolveIntent(ev *Event, held bool) {
	ref := ev.Intent
	if ref.Key == "" {
		return
	}
	op := SAFResolve
	if ref.Reverse || ref.Approved && !held {
		op = SAFActivate
	}
	p.plan.SAFChanges = append(p.plan.SAFChanges, SAFChange{Op: op, Key: ref.Key, At: p.now})
}

func (p *planner) queueFollowUp(ev *Event, f FollowUp) {
	m := f.Message
	p.plan.SAFInserts = append(p.plan.SAFInserts, &SAFItem{
		Key: followUpKey(ev.ID, f.Kind), EventID: ev.ID, Issuer: f.Issuer, Kind: f.Kind, State: SAFQueued,
		MTI: m.MTI, RRN: m.RRN, MaskedPAN: m.MaskedPAN, Currency: m.Currency, Amount: m.Amount,
		CreatedAt: p.now, QueuedAt: p.now, NextAttemptAt: p.now, UpdatedAt: p.now,
		Packed: m.Packed, PANSealed: m.PANSealed,
	})
}

// duplicate answers an event whose ID the journal holds: the first decision stands. A request
// the recovery sweep journaled as Recovered stays recovered, whatever its late event says.
func (p *planner) duplicate(it *item, prev *Transaction) {
	p.resolveIntent(it.event, false)
	if prev.Kind != Recovered && !sameEvent(it.event, prev) {
		it.err = fmt.Errorf("event %s: %w", it.event.ID, ErrEventConflict)
		return
	}
	it.outcome = Outcome{Duplicate: true, Original: prev}
	if prev.Rejection != "" {
		it.err = &RejectionError{EventID: prev.ID, Reason: ReasonFromCode(prev.Rejection)}
	}
}

// sameEvent reports whether ev asks for what the journaled t recorded. The decision fields (RRN,
// response code, times) are not compared: the first decision stands.
func sameEvent(ev *Event, t *Transaction) bool {
	return ev.Kind == t.Kind && ev.OriginalID == t.OriginalID && ev.Amount == t.Amount &&
		(ev.Currency == "" || ev.Currency == t.Currency) &&
		(ev.Payee.ID == "" || ev.Payee.ID == t.PayeeID && ev.Payee.Kind == t.PayeeKind) &&
		(ev.Issuer == "" || ev.Issuer == t.Issuer) &&
		(ev.PaymentRef == "" || ev.PaymentRef == t.PaymentRef)
}

// eventReason translates a transfer-level refusal into the card-event reason the engine expects.
func eventReason(r *Reason) *Reason {
	switch r {
	case ErrPendingTransferAlreadyPosted:
		return ErrAlreadyCaptured
	case ErrPendingTransferAlreadyVoided:
		return ErrHoldVoided
	case ErrPendingTransferExpired:
		return ErrHoldExpired
	case ErrExceedsPendingTransferAmount:
		return ErrCaptureExceedsHold
	}
	return r
}

func (p *planner) journalRow(ev *Event) *Transaction {
	exp, _ := Exponent(ev.Currency)
	t := &Transaction{
		ID: ev.ID, Kind: ev.Kind, OriginalID: ev.OriginalID, Currency: ev.Currency, Exponent: exp,
		Amount: ev.Amount, PayeeKind: ev.Payee.Kind, PayeeID: ev.Payee.ID, Issuer: ev.Issuer,
		PaymentRef: ev.PaymentRef, RRN: ev.RRN, AcquirerRRN: ev.AcquirerRRN, STAN: ev.STAN, Terminal: ev.Terminal, MTI: ev.MTI,
		MaskedPAN: ev.MaskedPAN, ResponseCode: ev.ResponseCode, ApprovalCode: ev.ApprovalCode,
		At: ev.At, BusinessDay: p.day,
	}
	if t.At.IsZero() {
		t.At = p.now // the decision's time defaults to the ledger's clock
	}
	if ev.Kind == Decline {
		t.Status = StatusDeclined
	} else {
		t.Status = StatusPosted
	}
	return t
}

// account resolves an account the Writer ensured before the batch.
func (p *planner) account(name, currency string) int64 {
	a, _ := p.accountByKey(AccountKey{Name: name, Currency: currency})
	return a.ID
}

// postings applies the posting rules; it fills the row's derived fields.
func (p *planner) postings(ev *Event, row *Transaction) ([]leg, *Reason) {
	switch ev.Kind {
	case Authorize, Purchase:
		return p.sale(ev, row)
	case Refund:
		if ev.OriginalID != "" {
			if reason := p.linkedRefund(ev); reason != nil {
				return nil, reason
			}
		}
		issuer := p.account(IssuerReceivable(ev.Issuer), ev.Currency)
		payee := p.account(PayeePayable(ev.Payee.Kind, ev.Payee.ID), ev.Currency)
		return []leg{p.newLeg(ev, legRefund, payee, issuer, ev.Amount, CodeRefund)}, nil
	case Capture:
		return p.capture(ev, row)
	case Reverse:
		return p.reverse(ev, row)
	}
	return nil, ErrInvalidTransfer
}

func (p *planner) newLeg(ev *Event, name string, debit, credit, amount int64, code TransferCode) leg {
	return leg{
		id: DeriveTransferID(ev.ID, name), debit: debit, credit: credit, currency: ev.Currency,
		amount: amount, code: code, eventID: ev.ID, paymentRef: ev.PaymentRef,
	}
}

// sale holds (Authorize) or posts (Purchase) the amount, net of the convenience fee, to the
// payee, the convenience fee to its income account, and (Purchase) charges the merchant fee.
func (p *planner) sale(ev *Event, row *Transaction) ([]leg, *Reason) {
	conv := ev.Payee.ConvenienceFee
	if conv >= ev.Amount {
		return nil, ErrAmountNotAboveFee
	}
	issuer := p.account(IssuerReceivable(ev.Issuer), ev.Currency)
	payee := p.account(PayeePayable(ev.Payee.Kind, ev.Payee.ID), ev.Currency)
	principal, convenience := legPrincipal, legConvenience
	if ev.Kind == Authorize {
		principal, convenience = legHold, legHoldConvenience
	}
	legs := []leg{p.newLeg(ev, principal, issuer, payee, ev.Amount-conv, CodePrincipal)}
	if conv > 0 {
		income := p.account(ConvenienceFeesIncome, ev.Currency)
		legs = append(legs, p.newLeg(ev, convenience, issuer, income, conv, CodeConvenienceFee))
	}
	row.ConvenienceFee = conv
	if ev.Kind == Authorize {
		timeout := ev.HoldTimeout
		if timeout <= 0 {
			timeout = p.holdTimeoutDefault
		}
		expires := p.now.Add(timeout)
		row.HoldExpiresAt = &expires
		for i := range legs {
			legs[i].flags |= Pending
			legs[i].timeout = timeout
		}
		return linkChain(legs), nil
	}
	fee, err := ev.Payee.Fee.Fee(ev.Amount-conv, ev.Currency)
	if err != nil {
		return nil, ErrInvalidTransfer // validated before the batch; unreachable
	}
	if fee > 0 {
		legs = append(legs, p.newLeg(ev, legFee, payee, p.account(FeesIncome, ev.Currency), fee, CodeMerchantFee))
	}
	row.Fee = fee
	return linkChain(legs), nil
}

// linkChain sets Linked on every leg but the last.
func linkChain(legs []leg) []leg {
	for i := 0; i < len(legs)-1; i++ {
		legs[i].flags |= Linked
	}
	return legs
}

// original finds the journaled original of ev and fills the row's payee and issuer from it.
func (p *planner) original(ev *Event, row *Transaction) (*Transaction, *Reason) {
	orig := p.journal[ev.OriginalID]
	if orig == nil {
		return nil, ErrOriginalNotFound
	}
	if ev.Currency != "" && ev.Currency != orig.Currency {
		return nil, ErrCurrencyMismatch
	}
	row.Currency, row.Exponent = orig.Currency, orig.Exponent
	if row.PayeeID == "" {
		row.PayeeKind, row.PayeeID = orig.PayeeKind, orig.PayeeID
	}
	if row.Issuer == "" {
		row.Issuer = orig.Issuer
	}
	if row.PaymentRef == "" {
		row.PaymentRef = orig.PaymentRef
	}
	return orig, nil
}

// holdState returns the hold of an authorization as of now, expiring it if its timeout passed.
func (p *planner) holdState(auth *Transaction) (hold *TransferRecord, st TransferState) {
	hold = p.transfers[DeriveTransferID(auth.ID, legHold)]
	if hold == nil {
		return nil, 0
	}
	st = p.stateOf(hold)
	if st == StatePending && p.timedOut(hold) {
		p.expire(hold)
		if conv := p.transfers[DeriveTransferID(auth.ID, legHoldConvenience)]; conv != nil && p.stateOf(conv) == StatePending {
			p.expire(conv)
		}
		st = StatePendingExpired
	}
	return hold, st
}

// capture posts an authorization's hold (A' ≤ A; the rest released) and charges the fee on it.
func (p *planner) capture(ev *Event, row *Transaction) ([]leg, *Reason) {
	auth, reason := p.original(ev, row)
	if reason != nil {
		return nil, reason
	}
	if auth.Rejection != "" || auth.Kind == Decline || auth.Kind == Recovered {
		return nil, ErrOriginalNotFound
	}
	if auth.Kind != Authorize {
		return nil, ErrNotAnAuthorization
	}
	hold, st := p.holdState(auth)
	switch {
	case hold == nil:
		return nil, ErrOriginalNotFound
	case st == StatePendingPosted:
		return nil, ErrAlreadyCaptured
	case st == StatePendingVoided:
		return nil, ErrHoldVoided
	case st == StatePendingExpired:
		return nil, ErrHoldExpired
	case ev.Amount > auth.Amount:
		return nil, ErrCaptureExceedsHold
	}
	conv := auth.ConvenienceFee
	if ev.Amount <= conv {
		return nil, ErrAmountNotAboveFee
	}
	post := p.newLeg(ev, legPost, 0, 0, ev.Amount-conv, CodePrincipal)
	post.flags, post.pendingID, post.paymentRef = PostPending, hold.ID, row.PaymentRef
	legs := []leg{post}
	if conv > 0 {
		pc := p.newLeg(ev, legPostConvenience, 0, 0, conv, CodeConvenienceFee)
		pc.flags, pc.pendingID, pc.paymentRef = PostPending, DeriveTransferID(auth.ID, legHoldConvenience), row.PaymentRef
		legs = append(legs, pc)
	}
	fee, err := ev.Payee.Fee.Fee(ev.Amount-conv, row.Currency)
	if err != nil {
		return nil, ErrInvalidTransfer // validated before the batch; unreachable
	}
	if fee > 0 {
		f := p.newLeg(ev, legFee, hold.CreditAccountID, p.account(FeesIncome, row.Currency), fee, CodeMerchantFee)
		f.paymentRef = row.PaymentRef
		legs = append(legs, f)
	}
	row.Fee, row.ConvenienceFee = fee, conv
	return linkChain(legs), nil
}

// reverse voids a held authorization or compensates the postings of the original (for a captured
// authorization, those of its capture).
func (p *planner) reverse(ev *Event, row *Transaction) ([]leg, *Reason) {
	orig, reason := p.original(ev, row)
	if reason != nil {
		return nil, reason
	}
	if orig.Rejection != "" || orig.Kind == Decline || orig.Kind == Recovered || orig.Kind == Reverse {
		return nil, ErrNothingToReverse
	}
	if orig.Kind != Authorize {
		return p.compensate(ev, row, orig.ID, orig.Kind)
	}
	hold, st := p.holdState(orig)
	switch st {
	case StatePending:
		row.TargetID = orig.ID
		legs := []leg{{id: DeriveTransferID(ev.ID, legVoid), currency: row.Currency, flags: VoidPending,
			pendingID: hold.ID, code: CodePrincipal, eventID: ev.ID, paymentRef: row.PaymentRef}}
		if conv := DeriveTransferID(orig.ID, legHoldConvenience); p.transfers[conv] != nil {
			legs = append(legs, leg{id: DeriveTransferID(ev.ID, legVoidConvenience), currency: row.Currency,
				flags: VoidPending, pendingID: conv, code: CodeConvenienceFee, eventID: ev.ID, paymentRef: row.PaymentRef})
		}
		return linkChain(legs), nil
	case StatePendingPosted:
		capture := p.posts[hold.ID]
		return p.compensate(ev, row, capture.EventID, Capture)
	case StatePendingVoided:
		return nil, ErrAlreadyReversed
	case StatePendingExpired:
		return nil, ErrHoldExpired
	}
	return nil, ErrOriginalNotFound
}

// linkedRefund checks a refund that names the sale it refunds: a purchase or capture of the same
// payee, not reversed, whose refunds (this one included) stay within its amount.
func (p *planner) linkedRefund(ev *Event) *Reason {
	orig := p.journal[ev.OriginalID]
	switch {
	case orig == nil || orig.Rejection != "" || orig.PayeeID != ev.Payee.ID:
		return ErrOriginalNotFound
	case orig.Kind != Purchase && orig.Kind != Capture:
		return ErrNotASale
	case orig.Currency != ev.Currency:
		return ErrCurrencyMismatch
	case p.reversed(orig.ID, orig.Kind):
		return ErrAlreadyReversed
	case p.refunded(orig.ID)+ev.Amount > orig.Amount:
		return ErrRefundExceedsOriginal
	}
	return nil
}

// reversed reports whether the posted transaction id of kind was compensated by a reversal.
func (p *planner) reversed(id string, kind EventKind) bool {
	comps := compensationIDs(id, kind)
	return len(comps) > 0 && p.transfers[comps[0]] != nil
}

// refunded is what the refunds naming sale give back, those reversed since excluded.
func (p *planner) refunded(sale string) int64 {
	var total int64
	for _, r := range p.refunds[sale] {
		if !p.reversed(r.ID, Refund) {
			total += r.Amount
		}
	}
	return total
}

// compensate writes, for each posted transfer of target, the same amount back with the accounts
// swapped. The ids derive from the target, so a second reversal of the same postings cannot exist.
func (p *planner) compensate(ev *Event, row *Transaction, target string, kind EventKind) ([]leg, *Reason) {
	if (kind == Purchase || kind == Capture) && !p.reversed(target, kind) && p.refunded(target) > 0 {
		return nil, ErrRefunded // part of it was given back: it cannot be undone whole
	}
	row.TargetID = target
	var legs []leg
	comps := compensationIDs(target, kind)
	for i, name := range compensableLegs(kind) {
		orig := p.transfers[DeriveTransferID(target, name)]
		if orig == nil || orig.State != StatePosted {
			continue
		}
		id := comps[i]
		if p.transfers[id] != nil {
			return nil, ErrAlreadyReversed
		}
		legs = append(legs, leg{id: id, debit: orig.CreditAccountID, credit: orig.DebitAccountID,
			currency: orig.Currency, amount: orig.Amount, code: CodeReversal, eventID: ev.ID, paymentRef: orig.PaymentRef})
	}
	if len(legs) == 0 {
		return nil, ErrNothingToReverse
	}
	return linkChain(legs), nil
}
