package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/cardswitch/cardswitch/ledger"
)

// effectivePosted selects transfers that moved posted money: single-phase and post-pending
// transfers in state posted (voids move none; pending ones are not posted).
const effectivePosted = `t.state = 1 AND t.flags & 8 = 0`

func (b *batchTx) SettlementRows(ctx context.Context, day string) ([]ledger.SettlementRow, error) {
	rows, err := b.conn.Query(ctx, `SELECT d.name, c.name, t.currency, t.code,
			coalesce(j.payee_kind, 0), coalesce(j.payee_id, ''), sum(t.amount)::bigint, count(DISTINCT t.event_id)
		FROM ledger_transfers t
		JOIN ledger_accounts d ON d.id = t.debit_account_id
		JOIN ledger_accounts c ON c.id = t.credit_account_id
		LEFT JOIN ledger_transactions j ON j.id = t.event_id
		WHERE t.business_day = $1::date AND `+effectivePosted+` AND t.code <> $2
		GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`, day, int16(ledger.CodeSettlement))
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.SettlementRow, error) {
		var r ledger.SettlementRow
		var code, payeeKind int16
		err := row.Scan(&r.DebitAccount, &r.CreditAccount, &r.Currency, &code, &payeeKind, &r.PayeeID, &r.Amount, &r.Count)
		r.Code, r.PayeeKind = ledger.TransferCode(code), ledger.PayeeKind(payeeKind)
		return r, err
	})
	return out, mapErr(err)
}

func (b *batchTx) SettlementPayments(ctx context.Context, day string) ([]ledger.SettlementPayment, error) {
	rows, err := b.conn.Query(ctx, `SELECT split_part(a.name, ':', 2), t.currency, t.payment_ref, t.event_id, t.code,
			CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END
		FROM ledger_transfers t
		JOIN ledger_accounts a ON a.id IN (t.debit_account_id, t.credit_account_id)
		WHERE t.business_day = $1::date AND `+effectivePosted+` AND t.code <> $2
			AND a.name LIKE 'agency:%:payable'
		ORDER BY 1, 2, t.event_id, t.id`, day, int16(ledger.CodeSettlement))
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ledger.SettlementPayment, error) {
		var p ledger.SettlementPayment
		var code int16
		err := row.Scan(&p.AgencyID, &p.Currency, &p.PaymentRef, &p.TransactionID, &code, &p.Amount)
		p.Code = ledger.TransferCode(code)
		return p, err
	})
	return out, mapErr(err)
}
