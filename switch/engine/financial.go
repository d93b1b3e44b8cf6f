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
// and the ledger, and returns the response.
func (e *Engine) decideFinancial(ctx context.Context, req *iso8583.Message, kind txnKind, id string, now time.Time) *iso8583.Message {
	m := e.merchants[req.MerchantID]
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
	issuerName, err := e.router.Route(req.PAN)
	is := e.issuers[issuerName]
	if err != nil || is == nil {
		return respond(req, iso8583.RCNoSuchIssuer)
	}
	rrn := req.RRN
	if rrn == "" {
		rrn = e.rrn.next(now)
	}
	fwd := issuerRequest(req, rrn)
	if code := e.secure(ctx, req, fwd, is); code != "" {
		resp := respond(req, code)
		resp.RRN = rrn
		return resp
	}

	code, approval, standIn := e.askIssuer(ctx, is, fwd, amount)
	ev := ledger.Event{
		ID: id, Kind: ledgerKind(kind, code), Currency: req.Currency, Amount: amount,
		Payee:  ledger.Payee{Kind: m.Kind, ID: m.ID, Fee: m.Fee, ConvenienceFee: m.ConvenienceFee},
		Issuer: is.Name, PaymentRef: req.AdditionalData, RRN: rrn, STAN: req.STAN, Terminal: req.TerminalID,
		MTI: req.MTI, MaskedPAN: iso8583.MaskPAN(req.PAN), ResponseCode: code, ApprovalCode: approval, At: now,
	}
	if ev.Kind == ledger.Authorize {
		ev.HoldTimeout = e.cfg.HoldTimeout
	}
	out, err := e.ledger.Commit(ctx, ev)
	switch {
	case err != nil:
		return e.ledgerFailed(ctx, req, is, fwd, ev, err)
	case out.Duplicate && out.Original != nil:
		// Another instance, or this one before a restart, decided this transaction already.
		code, approval, rrn = out.Original.ResponseCode, out.Original.ApprovalCode, out.Original.RRN
	}
	if standIn {
		e.metrics.standIn.WithLabelValues(is.Name).Inc()
	}
	var resp *iso8583.Message
	if code == iso8583.RCApproved {
		resp = approve(req, approval)
	} else {
		resp = respond(req, code)
	}
	resp.RRN = rrn
	return resp
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

// ledgerFailed answers 96 when the ledger could not hold a decision. An issuer approval that the
// ledger does not hold must not stand: its reversal is forwarded to the issuer.
func (e *Engine) ledgerFailed(ctx context.Context, req *iso8583.Message, is *Issuer, fwd *iso8583.Message, ev ledger.Event, err error) *iso8583.Message {
	code := iso8583.RCSystemMalfunction
	var rej *ledger.RejectionError
	switch {
	case errors.Is(err, ledger.ErrEventConflict):
		code = iso8583.RCDuplicate
	case errors.As(err, &rej) && (errors.Is(err, ledger.ErrAmountNotAboveFee) || errors.Is(err, ledger.ErrExceedsCredits)):
		// An amount the ledger refuses: not above an agency's convenience fee, or a refund larger
		// than what the acquirer owes the merchant. Over the merchant's limit, not a malfunction.
		code = iso8583.RCInvalidAmount
	}
	if code == iso8583.RCSystemMalfunction {
		e.metrics.ledgerFailures.Inc()
		e.log.Error("ledger did not hold the decision", zap.String("id", ev.ID), zap.String("rrn", ev.RRN),
			zap.String("pan", ev.MaskedPAN), zap.String("decision", ev.ResponseCode), zap.Error(err))
	} else {
		e.log.Info("ledger refused the decision", zap.String("id", ev.ID), zap.String("rrn", ev.RRN),
			zap.String("response-code", code), zap.Error(err))
	}
	if ev.ResponseCode == iso8583.RCApproved && ev.Kind != ledger.Decline {
		e.forward(ctx, is.Name, reversalOf(fwd))
	}
	resp := respond(req, code)
	resp.RRN = ev.RRN
	return resp
}

// askIssuer sends the request and returns the decision: the response code, the approval code when
// approved, and whether the switch stood in for an unavailable issuer.
func (e *Engine) askIssuer(ctx context.Context, is *Issuer, fwd *iso8583.Message, amount int64) (code, approval string, standIn bool) {
	sendCtx, cancel := context.WithTimeout(ctx, is.Timeout)
	defer cancel()
	resp, err := is.Link.Send(sendCtx, fwd)
	switch {
	case err == nil:
	case errors.Is(err, ErrIssuerUnavailable) || errors.Is(err, ErrIssuerBusy):
		if is.StandIn.Enabled && amount <= is.StandIn.MaxAmount && fwd.PINBlock == nil {
			return iso8583.RCApproved, approvalCodeFrom(fwd.RRN), true
		}
		return iso8583.RCIssuerUnavailable, "", false
	case errors.Is(err, ErrIssuerTimeout) || errors.Is(err, context.DeadlineExceeded):
		return iso8583.RCIssuerUnavailable, "", false
	default:
		e.log.Warn("issuer request failed", zap.String("issuer", is.Name), zap.Error(err))
		return iso8583.RCIssuerUnavailable, "", false
	}
	code = resp.ResponseCode
	if len(code) != 2 {
		e.log.Warn("issuer answered without a response code", zap.String("issuer", is.Name), zap.String("rrn", fwd.RRN))
		return iso8583.RCIssuerUnavailable, "", false
	}
	if code == iso8583.RCApproved {
		approval = resp.ApprovalCode
		if len(approval) != 6 {
			approval = approvalCodeFrom(fwd.RRN)
		}
	}
	return code, approval, false
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

// reversalOf builds the 0400 reversal of an issuer request.
func reversalOf(fwd *iso8583.Message) *iso8583.Message {
	rev := *fwd
	rev.MTI = iso8583.MTIReversal
	rev.PINBlock, rev.Track2, rev.Track1, rev.ICC = nil, "", "", ""
	rev.OriginalData = iso8583.OriginalData{MTI: iso8583.MTIClass(fwd.MTI), STAN: fwd.STAN,
		TransmissionDateTime: fwd.TransmissionDateTime, AcquirerID: fwd.AcquirerID}.String()
	return &rev
}

// forward hands an advice or reversal to the forwarder; without one it is logged as not sent.
func (e *Engine) forward(ctx context.Context, issuer string, msg *iso8583.Message) {
	if e.forwarder == nil {
		e.metrics.forwardDropped.Inc()
		return
	}
	if err := e.forwarder.Enqueue(ctx, issuer, msg); err != nil {
		e.metrics.forwardDropped.Inc()
		e.log.Error("advice not queued for its issuer", zap.String("issuer", issuer), zap.String("mti", msg.MTI),
			zap.String("rrn", msg.RRN), zap.Error(err))
	}
}

// terminalMayServe reports whether a configured terminal is bound to another merchant.
func (e *Engine) terminalMayServe(terminal, merchant string) bool {
	t := e.terminals[terminal]
	return t == nil || t.Merchant == "" || t.Merchant == merchant
}

// LateResponse is called by an issuer link when an answer arrives after its request timed out
// (the link counts them). The terminal was answered 91; an approval the issuer still holds is
// reversed.
func (e *Engine) LateResponse(issuer string, req, resp *iso8583.Message) {
	e.log.Warn("issuer answered after the timeout", zap.String("issuer", issuer), zap.String("rrn", req.RRN),
		zap.String("pan", iso8583.MaskPAN(req.PAN)), zap.String("response-code", resp.ResponseCode))
	if resp.ResponseCode == iso8583.RCApproved && (iso8583.MTIClass(req.MTI) == iso8583.MTIAuthorization || iso8583.MTIClass(req.MTI) == iso8583.MTIFinancial) {
		e.forward(context.Background(), issuer, reversalOf(req))
	}
}
