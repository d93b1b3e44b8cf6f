package payments

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// Recover resolves every engine request whose outcome the API did not record (a crash between the
// request and its outcome, or an outcome write that failed), from the ledger: an authorisation the
// ledger holds approved is authorised or succeeded, anything else failed or declined (the engine
// reverses at the issuer whatever reached it without a durable ledger outcome); a capture, cancel
// or refund the ledger holds is done, one it does not hold did not happen. Then every in-flight
// Idempotency-Key gets the answer of its effect. olderThan skips requests younger than that (0 at
// start: everything; the periodic pass leaves requests in progress alone).
func (s *Service) Recover(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := s.d.Now().Add(-olderThan)
	ps, err := s.d.Store.Unresolved(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range ps {
		if olderThan > 0 && p.UpdatedAt.After(cutoff) {
			continue
		}
		if err := s.resolve(ctx, p); err != nil {
			return n, err
		}
		n++
	}
	refunds, err := s.d.Store.ProcessingRefunds(ctx)
	if err != nil {
		return n, err
	}
	for _, r := range refunds {
		if olderThan > 0 && r.UpdatedAt.After(cutoff) {
			continue
		}
		if err := s.resolveRefund(ctx, r); err != nil {
			return n, err
		}
		n++
	}
	if err := s.answerInFlightKeys(ctx, cutoff, olderThan > 0); err != nil {
		return n, err
	}
	return n, nil
}

// ledgerOutcome is the ledger's record of an engine request: nil when the ledger never held it.
func (s *Service) ledgerOutcome(ctx context.Context, id string) (*ledger.Transaction, error) {
	tx, err := s.d.Ledger.Transaction(ctx, id)
	if errors.Is(err, ledger.ErrNotFound) {
		return nil, nil
	}
	return tx, err
}

func (s *Service) resolve(ctx context.Context, p *store.Payment) error {
	defer s.lock(p.ID)()
	if p.PendingOp == opRefundPending {
		// The refund row decides; the payment only waits for it.
		return nil
	}
	tx, err := s.ledgerOutcome(ctx, p.PendingID)
	if err != nil {
		return err
	}
	now := s.d.Now().UTC()
	w := &store.Write{Payments: []*store.Payment{p}}
	held := tx != nil && tx.ResponseCode == iso8583.RCApproved && tx.Status != ledger.StatusRejected && tx.Status != ledger.StatusRecovered
	switch p.PendingOp {
	case store.OpAuthorize:
		code := iso8583.RCSystemMalfunction
		if tx != nil {
			code, p.RRN = tx.ResponseCode, tx.RRN
			if held {
				p.AuthCode = tx.ApprovalCode
			} else if code == iso8583.RCApproved {
				code = iso8583.RCSystemMalfunction // approved by the issuer, refused by the ledger: reversed
			}
		}
		typ := s.applyAuthOutcome(p, code, now)
		s.record(w, p, typ, p.Amount, nil, code, now)
		s.d.Metrics.payments.WithLabelValues(p.Status).Inc()
	case store.OpCapture:
		if held {
			s.captured(p, p.PendingAmount, p.PendingID, now)
			s.record(w, p, EventSucceeded, p.AmountCaptured, nil, iso8583.RCApproved, now)
		}
	case store.OpCancel:
		if held {
			p.Status = store.StatusCancelled
			s.record(w, p, EventCancelled, p.Amount, nil, iso8583.RCApproved, now)
		}
	}
	p.PendingOp, p.PendingID, p.PendingAmount, p.UpdatedAt = store.OpNone, "", 0, now
	p.Version++
	s.d.Log.Info("payment resolved from the ledger", zap.String("payment", p.ID), zap.String("status", p.Status),
		zap.Bool("ledger-held", held))
	return s.commit(ctx, w)
}

func (s *Service) resolveRefund(ctx context.Context, r *store.Refund) error {
	defer s.lock(r.PaymentID)()
	p, err := s.d.Store.PaymentByID(ctx, r.PaymentID)
	if err != nil {
		return err
	}
	tx, err := s.ledgerOutcome(ctx, r.EngineID)
	if err != nil {
		return err
	}
	code := iso8583.RCSystemMalfunction
	if tx != nil && tx.Status != ledger.StatusRejected && tx.Status != ledger.StatusRecovered {
		code, r.RRN = tx.ResponseCode, tx.RRN
	}
	now := s.d.Now().UTC()
	s.applyRefundOutcome(p, r, code, now)
	w := &store.Write{Payments: []*store.Payment{p}, Refunds: []*store.Refund{r}}
	typ := EventRefundSucceeded
	if r.Status == store.RefundFailed {
		typ = EventRefundFailed
	}
	s.record(w, p, typ, r.Amount, r, code, now)
	return s.commit(ctx, w)
}

// answerInFlightKeys gives every Idempotency-Key whose request never completed the answer of its
// effect as it now stands, so that a client's retry gets an answer instead of 409 for ever.
func (s *Service) answerInFlightKeys(ctx context.Context, cutoff time.Time, periodic bool) error {
	recs, err := s.d.Store.InFlightIdempotency(ctx)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if periodic && rec.CreatedAt.After(cutoff) {
			continue
		}
		a, ok, err := s.answerFor(ctx, rec)
		if err != nil {
			return err
		}
		if !ok {
			if err := s.d.Store.DeleteIdempotency(ctx, rec.APIKeyID, rec.Key); err != nil {
				return err
			}
			continue
		}
		done := *rec
		done.Status, done.Body = a.Status, string(a.Body)
		if err := s.commit(ctx, &store.Write{Idempotency: []store.Idempotency{done}}); err != nil {
			return err
		}
	}
	return nil
}

// answerFor renders the answer of an in-flight key's effect; false when it has none yet.
func (s *Service) answerFor(ctx context.Context, rec *store.Idempotency) (Answer, bool, error) {
	switch rec.Op {
	case opRefund:
		r, err := s.d.Store.RefundByID(ctx, rec.ResourceID)
		if errors.Is(err, store.ErrNotFound) {
			return Answer{}, false, nil
		}
		if err != nil || r.Status == store.RefundProcessing {
			return Answer{}, false, err
		}
		return Answer{http.StatusCreated, encode(refundView(r))}, true, nil
	case opCreatePayment, opCapture, opCancel:
		p, err := s.d.Store.PaymentByID(ctx, rec.ResourceID)
		if errors.Is(err, store.ErrNotFound) {
			return Answer{}, false, nil
		}
		if err != nil || p.PendingOp != store.OpNone {
			return Answer{}, false, err
		}
		status := http.StatusOK
		if rec.Op == opCreatePayment {
			status = http.StatusCreated
		}
		return Answer{status, encode(s.paymentView(p, ""))}, true, nil
	}
	return Answer{}, false, nil
}

// Expire marks payments expired: created and never paid for CreatedExpiry, or authorised and never
// captured for HoldExpiry (the ledger expires the hold itself). It returns how many.
func (s *Service) Expire(ctx context.Context) (int, error) {
	now := s.d.Now().UTC()
	n := 0
	for _, c := range []struct {
		status string
		after  time.Duration
	}{{store.StatusCreated, s.cfg.CreatedExpiry}, {store.StatusAuthorised, s.cfg.HoldExpiry}} {
		ps, err := s.d.Store.ExpiredCandidates(ctx, c.status, now.Add(-c.after), 500)
		if err != nil {
			return n, err
		}
		for _, p := range ps {
			unlock := s.lock(p.ID)
			cur, err := s.d.Store.PaymentByID(ctx, p.ID)
			if err == nil && cur.Status == c.status && cur.PendingOp == store.OpNone {
				cur.Status, cur.UpdatedAt, cur.PageToken = store.StatusExpired, now, ""
				cur.Version++
				w := &store.Write{Payments: []*store.Payment{cur}}
				s.record(w, cur, EventExpired, 0, nil, "", now)
				err = s.commit(ctx, w)
				n++
			}
			unlock()
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// RunMaintenance resolves stale requests and expires payments every interval until ctx ends.
func (s *Service) RunMaintenance(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if _, err := s.Recover(ctx, 2*s.cfg.EngineTimeout); err != nil && ctx.Err() == nil {
			s.d.Log.Warn("payments: resolving stale requests failed", zap.Error(err))
		}
		if _, err := s.Expire(ctx); err != nil && ctx.Err() == nil {
			s.d.Log.Warn("payments: expiry failed", zap.Error(err))
		}
		if _, err := s.d.Store.PurgeIdempotency(ctx, s.d.Now().Add(-IdempotencyRetention)); err != nil && ctx.Err() == nil {
			s.d.Log.Warn("payments: idempotency purge failed", zap.Error(err))
		}
	}
}

// IdempotencyRetention is how long an Idempotency-Key's answer is kept (the contract: at least 24h).
const IdempotencyRetention = 48 * time.Hour
