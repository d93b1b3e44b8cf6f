package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cardswitch/cardswitch/ledger"
)

func openTestConn(t *testing.T) *writeConn {
	t.Helper()
	w := newWriteConn(filepath.Join(t.TempDir(), "conn.db"), DefaultBusyTimeoutMs, []string{"journal_mode = WAL"})
	if err := w.open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	if err := w.script(`CREATE TABLE v (i INTEGER, t TEXT, b BLOB, n INTEGER, CHECK (i >= 0));
		CREATE UNIQUE INDEX v_t ON v (t)`); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestWriteConnValues: what the write connection binds is what it reads back, type by type,
// including the values a C interface gets wrong most easily (empty, NUL bytes, NULL).
func TestWriteConnValues(t *testing.T) {
	w := openTestConn(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		i    any
		t    string
		b    []byte
		n    any
	}{
		{"plain", int64(42), "MERCHANT0000001", []byte{0, 1, 2, 254, 255}, int64(-1)},
		{"int and NULL", 7, "", nil, nil},
		{"empty blob", int64(0), "ünïcødé €", []byte{}, int64(1 << 62)},
		{"NUL inside text", int64(1), "a\x00b", make([]byte, 16), int64(0)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := w.ExecContext(ctx, `DELETE FROM v`); err != nil {
				t.Fatal(err)
			}
			n, err := w.ExecContext(ctx, `INSERT INTO v (i, t, b, n) VALUES (?, ?, ?, ?)`, c.i, c.t, c.b, c.n)
			if err != nil || n != 1 {
				t.Fatalf("insert: %d rows, %v", n, err)
			}
			var (
				i   int64
				txt string
				b   []byte
				nn  sql.NullInt64
				typ string
			)
			if err := w.queryRow(ctx, `SELECT i, t, b, n, typeof(b) FROM v`, nil, &i, &txt, &b, &nn, &typ); err != nil {
				t.Fatal(err)
			}
			wantI := fmt.Sprint(c.i)
			if fmt.Sprint(i) != wantI || txt != c.t || string(b) != string(c.b) || (b == nil) != (c.b == nil) {
				t.Errorf("read back (%d, %q, %v): want (%s, %q, %v)", i, txt, b, wantI, c.t, c.b)
			}
			if nn.Valid != (c.n != nil) || (c.n != nil && nn.Int64 != c.n.(int64)) {
				t.Errorf("nullable column: %+v, want %v", nn, c.n)
			}
			if wantType := map[bool]string{true: "null", false: "blob"}[c.b == nil]; typ != wantType {
				t.Errorf("typeof(b) = %s, want %s", typ, wantType)
			}
		})
	}
}

// TestWriteConnErrors: failures carry SQLite's code and end what they must, and the connection
// goes on working.
func TestWriteConnErrors(t *testing.T) {
	w := openTestConn(t)
	ctx := context.Background()
	code := func(err error) int {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %v (%T) is not a *Error", err, err)
		}
		return e.Code()
	}

	if _, err := w.ExecContext(ctx, `INSERT INTO v (i, t) VALUES (?, ?)`, 1); err == nil {
		t.Error("one argument for two parameters: no error")
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO v (i, t) VALUES (?, ?)`, 1, 2.5); err == nil {
		t.Error("a float argument: no error")
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO nowhere VALUES (1)`); err == nil || code(err) != sqlite3.SQLITE_ERROR {
		t.Errorf("unknown table: %v", err)
	}

	// A constraint violated by an ON CONFLICT ROLLBACK statement ends the transaction: nothing of
	// it stays, and rollback has nothing left to do.
	if err := w.begin(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO v (i, t) VALUES (?, ?)`, 1, "kept?"); err != nil {
		t.Fatal(err)
	}
	_, err := w.ExecContext(ctx, `INSERT OR ROLLBACK INTO v (i, t) VALUES (?, ?), (?, ?)`, 2, "x", -1, "y")
	if code(err) != sqlite3.SQLITE_CONSTRAINT_CHECK {
		t.Errorf("CHECK violation: %v", err)
	}
	var ce *ledger.ConstraintError
	if mapped := mapErr(err); errors.As(mapped, &ce) {
		t.Errorf("a CHECK of no ledger constraint maps to %v, want the SQLite error as it is", mapped)
	}
	if w.inTransaction() {
		t.Error("transaction still open after ON CONFLICT ROLLBACK")
	}
	w.rollback()
	var n int
	if err := w.queryRow(ctx, `SELECT count(*) FROM v`, nil, &n); err != nil || n != 0 {
		t.Errorf("rows after the rolled back transaction: %d, %v", n, err)
	}

	// A unique violation inside a transaction, then commit of the rest after a rollback.
	if err := w.begin(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO v (i, t) VALUES (1, 'a'), (2, 'a')`); err == nil ||
		code(err) != sqlite3.SQLITE_CONSTRAINT_UNIQUE {
		t.Errorf("unique violation: %v", err)
	}
	w.rollback()
	if w.inTransaction() {
		t.Fatal("rollback left the transaction open")
	}
	if err := w.begin(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.ExecContext(ctx, `INSERT INTO v (i, t) VALUES (1, 'a')`); err != nil {
		t.Fatal(err)
	}
	if err := w.commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.queryRow(ctx, `SELECT count(*) FROM v`, nil, &n); err != nil || n != 1 {
		t.Errorf("rows after commit: %d, %v", n, err)
	}
	if err := w.queryRow(ctx, `SELECT i FROM v WHERE t = 'none'`, nil, &n); !errors.Is(err, sql.ErrNoRows) {
		t.Errorf("no row: %v, want sql.ErrNoRows", err)
	}

	// An ended context runs nothing.
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := w.ExecContext(ended, `DELETE FROM v`); !errors.Is(err, context.Canceled) {
		t.Errorf("exec with an ended context: %v", err)
	}
	if err := w.queryRow(ctx, `SELECT count(*) FROM v`, nil, &n); err != nil || n != 1 {
		t.Errorf("rows after the refused delete: %d, %v", n, err)
	}
}

// TestWriteConnStatements: statements beyond the cache's bound, a query run again while its rows
// are open, and a connection closed and opened again all give the right answers.
func TestWriteConnStatements(t *testing.T) {
	w := openTestConn(t)
	ctx := context.Background()
	for i := range stmtCacheMax + 10 {
		// Each text is a statement of its own.
		if _, err := w.ExecContext(ctx, fmt.Sprintf(`INSERT INTO v (i, t) VALUES (?, 'row %d')`, i), i); err != nil {
			t.Fatal(err)
		}
	}
	if len(w.stmts) > stmtCacheMax {
		t.Errorf("%d statements kept, bound %d", len(w.stmts), stmtCacheMax)
	}
	const q = `SELECT i FROM v WHERE i < ? ORDER BY i`
	outer, err := w.QueryContext(ctx, q, 3)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for outer.Next() {
		var i int
		if err := outer.Scan(&i); err != nil {
			t.Fatal(err)
		}
		var inner int
		if err := w.queryRow(ctx, q, []any{2}, &inner); err != nil {
			t.Fatal(err)
		}
		got = append(got, i*10+inner)
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 10 20]" {
		t.Errorf("nested queries: %v, want [0 10 20]", got)
	}

	w.close()
	if _, err := w.ExecContext(ctx, `DELETE FROM v`); err == nil {
		t.Error("exec on a closed connection: no error")
	}
	if err := w.open(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := w.queryRow(ctx, `SELECT count(*) FROM v`, nil, &n); err != nil || n != stmtCacheMax+10 {
		t.Errorf("rows after reopening: %d, %v", n, err)
	}
}

// TestStoreClosed: a batch begun after Close is refused at once.
func TestStoreClosed(t *testing.T) {
	s, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := s.BeginBatch(context.Background(), false); !errors.Is(err, errStoreClosed) {
		t.Errorf("BeginBatch after Close: %v, want %v", err, errStoreClosed)
	}
	s.Close() // twice is harmless
}
