// Package sqlite is the ledger's embedded store: one SQLite file (modernc.org/sqlite, pure Go)
// under the data directory, in WAL mode with synchronous=FULL, for `cardswitch demo` and a
// zero-setup `serve`. It implements the same ledger.Store as ledger/postgres and passes the same
// test suite. SQLite has one writer at a time: every batch is a BEGIN IMMEDIATE transaction on
// the store's single write connection, so batches (and a second process on the same file) are
// serialized by the database itself.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/cardswitch/cardswitch/ledger"
)

// Config configures a Store.
type Config struct {
	// Path is the database file, created if missing (its directory too).
	Path string
	// ReadConnsMax bounds the connections serving lookups and reports beside the one writer.
	// Default 4.
	ReadConnsMax int
	// BusyTimeoutMs is how long a statement waits for another process's write lock before it fails
	// with a transient error (the Writer then retries). Default 10000.
	BusyTimeoutMs int
}

// Defaults of Config.
const (
	DefaultReadConnsMax  = 4
	DefaultBusyTimeoutMs = 10000
)

// Store is the ledger in a SQLite file.
type Store struct {
	write *sql.DB // one connection: SQLite has one writer
	read  *sql.DB
	path  string
}

// Open opens (creating if needed) the database file and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("ledger sqlite: path is empty")
	}
	if cfg.ReadConnsMax <= 0 {
		cfg.ReadConnsMax = DefaultReadConnsMax
	}
	if cfg.BusyTimeoutMs <= 0 {
		cfg.BusyTimeoutMs = DefaultBusyTimeoutMs
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
		return nil, fmt.Errorf("ledger sqlite: %w", err)
	}
	dsn := func(txlock string) string {
		q := url.Values{}
		q.Set("_busy_timeout", fmt.Sprint(cfg.BusyTimeoutMs))
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "FULL") // every COMMIT reaches the disk before a caller is answered
		q.Set("_txlock", txlock)
		return "file:" + cfg.Path + "?" + q.Encode()
	}
	write, err := sql.Open("sqlite", dsn("immediate"))
	if err != nil {
		return nil, fmt.Errorf("ledger sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn("deferred"))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("ledger sqlite: %w", err)
	}
	read.SetMaxOpenConns(cfg.ReadConnsMax)
	s := &Store{write: write, read: read, path: cfg.Path}
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() {
	_ = s.read.Close()
	_ = s.write.Close()
}

// querier is what both a database and a transaction offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// BeginBatch implements ledger.Backend: a BEGIN IMMEDIATE transaction, which excludes every other
// writer (a cutover included) until it ends.
func (s *Store) BeginBatch(ctx context.Context, _ bool) (ledger.BatchTx, error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	var day string
	if err := tx.QueryRowContext(ctx, `SELECT day FROM ledger_business_days WHERE closed_at IS NULL`).Scan(&day); err != nil {
		_ = tx.Rollback()
		return nil, fmt.Errorf("open business day: %w", mapErr(err))
	}
	return &batchTx{reader: reader{q: tx}, tx: tx, day: day}, nil
}

// Constraint names the Writer reacts to (see the migration).
const (
	constraintDebits  = "ledger_accounts_debits_must_not_exceed_credits"
	constraintCredits = "ledger_accounts_credits_must_not_exceed_debits"
)

// mapErr turns SQLite errors into the ledger's: constraint violations the Writer can isolate,
// and a busy database it may retry.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return &ledger.ConstraintError{Kind: ledger.ConstraintUnique, Constraint: "unique", Err: err}
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		msg := se.Error()
		switch {
		case strings.Contains(msg, constraintDebits):
			return &ledger.ConstraintError{Kind: ledger.ConstraintDebitsMustNotExceedCredits, Constraint: constraintDebits, Err: err}
		case strings.Contains(msg, constraintCredits):
			return &ledger.ConstraintError{Kind: ledger.ConstraintCreditsMustNotExceedDebits, Constraint: constraintCredits, Err: err}
		}
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_BUSY_SNAPSHOT:
		return fmt.Errorf("%w: %w", ledger.ErrTransient, err)
	}
	return err
}

var (
	_ ledger.Backend = (*Store)(nil)
	_ ledger.Store   = (*Store)(nil)
)
