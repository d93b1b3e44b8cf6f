package engine

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// The compensator: when the database connection fails during the COMMIT of an approval and the
// ledger cannot tell in time whether it took effect, the terminal is answered 96. If the approval
// turns out to be held after all, it must not stand — the terminal believes it failed — so it is
// reversed: in the ledger (a Reverse event) and at the issuer (its reversal, queued with it). If
// it was not held, its intent is still stored and the recovery sweep reverses it at the issuer.

// compensation is an approval answered 96 whose commit's outcome was unknown.
type compensation struct {
	ev    ledger.Event
	fwd   *iso8583.Message
	since time.Time
}

// Bounds of the compensator.
const (
	// compensationsMax bounds the approvals waiting to be resolved; beyond it one is logged and
	// counted, left to the reconciliation (an outage of minutes at thousands of approvals/s).
	compensationsMax = 4096
	// compensationRetry is the pause between checks of the ledger.
	compensationRetry = time.Second
	// compensationAgeMax is how long an approval is checked before it is left to reconciliation.
	compensationAgeMax = time.Hour
)

// compensateLater hands an approval whose commit's outcome is unknown to the compensator.
func (e *Engine) compensateLater(ev ledger.Event, fwd *iso8583.Message) {
	select {
	case e.compensations <- compensation{ev: ev, fwd: fwd, since: e.now()}:
	default:
		e.metrics.compensations.WithLabelValues("dropped").Inc()
		e.log.Error("approval with an unknown commit outcome not compensated: queue full; reconcile it",
			zap.String("id", ev.ID), zap.String("rrn", ev.RRN))
	}
}

// Run resolves approvals whose commit's outcome was unknown until ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	var pending []compensation
	tick := time.NewTicker(compensationRetry)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			for _, c := range pending {
				e.log.Error("approval with an unknown commit outcome left at shutdown; reconcile it",
					zap.String("id", c.ev.ID), zap.String("rrn", c.ev.RRN))
			}
			return nil
		case c := <-e.compensations:
			pending = append(pending, c)
		case <-tick.C:
			kept := pending[:0]
			for _, c := range pending {
				if !e.compensate(ctx, c) {
					kept = append(kept, c)
				}
			}
			clear(pending[len(kept):])
			pending = kept
		}
	}
}

// compensate checks one approval and reverses it when the ledger holds it; it reports whether
// the approval is settled (no more checks needed).
func (e *Engine) compensate(ctx context.Context, c compensation) bool {
	if e.now().Sub(c.since) > compensationAgeMax {
		e.metrics.compensations.WithLabelValues("expired").Inc()
		e.log.Error("approval with an unknown commit outcome not resolved in time; reconcile it",
			zap.String("id", c.ev.ID), zap.String("rrn", c.ev.RRN))
		return true
	}
	checkCtx, cancel := context.WithTimeout(ctx, compensationRetry)
	defer cancel()
	tx, err := e.ledger.Transaction(checkCtx, c.ev.ID)
	switch {
	case errors.Is(err, ledger.ErrNotFound):
		e.metrics.compensations.WithLabelValues("not_held").Inc()
		return true // not held: its intent is reversed by the recovery sweep
	case err != nil:
		return false
	case tx.Kind != c.ev.Kind || tx.RRN != c.ev.RRN:
		e.metrics.compensations.WithLabelValues("not_held").Inc()
		return true // the ledger holds another decision of this transaction; this send's intent was resolved with it
	}
	rev := reversalOf(c.fwd)
	f, err := e.followUp(tx.Issuer, ledger.SAFReversal, ledger.FollowIfHeld, rev)
	if err != nil {
		e.log.Error("compensating reversal not built", zap.String("id", c.ev.ID), zap.Error(err))
		return false
	}
	now := e.now()
	ev := ledger.Event{ID: "compensation/" + c.ev.ID, Kind: ledger.Reverse, OriginalID: c.ev.ID, Currency: tx.Currency,
		Amount: tx.Amount, RRN: tx.RRN, STAN: tx.STAN, Terminal: tx.Terminal, MTI: iso8583.MTIReversal,
		MaskedPAN: tx.MaskedPAN, ResponseCode: iso8583.RCApproved, At: now, FollowUps: []ledger.FollowUp{f}}
	if _, err := e.ledger.Commit(checkCtx, ev); err != nil && !isSettledRefusal(err) {
		return false
	}
	e.metrics.compensations.WithLabelValues("reversed").Inc()
	e.log.Warn("approval answered 96 was held after all: reversed", zap.String("id", c.ev.ID), zap.String("rrn", c.ev.RRN))
	return true
}

// isSettledRefusal reports whether a refused reversal means there is nothing left to undo.
func isSettledRefusal(err error) bool {
	return errors.Is(err, ledger.ErrAlreadyReversed) || errors.Is(err, ledger.ErrNothingToReverse) ||
		errors.Is(err, ledger.ErrHoldExpired) || errors.Is(err, ledger.ErrHoldVoided)
}
