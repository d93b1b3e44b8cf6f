package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/cardswitch/cardswitch/ledger"
)

// maxRelated bounds the related events listed with a transaction.
const maxRelated = 100

// The read API's lookups, each an index search (TestQueryPlans).
const (
	transactionQuery      = `SELECT ` + journalColumns + ` FROM ledger_transactions WHERE id = ?`
	transactionByRRNQuery = `SELECT ` + journalColumns + ` FROM ledger_transactions WHERE rrn = ? AND rrn <> ''
		ORDER BY original_id <> '', at, id LIMIT 1`
	latestByTerminalSTANQuery = `SELECT ` + journalColumns + ` FROM ledger_transactions
		WHERE terminal = ? AND stan = ? AND terminal <> '' ORDER BY at DESC, id DESC LIMIT 1`
	relatedQuery = `SELECT ` + journalColumns + ` FROM ledger_transactions
		WHERE original_id = ? AND original_id <> '' ORDER BY at, id LIMIT ?`
	// A terminal's transaction by the RRN it knows: the switch's (which its answer carried) or its
	// own field 37.
	byTerminalRRNQuery = `SELECT * FROM (
		SELECT ` + journalColumns + ` FROM ledger_transactions WHERE rrn = ?2 AND rrn <> '' AND terminal = ?1
		UNION ALL
		SELECT ` + journalColumns + ` FROM ledger_transactions WHERE acquirer_rrn = ?2 AND acquirer_rrn <> '' AND terminal = ?1)
		ORDER BY original_id <> '', at DESC LIMIT 1`
	// A terminal's transaction by its own identity: fields 41, 11 and 7 (the id's last part).
	byTerminalIdentityQuery = `SELECT ` + journalColumns + ` FROM ledger_transactions
		WHERE terminal = ? AND stan = ? AND terminal <> '' AND substr(id, -10) = ?
		ORDER BY original_id <> '', at, id LIMIT 1`
)

// ByTerminalRRN returns a terminal's transaction carrying rrn (the switch's or the terminal's own).
func (s *Store) ByTerminalRRN(ctx context.Context, terminal, rrn string) (*ledger.Transaction, error) {
	return s.one(ctx, false, byTerminalRRNQuery, terminal, rrn)
}

// ByTerminalIdentity returns the transaction a terminal sent with STAN stan at transmission time
// transmitted (MMDDhhmmss), with its transfers, related events and store-and-forward items.
func (s *Store) ByTerminalIdentity(ctx context.Context, terminal, stan, transmitted string) (*ledger.Transaction, error) {
	return s.one(ctx, true, byTerminalIdentityQuery, terminal, stan, transmitted)
}

// Transaction returns the journaled transaction id with its status and transfers.
func (s *Store) Transaction(ctx context.Context, id string) (*ledger.Transaction, error) {
	return s.one(ctx, false, transactionQuery, id)
}

// TransactionByRRN returns the original transaction carrying rrn (for /v1/transactions/{rrn}).
func (s *Store) TransactionByRRN(ctx context.Context, rrn string) (*ledger.Transaction, error) {
	return s.one(ctx, true, transactionByRRNQuery, rrn)
}

// LatestByTerminalSTAN returns a terminal's latest transaction with a STAN.
func (s *Store) LatestByTerminalSTAN(ctx context.Context, terminal, stan string) (*ledger.Transaction, error) {
	return s.one(ctx, false, latestByTerminalSTANQuery, terminal, stan)
}

// one returns the transaction query finds, described; with related, also the later events that
// name it as their original (the HTTP view; the engine's lookups skip that query).
func (s *Store) one(ctx context.Context, withRelated bool, query string, args ...any) (*ledger.Transaction, error) {
	found, err := scanTransactions(s.read.QueryContext(ctx, query, args...))
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, ledger.ErrNotFound
	}
	t := found[0]
	r := reader{q: readPool{s.read}}
	if err := ledger.Describe(ctx, r, t); err != nil {
		return nil, err
	}
	if !withRelated {
		return t, nil
	}
	related, err := scanTransactions(s.read.QueryContext(ctx, relatedQuery, t.ID, maxRelated))
	if err != nil {
		return nil, err
	}
	for _, rel := range related {
		if err := ledger.Describe(ctx, r, rel); err != nil {
			return nil, err
		}
		if rel.SAF, err = s.safOf(ctx, rel.ID); err != nil {
			return nil, err
		}
		t.Related = append(t.Related, *rel)
	}
	if t.SAF, err = s.safOf(ctx, t.ID); err != nil {
		return nil, err
	}
	return t, nil
}

// safOf lists a transaction's store-and-forward items in every state.
func (s *Store) safOf(ctx context.Context, id string) ([]ledger.SAFItem, error) {
	return s.SAFList(ctx, ledger.SAFFilter{EventID: id, States: []ledger.SAFState{ledger.SAFIntent, ledger.SAFQueued,
		ledger.SAFDelivered, ledger.SAFParked}})
}

// Balances returns every account with its totals, by currency and name.
func (s *Store) Balances(ctx context.Context) ([]ledger.AccountBalance, error) {
	return balancesFrom(ctx, s.read)
}

// balancesFrom reads the balances with q: the read pool, or Verify's read transaction.
func balancesFrom(ctx context.Context, q interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}) ([]ledger.AccountBalance, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, currency, flags, debits_pending, debits_posted,
		credits_pending, credits_posted FROM ledger_accounts ORDER BY currency, name`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []ledger.AccountBalance
	for rows.Next() {
		var a ledger.AccountBalance
		var flags int64
		if err := rows.Scan(&a.ID, &a.Name, &a.Currency, &flags, &a.DebitsPending, &a.DebitsPosted,
			&a.CreditsPending, &a.CreditsPosted); err != nil {
			return nil, mapErr(err)
		}
		a.Flags = ledger.AccountFlags(flags)
		out = append(out, a)
	}
	return out, mapErr(rows.Err())
}

// TrialBalance returns the trial balance (CONTRACT.md §10).
func (s *Store) TrialBalance(ctx context.Context) (ledger.TrialBalance, error) {
	accounts, err := s.Balances(ctx)
	if err != nil {
		return ledger.TrialBalance{}, err
	}
	return ledger.NewTrialBalance(accounts), nil
}

// BusinessDay returns the open business day.
func (s *Store) BusinessDay(ctx context.Context) (string, error) {
	var day string
	err := s.read.QueryRowContext(ctx, `SELECT day FROM ledger_business_days WHERE closed_at IS NULL`).Scan(&day)
	if err == sql.ErrNoRows {
		return "", fmt.Errorf("open business day: none")
	}
	if err != nil {
		return "", fmt.Errorf("open business day: %w", mapErr(err))
	}
	return day, nil
}
