package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/cardswitch/cardswitch/ledger"
)

// effectivePosted selects transfers that moved posted money (see ledger/postgres).
const effectivePosted = `t.state = 1 AND t.flags & 8 = 0`

// dayTransfers selects the transfers a business day's transactions wrote: the rows of the day's
// range (see migration 0002), settlement transfers excluded. Its parameters are those dayRange
// returns, then the day, then the settlement code.
const dayTransfers = `t.seq >= ? AND t.seq < ? AND t.business_day = ? AND t.code <> ?`

const (
	settlementRowsQuery = `SELECT d.name, c.name, t.currency, t.code,
			coalesce(j.payee_kind, 0), coalesce(j.payee_id, ''), sum(t.amount), count(DISTINCT t.event_id)
		FROM ledger_transfers t
		JOIN ledger_accounts d ON d.id = t.debit_account_id
		JOIN ledger_accounts c ON c.id = t.credit_account_id
		LEFT JOIN ledger_transactions j ON j.id = t.event_id
		WHERE ` + dayTransfers + ` AND ` + effectivePosted + `
		GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6`
	// The agency id is the middle part of "agency:<id>:payable".
	settlementPaymentsQuery = `SELECT substr(a.name, 8, length(a.name) - 15), t.currency, t.payment_ref,
			t.event_id, t.code, CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END
		FROM ledger_transfers t
		JOIN ledger_accounts a ON a.id IN (t.debit_account_id, t.credit_account_id)
		WHERE ` + dayTransfers + ` AND ` + effectivePosted + ` AND a.name LIKE 'agency:%:payable'
		ORDER BY 1, 2, t.event_id, t.id`
)

// dayRange returns the arguments of dayTransfers for day: its rows, from its first transfer to the
// next day's (the end of the table while no day follows). An unknown day has no rows.
func (b *batchTx) dayRange(ctx context.Context, day string) ([]any, error) {
	var first int64
	var next sql.NullInt64
	err := b.w.queryRow(ctx, `SELECT d.first_transfer_seq, (SELECT min(n.first_transfer_seq)
		FROM ledger_business_days n WHERE n.day > d.day) FROM ledger_business_days d WHERE d.day = ?`, []any{day}, &first, &next)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		first, next = 0, sql.NullInt64{Valid: true}
	case err != nil:
		return nil, mapErr(err)
	case !next.Valid:
		next.Int64 = math.MaxInt64
	}
	return []any{first, next.Int64, day, int64(ledger.CodeSettlement)}, nil
}

func (b *batchTx) SettlementRows(ctx context.Context, day string) ([]ledger.SettlementRow, error) {
	args, err := b.dayRange(ctx, day)
	if err != nil {
		return nil, err
	}
	rows, err := b.w.QueryContext(ctx, settlementRowsQuery, args...)
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
	args, err := b.dayRange(ctx, day)
	if err != nil {
		return nil, err
	}
	rows, err := b.w.QueryContext(ctx, settlementPaymentsQuery, args...)
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
