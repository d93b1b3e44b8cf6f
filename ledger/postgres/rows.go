package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardswitch/cardswitch/ledger"
)

// reader runs the lookups the Writer and the read API share, on a pool or inside a transaction.
type reader struct{ q querier }

const transferColumns = `id, debit_account_id, credit_account_id, amount, currency, flags, pending_id, timeout_at,
	state, code, event_id, payment_ref, business_day::text, reason, created_at`

const journalColumns = `id, kind, original_id, target_id, currency, amount, fee, convenience_fee, payee_kind,
	payee_id, issuer, payment_ref, rrn, stan, terminal, mti, masked_pan, response_code, approval_code, at,
	business_day::text, hold_expires_at, rejection, acquirer_rrn`

func uuids(ids []ledger.TransferID) []pgtype.UUID {
	out := make([]pgtype.UUID, len(ids))
	for i, id := range ids {
		out[i] = pgtype.UUID{Bytes: id, Valid: true}
	}
	return out
}

func nullUUID(id ledger.TransferID) pgtype.UUID { return pgtype.UUID{Bytes: id, Valid: !id.IsZero()} }

func nullTime(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()} }

func scanTransfer(row pgx.CollectableRow) (*ledger.TransferRecord, error) {
	var (
		r                  ledger.TransferRecord
		id, pending        pgtype.UUID
		timeout            pgtype.Timestamptz
		flags, state, code int16
	)
	err := row.Scan(&id, &r.DebitAccountID, &r.CreditAccountID, &r.Amount, &r.Currency, &flags, &pending, &timeout,
		&state, &code, &r.EventID, &r.PaymentRef, &r.BusinessDay, &r.Reason, &r.CreatedAt)
	if err != nil {
		return nil, err
	}
	r.ID = id.Bytes
	if pending.Valid {
		r.PendingID = pending.Bytes
	}
	if timeout.Valid {
		r.TimeoutAt = timeout.Time
	}
	r.Flags, r.State, r.Code = ledger.TransferFlags(flags), ledger.TransferState(state), ledger.TransferCode(code)
	return &r, nil
}

func scanTransaction(row pgx.CollectableRow) (*ledger.Transaction, error) {
	var (
		t               ledger.Transaction
		kind, payeeKind int16
		expires         pgtype.Timestamptz
	)
	err := row.Scan(&t.ID, &kind, &t.OriginalID, &t.TargetID, &t.Currency, &t.Amount, &t.Fee, &t.ConvenienceFee,
		&payeeKind, &t.PayeeID, &t.Issuer, &t.PaymentRef, &t.RRN, &t.STAN, &t.Terminal, &t.MTI, &t.MaskedPAN,
		&t.ResponseCode, &t.ApprovalCode, &t.At, &t.BusinessDay, &expires, &t.Rejection, &t.AcquirerRRN)
	if err != nil {
		return nil, err
	}
	t.Kind, t.PayeeKind = ledger.EventKind(kind), ledger.PayeeKind(payeeKind)
	t.Exponent, _ = ledger.Exponent(t.Currency)
	if expires.Valid {
		at := expires.Time
		t.HoldExpiresAt = &at
	}
	return &t, nil
}

func (r reader) AccountsByID(ctx context.Context, ids []int64) ([]ledger.AccountInfo, error) {
	rows, err := r.q.Query(ctx, `SELECT id, name, currency, flags FROM ledger_accounts WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanAccountInfo)
	return out, mapErr(err)
}

func scanAccountInfo(row pgx.CollectableRow) (ledger.AccountInfo, error) {
	var a ledger.AccountInfo
	var flags int16
	err := row.Scan(&a.ID, &a.Key.Name, &a.Key.Currency, &flags)
	a.Flags = ledger.AccountFlags(flags)
	return a, err
}

// RefundsOf implements ledger.BatchTx (kind 4 is ledger.Refund).
func (r reader) RefundsOf(ctx context.Context, ids []string) ([]*ledger.Transaction, error) {
	rows, err := r.q.Query(ctx, `SELECT `+journalColumns+` FROM ledger_transactions
		WHERE original_id = ANY($1) AND original_id <> '' AND kind = 4 AND rejection = ''`, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanTransaction)
	return out, mapErr(err)
}

func (r reader) Transactions(ctx context.Context, ids []string) ([]*ledger.Transaction, error) {
	rows, err := r.q.Query(ctx, `SELECT `+journalColumns+` FROM ledger_transactions WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanTransaction)
	return out, mapErr(err)
}

func (r reader) Transfers(ctx context.Context, ids []ledger.TransferID, lock bool) ([]*ledger.TransferRecord, error) {
	q := `SELECT ` + transferColumns + ` FROM ledger_transfers WHERE id = ANY($1)`
	if lock {
		q += ` ORDER BY id FOR UPDATE`
	}
	rows, err := r.q.Query(ctx, q, uuids(ids))
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanTransfer)
	return out, mapErr(err)
}

func (r reader) Posts(ctx context.Context, pendingIDs []ledger.TransferID) ([]*ledger.TransferRecord, error) {
	// The predicates repeat the partial index's literally (6 = rejected): a parameter in their place
	// would keep a generic plan off the index.
	rows, err := r.q.Query(ctx, `SELECT `+transferColumns+` FROM ledger_transfers
		WHERE pending_id = ANY($1) AND pending_id IS NOT NULL AND state <> 6`, uuids(pendingIDs))
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanTransfer)
	return out, mapErr(err)
}

// batchTx is one ledger transaction on a connection of its own (BEGIN and COMMIT are sent as
// statements, so that BEGIN shares a round trip with the first queries).
type batchTx struct {
	reader
	conn    *pgxpool.Conn
	day     string
	done    bool
	pending *pgx.Batch // statements Write queued, sent with the COMMIT
}

func (b *batchTx) BusinessDay(context.Context) (string, error) { return b.day, nil }

func (b *batchTx) EnsureAccounts(ctx context.Context, keys []ledger.AccountKey) ([]ledger.AccountInfo, error) {
	keys = sortedKeys(keys) // insert in one order everywhere: two processes cannot deadlock on new accounts
	names, currencies, flags := make([]string, len(keys)), make([]string, len(keys)), make([]int16, len(keys))
	for i, k := range keys {
		names[i], currencies[i], flags[i] = k.Name, k.Currency, int16(ledger.FlagsFor(k.Name))
	}
	if _, err := b.conn.Exec(ctx, `INSERT INTO ledger_accounts (name, currency, flags)
		SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[]) ORDER BY 1, 2
		ON CONFLICT (name, currency) DO NOTHING`, names, currencies, flags); err != nil {
		return nil, mapErr(err)
	}
	rows, err := b.conn.Query(ctx, `SELECT a.id, a.name, a.currency, a.flags FROM ledger_accounts a
		JOIN unnest($1::text[], $2::text[]) AS k(name, currency) USING (name, currency)`, names, currencies)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanAccountInfo)
	if err == nil && len(out) != len(keys) {
		err = fmt.Errorf("ensure accounts: %d of %d found", len(out), len(keys))
	}
	return out, mapErr(err)
}

func (b *batchTx) DuePending(ctx context.Context, now time.Time, limit int) ([]*ledger.TransferRecord, error) {
	// state = 2 (pending) literally, as in the partial index ledger_transfers_due.
	rows, err := b.conn.Query(ctx, `SELECT `+transferColumns+` FROM ledger_transfers
		WHERE state = 2 AND timeout_at <= $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, now, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, scanTransfer)
	return out, mapErr(err)
}

func (b *batchTx) CloseBusinessDay(ctx context.Context, day, next string, at time.Time) error {
	tag, err := b.conn.Exec(ctx, `UPDATE ledger_business_days SET closed_at = $2 WHERE day = $1::date AND closed_at IS NULL`, day, at)
	if err != nil {
		return mapErr(err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("close business day %s: %w", day, ledger.ErrBusinessDayClosed)
	}
	_, err = b.conn.Exec(ctx, `INSERT INTO ledger_business_days (day, opened_at) VALUES ($1::date, $2)`, next, at)
	return mapErr(err)
}

// Commit sends what Write queued and COMMIT in one round trip. If any queued statement fails,
// the server skips the rest (COMMIT included) and the transaction is rolled back.
func (b *batchTx) Commit(ctx context.Context) error {
	q := b.queued()
	n := q.Len()
	q.Queue(`COMMIT`)
	br := b.conn.SendBatch(ctx, q)
	var err error
	for range n + 1 {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var pgErr *pgconn.PgError
		inDoubt := !errors.As(err, &pgErr)  // the server said no: nothing committed; else the COMMIT may have run
		_, _ = b.conn.Exec(ctx, `ROLLBACK`) // the transaction is aborted; end it before release
		b.release()
		if inDoubt {
			return fmt.Errorf("%w: %w", ledger.ErrCommitInDoubt, err)
		}
		return mapErr(err)
	}
	b.release()
	return nil
}

// Rollback ends the transaction; after Commit it does nothing.
func (b *batchTx) Rollback(ctx context.Context) error {
	if b.done {
		return nil
	}
	_, err := b.conn.Exec(ctx, `ROLLBACK`)
	b.release()
	return err
}

// release returns the connection to the pool; the pool closes a connection left inside a
// transaction (a COMMIT or ROLLBACK that failed on the wire).
func (b *batchTx) release() {
	b.done = true
	b.conn.Release()
}

var _ ledger.BatchTx = (*batchTx)(nil)
