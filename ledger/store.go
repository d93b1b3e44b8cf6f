package ledger

import (
	"context"
	"time"
)

// Store is a ledger store: the Backend the Writer and the cutover run their transactions on,
// plus the lookups and reports. ledger/postgres and ledger/sqlite implement it.
type Store interface {
	Backend
	// Transaction returns a journaled transaction with its status and transfers; ErrNotFound when
	// unknown.
	Transaction(ctx context.Context, id string) (*Transaction, error)
	// TransactionByRRN returns the original transaction with this RRN, its transfers, and the
	// later events naming it as their original (for /v1/transactions/{rrn}).
	TransactionByRRN(ctx context.Context, rrn string) (*Transaction, error)
	// LatestByTerminalSTAN returns a terminal's latest transaction with this STAN.
	LatestByTerminalSTAN(ctx context.Context, terminal, stan string) (*Transaction, error)
	// ByTerminalRRN returns a terminal's transaction carrying rrn: the switch's RRN or the
	// terminal's own field 37 (an original before its advices).
	ByTerminalRRN(ctx context.Context, terminal, rrn string) (*Transaction, error)
	// ByTerminalIdentity returns the transaction a terminal sent with this STAN and transmission
	// time (fields 41, 11, 7), described like TransactionByRRN (/v1/transactions?terminal=...).
	ByTerminalIdentity(ctx context.Context, terminal, stan, transmitted string) (*Transaction, error)
	SAFReader
	JournalReader
	// Balances returns every account with its four totals.
	Balances(ctx context.Context) ([]AccountBalance, error)
	// TrialBalance returns the trial balance (CONTRACT.md §10).
	TrialBalance(ctx context.Context) (TrialBalance, error)
	// BusinessDay returns the open business day (YYYY-MM-DD).
	BusinessDay(ctx context.Context) (string, error)
	// Verify checks every invariant against the tables.
	Verify(ctx context.Context) (VerifyReport, error)
	// Close releases the store's connections.
	Close()
}

// SAFReader reads the store-and-forward queue (its changes go through the Writer).
type SAFReader interface {
	// SAFDue returns up to limit of an issuer's queued items whose next attempt is due at now, in
	// queue order, with their messages.
	SAFDue(ctx context.Context, issuer string, now time.Time, limit int) ([]SAFItem, error)
	// SAFList returns the items a filter selects, in queue order (at most MaxSAFList).
	SAFList(ctx context.Context, f SAFFilter) ([]SAFItem, error)
	// SAFItem returns one item by its id (ErrNotFound when there is none).
	SAFItem(ctx context.Context, seq int64) (*SAFItem, error)
	// SAFStats returns per issuer the intents, queued and parked items and the oldest queued.
	SAFStats(ctx context.Context) ([]SAFStats, error)
}
