package sqlite

import (
	"context"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// journalQuery lists the journal with each entry's movement on its issuer's receivable (see the
// PostgreSQL store's query of the same name). ?1: the issuer ("" for all), ?2: the time (unix
// nanoseconds) pending transfers expire at.
const journalQuery = `WITH recv AS (
		SELECT id, name FROM ledger_accounts WHERE name LIKE 'issuer:%:receivable'
	), legs AS (
		SELECT event_id, debit_account_id AS account_id, amount AS signed, state, flags, timeout_at FROM ledger_transfers
		UNION ALL
		SELECT event_id, credit_account_id, -amount, state, flags, timeout_at FROM ledger_transfers
	), moves AS (
		SELECT l.event_id, a.name,
			sum(CASE WHEN l.state = 1 AND l.flags & 8 = 0 THEN l.signed
			         WHEN l.state = 2 AND (l.timeout_at IS NULL OR l.timeout_at > ?2) THEN l.signed
			         ELSE 0 END) AS held,
			sum(CASE WHEN l.state = 5 OR (l.state = 2 AND l.timeout_at <= ?2) THEN l.signed ELSE 0 END) AS expired
		FROM legs l JOIN recv a ON a.id = l.account_id
		GROUP BY l.event_id, a.name
	)
	SELECT t.id, t.kind, t.original_id, t.issuer, t.rrn, t.acquirer_rrn, t.terminal, t.stan, t.mti, t.currency,
		t.amount, t.response_code, t.approval_code, t.rejection, t.masked_pan, t.at,
		COALESCE(m.held, 0), COALESCE(m.expired, 0)
	FROM ledger_transactions t
	LEFT JOIN moves m ON m.event_id = t.id AND m.name = 'issuer:' || t.issuer || ':receivable'
	WHERE ?1 = '' OR t.issuer = ?1
	ORDER BY t.at, t.id`

// Journal implements ledger.JournalReader: one query on a read connection, streamed row by row.
func (s *Store) Journal(ctx context.Context, f ledger.JournalFilter, fn func(*ledger.JournalEntry) error) error {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	rows, err := s.read.QueryContext(ctx, journalQuery, f.Issuer, now.UnixNano())
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e        ledger.JournalEntry
			kind, at int64
		)
		if err := rows.Scan(&e.ID, &kind, &e.OriginalID, &e.Issuer, &e.RRN, &e.AcquirerRRN, &e.Terminal, &e.STAN,
			&e.MTI, &e.Currency, &e.Amount, &e.ResponseCode, &e.ApprovalCode, &e.Rejection, &e.MaskedPAN, &at,
			&e.Held, &e.Expired); err != nil {
			return mapErr(err)
		}
		e.Kind, e.At = ledger.EventKind(kind), time.Unix(0, at).UTC()
		if err := fn(&e); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}

var _ ledger.JournalReader = (*Store)(nil)
