package payments

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// attempt is one authorisation of a payment of a bill or of the hosted page.
type attempt struct {
	p     *store.Payment // a payment in status created
	isNew bool           // not stored yet
	bill  *store.Bill    // the bill it pays (nil: none)
	card  *apigen.CardInput
	// page: the payer is on the hosted page: a declined or failed authorisation leaves the
	// payment created for another card while attempts remain (BillsConfig.PageAttemptsMax).
	page bool
	ik   *idemKey
	op   string // the Idempotency-Key's operation
}

// errPaymentBusy: another request authorises the same payment (a second tab, a double submit).
var errPaymentBusy = &Error{Status: http.StatusConflict, Code: CodeInvalidState, PaymentStatus: store.StatusCreated,
	Message: "the payment is being processed"}

// attempt authorises a.p: it claims the bill (waiting for another payer's authorisation of it to
// end), writes the intent with the claim, sends the authorisation, and writes the outcome with the
// bill paid or released. It returns the payment as it now stands.
func (s *Service) attempt(ctx context.Context, a *attempt) (*store.Payment, error) {
	defer s.lock(a.p.ID)()
	if !a.isNew {
		cur, err := s.d.Store.PaymentByID(ctx, a.p.ID)
		if err != nil {
			return nil, err
		}
		if cur.Status != store.StatusCreated || cur.PendingOp != store.OpNone {
			return cur, errState(cur.Status, "the payment is "+cur.Status)
		}
		a.p = cur
	}
	p := a.p
	var claim *store.BillChange
	var msg *iso8583.Message
	deadline := time.Now().Add(s.claimWait()) // a wait in real time, whatever the clock of business says
	known := a.bill                           // just read by the caller: the first claim needs no read of its own
	for {
		now := s.d.Now().UTC()
		var err error
		if a.bill != nil {
			if claim, err = s.claimBill(ctx, a.bill.ID, known, p.ID, now, deadline); err != nil {
				return nil, err
			}
			known = nil
		}
		var second int64
		if msg, second, err = s.prepareAuth(p, a.card, now); err != nil {
			return nil, err
		}
		prevVersion := p.Version
		p.Version++
		p.UpdatedAt = now
		intent := &store.Write{Payments: []*store.Payment{clonePayment(p)}, ClockSecond: second,
			Idempotency: idemRecord(a.ik, a.op, p.ID, now)}
		if a.isNew {
			s.record(intent, p, EventCreated, p.Amount, nil, "", now)
		} else {
			intent.PaymentGuards = []store.PaymentGuard{{ID: p.ID, Version: prevVersion}}
		}
		if claim != nil {
			intent.Bills = []store.BillChange{*claim}
		}
		err = s.commit(ctx, intent)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrBillChanged) && time.Now().Before(deadline):
			p.Version = prevVersion
			continue // another payer claimed it first: wait for that one's outcome
		case errors.Is(err, store.ErrBillChanged):
			return nil, errBillInProgress()
		case errors.Is(err, store.ErrPaymentBusy):
			return nil, errPaymentBusy
		default:
			return nil, err
		}
		break
	}

	resp := s.sendAuth(ctx, msg)
	code := iso8583.RCSystemMalfunction
	if resp != nil && resp.ResponseCode != "" {
		code = resp.ResponseCode
		p.RRN = resp.RRN
		p.AuthCode = resp.ApprovalCode
	}
	return p, s.writeOutcome(ctx, a, p, claim, code)
}

// writeOutcome writes an attempt's outcome with the bill paid or released.
func (s *Service) writeOutcome(ctx context.Context, a *attempt, p *store.Payment, claim *store.BillChange, code string) error {
	done := s.d.Now().UTC()
	w := &store.Write{}
	if a.page {
		p.PageAttempts++
	}
	if a.page && code != iso8583.RCApproved && p.PageAttempts < s.cfg.Bills.PageAttemptsMax {
		// The payer may try another card: the payment stays created; the attempt is journaled.
		p.ResponseCode, p.DeclineReason, p.AuthCode = code, declineReason(code), ""
		p.PendingOp, p.PendingID, p.UpdatedAt = store.OpNone, "", done
		p.Version++
		typ := EventAttemptDeclined
		if failedCodes[code] {
			typ = EventAttemptFailed
		}
		w.Events = append(w.Events, store.Event{ID: newID("evt", done), PaymentID: p.ID, Merchant: p.Merchant, Type: typ,
			Status: p.Status, Amount: p.Amount, ResponseCode: code, CreatedAt: done})
	} else {
		typ := s.applyAuthOutcome(p, code, done)
		s.record(w, p, typ, p.Amount, nil, code, done)
		s.d.Metrics.payments.WithLabelValues(p.Status).Inc()
	}
	w.Payments = []*store.Payment{p}
	if claim != nil {
		b := *claim.Bill
		prev := b.Version
		b.ClaimPayment, b.UpdatedAt, b.Version = "", done, b.Version+1
		if p.Status == store.StatusSucceeded {
			b.Status, b.PaidPayment, b.PaidAt = store.BillPaid, p.ID, done
			s.recordBill(w, &b, p, EventBillPaid, done)
		}
		w.Bills = []store.BillChange{{Bill: &b, Prev: prev}}
	}
	if a.ik != nil {
		ans := Answer{http.StatusCreated, encode(s.paymentView(p, ""))}
		w.Idempotency = idemDone(a.ik, a.op, p.ID, ans, done)
	}
	// On failure the outcome is in the ledger: the payments' Recover writes it, RecoverBills
	// then settles the bill.
	return s.commit(ctx, w)
}

// claimBill returns the change that claims bill id for payment, once no other payment's
// authorisation holds it; ErrBillAlreadyPaid when one paid it meanwhile. known, when not nil, is
// the bill as just read (a claim on a stale copy fails its version check and is tried again).
func (s *Service) claimBill(ctx context.Context, id string, known *store.Bill, payment string, now, deadline time.Time) (*store.BillChange, error) {
	for {
		b := known
		known = nil
		if b == nil {
			var err error
			if b, err = s.d.Store.BillByID(ctx, id); err != nil {
				return nil, err
			}
		} else {
			c := *b
			b = &c
		}
		if err := payable(b, now); err != nil {
			return nil, err
		}
		if b.ClaimPayment == "" {
			prev := b.Version
			b.ClaimPayment, b.UpdatedAt, b.Version = payment, now, b.Version+1
			return &store.BillChange{Bill: b, Prev: prev}, nil
		}
		if !time.Now().Before(deadline) {
			return nil, errBillInProgress()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(claimPollEvery):
		}
		now = s.d.Now().UTC()
	}
}

func (s *Service) claimWait() time.Duration {
	if s.cfg.Bills.ClaimWait > 0 {
		return s.cfg.Bills.ClaimWait
	}
	return s.cfg.EngineTimeout
}
