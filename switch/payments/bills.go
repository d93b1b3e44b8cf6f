package payments

// Government bills (CONTRACT §12, issue 10): an agency creates a bill under a control number
// (reference, unique per agency) with line items that carry revenue codes; the citizen pays it on
// the hosted page (or a portal with the card_data scope pays it over the API). A bill is paid at
// most once: a payment's authorisation claims the bill in the transaction that writes the
// payment's intent, before anything is sent to the issuer, and the claim is released (declined,
// failed) or turned into "paid" in the transaction that writes the outcome. A second payer
// therefore never reaches the issuer: it waits for the claim's outcome and gets 409
// bill_already_paid, or, if the first was declined, goes ahead.

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// BillsConfig is the behaviour of bills and of the hosted page's payments.
type BillsConfig struct {
	// PageAttemptsMax bounds the authorisations a payer may try on one hosted page (a declined
	// or failed attempt leaves the payment open for another card until then). Default 3.
	PageAttemptsMax int
	// ClaimWait bounds how long a second payer of a bill waits for the first payer's
	// authorisation to end before being told the bill is being paid. Default EngineTimeout.
	ClaimWait time.Duration
}

const pageAttemptsMaxDefault = 3

func (c *BillsConfig) applyDefaults() {
	if c.PageAttemptsMax <= 0 {
		c.PageAttemptsMax = pageAttemptsMaxDefault
	}
}

// Bill webhook event types.
const (
	EventBillPaid    = "bill.paid"
	EventBillExpired = "bill.expired"
)

// Journaled page events (not delivered as webhooks): an attempt that the payer may follow with
// another card.
const (
	EventAttemptDeclined = "payment.attempt_declined"
	EventAttemptFailed   = "payment.attempt_failed"
)

// Error codes of bills.
const (
	CodeBillAlreadyPaid   = "bill_already_paid"
	CodeBillExists        = "bill_reference_exists"
	CodeBillItemsMismatch = "bill_items_mismatch"
	CodeBillInProgress    = "bill_payment_in_progress"
	CodeBillNotPayable    = "bill_not_payable"
	opCreateBill          = "create_bill"
	opCancelBill          = "cancel_bill"
	opCreateBillPayment   = "create_bill_payment"
	billReferenceAttempts = 5 // tries at a fresh control number before giving up
	billSweepBatch        = 500
	claimPollEvery        = 20 * time.Millisecond
	billReferenceDigits   = 11           // + a Luhn check digit
	billAmountMax         = 999999999999 // 12 digits of field 4
)

// ErrBillAlreadyPaid is the answer to a payment of a paid bill: 409 bill_already_paid.
var ErrBillAlreadyPaid = &Error{Status: http.StatusConflict, Code: CodeBillAlreadyPaid,
	Message: "this bill has already been paid; nothing was charged"}

func errBillInProgress() *Error {
	return &Error{Status: http.StatusConflict, Code: CodeBillInProgress, RetryAfter: 2,
		Message: "a payment of this bill is being authorised; retry in a moment"}
}

func errBillNotPayable(b *store.Bill) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeBillNotPayable,
		Message: "this bill is " + b.Status + " and cannot be paid"}
}

func (s *Service) requireBills(who *Principal) error {
	return who.require(ScopePayments)
}

// CreateBill creates an open bill.
func (s *Service) CreateBill(ctx context.Context, who *Principal, req apigen.BillCreate) (Answer, error) {
	if err := s.requireBills(who); err != nil {
		return Answer{}, err
	}
	m := who.Merchant
	cur := numericCurrency(req.Currency)
	if cur == "" || !m.accepts(cur) {
		return Answer{}, &Error{Status: http.StatusBadRequest, Code: CodeCurrencyNotAccepted, Param: "currency",
			Message: fmt.Sprintf("currency %q is not accepted by this agency", req.Currency)}
	}
	if req.Amount+m.ConvenienceFee > billAmountMax {
		return Answer{}, errInvalid("amount", "amount with the fee must fit in 12 digits")
	}
	now := s.d.Now().UTC()
	b := &store.Bill{ID: newID("bil", now), Agency: m.ID, Status: store.BillOpen, Amount: req.Amount, Fee: m.ConvenienceFee,
		Currency: cur, Description: req.Description, Items: []store.BillItem{}, CreatedAt: now, UpdatedAt: now, Version: 1}
	if req.Items != nil {
		var sum int64
		for _, it := range *req.Items {
			b.Items = append(b.Items, store.BillItem{RevenueCode: it.RevenueCode, Description: deref(it.Description), Amount: it.Amount})
			sum += it.Amount
		}
		if sum != req.Amount {
			return Answer{}, &Error{Status: http.StatusUnprocessableEntity, Code: CodeBillItemsMismatch, Param: "items",
				Message: fmt.Sprintf("the items add up to %d, not to the amount %d", sum, req.Amount)}
		}
	}
	if req.ExpiresAt != nil {
		if !req.ExpiresAt.After(now) {
			return Answer{}, errInvalid("expires_at", "expires_at must be in the future")
		}
		b.ExpiresAt = req.ExpiresAt.UTC()
	}
	b.PayerName, b.ReturnURL = deref(req.PayerName), deref(req.ReturnUrl)
	if req.Language != nil {
		b.Language = string(*req.Language)
	}
	if req.Metadata != nil && len(*req.Metadata) > 0 {
		md, _ := json.Marshal(*req.Metadata)
		b.Metadata = string(md)
	}
	ik := idemFrom(ctx)
	for try := 0; ; try++ {
		b.Reference = ""
		if req.Reference != nil {
			b.Reference = *req.Reference
		} else {
			b.Reference = newControlNumber()
		}
		a := Answer{http.StatusCreated, encode(s.billView(b, nil))}
		w := &store.Write{BillWrite: store.BillWrite{Bills: []store.BillChange{{Bill: b}}},
			Idempotency: idemDone(ik, opCreateBill, b.ID, a, now)}
		err := s.commit(ctx, w)
		switch {
		case err == nil:
			return a, nil
		case !errors.Is(err, store.ErrBillExists):
			return Answer{}, err
		case req.Reference != nil || try+1 >= billReferenceAttempts:
			return Answer{}, &Error{Status: http.StatusConflict, Code: CodeBillExists, Param: "reference",
				Message: "this agency already has a bill with reference " + b.Reference}
		}
	}
}

// newControlNumber is a 12-digit control number: 11 random digits (the first not 0) and a Luhn
// check digit, so that a mistyped number is caught before any lookup.
func newControlNumber() string {
	digits := make([]byte, billReferenceDigits)
	for i := range digits {
		lo := int64(0)
		if i == 0 {
			lo = 1
		}
		n, err := rand.Int(rand.Reader, big.NewInt(10-lo))
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		digits[i] = byte('0' + lo + n.Int64())
	}
	return string(digits) + string(iso8583.LuhnCheckDigit(string(digits)))
}

// bill returns the caller's bill with its control number.
func (s *Service) bill(ctx context.Context, who *Principal, reference string) (*store.Bill, error) {
	if err := s.requireBills(who); err != nil {
		return nil, err
	}
	b, err := s.d.Store.BillByReference(ctx, who.Merchant.ID, reference)
	if err != nil {
		return nil, notFoundAs(err, "bill")
	}
	return b, nil
}

// GetBill shows a bill with its payments.
func (s *Service) GetBill(ctx context.Context, who *Principal, reference string) ([]byte, error) {
	b, err := s.bill(ctx, who, reference)
	if err != nil {
		return nil, err
	}
	ps, err := s.d.Store.BillPayments(ctx, b.ID)
	if err != nil {
		return nil, err
	}
	return encode(s.billView(b, ps)), nil
}

// CancelBill cancels an open bill that no payment is being authorised for.
func (s *Service) CancelBill(ctx context.Context, who *Principal, reference string) (Answer, error) {
	b, err := s.bill(ctx, who, reference)
	if err != nil {
		return Answer{}, err
	}
	switch {
	case b.Status == store.BillPaid:
		return Answer{}, ErrBillAlreadyPaid
	case b.Status != store.BillOpen:
		return Answer{}, &Error{Status: http.StatusConflict, Code: CodeInvalidState, Message: "the bill is " + b.Status}
	case b.ClaimPayment != "":
		return Answer{}, errBillInProgress()
	}
	now := s.d.Now().UTC()
	prev := b.Version
	b.Status, b.UpdatedAt, b.Version = store.BillCancelled, now, b.Version+1
	ps, err := s.d.Store.BillPayments(ctx, b.ID)
	if err != nil {
		return Answer{}, err
	}
	a := Answer{http.StatusOK, encode(s.billView(b, ps))}
	err = s.commit(ctx, &store.Write{BillWrite: store.BillWrite{Bills: []store.BillChange{{Bill: b, Prev: prev}}},
		Idempotency: idemDone(idemFrom(ctx), opCancelBill, b.ID, a, now)})
	if errors.Is(err, store.ErrBillChanged) {
		return Answer{}, errBillInProgress() // a payment claimed it meanwhile
	}
	return a, err
}

// ListBills lists the caller's bills, newest first.
func (s *Service) ListBills(ctx context.Context, who *Principal, f store.BillFilter) ([]byte, error) {
	if err := s.requireBills(who); err != nil {
		return nil, err
	}
	f.Agency = who.Merchant.ID
	rows, err := s.d.Store.Bills(ctx, f)
	if err != nil {
		return nil, err
	}
	out := apigen.BillList{Data: []apigen.Bill{}}
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		out.HasMore = true
		next := rows[len(rows)-1].ID
		out.NextCursor = &next
	}
	for _, b := range rows {
		ps, err := s.d.Store.BillPayments(ctx, b.ID)
		if err != nil {
			return nil, err
		}
		out.Data = append(out.Data, s.billView(b, ps))
	}
	return encode(out), nil
}

// CreateBillPayment pays a bill over the API: with a card at once (scope card_data), without one
// a payment that waits for the payer on the hosted page (links.next_url).
func (s *Service) CreateBillPayment(ctx context.Context, who *Principal, reference string, req apigen.BillPaymentCreate) (Answer, error) {
	if req.Card != nil {
		if err := who.require(ScopeCardData); err != nil {
			return Answer{}, err
		}
	}
	b, err := s.bill(ctx, who, reference)
	if err != nil {
		return Answer{}, err
	}
	if err := payable(b, s.d.Now()); err != nil {
		return Answer{}, err
	}
	now := s.d.Now().UTC()
	p := s.billPayment(b, now)
	if req.ReturnUrl != nil {
		p.ReturnURL = *req.ReturnUrl
	}
	ik := idemFrom(ctx)
	if req.Card == nil {
		token := randomToken(24)
		p.PageToken = sha256Hex(token)
		w := &store.Write{Payments: []*store.Payment{p}}
		s.record(w, p, EventCreated, p.Amount, nil, "", now)
		a := Answer{http.StatusCreated, encode(s.paymentView(p, s.cfg.PublicURL+"/pay/"+token))}
		w.Idempotency = idemDone(ik, opCreateBillPayment, p.ID, a, now)
		return a, s.commit(ctx, w)
	}
	p, err = s.attempt(ctx, &attempt{p: p, isNew: true, bill: b, card: req.Card, ik: ik, op: opCreateBillPayment})
	if err != nil {
		return Answer{}, err
	}
	return Answer{http.StatusCreated, encode(s.paymentView(p, ""))}, nil
}

// payable says why a bill cannot be paid now (nil when it can).
func payable(b *store.Bill, now time.Time) error {
	switch {
	case b.Status == store.BillPaid:
		return ErrBillAlreadyPaid
	case b.Status != store.BillOpen:
		return errBillNotPayable(b)
	case !b.ExpiresAt.IsZero() && !now.Before(b.ExpiresAt):
		e := errBillNotPayable(b)
		e.Message = "this bill has expired and cannot be paid"
		return e
	}
	return nil
}

// billPayment is a new payment of b: its amount, the agency's fee, its control number as the
// reference (field 48), automatic capture.
func (s *Service) billPayment(b *store.Bill, now time.Time) *store.Payment {
	return &store.Payment{ID: newID("pay", now), Merchant: b.Agency, Status: store.StatusCreated, Amount: b.Amount, Fee: b.Fee,
		Currency: b.Currency, Reference: b.Reference, Description: b.Description, ReturnURL: b.ReturnURL, Metadata: b.Metadata,
		Capture: string(apigen.Automatic), Terminal: VirtualTerminal(b.Agency, now.Year()), BillID: b.ID, CreatedAt: now, UpdatedAt: now}
}

// recordBill adds a bill's webhook messages to w, for every endpoint of the agency that wants typ.
func (s *Service) recordBill(w *store.Write, b *store.Bill, paidBy *store.Payment, typ string, now time.Time) {
	var body []byte
	evID := newID("evt", now)
	for _, ep := range s.endpoints.forMerchant(b.Agency) {
		if !ep.Wants(typ) {
			continue
		}
		if body == nil {
			var ps []*store.Payment
			if paidBy != nil {
				ps = []*store.Payment{paidBy}
			}
			body = encode(webhookEnvelope{ID: evID, Type: typ, CreatedAt: now, Data: s.billView(b, ps)})
		}
		w.Outbox = append(w.Outbox, store.Outbox{ID: newID("msg", now), EventID: evID, EndpointID: ep.ID, EventType: typ,
			Payload: string(body), State: store.OutboxPending, NextAttemptAt: now, CreatedAt: now})
	}
}

// ExpireBills marks open bills past their expiry expired (webhook bill.expired); a bill whose
// payment is in flight is left for the next pass. It returns how many.
func (s *Service) ExpireBills(ctx context.Context) (int, error) {
	now := s.d.Now().UTC()
	bs, err := s.d.Store.BillsExpiring(ctx, now, billSweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, b := range bs {
		if b.ClaimPayment != "" {
			continue
		}
		prev := b.Version
		b.Status, b.UpdatedAt, b.Version = store.BillExpired, now, b.Version+1
		w := &store.Write{BillWrite: store.BillWrite{Bills: []store.BillChange{{Bill: b, Prev: prev}}}}
		s.recordBill(w, b, nil, EventBillExpired, now)
		switch err := s.commit(ctx, w); {
		case errors.Is(err, store.ErrBillChanged): // claimed or paid meanwhile
		case err != nil:
			return n, err
		default:
			n++
		}
	}
	return n, nil
}

// RecoverBills settles what a crash (or a recovery by the payments' own Recover) left behind:
// a claim whose payment's outcome is written is turned into "paid" or released, and a paid bill
// whose payment was cancelled (reversed) is open again. It returns how many bills changed.
func (s *Service) RecoverBills(ctx context.Context) (int, error) {
	claimed, err := s.d.Store.BillsClaimed(ctx, billSweepBatch)
	if err != nil {
		return 0, err
	}
	reopened, err := s.d.Store.BillsPaidByCancelled(ctx, billSweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	now := s.d.Now().UTC()
	for _, b := range append(claimed, reopened...) {
		w, err := s.billRecovery(ctx, b, now)
		if err != nil || w == nil {
			if err != nil {
				return n, err
			}
			continue
		}
		if err := s.commit(ctx, w); err != nil && !errors.Is(err, store.ErrBillChanged) {
			return n, err
		}
		s.d.Log.Info("bill resolved", zap.String("bill", b.ID), zap.String("status", b.Status))
		n++
	}
	return n, nil
}

// billRecovery is the write that settles b, or nil when there is nothing to do yet.
func (s *Service) billRecovery(ctx context.Context, b *store.Bill, now time.Time) (*store.Write, error) {
	prev := b.Version
	if b.Status == store.BillPaid { // its payment was reversed
		b.Status, b.PaidPayment, b.PaidAt = store.BillOpen, "", time.Time{}
		b.UpdatedAt, b.Version = now, b.Version+1
		return &store.Write{BillWrite: store.BillWrite{Bills: []store.BillChange{{Bill: b, Prev: prev}}}}, nil
	}
	p, err := s.d.Store.PaymentByID(ctx, b.ClaimPayment)
	switch {
	case errors.Is(err, store.ErrNotFound): // the claim's intent never committed: nothing was sent
	case err != nil:
		return nil, err
	case p.PendingOp != store.OpNone:
		return nil, nil // still in flight (or for the payments' Recover to resolve first)
	}
	w := &store.Write{}
	b.ClaimPayment, b.UpdatedAt, b.Version = "", now, b.Version+1
	if p != nil && p.Status == store.StatusSucceeded {
		b.Status, b.PaidPayment, b.PaidAt = store.BillPaid, p.ID, p.UpdatedAt
		s.recordBill(w, b, p, EventBillPaid, now)
	}
	w.Bills = []store.BillChange{{Bill: b, Prev: prev}}
	return w, nil
}

// RunBillMaintenance expires bills and settles claims every interval until ctx ends.
func (s *Service) RunBillMaintenance(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.RecoverBills(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Warn("bills: recovery failed", zap.Error(err))
		}
		if _, err := s.ExpireBills(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Warn("bills: expiry failed", zap.Error(err))
		}
	}
}

// payURL is the hosted page of a bill: the agency in the path, since a control number is
// unique only per agency.
func (s *Service) payURL(b *store.Bill) string {
	return s.cfg.PublicURL + "/pay/bill/" + url.PathEscape(b.Agency) + "/" + url.PathEscape(b.Reference)
}

func (s *Service) billView(b *store.Bill, ps []*store.Payment) apigen.Bill {
	self := "/v1/bills/" + url.PathEscape(b.Reference)
	v := apigen.Bill{Id: b.ID, Reference: b.Reference, Status: apigen.BillStatus(b.Status), Amount: b.Amount, Fee: b.Fee,
		Total: b.Total(), Currency: alphaCurrency(b.Currency), Description: b.Description, Items: []apigen.BillItem{},
		PayerName: strPtr(b.PayerName), ReturnUrl: strPtr(b.ReturnURL), Payments: []apigen.Payment{},
		CreatedAt: b.CreatedAt, UpdatedAt: b.UpdatedAt,
		Links: apigen.BillLinks{Self: self, PayUrl: s.payURL(b), Payments: self + "/payments"}}
	for _, it := range b.Items {
		v.Items = append(v.Items, apigen.BillItem{RevenueCode: it.RevenueCode, Description: strPtr(it.Description), Amount: it.Amount})
	}
	if b.Language != "" {
		l := apigen.Language(b.Language)
		v.Language = &l
	}
	if b.Metadata != "" {
		var md apigen.Metadata
		if json.Unmarshal([]byte(b.Metadata), &md) == nil {
			v.Metadata = &md
		}
	}
	if !b.ExpiresAt.IsZero() {
		t := b.ExpiresAt
		v.ExpiresAt = &t
	}
	if !b.PaidAt.IsZero() {
		t := b.PaidAt
		v.PaidAt = &t
	}
	if b.PaidPayment != "" {
		id := b.PaidPayment
		v.PaymentId = &id
	}
	if b.Status == store.BillOpen {
		c := self + "/cancel"
		v.Links.Cancel = &c
	}
	for _, p := range ps {
		v.Payments = append(v.Payments, s.paymentView(p, ""))
	}
	return v
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
