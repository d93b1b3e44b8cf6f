package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cardswitch/cardswitch/ledger"
)

// Transaction returns the journaled transaction id with its status and transfers; ErrNotFound
// when unknown.
func (s *Store) Transaction(ctx context.Context, id string) (*ledger.Transaction, error) {
	return s.one(ctx, false, `SELECT `+journalColumns+` FROM ledger_transactions WHERE id = $1`, id)
}

// TransactionByRRN returns the original transaction carrying rrn (captures and reversals share
// their original's RRN and appear in its Related), for /v1/transactions/{rrn}.
func (s *Store) TransactionByRRN(ctx context.Context, rrn string) (*ledger.Transaction, error) {
	return s.one(ctx, true, `SELECT `+journalColumns+` FROM ledger_transactions WHERE rrn = $1 AND rrn <> ''
		ORDER BY original_id <> '', at, id LIMIT 1`, rrn)
}

// LatestByTerminalSTAN returns the latest transaction of a terminal with a STAN (the engine's
// duplicate and original lookups).
func (s *Store) LatestByTerminalSTAN(ctx context.Context, terminal, stan string) (*ledger.Transaction, error) {
	return s.one(ctx, false, `SELECT `+journalColumns+` FROM ledger_transactions
		WHERE terminal = $1 AND stan = $2 AND terminal <> '' ORDER BY at DESC, id DESC LIMIT 1`, terminal, stan)
}

// ByTerminalRRN returns a terminal's transaction carrying rrn: the switch's RRN (which its answer
// carried) or its own field 37; an original before its advices.
func (s *Store) ByTerminalRRN(ctx context.Context, terminal, rrn string) (*ledger.Transaction, error) {
	return s.one(ctx, false, `SELECT * FROM (
			SELECT `+journalColumns+` FROM ledger_transactions WHERE rrn = $2 AND rrn <> '' AND terminal = $1
			UNION ALL
			SELECT `+journalColumns+` FROM ledger_transactions WHERE acquirer_rrn = $2 AND acquirer_rrn <> '' AND terminal = $1) t
		ORDER BY original_id <> '', at DESC LIMIT 1`, terminal, rrn)
}

// ByTerminalIdentity returns the transaction a terminal sent with this STAN at transmission time
// transmitted (MMDDhhmmss: the id's last part), described like TransactionByRRN.
func (s *Store) ByTerminalIdentity(ctx context.Context, terminal, stan, transmitted string) (*ledger.Transaction, error) {
	return s.one(ctx, true, `SELECT `+journalColumns+` FROM ledger_transactions
		WHERE terminal = $1 AND stan = $2 AND terminal <> '' AND right(id, 10) = $3
		ORDER BY original_id <> '', at, id LIMIT 1`, terminal, stan, transmitted)
}

// one returns the transaction query finds, described; with related, also the later events that
// name it as their original (the HTTP view; the engine's lookups skip that query).
func (s *Store) one(ctx context.Context, withRelated bool, query string, args ...any) (*ledger.Transaction, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanTransaction)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ledger.ErrNotFound
	}
	if err != nil {
		return nil, mapErr(err)
	}
	r := reader{q: s.pool}
	if err := ledger.Describe(ctx, r, t); err != nil {
		return nil, err
	}
	if !withRelated {
		return t, nil
	}
	rows, err = s.pool.Query(ctx, `SELECT `+journalColumns+` FROM ledger_transactions
		WHERE original_id = $1 AND original_id <> '' ORDER BY at, id LIMIT $2`, t.ID, maxRelated)
	if err != nil {
		return nil, mapErr(err)
	}
	related, err := pgx.CollectRows(rows, scanTransaction)
	if err != nil {
		return nil, mapErr(err)
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

// maxRelated bounds the related events listed with a transaction (a capture and a reversal are
// the norm; a terminal repeating reversals with new STANs should not grow the answer unbounded).
const maxRelated = 100

// Balances returns every account with its totals, by currency and name.
func (s *Store) Balances(ctx context.Context) ([]ledger.AccountBalance, error) {
	return s.balancesFrom(ctx, s.pool)
}

func (s *Store) balancesFrom(ctx context.Context, q querier) ([]ledger.AccountBalance, error) {
	rows, err := q.Query(ctx, `SELECT id, name, currency, flags, debits_pending, debits_posted,
		credits_pending, credits_posted FROM ledger_accounts ORDER BY currency, name`)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.AccountBalance, error) {
		var a ledger.AccountBalance
		var flags int16
		err := row.Scan(&a.ID, &a.Name, &a.Currency, &flags, &a.DebitsPending, &a.DebitsPosted, &a.CreditsPending, &a.CreditsPosted)
		a.Flags = ledger.AccountFlags(flags)
		return a, err
	})
	return out, mapErr(err)
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
	err := s.pool.QueryRow(ctx, `SELECT day::text FROM ledger_business_days WHERE closed_at IS NULL`).Scan(&day)
	if err != nil {
		return "", fmt.Errorf("open business day: %w", mapErr(err))
	}
	return day, nil
}
