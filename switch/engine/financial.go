package engine

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// financial handles 0100 (authorization hold) and 0200 (purchase, refund) and their repeats.
func (e *Engine) financial(ctx context.Context, req *iso8583.Message, kind txnKind) *iso8583.Message {
	return e.once(ctx, req, kind, checkFormat, e.decideFinancial)
}

// duplicate answers a retransmission: the original response when the content is the same (waiting
// for it if the original is still in flight), 94 when it differs.
func (e *Engine) duplicate(ctx context.Context, req *iso8583.Message, entry *dupEntry, fp uint64) *iso8583.Message {
	if entry.fingerprint != fp {
		e.metrics.duplicates.WithLabelValues("different_content").Inc()
		return respond(req, iso8583.RCDuplicate)
	}
	select {
	case <-entry.done:
	case <-ctx.Done():
		return respond(req, iso8583.RCSystemMalfunction)
	}
	e.metrics.duplicates.WithLabelValues("original_response").Inc()
	return entry.decision.response(req)
}

// decideFinancial runs a new financial request through validation, routing, security, the issuer
// and the ledger, and returns the response. The request leaves for the issuer only once its
// intent (the reversal that would undo it) is durable; the decision and the intent's resolution
// are committed together, and only then is the terminal answered.
func (e *Engine) decideFinancial(ctx context.Context, req *iso8583.Message, kind txnKind, id string, now time.Time) *iso8583.Message {
	m := e.merchant(req.MerchantID)
	if m == nil || !e.terminalMayServe(req.TerminalID, m.ID) {
		return respond(req, iso8583.RCUnknownMerchant)
	}
	amount, err := iso8583.ParseAmount(req.Amount)
	if err != nil {
		return respond(req, iso8583.RCInvalidAmount)
	}
	if code := e.checkContent(req, kind, m, amount, now); code != "" {
		return respond(req, code)
	}
	var original string // a refund naming the sale it refunds
	if kind == kindRefund {
		var code string
		if original, code = e.refundOriginal(ctx, req, m); code != "" {
			return respond(req, code)
		}
	}
	issuerName, err := e.route(req.PAN)
	is := e.issuer(issuerName)
	if err != nil || is == nil {
		return respond(req, iso8583.RCNoSuchIssuer)
	}
	// Every issuer request gets an RRN of the switch's own: a terminal's reused field 37 cannot
	// make two transactions share one. The terminal's 37, when it sent one, is echoed and kept.
	rrn := e.rrn.next(now)
	fwd := issuerRequest(req, rrn)
	answer := func(resp *iso8583.Message) *iso8583.Message {
		if req.RRN == "" {
			resp.RRN = rrn
		}
		return resp
	}
	if code := e.secure(ctx, req, fwd, is); code != "" {
		return answer(respond(req, code))
	}
	ev := ledger.Event{
		ID: id, OriginalID: original, Currency: req.Currency, Amount: amount,
		Payee:  ledger.Payee{Kind: m.Kind, ID: m.ID, Fee: m.Fee, ConvenienceFee: m.ConvenienceFee},
		Issuer: is.Name, PaymentRef: req.AdditionalData, RRN: rrn, AcquirerRRN: req.RRN, STAN: req.STAN,
		Terminal: req.TerminalID, MTI: req.MTI, MaskedPAN: iso8583.MaskPAN(req.PAN), At: now,
	}
	intent, err := e.intentOf(id, is, m, fwd)
	if err == nil {
		err = e.ledger.Intend(ctx, intent)
	}
	if err != nil {
		// Nothing was sent: nothing to undo.
		e.metrics.ledgerFailures.Inc()
		e.log.Error("intent not stored; request not sent", zap.String("id", id), zap.String("rrn", rrn), zap.Error(err))
		return answer(respond(req, iso8583.RCSystemMalfunction))
	}
	ev.Intent.Key = intent.Key

	d := e.askIssuer(ctx, is, m, fwd, amount, now)
	ev.ResponseCode, ev.ApprovalCode = d.code, d.approval
	ev.Intent.Reverse, ev.Intent.Approved = d.maybeSent, d.issuerApproved
	ev.Kind = ledgerKind(kind, d.code)
	if ev.Kind == ledger.Authorize {
		ev.HoldTimeout = e.cfg.HoldTimeout
	}
	if d.standIn {
		advice, err := e.standInAdvice(is, fwd, d)
		if err != nil {
			e.log.Error("stand-in advice not built; declining", zap.String("rrn", rrn), zap.Error(err))
			ev.ResponseCode, ev.ApprovalCode, ev.Kind = iso8583.RCIssuerUnavailable, "", ledger.Decline
		} else {
			ev.FollowUps = append(ev.FollowUps, advice)
		}
	}
	code, approval := ev.ResponseCode, ev.ApprovalCode
	out, err := e.ledger.Commit(ctx, ev)
	switch {
	case err != nil:
		return answer(e.ledgerFailed(req, fwd, ev, err))
	case out.Duplicate && out.Original != nil:
		// Another instance, or this one before a restart, decided this transaction already; this
		// send's approval, if any, was reversed with the intent.
		code, approval = out.Original.ResponseCode, out.Original.ApprovalCode
	}
	if d.standIn && ev.Kind != ledger.Decline {
		e.metrics.standIn.WithLabelValues(is.Name).Inc()
		e.standIn.record(is.Name, d.cardKey, now, amount)
	}
	if code == iso8583.RCApproved {
		return answer(approve(req, approval))
	}
	return answer(respond(req, code))
}

// ledgerKind maps a request kind and its decision to a ledger event kind.
func ledgerKind(kind txnKind, code string) ledger.EventKind {
	if code != iso8583.RCApproved {
		return ledger.Decline
	}
	switch kind {
	case kindAuthorization:
		return ledger.Authorize
	case kindRefund:
		return ledger.Refund
	}
	return ledger.Purchase
}

// ledgerFailed answers a decision the ledger did not hold. A refusal (an amount the ledger does
// not take) is a business answer; the intent's reversal undoes the issuer's approval in the same
// commit. A store failure is 96: the intent stays, and the recovery sweep reverses the request at
// its issuer; when the commit's outcome is unknown, the compensator finds out later and reverses
// an approval the ledger turns out to hold.
func (e *Engine) ledgerFailed(req, fwd *iso8583.Message, ev ledger.Event, err error) *iso8583.Message {
	code := iso8583.RCSystemMalfunction
	var rej *ledger.RejectionError
	switch {
	case errors.Is(err, ledger.ErrEventConflict):
		code = iso8583.RCDuplicate
	case errors.As(err, &rej) && (rej.Reason == ledger.ErrAmountNotAboveFee || rej.Reason == ledger.ErrExceedsCredits ||
		rej.Reason == ledger.ErrRefundExceedsOriginal):
		// An amount the ledger refuses: not above an agency's convenience fee, a refund larger
		// than what the acquirer owes the merchant or than what is left of its sale. 13, not a
		// malfunction.
		code = iso8583.RCInvalidAmount
	case errors.As(err, &rej):
		code = iso8583.RCInvalidTransaction // a refund of a sale that cannot be refunded (reversed, not a sale)
	}
	if code == iso8583.RCSystemMalfunction {
		e.metrics.ledgerFailures.Inc()
		e.log.Error("ledger did not hold the decision", zap.String("id", ev.ID), zap.String("rrn", ev.RRN),
			zap.String("pan", ev.MaskedPAN), zap.String("decision", ev.ResponseCode), zap.Error(err))
		if errors.Is(err, ledger.ErrCommitUnknown) && ev.Kind != ledger.Decline {
			e.compensateLater(ev, fwd)
		}
	} else {
		e.log.Info("ledger refused the decision", zap.String("id", ev.ID), zap.String("rrn", ev.RRN),
			zap.String("response-code", code), zap.Error(err))
	}
	return respond(req, code)
}

// refundOriginal finds the sale a refund names: by field 90, or by its RRN (37, the switch's or the
// terminal's own) from the same terminal. A refund naming none refunds no sale in particular (the
// ledger then bounds it by what the merchant is owed). Field 90 naming no sale of this merchant
// is 25; the ledger bounds a named sale's refunds by its amount.
func (e *Engine) refundOriginal(ctx context.Context, req *iso8583.Message, m *Merchant) (string, string) {
	isSale := func(tx *ledger.Transaction) bool {
		return tx != nil && tx.PayeeID == m.ID && tx.Terminal == req.TerminalID &&
			(tx.Kind == ledger.Purchase || tx.Kind == ledger.Capture)
	}
	if req.OriginalData != "" {
		tx, err := e.ledger.Transaction(ctx, e.originalIDFromRequest(req))
		switch {
		case err != nil && !errors.Is(err, ledger.ErrNotFound):
			return "", e.lookupFailed(req, err).ResponseCode
		case !isSale(tx):
			return "", iso8583.RCOriginalNotFound
		}
		return tx.ID, ""
	}
	if req.RRN == "" {
		return "", ""
	}
	tx, err := e.ledger.ByTerminalRRN(ctx, req.TerminalID, req.RRN)
	switch {
	case err != nil && !errors.Is(err, ledger.ErrNotFound):
		return "", e.lookupFailed(req, err).ResponseCode
	case isSale(tx):
		return tx.ID, ""
	}
	return "", "" // the terminal's own RRN for this refund: it names no sale
}

// decision is what asking the issuer (or standing in for it) decided.
type decision struct {
	code, approval string
	issuerApproved bool // the issuer approved this request
	maybeSent      bool // the request may have reached the issuer without an answer here
	standIn        bool // the switch approved in the issuer's stead
	cardKey        string
}

// askIssuer sends the request and returns the decision: the issuer's, or the switch's when the
// issuer is unreachable (stand-in where its rules allow, else 91). A request that may have reached
// the issuer without an answer (a timeout, a failed send) is marked to be reversed.
func (e *Engine) askIssuer(ctx context.Context, is *Issuer, m *Merchant, fwd *iso8583.Message, amount int64, now time.Time) decision {
	sendCtx, cancel := context.WithTimeout(ctx, is.Timeout)
	defer cancel()
	resp, err := is.Link.Send(sendCtx, fwd)
	switch {
	case err == nil:
	case errors.Is(err, ErrIssuerUnavailable) || errors.Is(err, ErrIssuerBusy):
		return e.standInDecision(is, m, fwd, amount, now)
	case errors.Is(err, ErrIssuerTimeout) || errors.Is(err, context.DeadlineExceeded):
		return decision{code: iso8583.RCIssuerUnavailable, maybeSent: true}
	default:
		e.log.Warn("issuer request failed", zap.String("issuer", is.Name), zap.Error(err))
		return decision{code: iso8583.RCIssuerUnavailable, maybeSent: true}
	}
	code := resp.ResponseCode
	if len(code) != 2 {
		e.log.Warn("issuer answered without a response code", zap.String("issuer", is.Name), zap.String("rrn", fwd.RRN))
		return decision{code: iso8583.RCIssuerUnavailable, maybeSent: true}
	}
	d := decision{code: code}
	if code == iso8583.RCApproved {
		d.issuerApproved = true
		d.approval = resp.ApprovalCode
		if len(d.approval) != 6 {
			d.approval = approvalCodeFrom(fwd.RRN)
		}
	}
	return d
}

// issuerRequest is the request as it goes to the issuer: the terminal's fields with the RRN, minus
// the terminal's MAC. The issuer link renumbers 11 and sets 7 and 32; the PIN block is replaced
// by its translation.
func issuerRequest(req *iso8583.Message, rrn string) *iso8583.Message {
	fwd := *req
	fwd.RRN = rrn
	fwd.MAC, fwd.MAC2 = nil, nil
	return &fwd
}

// reversalOf builds the 0400 reversal of an issuer request. Its field 37 is the request's RRN,
// unique per issuer request, by which the issuer finds what to reverse.
func reversalOf(fwd *iso8583.Message) *iso8583.Message {
	rev := *fwd
	rev.MTI = iso8583.MTIReversal
	rev.PINBlock, rev.Track2, rev.Track1, rev.ICC, rev.Private62 = nil, "", "", "", ""
	rev.ResponseCode, rev.ApprovalCode = "", ""
	rev.OriginalData = iso8583.OriginalData{MTI: iso8583.MTIClass(fwd.MTI), STAN: fwd.STAN,
		TransmissionDateTime: fwd.TransmissionDateTime, AcquirerID: fwd.AcquirerID}.String()
	return &rev
}

// terminalMayServe reports whether a configured terminal is bound to another merchant.
func (e *Engine) terminalMayServe(terminal, merchant string) bool {
	t := e.terminal(terminal)
	return t == nil || t.Merchant == "" || t.Merchant == merchant
}

// LateResponse is called by an issuer link when an answer arrives after its request timed out
// (the link counts them). The terminal was answered 91 and the request's reversal queued by rule,
// whatever the answer: nothing more to do than say so.
func (e *Engine) LateResponse(issuer string, req, resp *iso8583.Message) {
	e.log.Warn("issuer answered after the timeout; its reversal is queued", zap.String("issuer", issuer),
		zap.String("rrn", req.RRN), zap.String("pan", iso8583.MaskPAN(req.PAN)), zap.String("response-code", resp.ResponseCode))
}
