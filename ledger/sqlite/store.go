// Package sqlite is the ledger's embedded store: one SQLite file (modernc.org/sqlite, pure Go)
// under the data directory, in WAL mode with synchronous=FULL, for `cardswitch demo` and a
// zero-setup `serve`. It implements the same ledger.Store as ledger/postgres and passes the same
// test suite. SQLite has one writer at a time: every batch is a BEGIN IMMEDIATE transaction on
// the store's single write connection, which keeps its prepared statements and page cache from
// batch to batch; batches (and a second process on the same file) are serialized by the
// database itself.
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

	_ "modernc.org/sqlite" // the read connections' database/sql driver
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

// Connection settings (PRAGMAs), per connection unless said otherwise.
const (
	// writeCacheKiB is the write connection's page cache. Modest on purpose: the file is also
	// mapped (mmapSizeBytes), and SQLite walks the whole cache at the end of every transaction that
	// split an index page (balance_nonroot renumbers pages through a temporary number past the end
	// of the file; the cache then truncates above the file's size). At 64 MiB that walk cost 5 % of
	// the writer's time.
	writeCacheKiB = 8 << 10
	// readCacheKiB is each read connection's page cache (lookups and reports).
	readCacheKiB = 8 << 10
	// mmapSizeBytes maps the start of the file into memory for reads, saving a read(2) and a copy
	// per page not in the cache.
	mmapSizeBytes = 256 << 20
	// walAutocheckpointPages is the WAL size (in pages) past which a commit copies the WAL back
	// into the database file. The default (1000) made that happen every few batches; a larger WAL
	// writes each hot page (accounts, the right edge of the indexes) back once for many batches.
	walAutocheckpointPages = 10000
	// journalSizeLimitBytes truncates the WAL back to this size after a checkpoint, so that a
	// burst does not leave a large file behind.
	journalSizeLimitBytes = 64 << 20
)

// Store is the ledger in a SQLite file.
type Store struct {
	writer chan *writeConn // holds the one write connection while no batch has it
	read   *sql.DB
	path   string
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
	// Every connection's settings; each sets journal_mode=WAL, which is the file's (persistent).
	pragmas := func(cacheKiB int) []string {
		return []string{
			"journal_mode = WAL",
			"synchronous = FULL", // every COMMIT reaches the disk before a caller is answered
			fmt.Sprintf("cache_size = -%d", cacheKiB),
			fmt.Sprintf("mmap_size = %d", mmapSizeBytes),
			"temp_store = MEMORY", // sorts and statement journals stay off the disk
			fmt.Sprintf("wal_autocheckpoint = %d", walAutocheckpointPages),
			fmt.Sprintf("journal_size_limit = %d", journalSizeLimitBytes),
		}
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(cfg.BusyTimeoutMs))
	for _, p := range pragmas(readCacheKiB) {
		name, value, _ := strings.Cut(p, " = ")
		q.Add("_pragma", name+"("+value+")")
	}
	read, err := sql.Open("sqlite", "file:"+cfg.Path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("ledger sqlite: %w", err)
	}
	read.SetMaxOpenConns(cfg.ReadConnsMax)
	s := &Store{writer: make(chan *writeConn, 1), read: read, path: cfg.Path}
	s.writer <- newWriteConn(cfg.Path, cfg.BusyTimeoutMs, pragmas(writeCacheKiB))
	if _, err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database. Call it after the Writer has stopped: it waits for the batch in
// progress, if any.
func (s *Store) Close() {
	w := <-s.writer
	w.close()
	w.shut = true
	s.writer <- w // a batch begun after Close fails instead of waiting for the connection
	_ = s.read.Close()
}

// querier runs lookups: on the write connection within a batch, on the read pool otherwise.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (rowSource, error)
}

// rowSource is a query's result: *sql.Rows, or rows of the write connection.
type rowSource interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// readPool runs lookups on the read connections.
type readPool struct{ db *sql.DB }

func (r readPool) QueryContext(ctx context.Context, query string, args ...any) (rowSource, error) {
	return r.db.QueryContext(ctx, query, args...)
}

// acquire takes the write connection and begins a write transaction (BEGIN IMMEDIATE), which
// excludes every other writer of every process until release.
func (s *Store) acquire(ctx context.Context) (*writeConn, error) {
	var w *writeConn
	select {
	case w = <-s.writer:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := w.begin(ctx); err != nil {
		s.writer <- w
		return nil, mapErr(err)
	}
	return w, nil
}

// release gives the write connection back, its transaction ended.
func (s *Store) release(w *writeConn) { s.writer <- w }

// BeginBatch implements ledger.Backend: a BEGIN IMMEDIATE transaction, which excludes every other
// writer (a cutover included) until it ends.
func (s *Store) BeginBatch(ctx context.Context, _ bool) (ledger.BatchTx, error) {
	w, err := s.acquire(ctx)
	if err != nil {
		return nil, err
	}
	var day string
	if err := w.queryRow(ctx, openDayQuery, nil, &day); err != nil {
		w.rollback()
		s.release(w)
		return nil, fmt.Errorf("open business day: %w", mapErr(err))
	}
	return &batchTx{reader: reader{q: w}, w: w, s: s, day: day}, nil
}

const openDayQuery = `SELECT day FROM ledger_business_days WHERE closed_at IS NULL`

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
	var se interface {
		error
		Code() int // SQLite's extended result code: *Error, and the driver's *sqlite.Error
	}
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
