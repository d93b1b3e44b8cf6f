package engine

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// completion handles 0220 (and 0221): the capture of an earlier 0100 hold, fully or partly.
func (e *Engine) completion(ctx context.Context, req *iso8583.Message) *iso8583.Message {
	return e.once(ctx, req, kindCompletion, checkAdviceFormat, e.macChecked(e.decideCompletion))
}

// reversal handles 0400 and 0420 (and their repeats).
func (e *Engine) reversal(ctx context.Context, req *iso8583.Message, kind txnKind) *iso8583.Message {
	return e.once(ctx, req, kind, checkAdviceFormat, e.macChecked(e.decideReversal))
}

type decideFunc func(ctx context.Context, req *iso8583.Message, kind txnKind, id string, now time.Time) *iso8583.Message

// macChecked verifies the terminal's MAC (when it has a MAC key) before decide: a completion or
// reversal with a bad MAC is answered 63 and nothing is recorded or forwarded. (Financial
// requests check it in secure(), with the PIN.)
func (e *Engine) macChecked(decide decideFunc) decideFunc {
	return func(ctx context.Context, req *iso8583.Message, kind txnKind, id string, now time.Time) *iso8583.Message {
		if code := e.terminalMAC(ctx, req); code != "" {
			return respond(req, code)
		}
		return decide(ctx, req, kind, id, now)
	}
}

// once checks a request's format and decides it once per identity (MTI class, terminal, STAN,
// transmission time): a retransmission gets the original decision again, waiting for it while
// the original is in flight; the same identity with other content gets 94.
func (e *Engine) once(ctx context.Context, req *iso8583.Message, kind txnKind, check func(*iso8583.Message) string, decide decideFunc) *iso8583.Message {
	if code := check(req); code != "" {
		return respond(req, code)
	}
	now := e.now()
	id := transactionID(req.MTI, req.TerminalID, req.STAN, req.TransmissionDateTime)
	fp := e.dups.fingerprint(req)
	entry, seen := e.dups.begin(id, fp, now)
	if seen {
		return e.duplicate(ctx, req, entry, fp)
	}
	resp := decide(ctx, req, kind, id, now)
	e.dups.finish(entry, resp)
	if resp.ResponseCode == iso8583.RCSystemMalfunction {
		// A malfunction is no decision: a retransmission is processed again, not answered 96.
		e.dups.forget(id, entry)
	}
	return resp
}

func (e *Engine) decideCompletion(ctx context.Context, req *iso8583.Message, _ txnKind, id string, now time.Time) *iso8583.Message {
	m, code := e.merchantFor(req, TxnCompletion)
	if code != "" {
		return respond(req, code)
	}
	amount, err := iso8583.ParseAmount(req.Amount)
	if err != nil || amount <= 0 {
		return respond(req, iso8583.RCInvalidAmount)
	}
	orig, err := e.findOriginal(ctx, req, iso8583.MTIAuthorization)
	if err != nil {
		return e.lookupFailed(req, err)
	}
	if orig == nil || orig.Kind != ledger.Authorize || orig.PayeeID != m.ID {
		return respond(req, iso8583.RCOriginalNotFound)
	}
	if amount > orig.Amount {
		return respond(req, iso8583.RCInvalidAmount)
	}
	ev := adviceEvent(req, id, ledger.Capture, orig, m, now)
	ev.Amount = amount
	return e.recordAdvice(ctx, req, ev, orig)
}

func (e *Engine) decideReversal(ctx context.Context, req *iso8583.Message, kind txnKind, id string, now time.Time) *iso8583.Message {
	m, code := e.merchantFor(req, TxnReversal)
	if code != "" {
		return respond(req, code)
	}
	if _, err := iso8583.ParseAmount(req.Amount); err != nil {
		return respond(req, iso8583.RCInvalidAmount)
	}
	orig, err := e.findOriginal(ctx, req, iso8583.MTIAuthorization, iso8583.MTIFinancial)
	if err != nil {
		return e.lookupFailed(req, err)
	}
	if orig == nil || orig.PayeeID != m.ID {
		return e.reversalOfUnknown(ctx, req, kind, id, m, now)
	}
	return e.recordAdvice(ctx, req, adviceEvent(req, id, ledger.Reverse, orig, m, now), orig)
}

// reversalOfUnknown handles a terminal's reversal whose original the ledger does not hold: the
// original may have reached the issuer before a crash, so the reversal is forwarded to the
// issuer its PAN routes to, and recorded (as a reversal of an unknown original, which moves
// nothing). A 0400 is answered 25; a 0420 advice 00, so that the terminal stops repeating it.
func (e *Engine) reversalOfUnknown(ctx context.Context, req *iso8583.Message, kind txnKind, id string, m *Merchant, now time.Time) *iso8583.Message {
	answer := iso8583.RCOriginalNotFound
	if kind == kindReversalAdvice {
		answer = iso8583.RCApproved
	}
	ev := adviceEvent(req, id, ledger.Reverse, nil, m, now)
	// Recorded against no original, whatever field 90 says: the look-up above found none this
	// terminal and merchant may reverse, and the ledger must not reverse another's.
	ev.OriginalID = "unknown/" + id
	issuer, err := e.route(req.PAN)
	if is := e.issuer(issuer); err == nil && is != nil {
		ev.Issuer = is.Name
		fwd := issuerRequest(req, req.RRN)
		fwd.MTI = iso8583.MTIClass(req.MTI)
		f, err := e.followUp(is.Name, ledger.SAFTerminalReversal, ledger.FollowAlways, fwd)
		if err != nil {
			e.log.Error("reversal of an unknown original not forwarded", zap.String("id", id), zap.Error(err))
			return respond(req, iso8583.RCSystemMalfunction)
		}
		ev.FollowUps = []ledger.FollowUp{f}
	} else {
		e.metrics.forwardDropped.Inc()
		e.log.Warn("reversal of an unknown original has no issuer to go to", zap.String("id", id),
			zap.String("pan", iso8583.MaskPAN(req.PAN)))
	}
	if code := e.commitAdvice(ctx, ev); code == iso8583.RCSystemMalfunction || code == iso8583.RCDuplicate {
		return respond(req, code)
	}
	return respond(req, answer)
}

// merchantFor returns the request's merchant when it exists, the terminal may serve it and it may
// do txn; otherwise the response code (03 or 12).
func (e *Engine) merchantFor(req *iso8583.Message, txn TxnSet) (*Merchant, string) {
	m := e.merchant(req.MerchantID)
	switch {
	case m == nil || !e.terminalMayServe(req.TerminalID, m.ID):
		return nil, iso8583.RCUnknownMerchant
	case m.Allowed&txn == 0:
		return nil, iso8583.RCInvalidTransaction
	}
	return m, ""
}

// recordAdvice has the ledger hold a completion or reversal of orig, with its forwarding to
// orig's issuer when the ledger holds it and the issuer approved orig, and answers with orig's RRN.
func (e *Engine) recordAdvice(ctx context.Context, req *iso8583.Message, ev ledger.Event, orig *ledger.Transaction) *iso8583.Message {
	if orig.ResponseCode == iso8583.RCApproved && orig.Issuer != "" {
		kind := ledger.SAFTerminalReversal
		if ev.Kind == ledger.Capture {
			kind = ledger.SAFCompletion
		}
		f, err := e.followUp(orig.Issuer, kind, ledger.FollowIfHeld, adviceForIssuer(req, orig))
		if err != nil {
			e.log.Error("advice for the issuer not built", zap.String("id", ev.ID), zap.Error(err))
			return respond(req, iso8583.RCSystemMalfunction)
		}
		ev.FollowUps = []ledger.FollowUp{f}
	}
	code := e.commitAdvice(ctx, ev)
	resp := respond(req, code)
	if req.RRN == "" {
		resp.RRN = orig.RRN
	}
	return resp
}

// adviceEvent builds the ledger event of a completion or reversal of orig (nil when unknown).
func adviceEvent(req *iso8583.Message, id string, kind ledger.EventKind, orig *ledger.Transaction, m *Merchant, now time.Time) ledger.Event {
	ev := ledger.Event{
		ID: id, Kind: kind, Currency: req.Currency, Payee: ledger.Payee{Kind: m.Kind, ID: m.ID, Fee: m.Fee, ConvenienceFee: m.ConvenienceFee},
		PaymentRef: req.AdditionalData, RRN: req.RRN, STAN: req.STAN, Terminal: req.TerminalID, MTI: req.MTI,
		MaskedPAN: iso8583.MaskPAN(req.PAN), ResponseCode: iso8583.RCApproved, At: now,
	}
	if amount, err := iso8583.ParseAmount(req.Amount); err == nil {
		ev.Amount = amount
	}
	if orig != nil {
		ev.OriginalID, ev.Currency, ev.Issuer, ev.RRN = orig.ID, orig.Currency, orig.Issuer, orig.RRN
		ev.Amount = orig.Amount
		if ev.MaskedPAN == "" {
			ev.MaskedPAN = orig.MaskedPAN
		}
		if ev.PaymentRef == "" {
			ev.PaymentRef = orig.PaymentRef
		}
	}
	if ev.Currency == "" {
		ev.Currency = "840"
	}
	return ev
}

// commitAdvice has the ledger hold a completion or reversal and maps its verdict to a response
// code (the MTI says whether it is an advice, which is always acknowledged). A refusal of the
// ledger is a business answer, never 96: nothing moved, and nothing goes to the issuer (the
// follow-up waits for the ledger to hold the event). Only a store failure is 96.
func (e *Engine) commitAdvice(ctx context.Context, ev ledger.Event) string {
	_, err := e.ledger.Commit(ctx, ev)
	var rej *ledger.RejectionError
	switch {
	case err == nil:
		return iso8583.RCApproved
	case errors.Is(err, ledger.ErrEventConflict):
		return iso8583.RCDuplicate
	case errors.As(err, &rej):
		if ev.Kind == ledger.Capture {
			return captureRefusal(rej)
		}
		return e.reversalRefusal(ev, rej)
	}
	e.metrics.ledgerFailures.Inc()
	e.log.Error("ledger did not hold the advice", zap.String("id", ev.ID), zap.String("kind", ev.Kind.String()), zap.Error(err))
	return iso8583.RCSystemMalfunction
}

// captureRefusal answers a completion the ledger refused.
func captureRefusal(rej *ledger.RejectionError) string {
	switch rej.Reason {
	case ledger.ErrCaptureExceedsHold, ledger.ErrAmountNotAboveFee:
		return iso8583.RCInvalidAmount
	case ledger.ErrAlreadyCaptured:
		return iso8583.RCApproved // a second completion of one hold: acknowledged, nothing moves twice
	case ledger.ErrHoldVoided, ledger.ErrHoldExpired, ledger.ErrNotAnAuthorization, ledger.ErrOriginalNotFound:
		return iso8583.RCOriginalNotFound
	}
	return iso8583.RCInvalidTransaction
}

// reversalRefusal answers a reversal the ledger refused. Nothing (left) to undo — already
// reversed, a decline, an expired hold — is acknowledged. A sale that can no longer be undone
// whole — it was (partly) refunded, or its payee's payable no longer holds its money (settled at a
// cutover, or paid out in refunds) — is declined 12 ("refund the rest instead"); an 0420 advice of
// it, which the terminal does not take back, is acknowledged, counted and logged for
// reconciliation.
func (e *Engine) reversalRefusal(ev ledger.Event, rej *ledger.RejectionError) string {
	switch rej.Reason {
	case ledger.ErrAlreadyReversed, ledger.ErrNothingToReverse, ledger.ErrHoldExpired, ledger.ErrOriginalNotFound:
		return iso8583.RCApproved
	}
	e.metrics.reversalsRefused.WithLabelValues(rej.Reason.Code).Inc()
	if iso8583.MTIClass(ev.MTI) == iso8583.MTIReversalAdvice {
		e.log.Warn("reversal advice refused by the ledger; acknowledged, nothing moved: reconcile with the terminal",
			zap.String("id", ev.ID), zap.String("original", ev.OriginalID), zap.String("reason", rej.Reason.Code))
		return iso8583.RCApproved
	}
	e.log.Info("reversal refused by the ledger", zap.String("id", ev.ID), zap.String("original", ev.OriginalID),
		zap.String("reason", rej.Reason.Code))
	return iso8583.RCInvalidTransaction
}

// findOriginal finds the transaction a completion or reversal refers to, by field 90 when present,
// then by RRN and terminal, then by terminal and STAN (CONTRACT §2). It returns nil when there is
// none of the given MTI classes.
func (e *Engine) findOriginal(ctx context.Context, req *iso8583.Message, classes ...string) (*ledger.Transaction, error) {
	match := func(tx *ledger.Transaction, err error) (*ledger.Transaction, error) {
		switch {
		case errors.Is(err, ledger.ErrNotFound):
			return nil, nil
		case err != nil:
			return nil, err // the store failed: not "not found" (96, and the terminal repeats)
		case tx == nil || tx.Terminal != req.TerminalID:
			return nil, nil
		}
		for _, c := range classes {
			if iso8583.MTIClass(tx.MTI) == c {
				return tx, nil
			}
		}
		return nil, nil
	}
	if req.OriginalData != "" {
		if tx, err := match(e.ledger.Transaction(ctx, e.originalIDFromRequest(req))); tx != nil || err != nil {
			return tx, err
		}
	}
	if req.RRN != "" {
		if tx, err := match(e.ledger.ByTerminalRRN(ctx, req.TerminalID, req.RRN)); tx != nil || err != nil {
			return tx, err
		}
	}
	return match(e.ledger.LatestByTerminalSTAN(ctx, req.TerminalID, req.STAN))
}

// originalIDFromRequest is the transaction id field 90 points at ("" without field 90).
func (e *Engine) originalIDFromRequest(req *iso8583.Message) string {
	od, err := iso8583.ParseOriginalData(req.OriginalData)
	if err != nil {
		return ""
	}
	return transactionID(od.MTI, req.TerminalID, od.STAN, od.TransmissionDateTime)
}

func (e *Engine) lookupFailed(req *iso8583.Message, err error) *iso8583.Message {
	e.metrics.ledgerFailures.Inc()
	e.log.Error("ledger lookup of the original failed", zap.String("terminal", req.TerminalID), zap.String("stan", req.STAN), zap.Error(err))
	return respond(req, iso8583.RCSystemMalfunction)
}

// adviceForIssuer is the completion or reversal as forwarded to the original's issuer: the
// terminal's message with the original's RRN and original data elements.
func adviceForIssuer(req *iso8583.Message, orig *ledger.Transaction) *iso8583.Message {
	fwd := issuerRequest(req, orig.RRN)
	fwd.MTI = iso8583.MTIClass(req.MTI) // the queue marks its own retries as repeats
	fwd.PINBlock, fwd.Track2, fwd.Track1, fwd.ICC = nil, "", "", ""
	if fwd.OriginalData == "" {
		parts := splitID(orig.ID)
		fwd.OriginalData = iso8583.OriginalData{MTI: parts[0], STAN: parts[2], TransmissionDateTime: parts[3]}.String()
	}
	return fwd
}

// splitID splits a transaction id "MTI/terminal/STAN/MMDDhhmmss" into its four parts.
func splitID(id string) [4]string {
	var out [4]string
	for i, j := 0, 0; i < 4; i++ {
		k := j
		for k < len(id) && id[k] != '/' {
			k++
		}
		out[i] = id[j:k]
		j = k + 1
		if j > len(id) {
			break
		}
	}
	return out
}
