package sqlite

import (
	"context"
	"fmt"

	"github.com/cardswitch/cardswitch/ledger"
)

// Write implements ledger.BatchTx with prepared statements: in-process SQLite has no round trips
// to save, so rows go one by one inside the one transaction.
func (b *batchTx) Write(ctx context.Context, p *ledger.Plan) error {
	if err := b.insertJournal(ctx, p); err != nil {
		return err
	}
	if err := b.insertTransfers(ctx, p); err != nil {
		return err
	}
	if err := b.execEach(ctx, `UPDATE ledger_transfers SET state = ? WHERE id = ?`, len(p.StateChanges), func(i int) []any {
		return []any{int64(p.StateChanges[i].State), idBytes(p.StateChanges[i].ID)}
	}); err != nil {
		return fmt.Errorf("pending state change: %w", err)
	}
	// Deltas come sorted by account id.
	if err := b.execEach(ctx, `UPDATE ledger_accounts SET debits_pending = debits_pending + ?, debits_posted = debits_posted + ?,
			credits_pending = credits_pending + ?, credits_posted = credits_posted + ? WHERE id = ?`, len(p.Deltas), func(i int) []any {
		d := p.Deltas[i]
		return []any{d.DebitsPending, d.DebitsPosted, d.CreditsPending, d.CreditsPosted, d.AccountID}
	}); err != nil {
		return fmt.Errorf("balance update: %w", err)
	}
	return nil
}

// execEach runs an UPDATE for n rows and checks that each touched exactly one row.
func (b *batchTx) execEach(ctx context.Context, query string, n int, args func(int) []any) error {
	if n == 0 {
		return nil
	}
	stmt, err := b.tx.PrepareContext(ctx, query)
	if err != nil {
		return mapErr(err)
	}
	defer stmt.Close()
	for i := range n {
		res, err := stmt.ExecContext(ctx, args(i)...)
		if err != nil {
			return mapErr(err)
		}
		if affected, _ := res.RowsAffected(); affected != 1 {
			return fmt.Errorf("row %d of %d not found", i, n)
		}
	}
	return nil
}

func (b *batchTx) insertJournal(ctx context.Context, p *ledger.Plan) error {
	return b.insertEach(ctx, `INSERT INTO ledger_transactions (`+journalColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(p.Transactions), func(i int) []any {
		t := p.Transactions[i]
		var expires any
		if t.HoldExpiresAt != nil {
			expires = t.HoldExpiresAt.UnixNano()
		}
		return []any{t.ID, int64(t.Kind), t.OriginalID, t.TargetID, t.Currency, t.Amount, t.Fee, t.ConvenienceFee,
			int64(t.PayeeKind), t.PayeeID, t.Issuer, t.PaymentRef, t.RRN, t.STAN, t.Terminal, t.MTI, t.MaskedPAN,
			t.ResponseCode, t.ApprovalCode, t.At.UnixNano(), p.BusinessDay, expires, t.Rejection}
	})
}

func (b *batchTx) insertTransfers(ctx context.Context, p *ledger.Plan) error {
	return b.insertEach(ctx, `INSERT INTO ledger_transfers (`+transferColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, len(p.Transfers), func(i int) []any {
		r := p.Transfers[i]
		return []any{idBytes(r.ID), r.DebitAccountID, r.CreditAccountID, r.Amount, r.Currency, int64(r.Flags),
			nullID(r.PendingID), nanos(r.TimeoutAt), int64(r.State), int64(r.Code), r.EventID, r.PaymentRef,
			p.BusinessDay, r.Reason, r.CreatedAt.UnixNano()}
	})
}

func (b *batchTx) insertEach(ctx context.Context, query string, n int, args func(int) []any) error {
	if n == 0 {
		return nil
	}
	stmt, err := b.tx.PrepareContext(ctx, query)
	if err != nil {
		return mapErr(err)
	}
	defer stmt.Close()
	for i := range n {
		if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
			return mapErr(err)
		}
	}
	return nil
}
