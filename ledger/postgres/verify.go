package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cardswitch/cardswitch/ledger"
)

// maxAnomaliesPerCheck bounds what one check reports: a broken ledger should be reported, not dumped.
const maxAnomaliesPerCheck = 100

// recomputeTotals sums posted and pending amounts per account from the transfers table: posted
// money is single-phase and post-pending transfers in state posted (voids move none); pending
// money is pending transfers still pending.
const recomputeTotals = `SELECT account_id, sum(dp)::bigint, sum(cp)::bigint, sum(dpe)::bigint, sum(cpe)::bigint FROM (
	SELECT debit_account_id AS account_id,
		CASE WHEN state = 1 AND flags & 8 = 0 THEN amount ELSE 0 END AS dp, 0 AS cp,
		CASE WHEN state = 2 THEN amount ELSE 0 END AS dpe, 0 AS cpe
	FROM ledger_transfers WHERE state IN (1, 2)
	UNION ALL
	SELECT credit_account_id, 0, CASE WHEN state = 1 AND flags & 8 = 0 THEN amount ELSE 0 END,
		0, CASE WHEN state = 2 THEN amount ELSE 0 END
	FROM ledger_transfers WHERE state IN (1, 2)
) x GROUP BY account_id`

// anomalyChecks are queries that return one text row per violation.
func anomalyChecks() []struct{ name, query string } {
	return []struct{ name, query string }{
		{"two_phase_state", `SELECT 'pending ' || p.id || ' is in state ' || p.state || ' but has ' ||
			coalesce(CASE WHEN v.flags & 4 <> 0 THEN 'a post' ELSE 'a void' END, 'no post or void')
		FROM ledger_transfers p LEFT JOIN ledger_transfers v ON v.pending_id = p.id AND v.state <> 6
		WHERE p.flags & 2 <> 0 AND p.state <> 6 AND NOT (
			(p.state IN (2, 5) AND v.id IS NULL) OR (p.state = 3 AND v.flags & 4 <> 0) OR (p.state = 4 AND v.flags & 8 <> 0))`},
		{"post_or_void_amount", `SELECT 'post/void ' || v.id || ' moves ' || v.amount || ' of pending ' || p.id || ' holding ' || p.amount
		FROM ledger_transfers v JOIN ledger_transfers p ON p.id = v.pending_id
		WHERE v.state <> 6 AND (v.amount > p.amount OR (v.flags & 8 <> 0 AND v.amount <> p.amount)
			OR v.debit_account_id <> p.debit_account_id OR v.credit_account_id <> p.credit_account_id)`},
		{"post_or_void_orphan", `SELECT 'post/void ' || v.id || ' names no pending transfer'
		FROM ledger_transfers v LEFT JOIN ledger_transfers p ON p.id = v.pending_id AND p.flags & 2 <> 0 AND p.state <> 6
		WHERE v.flags & 12 <> 0 AND v.state <> 6 AND p.id IS NULL`},
		{"transfer_shape", `SELECT 'transfer ' || t.id || ' is malformed (amount, accounts or currency)'
		FROM ledger_transfers t
		LEFT JOIN ledger_accounts d ON d.id = t.debit_account_id
		LEFT JOIN ledger_accounts c ON c.id = t.credit_account_id
		WHERE t.state <> 6 AND (t.amount <= 0 OR d.id IS NULL OR c.id IS NULL OR d.id = c.id
			OR d.currency <> t.currency OR c.currency <> t.currency)`},
		{"posting_without_decision", `SELECT 'transfer ' || t.id || ' has no accepted decision ' || t.event_id
		FROM ledger_transfers t LEFT JOIN ledger_transactions j ON j.id = t.event_id
		WHERE t.state <> 6 AND t.code <> 6 AND t.event_id <> ''
			AND (j.id IS NULL OR j.rejection <> '' OR j.kind IN (6, 7))`},
		{"decision_without_posting", `SELECT 'accepted ' || j.id || ' has no transfer'
		FROM ledger_transactions j
		LEFT JOIN (SELECT DISTINCT event_id FROM ledger_transfers WHERE state <> 6) t ON t.event_id = j.id
		WHERE j.kind NOT IN (6, 7) AND j.rejection = '' AND t.event_id IS NULL`},
		{"business_day", `SELECT 'no open business day' WHERE NOT EXISTS
		(SELECT 1 FROM ledger_business_days WHERE closed_at IS NULL)`},
	}
}

// Verify checks every invariant against the tables: account totals equal the totals recomputed
// from the transfers, every currency balances (posted and pending), account flags hold, every
// pending transfer's state agrees with its post or void (none posted twice, or posted and
// voided), no posting exists without an accepted decision and no accepted decision without its
// postings.
func (s *Store) Verify(ctx context.Context) (ledger.VerifyReport, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return ledger.VerifyReport{}, mapErr(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	accounts, err := s.balancesFrom(ctx, tx)
	if err != nil {
		return ledger.VerifyReport{}, err
	}
	recomputed := map[int64]ledger.Totals{}
	rows, err := tx.Query(ctx, recomputeTotals)
	if err != nil {
		return ledger.VerifyReport{}, mapErr(err)
	}
	var id int64
	var t ledger.Totals
	_, err = pgx.ForEachRow(rows, []any{&id, &t.DebitsPosted, &t.CreditsPosted, &t.DebitsPending, &t.CreditsPending}, func() error {
		recomputed[id] = t
		return nil
	})
	if err != nil {
		return ledger.VerifyReport{}, mapErr(err)
	}
	var anomalies []ledger.Anomaly
	for _, c := range anomalyChecks() {
		rows, err := tx.Query(ctx, c.query+` LIMIT $1`, maxAnomaliesPerCheck)
		if err != nil {
			return ledger.VerifyReport{}, mapErr(err)
		}
		details, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return ledger.VerifyReport{}, mapErr(err)
		}
		for _, d := range details {
			anomalies = append(anomalies, ledger.Anomaly{Check: c.name, Detail: d})
		}
	}
	report := ledger.CheckLedger(accounts, recomputed, anomalies)
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM ledger_transfers), (SELECT count(*) FROM ledger_transactions)`).
		Scan(&report.Transfers, &report.Transactions); err != nil {
		return ledger.VerifyReport{}, mapErr(err)
	}
	return report, nil
}
