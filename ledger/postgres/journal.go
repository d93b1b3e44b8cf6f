package postgres

import (
	"context"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// journalQuery lists the journal with each entry's movement on its issuer's receivable: the
// transfers touching any issuer receivable, summed per event and account (each transfer counted
// once as a debit, once as a credit), joined to the journal rows on the event and the receivable
// of the row's own issuer. $1: the issuer ("" for all), $2: the time pending transfers expire at.
const journalQuery = `WITH recv AS (
		SELECT id, name FROM ledger_accounts WHERE name LIKE 'issuer:%:receivable'
	), legs AS (
		SELECT event_id, debit_account_id AS account_id, amount AS signed, state, flags, timeout_at FROM ledger_transfers
		UNION ALL
		SELECT event_id, credit_account_id, -amount, state, flags, timeout_at FROM ledger_transfers
	), moves AS (
		SELECT l.event_id, a.name,
			sum(CASE WHEN l.state = 1 AND l.flags & 8 = 0 THEN l.signed
			         WHEN l.state = 2 AND (l.timeout_at IS NULL OR l.timeout_at > $2) THEN l.signed
			         ELSE 0 END)::bigint AS held,
			sum(CASE WHEN l.state = 5 OR (l.state = 2 AND l.timeout_at <= $2) THEN l.signed ELSE 0 END)::bigint AS expired
		FROM legs l JOIN recv a ON a.id = l.account_id
		GROUP BY l.event_id, a.name
	)
	SELECT t.id, t.kind, t.original_id, t.issuer, t.rrn, t.acquirer_rrn, t.terminal, t.stan, t.mti, t.currency,
		t.amount, t.response_code, t.approval_code, t.rejection, t.masked_pan, t.at,
		COALESCE(m.held, 0), COALESCE(m.expired, 0)
	FROM ledger_transactions t
	LEFT JOIN moves m ON m.event_id = t.id AND m.name = 'issuer:' || t.issuer || ':receivable'
	WHERE $1 = '' OR t.issuer = $1
	ORDER BY t.at, t.id`

// Journal implements ledger.JournalReader: one query, streamed row by row to fn.
func (s *Store) Journal(ctx context.Context, f ledger.JournalFilter, fn func(*ledger.JournalEntry) error) error {
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	rows, err := s.pool.Query(ctx, journalQuery, f.Issuer, now)
	if err != nil {
		return mapErr(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e    ledger.JournalEntry
			kind int16
		)
		if err := rows.Scan(&e.ID, &kind, &e.OriginalID, &e.Issuer, &e.RRN, &e.AcquirerRRN, &e.Terminal, &e.STAN,
			&e.MTI, &e.Currency, &e.Amount, &e.ResponseCode, &e.ApprovalCode, &e.Rejection, &e.MaskedPAN, &e.At,
			&e.Held, &e.Expired); err != nil {
			return mapErr(err)
		}
		e.Kind = ledger.EventKind(kind)
		e.At = e.At.UTC()
		if err := fn(&e); err != nil {
			return err
		}
	}
	return mapErr(rows.Err())
}

var _ ledger.JournalReader = (*Store)(nil)
