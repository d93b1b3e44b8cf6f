package ledger

import "context"

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
