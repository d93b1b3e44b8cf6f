package payments

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/switch/engine"
	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// Principal is the caller: an API key of one merchant or agency.
type Principal struct {
	KeyID    string
	Merchant *Merchant
	Scopes   map[string]bool
}

// Scopes (CONTRACT §12).
const (
	ScopePayments = "payments"
	ScopeRefunds  = "refunds"
	ScopeCardData = "card_data"
)

// AllScopes lists every scope.
var AllScopes = []string{ScopePayments, ScopeRefunds, ScopeCardData}

func (p *Principal) require(scope string) error {
	if !p.Scopes[scope] {
		return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "this API key does not have the " + scope + " scope"}
	}
	return nil
}

// Answer is an operation's response: status and body, as stored for an Idempotency-Key replay.
type Answer struct {
	Status int
	Body   []byte
}

// idemRecord starts the idempotency record of op on resource (nil without a key).
func idemRecord(ik *idemKey, op, resource string, now time.Time) []store.Idempotency {
	if ik == nil {
		return nil
	}
	ik.recorded = true
	return []store.Idempotency{{APIKeyID: ik.apiKeyID, Key: ik.key, RequestHash: ik.hash, Op: op, ResourceID: resource, CreatedAt: now}}
}

// idemDone completes it with the answer.
func idemDone(ik *idemKey, op, resource string, a Answer, now time.Time) []store.Idempotency {
	if ik == nil {
		return nil
	}
	ik.recorded = true
	return []store.Idempotency{{APIKeyID: ik.apiKeyID, Key: ik.key, RequestHash: ik.hash, Status: a.Status, Body: string(a.Body),
		Op: op, ResourceID: resource, CreatedAt: now}}
}

// Idempotency operations.
const (
	opCreatePayment = "create_payment"
	opCapture       = "capture"
	opCancel        = "cancel"
	opRefund        = "refund"
)

// CreatePayment creates a payment; with a card it is authorised at once.
func (s *Service) CreatePayment(ctx context.Context, who *Principal, req apigen.PaymentCreate) (Answer, error) {
	if err := who.require(ScopePayments); err != nil {
		return Answer{}, err
	}
	if req.Card != nil {
		if err := who.require(ScopeCardData); err != nil {
			return Answer{}, err
		}
	}
	m := who.Merchant
	cur := numericCurrency(req.Currency)
	if cur == "" || !m.accepts(cur) {
		return Answer{}, &Error{Status: http.StatusBadRequest, Code: CodeCurrencyNotAccepted, Param: "currency",
			Message: fmt.Sprintf("currency %q is not accepted by this merchant", req.Currency)}
	}
	if req.Amount+m.ConvenienceFee > 999999999999 {
		return Answer{}, errInvalid("amount", "amount with the fee must fit in 12 digits")
	}
	now := s.d.Now().UTC()
	p := &store.Payment{ID: newID("pay", now), Merchant: m.ID, Status: store.StatusCreated, Amount: req.Amount,
		Fee: m.ConvenienceFee, Currency: cur, Reference: req.Reference, Description: req.Description,
		Capture: string(apigen.Automatic), Terminal: VirtualTerminal(m.ID, now.Year()), CreatedAt: now, UpdatedAt: now}
	if req.Capture != nil {
		p.Capture = string(*req.Capture)
	}
	if req.ReturnUrl != nil {
		p.ReturnURL = *req.ReturnUrl
	}
	if req.Metadata != nil && len(*req.Metadata) > 0 {
		md, _ := json.Marshal(*req.Metadata)
		p.Metadata = string(md)
	}
	ik := idemFrom(ctx)
	if req.Card == nil {
		return s.createForPage(ctx, p, ik, now)
	}
	return s.authorize(ctx, p, req.Card, ik, now)
}

// createForPage creates a payment that waits for the payer on the hosted page (issue 10 builds
// the page; the token is made here so that the payment model is complete).
func (s *Service) createForPage(ctx context.Context, p *store.Payment, ik *idemKey, now time.Time) (Answer, error) {
	token := randomToken(24)
	p.PageToken = sha256Hex(token)
	w := &store.Write{Payments: []*store.Payment{p}}
	s.record(w, p, EventCreated, p.Amount, nil, "", now)
	a := Answer{http.StatusCreated, encode(s.paymentView(p, s.cfg.PublicURL+"/pay/"+token))}
	w.Idempotency = idemDone(ik, opCreatePayment, p.ID, a, now)
	if err := s.commit(ctx, w); err != nil {
		return Answer{}, err
	}
	return a, nil
}

// authorize sends a payment's authorisation (0100 manual capture, 0200 automatic) through the
// engine: intent first, then the request, then the outcome.
func (s *Service) authorize(ctx context.Context, p *store.Payment, card *apigen.CardInput, ik *idemKey, now time.Time) (Answer, error) {
	msg, second, err := s.prepareAuth(p, card, now)
	if err != nil {
		return Answer{}, err
	}
	intent := &store.Write{Payments: []*store.Payment{clonePayment(p)}, ClockSecond: second,
		Idempotency: idemRecord(ik, opCreatePayment, p.ID, now)}
	s.record(intent, p, EventCreated, p.Amount, nil, "", now)
	if err := s.commit(ctx, intent); err != nil {
		return Answer{}, err
	}

	resp := s.sendAuth(ctx, msg)
	code := iso8583.RCSystemMalfunction
	if resp != nil && resp.ResponseCode != "" {
		code = resp.ResponseCode
		p.RRN = resp.RRN
		p.AuthCode = resp.ApprovalCode
	}
	done := s.d.Now().UTC()
	typ := s.applyAuthOutcome(p, code, done)
	w := &store.Write{Payments: []*store.Payment{p}}
	s.record(w, p, typ, p.Amount, nil, code, done)
	a := Answer{http.StatusCreated, encode(s.paymentView(p, ""))}
	w.Idempotency = idemDone(ik, opCreatePayment, p.ID, a, done)
	if err := s.commit(ctx, w); err != nil {
		// The outcome is in the ledger; Recover writes it at the next start. The client retries.
		return Answer{}, err
	}
	s.d.Metrics.payments.WithLabelValues(p.Status).Inc()
	return a, nil
}

// prepareAuth gives p a new engine identity on its virtual terminal and builds its authorisation
// (0100 manual capture, 0200 automatic): the intent to write before it is sent. It returns the
// message and the identity's second (the Write's ClockSecond).
func (s *Service) prepareAuth(p *store.Payment, card *apigen.CardInput, now time.Time) (*iso8583.Message, int64, error) {
	m, _ := s.Merchant(p.Merchant)
	id := s.ids.allocate(now)
	p.Terminal = VirtualTerminal(m.ID, time.Unix(id.Second, 0).UTC().Year())
	mti := iso8583.MTIFinancial
	if p.Capture == string(apigen.Manual) {
		mti = iso8583.MTIAuthorization
	}
	msg := &iso8583.Message{
		MTI: mti, PAN: card.Number, ProcessingCode: iso8583.ProcessingPurchase + "0000", Amount: amount12(p.Total()),
		TransmissionDateTime: id.Transmission, STAN: id.STAN, LocalTime: id.LocalTime, LocalDate: id.LocalDate,
		Expiry: fmt.Sprintf("%02d%02d", card.ExpiryYear%100, card.ExpiryMonth), MCC: m.MCC,
		POSEntryMode: posEntryEcommerce, POSCondition: posConditionEcommerce, TerminalID: p.Terminal, MerchantID: m.ID,
		AdditionalData: p.Reference, Currency: p.Currency,
	}
	if card.Cvc != nil {
		msg.Private63 = cvcField(*card.Cvc)
	}
	p.EngineID = engine.TransactionID(mti, p.Terminal, id.STAN, id.Transmission)
	p.PendingOp, p.PendingID = store.OpAuthorize, p.EngineID
	p.CardMasked, p.CardExpMonth, p.CardExpYear = iso8583.MaskPAN(card.Number), card.ExpiryMonth, card.ExpiryYear
	p.CardHolder = ""
	if card.HolderName != nil {
		p.CardHolder = *card.HolderName
	}
	sealed, err := s.d.CardKey.Seal(p.ID, card.Number)
	if err != nil {
		return nil, 0, err
	}
	p.CardSealed = sealed
	return msg, id.Second, nil
}

// sendAuth hands an authorisation to the engine (nil: no answer).
func (s *Service) sendAuth(ctx context.Context, msg *iso8583.Message) *iso8583.Message {
	ectx, cancel := s.engineCtx(ctx)
	defer cancel()
	return s.d.Engine.Handle(ectx, msg)
}

// applyAuthOutcome sets a payment's status from its authorisation's response code and returns the
// event type.
func (s *Service) applyAuthOutcome(p *store.Payment, code string, now time.Time) string {
	p.ResponseCode, p.PendingOp, p.PendingID, p.UpdatedAt = code, store.OpNone, "", now
	p.Version++
	switch {
	case code == iso8583.RCApproved && p.Capture == string(apigen.Manual):
		p.Status = store.StatusAuthorised
		return EventAuthorised
	case code == iso8583.RCApproved:
		p.Status, p.AmountCaptured, p.SaleID = store.StatusSucceeded, p.Amount, p.EngineID
		return EventSucceeded
	case failedCodes[code]:
		p.Status, p.DeclineReason, p.AuthCode = store.StatusFailed, declineReason(code), ""
		return EventFailed
	}
	p.Status, p.DeclineReason, p.AuthCode = store.StatusDeclined, declineReason(code), ""
	return EventDeclined
}

// Capture posts an authorised payment's hold, fully or partly.
func (s *Service) Capture(ctx context.Context, who *Principal, id string, amount *int64) (Answer, error) {
	if err := who.require(ScopePayments); err != nil {
		return Answer{}, err
	}
	defer s.lock(id)()
	p, err := s.d.Store.Payment(ctx, who.Merchant.ID, id)
	if err != nil {
		return Answer{}, notFoundAs(err, "payment")
	}
	if p.Status != store.StatusAuthorised || p.PendingOp != store.OpNone {
		return Answer{}, errState(p.Status, "only an authorised payment can be captured; this one is "+p.Status)
	}
	amt := p.Amount
	if amount != nil {
		amt = *amount
	}
	if amt > p.Amount {
		return Answer{}, &Error{Status: http.StatusUnprocessableEntity, Code: CodeCaptureExceeds, Param: "amount",
			Message: fmt.Sprintf("the capture (%d) is more than the authorised amount (%d)", amt, p.Amount)}
	}
	now := s.d.Now().UTC()
	ik := idemFrom(ctx)
	msg, opID, sec := s.followUp(p, iso8583.MTICompletion, iso8583.ProcessingPurchase+"0000", amt+p.Fee, now)
	p.PendingOp, p.PendingID, p.PendingAmount = store.OpCapture, opID, amt
	if err := s.commit(ctx, &store.Write{Payments: []*store.Payment{clonePayment(p)}, ClockSecond: sec,
		Idempotency: idemRecord(ik, opCapture, p.ID, now)}); err != nil {
		return Answer{}, err
	}
	code := s.send(ctx, msg)
	done := s.d.Now().UTC()
	w := &store.Write{Payments: []*store.Payment{p}}
	var outErr error
	switch code {
	case iso8583.RCApproved:
		s.captured(p, amt, opID, done)
		s.record(w, p, EventSucceeded, amt, nil, code, done)
	case iso8583.RCOriginalNotFound:
		// The hold is gone (expired in the ledger).
		p.Status = store.StatusExpired
		s.record(w, p, EventExpired, 0, nil, code, done)
		outErr = errState(p.Status, "the authorisation has expired")
	default:
		outErr = &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 1,
			Message: "the capture was not accepted (response code " + code + "); retry later"}
	}
	p.PendingOp, p.PendingID, p.PendingAmount, p.UpdatedAt = store.OpNone, "", 0, done
	p.Version++
	a := Answer{http.StatusOK, encode(s.paymentView(p, ""))}
	if outErr == nil {
		w.Idempotency = idemDone(ik, opCapture, p.ID, a, done)
	}
	if err := s.commit(ctx, w); err != nil {
		return Answer{}, err
	}
	markReleasable(ik, outErr)
	return a, outErr
}

func (s *Service) captured(p *store.Payment, amount int64, saleID string, now time.Time) {
	p.Status, p.AmountCaptured, p.SaleID, p.UpdatedAt = store.StatusSucceeded, amount, saleID, now
}

// Cancel cancels a payment that waits for its payer, voids an uncaptured hold, or reverses a
// payment not yet refunded.
func (s *Service) Cancel(ctx context.Context, who *Principal, id string) (Answer, error) {
	if err := who.require(ScopePayments); err != nil {
		return Answer{}, err
	}
	defer s.lock(id)()
	p, err := s.d.Store.Payment(ctx, who.Merchant.ID, id)
	if err != nil {
		return Answer{}, notFoundAs(err, "payment")
	}
	now := s.d.Now().UTC()
	ik := idemFrom(ctx)
	switch {
	case p.PendingOp != store.OpNone:
		return Answer{}, errState(p.Status, "the payment is being processed")
	case p.Status == store.StatusCreated:
		p.Status, p.UpdatedAt, p.PageToken = store.StatusCancelled, now, ""
		p.Version++
		w := &store.Write{Payments: []*store.Payment{p}}
		s.record(w, p, EventCancelled, 0, nil, "", now)
		a := Answer{http.StatusOK, encode(s.paymentView(p, ""))}
		w.Idempotency = idemDone(ik, opCancel, p.ID, a, now)
		return a, s.commit(ctx, w)
	case p.Status == store.StatusAuthorised, p.Status == store.StatusSucceeded && p.AmountRefunded == 0:
	default:
		return Answer{}, errState(p.Status, "a "+p.Status+" payment cannot be cancelled"+
			map[bool]string{true: "; refund it instead", false: ""}[p.Status == store.StatusSucceeded])
	}
	msg, opID, sec := s.followUp(p, iso8583.MTIReversal, iso8583.ProcessingPurchase+"0000", p.Total(), now)
	p.PendingOp, p.PendingID = store.OpCancel, opID
	if err := s.commit(ctx, &store.Write{Payments: []*store.Payment{clonePayment(p)}, ClockSecond: sec,
		Idempotency: idemRecord(ik, opCancel, p.ID, now)}); err != nil {
		return Answer{}, err
	}
	code := s.send(ctx, msg)
	done := s.d.Now().UTC()
	w := &store.Write{Payments: []*store.Payment{p}}
	var outErr error
	if code == iso8583.RCApproved {
		p.Status = store.StatusCancelled
		s.record(w, p, EventCancelled, p.Amount, nil, code, done)
	} else {
		outErr = &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, RetryAfter: 1,
			Message: "the cancellation was not accepted (response code " + code + "); retry later"}
	}
	p.PendingOp, p.PendingID, p.UpdatedAt = store.OpNone, "", done
	p.Version++
	a := Answer{http.StatusOK, encode(s.paymentView(p, ""))}
	if outErr == nil {
		w.Idempotency = idemDone(ik, opCancel, p.ID, a, done)
	}
	if err := s.commit(ctx, w); err != nil {
		return Answer{}, err
	}
	markReleasable(ik, outErr)
	return a, outErr
}

// CreateRefund refunds part or all of what a payment captured.
func (s *Service) CreateRefund(ctx context.Context, who *Principal, id string, req apigen.RefundCreate) (Answer, error) {
	if err := who.require(ScopeRefunds); err != nil {
		return Answer{}, err
	}
	defer s.lock(id)()
	p, err := s.d.Store.Payment(ctx, who.Merchant.ID, id)
	if err != nil {
		return Answer{}, notFoundAs(err, "payment")
	}
	if p.Status != store.StatusSucceeded || p.PendingOp != store.OpNone {
		return Answer{}, errState(p.Status, "only a succeeded payment can be refunded; this one is "+p.Status)
	}
	if left := refundable(p); req.Amount > left {
		return Answer{}, &Error{Status: http.StatusUnprocessableEntity, Code: CodeRefundExceeds, Param: "amount", AmountRefundable: &left,
			Message: fmt.Sprintf("the refund (%d) is more than what can still be refunded (%d)", req.Amount, left)}
	}
	pan, err := s.d.CardKey.Open(p.ID, p.CardSealed)
	if err != nil {
		return Answer{}, err
	}
	now := s.d.Now().UTC()
	ik := idemFrom(ctx)
	msg, opID, sec := s.followUp(p, iso8583.MTIFinancial, iso8583.ProcessingRefund+"0000", req.Amount, now)
	// The refund names its sale (the 0200, or the 0220 that captured the hold) in field 90: the
	// ledger then keeps the refunds within what the sale took.
	sale := splitEngineID(p.SaleID)
	if p.SaleID == "" {
		sale = splitEngineID(p.EngineID)
	}
	msg.OriginalData = iso8583.OriginalData{MTI: sale[0], STAN: sale[2], TransmissionDateTime: sale[3]}.String()
	msg.PAN = pan
	msg.Expiry = fmt.Sprintf("%02d%02d", p.CardExpYear%100, p.CardExpMonth)
	msg.POSEntryMode, msg.POSCondition = posEntryEcommerce, posConditionEcommerce
	r := &store.Refund{ID: newID("ref", now), PaymentID: p.ID, Merchant: p.Merchant, Status: store.RefundProcessing,
		Amount: req.Amount, Currency: p.Currency, EngineID: opID, CreatedAt: now, UpdatedAt: now}
	if req.Reference != nil {
		r.Reference = *req.Reference
	}
	// The refund in processing counts against what is refundable until its outcome is known.
	p.PendingOp, p.PendingID, p.PendingAmount = opRefundPending, r.ID, req.Amount
	if err := s.commit(ctx, &store.Write{Payments: []*store.Payment{clonePayment(p)}, Refunds: []*store.Refund{clone(r)},
		ClockSecond: sec, Idempotency: idemRecord(ik, opRefund, r.ID, now)}); err != nil {
		return Answer{}, err
	}
	ectx, cancel := s.engineCtx(ctx)
	resp := s.d.Engine.Handle(ectx, msg)
	cancel()
	code := iso8583.RCSystemMalfunction
	if resp != nil && resp.ResponseCode != "" {
		code = resp.ResponseCode
		r.RRN = resp.RRN
	}
	done := s.d.Now().UTC()
	s.applyRefundOutcome(p, r, code, done)
	w := &store.Write{Payments: []*store.Payment{p}, Refunds: []*store.Refund{r}}
	typ := EventRefundSucceeded
	if r.Status == store.RefundFailed {
		typ = EventRefundFailed
	}
	s.record(w, p, typ, r.Amount, r, code, done)
	a := Answer{http.StatusCreated, encode(refundView(r))}
	w.Idempotency = idemDone(ik, opRefund, r.ID, a, done)
	if err := s.commit(ctx, w); err != nil {
		return Answer{}, err
	}
	return a, nil
}

// opRefundPending marks a payment with a refund in processing (PendingID is the refund's id).
const opRefundPending = "refund"

func (s *Service) applyRefundOutcome(p *store.Payment, r *store.Refund, code string, now time.Time) {
	r.ResponseCode, r.UpdatedAt = code, now
	if code == iso8583.RCApproved {
		r.Status = store.RefundSucceeded
		p.AmountRefunded += r.Amount
	} else {
		r.Status = store.RefundFailed
	}
	p.PendingOp, p.PendingID, p.PendingAmount, p.UpdatedAt = store.OpNone, "", 0, now
	p.Version++
}

// followUp builds a capture, reversal or refund of p's authorisation: a new identity on the
// payment's terminal, the payment's RRN in 37 and its authorisation in 90, so that the engine and
// the ledger find the original. It returns the message, its transaction id and its second.
func (s *Service) followUp(p *store.Payment, mti, processing string, amount int64, now time.Time) (*iso8583.Message, string, int64) {
	id := s.ids.allocate(now)
	orig := splitEngineID(p.EngineID)
	msg := &iso8583.Message{
		MTI: mti, ProcessingCode: processing, Amount: amount12(amount), TransmissionDateTime: id.Transmission,
		STAN: id.STAN, LocalTime: id.LocalTime, LocalDate: id.LocalDate, TerminalID: p.Terminal, MerchantID: p.Merchant,
		RRN: p.RRN, Currency: p.Currency, AdditionalData: p.Reference,
		OriginalData: iso8583.OriginalData{MTI: orig[0], STAN: orig[2], TransmissionDateTime: orig[3]}.String(),
	}
	return msg, engine.TransactionID(mti, p.Terminal, id.STAN, id.Transmission), id.Second
}

// send hands a follow-up to the engine and returns its response code.
func (s *Service) send(ctx context.Context, msg *iso8583.Message) string {
	ectx, cancel := s.engineCtx(ctx)
	defer cancel()
	resp := s.d.Engine.Handle(ectx, msg)
	if resp == nil || resp.ResponseCode == "" {
		return iso8583.RCSystemMalfunction
	}
	return resp.ResponseCode
}

// splitEngineID splits "MTI/terminal/STAN/transmission".
func splitEngineID(id string) [4]string {
	var out [4]string
	i := 0
	start := 0
	for j := 0; j <= len(id) && i < 4; j++ {
		if j == len(id) || id[j] == '/' {
			out[i] = id[start:j]
			i++
			start = j + 1
		}
	}
	return out
}

// Card-not-present e-commerce: PAN entry mode 81 (electronic commerce), PIN entry capability
// unknown; POS condition 59 (e-commerce).
const (
	posEntryEcommerce     = "810"
	posConditionEcommerce = "59"
)

// cvcField is the card's CVC as it travels to the issuer in field 63 (reserved for private use in
// ISO 8583:1987; the acquirer spec has no field of its own for it, 48 carries the payment
// reference and 62 the DUKPT KSN): 6 characters in the layout Visa uses for CVV2 data (126.10),
// presence indicator 1 (value present), response type 1 (a result is wanted), the value
// right-justified in 4. It is never stored or logged.
func cvcField(cvc string) string {
	return fmt.Sprintf("11%4s", cvc)
}

func amount12(v int64) string { return fmt.Sprintf("%012d", v) }

func clonePayment(p *store.Payment) *store.Payment { c := *p; return &c }

func clone(r *store.Refund) *store.Refund { c := *r; return &c }

func notFoundAs(err error, what string) error {
	if err == store.ErrNotFound {
		return errNotFound(what)
	}
	return err
}

// markReleasable lets the key of an operation that was undone be used again.
func markReleasable(ik *idemKey, err error) {
	if ik != nil && err != nil {
		ik.releasable = true
	}
}
