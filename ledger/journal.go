package ledger

import (
	"context"
	"time"
)

// JournalEntry is one journaled transaction with what its own transfers hold on its issuer's
// receivable (`issuer:<Issuer>:receivable`): the ledger's side of a reconciliation with the
// issuer (package ledger/reconcile). The transfers of an event are those it wrote itself: a
// capture's post of the hold is the capture's, a reversal's compensations are the reversal's.
type JournalEntry struct {
	ID           string // "MTI/terminal/STAN/transmitted" (the engine's transaction id)
	Kind         EventKind
	OriginalID   string // captures and reversals: the transaction they refer to
	Issuer       string
	RRN          string // the switch's RRN, as the issuer saw it in field 37
	AcquirerRRN  string // field 37 as the terminal sent it, when it did
	Terminal     string
	STAN         string
	MTI          string
	Currency     string
	Amount       int64
	ResponseCode string
	ApprovalCode string
	Rejection    string // the ledger refused the event (ledger_rejection)
	MaskedPAN    string
	At           time.Time
	// Held is the net movement on the receivable (debits minus credits, minor units) of this
	// entry's transfers that hold money: single-phase transfers, posts of pending transfers, and
	// pending transfers that were neither posted, voided nor expired and whose timeout has not
	// passed. Voids move nothing; a hold that was posted counts through its post.
	Held int64
	// Expired is the same sum over this entry's pending transfers that expired, or whose timeout
	// passed before the reading (the expiry sweep had not released them yet).
	Expired int64
}

// JournalFilter selects the entries JournalReader.Journal lists.
type JournalFilter struct {
	// Issuer selects one issuer's transactions; "" lists every issuer's.
	Issuer string
	// Now is the time against which pending transfers count as expired (default: time.Now()).
	Now time.Time
}

// JournalReader lists the journal with each entry's movement on its issuer's receivable. Both
// stores implement it; it reads the whole journal (one pass over the transactions and transfers),
// which is what a reconciliation needs.
type JournalReader interface {
	// Journal calls fn for every entry the filter selects, in time order (then id); an error from
	// fn stops the listing and is returned.
	Journal(ctx context.Context, f JournalFilter, fn func(*JournalEntry) error) error
}
