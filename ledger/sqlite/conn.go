package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
)

// stmtCacheMax bounds the statements a write connection keeps prepared by their text. The batch
// path uses a fixed set of about 15 (its lookups, account creation, cutover and settlement);
// anything beyond the bound is prepared and dropped on each use.
const stmtCacheMax = 64

// writeConn is the store's one write connection (SQLite has one writer). Holding it across
// batches keeps what SQLite compiled and cached: each statement is prepared once per connection,
// not once per batch, and its page cache stays warm. Transactions are plain BEGIN IMMEDIATE,
// COMMIT and ROLLBACK statements on it, so the prepared statements serve every batch.
type writeConn struct {
	db    *sql.DB   // the pool (of one connection) it comes from
	conn  *sql.Conn // nil until first use, and after the connection was found broken
	stmts map[string]*sql.Stmt
	rows  map[rowsKey]*sql.Stmt // the multi-row statements, by kind and size
}

type rowsKey struct {
	s    rowsStmt
	rows int
}

func newWriteConn(db *sql.DB) *writeConn {
	return &writeConn{db: db, stmts: map[string]*sql.Stmt{}, rows: map[rowsKey]*sql.Stmt{}}
}

// begin starts a write transaction, waiting (busy timeout) for another process's to end.
func (w *writeConn) begin(ctx context.Context) error {
	if w.conn == nil {
		c, err := w.db.Conn(ctx)
		if err != nil {
			return err
		}
		w.conn = c
	}
	_, err := w.ExecContext(ctx, `BEGIN IMMEDIATE`)
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) {
		w.discard()
	}
	return err
}

// commit commits the transaction; when that fails, nothing of it stays: it is rolled back.
func (w *writeConn) commit(ctx context.Context) error {
	if _, err := w.ExecContext(ctx, `COMMIT`); err != nil {
		w.rollback()
		return err
	}
	return nil
}

// rollback ends the transaction, if one is still open (a statement with ON CONFLICT ROLLBACK has
// already ended it when it failed). It runs even when the batch's context has ended. A connection
// that cannot roll back is discarded, so that the next batch starts clean on a new one.
func (w *writeConn) rollback() {
	if w.conn == nil {
		return
	}
	_, err := w.ExecContext(context.Background(), `ROLLBACK`)
	if err != nil && !strings.Contains(err.Error(), "no transaction is active") {
		w.discard()
	}
}

// discard closes the statements and the connection, telling the pool not to reuse it.
func (w *writeConn) discard() {
	if w.conn == nil {
		return
	}
	w.closeStmts()
	_ = w.conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = w.conn.Close()
	w.conn = nil
}

// close closes the statements and returns the connection to its pool.
func (w *writeConn) close() {
	w.closeStmts()
	if w.conn != nil {
		_ = w.conn.Close()
		w.conn = nil
	}
}

func (w *writeConn) closeStmts() {
	for q, s := range w.stmts {
		_ = s.Close()
		delete(w.stmts, q)
	}
	for k, s := range w.rows {
		_ = s.Close()
		delete(w.rows, k)
	}
}

// execRows runs the statement s for rows rows (its size: see chunk), preparing it on first use.
// The sizes are bounded by construction: at most 1+log2(rowsMaxPerStmt) per kind.
func (w *writeConn) execRows(ctx context.Context, s rowsStmt, rows int, args []any) (sql.Result, error) {
	if w.conn == nil {
		return nil, fmt.Errorf("ledger sqlite: no write connection: %w", sql.ErrConnDone)
	}
	k := rowsKey{s, rows}
	st, ok := w.rows[k]
	if !ok {
		var err error
		if st, err = w.conn.PrepareContext(ctx, s.sql(rows)); err != nil {
			return nil, err
		}
		w.rows[k] = st
	}
	return st.ExecContext(ctx, args...)
}

// stmt returns query prepared on the connection (nil when the cache is full).
func (w *writeConn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if w.conn == nil {
		return nil, fmt.Errorf("ledger sqlite: no write connection: %w", sql.ErrConnDone)
	}
	if s, ok := w.stmts[query]; ok {
		return s, nil
	}
	if len(w.stmts) >= stmtCacheMax {
		return nil, nil
	}
	s, err := w.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = s
	return s, nil
}

// ExecContext runs query with its prepared statement.
func (w *writeConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := w.stmt(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case s == nil:
		return w.conn.ExecContext(ctx, query, args...)
	}
	return s.ExecContext(ctx, args...)
}

// QueryContext runs query with its prepared statement.
func (w *writeConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := w.stmt(ctx, query)
	switch {
	case err != nil:
		return nil, err
	case s == nil:
		return w.conn.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs query with its prepared statement.
func (w *writeConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := w.stmt(ctx, query)
	if err != nil || s == nil {
		return w.conn.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}
