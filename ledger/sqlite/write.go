package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/cardswitch/cardswitch/ledger"
)

// Write implements ledger.BatchTx. Each kind of row goes in multi-row statements (see rowsStmt),
// prepared once on the write connection: a batch of a thousand events runs a few dozen
// statements, not thousands. The statements are ON CONFLICT ROLLBACK: a violated constraint ends
// the whole transaction at once (the Writer retries the batch in parts anyway), which spares
// SQLite the statement journal it would otherwise keep to undo one failed multi-row statement.
func (b *batchTx) Write(ctx context.Context, p *ledger.Plan) error {
	if _, err := b.execRows(ctx, journalInsert, len(p.Transactions), func(args []any, i int) []any {
		t := p.Transactions[i]
		var expires any
		if t.HoldExpiresAt != nil {
			expires = t.HoldExpiresAt.UnixNano()
		}
		return append(args, t.ID, int64(t.Kind), t.OriginalID, t.TargetID, t.Currency, t.Amount, t.Fee,
			t.ConvenienceFee, int64(t.PayeeKind), t.PayeeID, t.Issuer, t.PaymentRef, t.RRN, t.STAN, t.Terminal, t.MTI,
			t.MaskedPAN, t.ResponseCode, t.ApprovalCode, t.At.UnixNano(), p.BusinessDay, expires, t.Rejection, t.AcquirerRRN)
	}); err != nil {
		return fmt.Errorf("journal insert: %w", err)
	}
	if _, err := b.execRows(ctx, transferInsert, len(p.Transfers), func(args []any, i int) []any {
		r := p.Transfers[i]
		return append(args, idBytes(r.ID), r.DebitAccountID, r.CreditAccountID, r.Amount, r.Currency, int64(r.Flags),
			nullID(r.PendingID), nanos(r.TimeoutAt), int64(r.State), int64(r.Code), r.EventID, r.PaymentRef,
			p.BusinessDay, r.Reason, r.CreatedAt.UnixNano())
	}); err != nil {
		return fmt.Errorf("transfer insert: %w", err)
	}
	n, err := b.execRows(ctx, stateUpdate, len(p.StateChanges), func(args []any, i int) []any {
		return append(args, idBytes(p.StateChanges[i].ID), int64(p.StateChanges[i].State))
	})
	if err == nil && n != int64(len(p.StateChanges)) {
		err = fmt.Errorf("%d of %d pending transfers found", n, len(p.StateChanges))
	}
	if err != nil {
		return fmt.Errorf("pending state change: %w", err)
	}
	n, err = b.execRows(ctx, balanceUpdate, len(p.Deltas), func(args []any, i int) []any {
		d := p.Deltas[i]
		return append(args, d.AccountID, d.DebitsPending, d.DebitsPosted, d.CreditsPending, d.CreditsPosted)
	})
	if err == nil && n != int64(len(p.Deltas)) {
		err = fmt.Errorf("%d of %d accounts found", n, len(p.Deltas))
	}
	if err != nil {
		return fmt.Errorf("balance update: %w", err)
	}
	return b.writeSAF(ctx, p)
}

// rowsStmt is a statement over a list of rows given as one VALUES list of up to rowsMax rows of
// columns parameters each. A list of n rows runs as full statements of rowsMax rows, then one
// statement per power of two in the rest: each size is its own prepared statement, so a kind has
// at most 1+log2(rowsMax) of them.
type rowsStmt int

// The batch's multi-row statements. Unique ids make each state change and balance update touch
// exactly one row; Write checks that every one did.
const (
	journalInsert rowsStmt = iota
	transferInsert
	stateUpdate
	balanceUpdate
	safInsert
	intentInsert
	rowsStmts // how many
)

// rowsMaxPerStmt bounds the rows of one statement: beyond a few hundred, the per-statement cost
// is already spread thin, while the compiled statement (and its parameters, kept well under
// SQLite's 32766) keeps growing.
const rowsMaxPerStmt = 128

func (s rowsStmt) columns() int {
	switch s {
	case journalInsert:
		return 24
	case safInsert:
		return 21
	case intentInsert:
		return 13
	case transferInsert:
		return 15
	case stateUpdate:
		return 2
	}
	return 5
}

// sql returns the statement for rows rows.
func (s rowsStmt) sql(rows int) string {
	one := "(" + strings.Repeat("?, ", s.columns()-1) + "?)"
	values := strings.Repeat(one+", ", rows-1) + one
	switch s {
	case journalInsert:
		return `INSERT OR ROLLBACK INTO ledger_transactions (` + journalColumns + `) VALUES ` + values
	case transferInsert:
		return `INSERT OR ROLLBACK INTO ledger_transfers (` + transferColumns + `) VALUES ` + values
	case safInsert:
		return `INSERT OR ROLLBACK INTO saf_items (` + safInsertColumns + `) VALUES ` + values
	case intentInsert:
		return `INSERT OR ROLLBACK INTO ledger_intents (` + intentColumns + `) VALUES ` + values
	case stateUpdate:
		return `WITH c (id, state) AS (VALUES ` + values + `)
			UPDATE OR ROLLBACK ledger_transfers SET state = c.state FROM c WHERE ledger_transfers.id = c.id`
	}
	return `WITH d (id, dpe, dpo, cpe, cpo) AS (VALUES ` + values + `)
		UPDATE OR ROLLBACK ledger_accounts SET debits_pending = debits_pending + d.dpe,
			debits_posted = debits_posted + d.dpo, credits_pending = credits_pending + d.cpe,
			credits_posted = credits_posted + d.cpo
		FROM d WHERE ledger_accounts.id = d.id`
}

// chunk returns the rows of the next statement for n rows left.
func chunk(n int) int {
	if n >= rowsMaxPerStmt {
		return rowsMaxPerStmt
	}
	c := 1
	for c*2 <= n {
		c *= 2
	}
	return c
}

// execRows runs s over n rows, args appending row i's arguments, and returns how many rows the
// statements changed.
func (b *batchTx) execRows(ctx context.Context, s rowsStmt, n int, args func(args []any, i int) []any) (int64, error) {
	var changed int64
	for i := 0; i < n; {
		c := chunk(n - i)
		values := b.w.values[:0]
		for j := i; j < i+c; j++ {
			values = args(values, j)
		}
		k, err := b.w.execRows(ctx, s, c, values)
		clear(values) // drop the references to the plan
		b.w.values = values[:0]
		if err != nil {
			return 0, mapErr(err)
		}
		changed += k
		i += c
	}
	return changed, nil
}
