package reconcile

import (
	"github.com/cardswitch/cardswitch/ledger"
)

// LedgerTransaction is one original transaction (authorization, purchase, refund, or one that
// moved nothing: a decline, a recovered request) with what its chain holds: its own transfers'
// movement on the issuer's receivable plus that of every event naming it as original (captures,
// reversals).
type LedgerTransaction struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Amount int64  `json:"amount"`
	Holds  int64  `json:"holds"`
}

// LedgerPosition is what the ledger holds for one RRN of an issuer.
type LedgerPosition struct {
	RRN      string `json:"rrn"`
	Currency string `json:"currency,omitempty"`
	// Originals are the transactions carrying the RRN (more than one holding money: posted twice).
	Originals []LedgerTransaction `json:"originals"`
	// Holds is the net movement on issuer:NAME:receivable of every entry carrying the RRN, signed
	// as debits minus credits (a refund is negative).
	Holds int64 `json:"holds"`
	// Holding counts the originals whose chain holds money.
	Holding int `json:"holding"`
	// Expired: the RRN's authorization hold expired and nothing of the RRN holds money.
	Expired   bool   `json:"expired,omitempty"`
	MaskedPAN string `json:"pan,omitempty"`
	Terminal  string `json:"terminal,omitempty"`
}

// LedgerBook is the ledger's positions of one issuer (or of every issuer) by RRN.
type LedgerBook struct {
	Positions map[string]*LedgerPosition
	// ByID are the entries by transaction id; Chain and Status the chain net and the status of
	// each original (the client check looks transactions up by the terminal's identity).
	ByID   map[string]*ledger.JournalEntry
	Chain  map[string]int64
	Status map[string]string
}

// isOriginal reports whether an entry starts a transaction rather than following one.
func isOriginal(e *ledger.JournalEntry) bool {
	switch e.Kind {
	case ledger.Capture, ledger.Reverse:
		return false
	}
	return true
}

// NewLedgerBook groups journal entries by RRN and computes each original's chain.
func NewLedgerBook(entries []ledger.JournalEntry) *LedgerBook {
	b := &LedgerBook{Positions: map[string]*LedgerPosition{}, ByID: map[string]*ledger.JournalEntry{},
		Chain: map[string]int64{}, Status: map[string]string{}}
	follows := map[string][]*ledger.JournalEntry{} // original id → its captures and reversals
	for i := range entries {
		e := &entries[i]
		b.ByID[e.ID] = e
		if !isOriginal(e) && e.OriginalID != "" {
			follows[e.OriginalID] = append(follows[e.OriginalID], e)
		}
	}
	for i := range entries {
		e := &entries[i]
		key := e.RRN
		if key == "" {
			key = "id:" + e.ID // never matches an issuer's RRN: listed when it holds money
		}
		p := b.Positions[key]
		if p == nil {
			p = &LedgerPosition{RRN: e.RRN, Currency: e.Currency, MaskedPAN: e.MaskedPAN, Terminal: e.Terminal}
			b.Positions[key] = p
		}
		p.Holds += e.Held
		if !isOriginal(e) {
			continue
		}
		chain, expired := e.Held, e.Expired != 0
		for _, f := range follows[e.ID] {
			chain += f.Held
		}
		st := status(e, follows[e.ID], chain)
		b.Chain[e.ID], b.Status[e.ID] = chain, st
		p.Originals = append(p.Originals, LedgerTransaction{ID: e.ID, Kind: e.Kind.String(), Status: st,
			Amount: e.Amount, Holds: chain})
		if chain != 0 {
			p.Holding++
		}
		if expired && chain == 0 {
			p.Expired = true
		}
	}
	for _, p := range b.Positions {
		if p.Holds != 0 {
			p.Expired = false
		}
	}
	return b
}

// status names where an original stands, from its entries (the store's transaction status,
// derived the same way from what the transfers hold).
func status(e *ledger.JournalEntry, follows []*ledger.JournalEntry, chain int64) string {
	switch {
	case e.Rejection != "":
		return ledger.StatusRejected.String()
	case e.Kind == ledger.Decline:
		return ledger.StatusDeclined.String()
	case e.Kind == ledger.Recovered:
		return ledger.StatusRecovered.String()
	}
	var captured, reversed bool
	for _, f := range follows {
		if f.Rejection != "" {
			continue
		}
		captured = captured || f.Kind == ledger.Capture
		reversed = reversed || f.Kind == ledger.Reverse
	}
	switch {
	case e.Kind != ledger.Authorize && chain != 0:
		return ledger.StatusPosted.String()
	case e.Kind != ledger.Authorize:
		return ledger.StatusReversed.String()
	case e.Held != 0:
		return ledger.StatusHeld.String()
	case captured && chain != 0:
		return ledger.StatusCaptured.String()
	case captured && reversed:
		return ledger.StatusReversed.String()
	case e.Expired != 0:
		return ledger.StatusExpired.String()
	case reversed:
		return ledger.StatusVoided.String()
	}
	return ledger.StatusRejected.String() // an authorization without its hold
}
