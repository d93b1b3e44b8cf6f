package sqlite

import (
	"context"

	"github.com/cardswitch/cardswitch/ledger"
)

// effectivePosted selects transfers that moved posted money (see ledger/postgres).
const effectivePosted = `t.state = 1 AND t.flags & 8 = 0`

func (b *batchTx) SettlementRows(ctx context.Context, day string) ([]ledger.SettlementRow, error) {
	rows, err := b.tx.QueryContext(ctx, `SELECT d.name, c.name, t.currency, t.code,
			coalesce(j.payee_kind, 0), coalesce(j.payee_id, ''), sum(t.amount), count(DISTINCT t.event_id)
		FROM ledger_transfers t
		JOIN ledger_accounts d ON d.id = t.debit_account_id
		JOIN ledger_accounts c ON c.id = t.credit_account_id
		LEFT JOIN ledger_transactions j ON j.id = t.event_id
		WHERE t.business_day = ? AND `+effectivePosted+` AND t.code <> ?
		GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`, day, int64(ledger.CodeSettlement))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []ledger.SettlementRow
	for rows.Next() {
		var r ledger.SettlementRow
		var code, payeeKind int64
		if err := rows.Scan(&r.DebitAccount, &r.CreditAccount, &r.Currency, &code, &payeeKind, &r.PayeeID, &r.Amount, &r.Count); err != nil {
			return nil, mapErr(err)
		}
		r.Code, r.PayeeKind = ledger.TransferCode(code), ledger.PayeeKind(payeeKind)
		out = append(out, r)
	}
	return out, mapErr(rows.Err())
}

func (b *batchTx) SettlementPayments(ctx context.Context, day string) ([]ledger.SettlementPayment, error) {
	// The agency id is the middle part of "agency:<id>:payable".
	rows, err := b.tx.QueryContext(ctx, `SELECT substr(a.name, 8, length(a.name) - 15), t.currency, t.payment_ref,
			t.event_id, t.code, CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END
		FROM ledger_transfers t
		JOIN ledger_accounts a ON a.id IN (t.debit_account_id, t.credit_account_id)
		WHERE t.business_day = ? AND `+effectivePosted+` AND t.code <> ?
			AND a.name LIKE 'agency:%:payable'
		ORDER BY 1, 2, t.event_id, t.id`, day, int64(ledger.CodeSettlement))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []ledger.SettlementPayment
	for rows.Next() {
		var p ledger.SettlementPayment
		var code int64
		if err := rows.Scan(&p.AgencyID, &p.Currency, &p.PaymentRef, &p.TransactionID, &code, &p.Amount); err != nil {
			return nil, mapErr(err)
		}
		p.Code = ledger.TransferCode(code)
		out = append(out, p)
	}
	return out, mapErr(rows.Err())
}
