package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"unsafe"

	"modernc.org/libc"
	"modernc.org/libc/sys/types"
	sqlite3 "modernc.org/sqlite/lib"
)

// stmtCacheMax bounds the statements the write connection keeps prepared by their text. The batch
// path uses a fixed set of about 20 (transaction control, lookups, account creation, cutover and
// settlement); anything beyond the bound is prepared and finalized on each use.
const stmtCacheMax = 64

// writeConn is the store's one write connection (SQLite has one writer), driven through SQLite's C
// interface (modernc.org/sqlite/lib, the library the database/sql driver wraps) rather than
// database/sql. A batch binds thousands of values; through the driver each one cost a C copy, a
// lock and an unbind, and each call a goroutine and database/sql's bookkeeping, together more than
// SQLite's own work. Here the connection has no mutex of its own (SQLITE_OPEN_NOMUTEX: the store
// hands it to one batch at a time), the values of a statement are copied at once into one C buffer
// that SQLite reads in place, and every statement is prepared once and kept. Holding one
// connection across batches also keeps its page cache warm.
//
// Transactions are plain BEGIN IMMEDIATE, COMMIT and ROLLBACK statements. A statement, once
// started, runs to its end: the batch's context is checked before each one (each is bounded, at
// most rowsMaxPerStmt rows), and waiting for another process's lock is bounded by the busy
// timeout. Not safe for concurrent use.
type writeConn struct {
	path          string
	busyTimeoutMs int
	pragmas       []string
	shut          bool // the store is closed: open refuses

	tls   *libc.TLS
	db    uintptr // sqlite3*, 0 until opened and after close
	out   uintptr // 8 bytes of C memory for the out-parameters of open and prepare
	stmts map[string]*stmt
	rows  map[rowsKey]*stmt // the multi-row statements, by kind and size
	arena arena

	// values holds the arguments of a multi-row statement while the batch builds them, kept from
	// batch to batch (at most rowsMaxPerStmt rows of the widest statement).
	values []any
}

// stmt is a prepared statement.
type stmt struct {
	p      uintptr // sqlite3_stmt*
	params int
	cached bool // kept by the connection; otherwise finalized after one use
	busy   bool // rows are being read from it
}

// errStoreClosed answers a batch begun after Close.
var errStoreClosed = errors.New("ledger sqlite: store closed")

type rowsKey struct {
	s    rowsStmt
	rows int
}

// Error is a failed SQLite call on the write connection: its extended result code and message.
type Error struct {
	code int
	msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("sqlite: %s (%d)", e.msg, e.code) }

// Code returns SQLite's extended result code (modernc.org/sqlite/lib's SQLITE_* constants).
func (e *Error) Code() int { return e.code }

func newWriteConn(path string, busyTimeoutMs int, pragmas []string) *writeConn {
	return &writeConn{path: path, busyTimeoutMs: busyTimeoutMs, pragmas: pragmas,
		stmts: map[string]*stmt{}, rows: map[rowsKey]*stmt{}}
}

// open opens the database file unless the connection is open.
func (w *writeConn) open() error {
	if w.db != 0 {
		return nil
	}
	if w.shut {
		return errStoreClosed
	}
	w.tls = libc.NewTLS()
	w.out = libc.Xmalloc(w.tls, 8)
	name, err := libc.CString(w.path)
	if err == nil && w.out == 0 {
		err = errors.New("ledger sqlite: out of memory")
	}
	if err != nil {
		w.close()
		return err
	}
	defer libc.Xfree(w.tls, name)
	rc := sqlite3.Xsqlite3_open_v2(w.tls, name, w.out,
		sqlite3.SQLITE_OPEN_READWRITE|sqlite3.SQLITE_OPEN_CREATE|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	w.db = w.pointerOut()
	if rc != sqlite3.SQLITE_OK {
		err := w.error(rc)
		w.close()
		return fmt.Errorf("open %s: %w", w.path, err)
	}
	sqlite3.Xsqlite3_extended_result_codes(w.tls, w.db, 1)
	sqlite3.Xsqlite3_busy_timeout(w.tls, w.db, int32(w.busyTimeoutMs))
	for _, p := range w.pragmas {
		if err := w.script("PRAGMA " + p); err != nil {
			w.close()
			return fmt.Errorf("open %s: PRAGMA %s: %w", w.path, p, err)
		}
	}
	return nil
}

// close finalizes the statements and closes the connection; open may reopen it.
func (w *writeConn) close() {
	for q, s := range w.stmts {
		sqlite3.Xsqlite3_finalize(w.tls, s.p)
		delete(w.stmts, q)
	}
	for k, s := range w.rows {
		sqlite3.Xsqlite3_finalize(w.tls, s.p)
		delete(w.rows, k)
	}
	if w.db != 0 {
		sqlite3.Xsqlite3_close_v2(w.tls, w.db)
		w.db = 0
	}
	w.arena.free(w.tls)
	if w.out != 0 {
		libc.Xfree(w.tls, w.out)
		w.out = 0
	}
	if w.tls != nil {
		w.tls.Close()
		w.tls = nil
	}
}

// pointerOut reads the pointer SQLite wrote at w.out.
func (w *writeConn) pointerOut() uintptr {
	b := libc.GoBytes(w.out, int(unsafe.Sizeof(uintptr(0))))
	if len(b) == 8 {
		return uintptr(binary.NativeEndian.Uint64(b))
	}
	return uintptr(binary.NativeEndian.Uint32(b))
}

// error returns the connection's last error, for the result code rc.
func (w *writeConn) error(rc int32) error {
	if w.db == 0 {
		return &Error{code: int(rc), msg: libc.GoString(sqlite3.Xsqlite3_errstr(w.tls, rc))}
	}
	return &Error{code: int(sqlite3.Xsqlite3_extended_errcode(w.tls, w.db)),
		msg: libc.GoString(sqlite3.Xsqlite3_errmsg(w.tls, w.db))}
}

// script runs one or more statements without arguments (PRAGMAs, migrations).
func (w *writeConn) script(sqlText string) error {
	z, err := libc.CString(sqlText)
	if err != nil {
		return err
	}
	defer libc.Xfree(w.tls, z)
	if rc := sqlite3.Xsqlite3_exec(w.tls, w.db, z, 0, 0, 0); rc != sqlite3.SQLITE_OK {
		return w.error(rc)
	}
	return nil
}

// begin starts a write transaction, waiting (busy timeout) for another process's to end.
func (w *writeConn) begin(ctx context.Context) error {
	if err := w.open(); err != nil {
		return err
	}
	_, err := w.ExecContext(ctx, `BEGIN IMMEDIATE`)
	return err
}

// inTransaction reports whether a transaction is open (a failed statement with ON CONFLICT
// ROLLBACK, an interrupt or an I/O error can end one).
func (w *writeConn) inTransaction() bool {
	return w.db != 0 && sqlite3.Xsqlite3_get_autocommit(w.tls, w.db) == 0
}

// commit commits the transaction; when that fails, nothing of it stays: it is rolled back.
func (w *writeConn) commit(ctx context.Context) error {
	if _, err := w.ExecContext(ctx, `COMMIT`); err != nil {
		w.rollback()
		return err
	}
	return nil
}

// rollback ends the transaction if one is open, even when the batch's context has ended. A
// connection that cannot roll back is closed, so that the next batch starts on a new one.
func (w *writeConn) rollback() {
	if !w.inTransaction() {
		return
	}
	if _, err := w.ExecContext(context.Background(), `ROLLBACK`); err != nil || w.inTransaction() {
		w.close()
	}
}

// prepare returns query prepared, from the cache when it is there.
func (w *writeConn) prepare(query string) (*stmt, error) {
	if w.db == 0 {
		return nil, fmt.Errorf("ledger sqlite: write connection: %w", sql.ErrConnDone)
	}
	if s, ok := w.stmts[query]; ok && !s.busy {
		return s, nil
	}
	cache := len(w.stmts) < stmtCacheMax && w.stmts[query] == nil
	s, err := w.compile(query, cache)
	if err == nil && cache {
		w.stmts[query] = s
	}
	return s, err
}

// compile prepares one statement; a persistent one when the connection keeps it.
func (w *writeConn) compile(query string, keep bool) (*stmt, error) {
	z, err := libc.CString(query)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(w.tls, z)
	var flags uint32
	if keep {
		flags = sqlite3.SQLITE_PREPARE_PERSISTENT
	}
	if rc := sqlite3.Xsqlite3_prepare_v3(w.tls, w.db, z, -1, flags, w.out, 0); rc != sqlite3.SQLITE_OK {
		return nil, w.error(rc)
	}
	p := w.pointerOut()
	if p == 0 {
		return nil, fmt.Errorf("ledger sqlite: no statement in %.40q", query)
	}
	return &stmt{p: p, params: int(sqlite3.Xsqlite3_bind_parameter_count(w.tls, p)), cached: keep}, nil
}

// release is the end of a use of s: reset (its values unbound) or, if not kept, finalized.
func (w *writeConn) release(s *stmt) {
	s.busy = false
	if !s.cached {
		sqlite3.Xsqlite3_finalize(w.tls, s.p)
		return
	}
	sqlite3.Xsqlite3_reset(w.tls, s.p)
}

// bind binds args to s's parameters, in order: int64, int, string, []byte, or nil (NULL). Text and
// blobs are copied into the connection's arena, which SQLite reads in place (SQLITE_STATIC) until
// the statement is reset; transient copies them itself, for statements whose rows outlive the call.
func (w *writeConn) bind(s *stmt, args []any, transient bool) error {
	if len(args) != s.params {
		return fmt.Errorf("ledger sqlite: %d arguments for %d parameters", len(args), s.params)
	}
	size := 0
	for _, a := range args {
		switch v := a.(type) {
		case string:
			size += len(v) + 1
		case []byte:
			size += len(v) + 1
		}
	}
	base, buf, err := w.arena.reserve(w.tls, size)
	if err != nil {
		return err
	}
	destructor := sqlite3.SQLITE_STATIC
	if transient {
		destructor = sqlite3.SQLITE_TRANSIENT
	}
	off := 0
	for i, a := range args {
		n := int32(i + 1)
		var rc int32
		switch v := a.(type) {
		case nil:
			rc = sqlite3.Xsqlite3_bind_null(w.tls, s.p, n)
		case int64:
			rc = sqlite3.Xsqlite3_bind_int64(w.tls, s.p, n, v)
		case int:
			rc = sqlite3.Xsqlite3_bind_int64(w.tls, s.p, n, int64(v))
		case string:
			copy(buf[off:], v)
			rc = sqlite3.Xsqlite3_bind_text(w.tls, s.p, n, base+uintptr(off), int32(len(v)), destructor)
			off += len(v) + 1
		case []byte:
			if v == nil {
				rc = sqlite3.Xsqlite3_bind_null(w.tls, s.p, n)
				break
			}
			copy(buf[off:], v)
			rc = sqlite3.Xsqlite3_bind_blob(w.tls, s.p, n, base+uintptr(off), int32(len(v)), destructor)
			off += len(v) + 1
		default:
			return fmt.Errorf("ledger sqlite: argument %d: unsupported type %T", i+1, a)
		}
		if rc != sqlite3.SQLITE_OK {
			return w.error(rc)
		}
	}
	return nil
}

// exec binds args to s, runs it to completion and returns how many rows it changed.
func (w *writeConn) exec(ctx context.Context, s *stmt, args []any) (int64, error) {
	defer w.release(s)
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := w.bind(s, args, false); err != nil {
		return 0, err
	}
	for {
		switch rc := sqlite3.Xsqlite3_step(w.tls, s.p); rc {
		case sqlite3.SQLITE_ROW: // a PRAGMA's answer, say: not wanted
		case sqlite3.SQLITE_DONE:
			return sqlite3.Xsqlite3_changes64(w.tls, w.db), nil
		default:
			return 0, w.error(rc)
		}
	}
}

// ExecContext runs query with args and returns how many rows it changed.
func (w *writeConn) ExecContext(ctx context.Context, query string, args ...any) (int64, error) {
	s, err := w.prepare(query)
	if err != nil {
		return 0, err
	}
	return w.exec(ctx, s, args)
}

// execRows runs the multi-row statement s for rows rows (one of its sizes: see chunk), preparing
// it on first use; the sizes are bounded by construction: at most 1+log2(rowsMaxPerStmt) per kind.
func (w *writeConn) execRows(ctx context.Context, s rowsStmt, rows int, args []any) (int64, error) {
	if w.db == 0 {
		return 0, fmt.Errorf("ledger sqlite: write connection: %w", sql.ErrConnDone)
	}
	k := rowsKey{s, rows}
	st, ok := w.rows[k]
	if !ok {
		var err error
		if st, err = w.compile(s.sql(rows), true); err != nil {
			return 0, err
		}
		w.rows[k] = st
	}
	return w.exec(ctx, st, args)
}

// QueryContext runs query with args; the caller reads the rows and closes them.
func (w *writeConn) QueryContext(ctx context.Context, query string, args ...any) (rowSource, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := w.prepare(query)
	if err != nil {
		return nil, err
	}
	if err := w.bind(s, args, true); err != nil {
		w.release(s)
		return nil, err
	}
	s.busy = true
	return &rows{w: w, s: s}, nil
}

// queryRow runs query with args and scans its first row into dest; sql.ErrNoRows if it has none.
func (w *writeConn) queryRow(ctx context.Context, query string, args []any, dest ...any) error {
	r, err := w.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer r.Close()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	return r.Scan(dest...)
}

// rows reads the result of a query on the write connection.
type rows struct {
	w    *writeConn
	s    *stmt
	err  error
	done bool
}

// Next steps to the next row.
func (r *rows) Next() bool {
	if r.done {
		return false
	}
	switch rc := sqlite3.Xsqlite3_step(r.w.tls, r.s.p); rc {
	case sqlite3.SQLITE_ROW:
		return true
	case sqlite3.SQLITE_DONE:
	default:
		r.err = r.w.error(rc)
	}
	r.Close()
	return false
}

// Scan copies the current row's columns into dest: *int64, *int, *string, *[]byte (nil for NULL)
// or *sql.NullInt64.
func (r *rows) Scan(dest ...any) error {
	tls, p := r.w.tls, r.s.p
	if n := int(sqlite3.Xsqlite3_column_count(tls, p)); n != len(dest) {
		return fmt.Errorf("ledger sqlite: %d destinations for %d columns", len(dest), n)
	}
	for i, d := range dest {
		col := int32(i)
		null := sqlite3.Xsqlite3_column_type(tls, p, col) == sqlite3.SQLITE_NULL
		switch d := d.(type) {
		case *int64:
			*d = sqlite3.Xsqlite3_column_int64(tls, p, col)
		case *int:
			*d = int(sqlite3.Xsqlite3_column_int64(tls, p, col))
		case *sql.NullInt64:
			d.Int64, d.Valid = sqlite3.Xsqlite3_column_int64(tls, p, col), !null
		case *string:
			text := sqlite3.Xsqlite3_column_text(tls, p, col)
			*d = string(libc.GoBytes(text, int(sqlite3.Xsqlite3_column_bytes(tls, p, col))))
		case *[]byte:
			if null {
				*d = nil
				continue
			}
			blob := sqlite3.Xsqlite3_column_blob(tls, p, col)
			*d = append([]byte{}, libc.GoBytes(blob, int(sqlite3.Xsqlite3_column_bytes(tls, p, col)))...)
		default:
			return fmt.Errorf("ledger sqlite: column %d: unsupported destination %T", i, d)
		}
	}
	return nil
}

// Err returns the error that ended the rows, if any.
func (r *rows) Err() error { return r.err }

// Close releases the statement; it is safe to call more than once.
func (r *rows) Close() error {
	if !r.done {
		r.done = true
		r.w.release(r.s)
	}
	return nil
}

// arena is C memory for the text and blob values of the statement being run, grown as needed.
type arena struct {
	p    uintptr
	size int
}

// reserve returns at least n bytes of the arena: their address and a Go view of them.
func (a *arena) reserve(tls *libc.TLS, n int) (uintptr, []byte, error) {
	if n > a.size {
		a.free(tls)
		size := max(n, 64<<10)
		if a.p = libc.Xmalloc(tls, types.Size_t(size)); a.p == 0 {
			return 0, nil, fmt.Errorf("ledger sqlite: cannot allocate %d bytes", size)
		}
		a.size = size
	}
	if a.p == 0 {
		return 0, nil, nil
	}
	return a.p, libc.GoBytes(a.p, a.size), nil
}

func (a *arena) free(tls *libc.TLS) {
	if a.p != 0 {
		libc.Xfree(tls, a.p)
		a.p, a.size = 0, 0
	}
}
