package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// reader runs the lookups the Writer and the read API share.
type reader struct{ q querier }

const transferColumns = `id, debit_account_id, credit_account_id, amount, currency, flags, pending_id, timeout_at,
	state, code, event_id, payment_ref, business_day, reason, created_at`

const journalColumns = `id, kind, original_id, target_id, currency, amount, fee, convenience_fee, payee_kind,
	payee_id, issuer, payment_ref, rrn, stan, terminal, mti, masked_pan, response_code, approval_code, at,
	business_day, hold_expires_at, rejection, acquirer_rrn`

// The batch's lookups. Lists go as one JSON parameter (see jsonArray); each lookup is an index
// search per element (TestQueryPlans).
const (
	accountsByIDQuery = `SELECT id, name, currency, flags FROM ledger_accounts
		WHERE id IN (SELECT value FROM json_each(?))`
	accountsByKeyQuery = `SELECT a.id, a.name, a.currency, a.flags FROM ledger_accounts a
		JOIN json_each(?) k ON a.name = json_extract(k.value, '$.Name') AND a.currency = json_extract(k.value, '$.Currency')`
	accountInsert = `INSERT INTO ledger_accounts (name, currency, flags, created_at)
		VALUES (?, ?, ?, ?) ON CONFLICT (name, currency) DO NOTHING`
	transactionsByIDQuery = `SELECT ` + journalColumns + ` FROM ledger_transactions
		WHERE id IN (SELECT value FROM json_each(?))`
	transfersByIDQuery = `SELECT ` + transferColumns + ` FROM ledger_transfers
		WHERE id IN (SELECT unhex(value) FROM json_each(?))`
	postsQuery = `SELECT ` + transferColumns + ` FROM ledger_transfers
		WHERE pending_id IN (SELECT unhex(value) FROM json_each(?)) AND pending_id IS NOT NULL AND state <> 6`
	// duePendingQuery goes in the order of the partial index of pending transfers, earliest
	// timeout first, so that the sweep reads only due rows: ordered by id, SQLite would rather
	// walk the whole id index to skip the sort.
	duePendingQuery = `SELECT ` + transferColumns + ` FROM ledger_transfers
		WHERE state = 2 AND timeout_at <= ? ORDER BY timeout_at LIMIT ?`
)

// jsonArray passes a list as one parameter, read back with json_each: no limit on its length.
func jsonArray(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ledger sqlite: %v", err)) // strings, ints and hex: cannot fail
	}
	return string(b)
}

func hexIDs(ids []ledger.TransferID) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = hex.EncodeToString(id[:])
	}
	return jsonArray(out)
}

func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func idBytes(id ledger.TransferID) []byte { return id[:] }

func nullID(id ledger.TransferID) any {
	if id.IsZero() {
		return nil
	}
	return id[:]
}

func scanTransfers(rows rowSource, err error) ([]*ledger.TransferRecord, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*ledger.TransferRecord
	for rows.Next() {
		var (
			r                  ledger.TransferRecord
			id, pending        []byte
			timeout            sql.NullInt64
			created            int64
			flags, state, code int64
		)
		if err := rows.Scan(&id, &r.DebitAccountID, &r.CreditAccountID, &r.Amount, &r.Currency, &flags, &pending,
			&timeout, &state, &code, &r.EventID, &r.PaymentRef, &r.BusinessDay, &r.Reason, &created); err != nil {
			return nil, mapErr(err)
		}
		copy(r.ID[:], id)
		copy(r.PendingID[:], pending)
		r.TimeoutAt, r.CreatedAt = fromNanos(timeout), time.Unix(0, created).UTC()
		r.Flags, r.State, r.Code = ledger.TransferFlags(flags), ledger.TransferState(state), ledger.TransferCode(code)
		out = append(out, &r)
	}
	return out, mapErr(rows.Err())
}

func scanTransactions(rows rowSource, err error) ([]*ledger.Transaction, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*ledger.Transaction
	for rows.Next() {
		var (
			t               ledger.Transaction
			kind, payeeKind int64
			at              int64
			expires         sql.NullInt64
		)
		if err := rows.Scan(&t.ID, &kind, &t.OriginalID, &t.TargetID, &t.Currency, &t.Amount, &t.Fee, &t.ConvenienceFee,
			&payeeKind, &t.PayeeID, &t.Issuer, &t.PaymentRef, &t.RRN, &t.STAN, &t.Terminal, &t.MTI, &t.MaskedPAN,
			&t.ResponseCode, &t.ApprovalCode, &at, &t.BusinessDay, &expires, &t.Rejection, &t.AcquirerRRN); err != nil {
			return nil, mapErr(err)
		}
		t.Kind, t.PayeeKind = ledger.EventKind(kind), ledger.PayeeKind(payeeKind)
		t.At = time.Unix(0, at).UTC()
		t.Exponent, _ = ledger.Exponent(t.Currency)
		if expires.Valid {
			e := fromNanos(expires)
			t.HoldExpiresAt = &e
		}
		out = append(out, &t)
	}
	return out, mapErr(rows.Err())
}

func (r reader) AccountsByID(ctx context.Context, ids []int64) ([]ledger.AccountInfo, error) {
	rows, err := r.q.QueryContext(ctx, accountsByIDQuery, jsonArray(ids))
	return scanAccountInfos(rows, err)
}

func scanAccountInfos(rows rowSource, err error) ([]ledger.AccountInfo, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []ledger.AccountInfo
	for rows.Next() {
		var a ledger.AccountInfo
		var flags int64
		if err := rows.Scan(&a.ID, &a.Key.Name, &a.Key.Currency, &flags); err != nil {
			return nil, mapErr(err)
		}
		a.Flags = ledger.AccountFlags(flags)
		out = append(out, a)
	}
	return out, mapErr(rows.Err())
}

func (r reader) Transactions(ctx context.Context, ids []string) ([]*ledger.Transaction, error) {
	return scanTransactions(r.q.QueryContext(ctx, transactionsByIDQuery, jsonArray(ids)))
}

// refundsOfQuery finds refunds by their original through the original_id index.
const refundsOfQuery = `SELECT ` + journalColumns + ` FROM ledger_transactions
	WHERE original_id IN (SELECT value FROM json_each(?)) AND original_id <> '' AND kind = 4 AND rejection = ''`

func (r reader) RefundsOf(ctx context.Context, ids []string) ([]*ledger.Transaction, error) {
	return scanTransactions(r.q.QueryContext(ctx, refundsOfQuery, jsonArray(ids)))
}

// Transfers implements ledger.BatchTx; SQLite's write transaction already excludes every other
// writer, so lock needs nothing more.
func (r reader) Transfers(ctx context.Context, ids []ledger.TransferID, _ bool) ([]*ledger.TransferRecord, error) {
	return scanTransfers(r.q.QueryContext(ctx, transfersByIDQuery, hexIDs(ids)))
}

func (r reader) Posts(ctx context.Context, pendingIDs []ledger.TransferID) ([]*ledger.TransferRecord, error) {
	return scanTransfers(r.q.QueryContext(ctx, postsQuery, hexIDs(pendingIDs)))
}

// batchTx is one ledger transaction (BEGIN IMMEDIATE) on the store's write connection.
type batchTx struct {
	reader
	w    *writeConn
	s    *Store
	day  string
	done bool
}

func (b *batchTx) BusinessDay(context.Context) (string, error) { return b.day, nil }

func (b *batchTx) EnsureAccounts(ctx context.Context, keys []ledger.AccountKey) ([]ledger.AccountInfo, error) {
	now := time.Now().UnixNano()
	type key struct{ Name, Currency string }
	list := make([]key, len(keys))
	for i, k := range keys {
		if _, err := b.w.ExecContext(ctx, accountInsert, k.Name, k.Currency, int64(ledger.FlagsFor(k.Name)), now); err != nil {
			return nil, mapErr(err)
		}
		list[i] = key(k)
	}
	out, err := scanAccountInfos(b.w.QueryContext(ctx, accountsByKeyQuery, jsonArray(list)))
	if err == nil && len(out) != len(keys) {
		err = fmt.Errorf("ensure accounts: %d of %d found", len(out), len(keys))
	}
	return out, err
}

// DuePending implements ledger.BatchTx, earliest timeout first (see duePendingQuery).
func (b *batchTx) DuePending(ctx context.Context, now time.Time, limit int) ([]*ledger.TransferRecord, error) {
	return scanTransfers(b.w.QueryContext(ctx, duePendingQuery, now.UnixNano(), limit))
}

func (b *batchTx) CloseBusinessDay(ctx context.Context, day, next string, at time.Time) error {
	n, err := b.w.ExecContext(ctx, `UPDATE ledger_business_days SET closed_at = ? WHERE day = ? AND closed_at IS NULL`,
		at.UnixNano(), day)
	if err != nil {
		return mapErr(err)
	}
	if n != 1 {
		return fmt.Errorf("close business day %s: %w", day, ledger.ErrBusinessDayClosed)
	}
	// The new day's transfers are the rows written from now on (see migration 0002).
	_, err = b.w.ExecContext(ctx, `INSERT INTO ledger_business_days (day, opened_at, first_transfer_seq)
		VALUES (?, ?, (SELECT coalesce(max(seq), 0) + 1 FROM ledger_transfers))`, next, at.UnixNano())
	return mapErr(err)
}

func (b *batchTx) Commit(ctx context.Context) error {
	if b.done {
		return errors.New("ledger sqlite: commit of an ended batch")
	}
	b.done = true
	defer b.s.release(b.w)
	return mapErr(b.w.commit(ctx))
}

func (b *batchTx) Rollback(context.Context) error {
	if b.done {
		return nil
	}
	b.done = true
	b.w.rollback()
	b.s.release(b.w)
	return nil
}

var _ ledger.BatchTx = (*batchTx)(nil)
