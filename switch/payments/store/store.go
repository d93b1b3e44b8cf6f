// Package store keeps the payments API's state in the ledger's database: payments, their events
// and refunds, idempotency keys, API keys (hashed), webhook endpoints, the webhook outbox and the
// delivery log. PostgreSQL, or the embedded SQLite file the ledger uses by default; one SQL
// dialect for both (placeholders rewritten for PostgreSQL), with embedded migrations recorded in a
// version table of its own (payapi_schema_migrations), so that they never collide with the
// ledger's. Writes go through a group-commit Writer: many callers' writes in one transaction.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver
)

// Dialect tells the two databases apart where their SQL differs.
type Dialect uint8

const (
	SQLite Dialect = iota + 1
	Postgres
)

// Config selects the database.
type Config struct {
	// DatabaseURL selects PostgreSQL; empty means the SQLite file at Path.
	DatabaseURL string
	// Path is the SQLite file (the ledger's, by default: the API's tables live beside its own).
	Path string
	// BusyTimeout is how long a SQLite write waits for the other writer on the file (the ledger's).
	// Default 10s.
	BusyTimeout time.Duration
	// ReadConnsMax bounds the connections serving reads. Default 8.
	ReadConnsMax int
}

// Store is the API's database.
type Store struct {
	dialect Dialect
	write   *sql.DB // one connection on SQLite (one writer); a pool on PostgreSQL
	read    *sql.DB
	lanes   chan *lane // the group-commit writer's connections, each with its statements
	nlanes  int
	// clockWritten is the latest ClockSecond committed by this process (one update a second at
	// most: the row would otherwise serialize the lanes).
	clockWritten atomic.Int64
	reads        struct {
		sync.Mutex
		m map[string]*sql.Stmt // the hot reads, prepared once
	}
}

//go:embed migrations
var migrations embed.FS

// pgLanes is how many batches the writer commits at once on PostgreSQL (one on SQLite, which has
// one writer). Writes of one payment never share a moment (its caller waits for each), so
// batches in flight together touch different rows.
const pgLanes = 3

// ErrNotFound: no such row (or not the caller's).
var ErrNotFound = errors.New("not found")

// Open opens the database and applies pending migrations.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	if cfg.ReadConnsMax <= 0 {
		cfg.ReadConnsMax = 8
	}
	s := &Store{}
	s.reads.m = map[string]*sql.Stmt{}
	var err error
	if cfg.DatabaseURL != "" {
		s.dialect = Postgres
		if s.write, err = sql.Open("pgx", cfg.DatabaseURL); err != nil {
			return nil, fmt.Errorf("payments store: %w", err)
		}
		// The writer's lanes (batches committed side by side: PostgreSQL overlaps their commits)
		// and two connections for the rest.
		s.nlanes = pgLanes
		s.write.SetMaxOpenConns(pgLanes + 2)
		s.read = s.write
	} else {
		s.dialect = SQLite
		if cfg.Path == "" {
			return nil, errors.New("payments store: no database URL and no file")
		}
		if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o750); err != nil {
			return nil, fmt.Errorf("payments store: %w", err)
		}
		dsn := func(immediate bool) string {
			q := url.Values{}
			q.Set("_busy_timeout", strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10))
			q.Add("_pragma", "journal_mode(WAL)")
			q.Add("_pragma", "synchronous(FULL)") // every COMMIT is on the disk before a caller is answered
			if immediate {
				q.Set("_txlock", "immediate") // take the write lock at BEGIN: no upgrade deadlock with the ledger
			}
			return "file:" + cfg.Path + "?" + q.Encode()
		}
		if s.write, err = sql.Open("sqlite", dsn(true)); err != nil {
			return nil, fmt.Errorf("payments store: %w", err)
		}
		// The writer's own connection, and one for the rare writes outside it (keys, endpoints,
		// deliveries); SQLite serializes the two with the ledger's writer through its file lock.
		s.nlanes = 1
		s.write.SetMaxOpenConns(2)
		if s.read, err = sql.Open("sqlite", dsn(false)); err != nil {
			s.write.Close()
			return nil, fmt.Errorf("payments store: %w", err)
		}
		s.read.SetMaxOpenConns(cfg.ReadConnsMax)
		// Keep them all open: a new SQLite connection parses the whole schema first (database/sql
		// keeps 2 idle by default, so a busy pool opened and closed connections all the time).
		s.read.SetMaxIdleConns(cfg.ReadConnsMax)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.prepareWriter(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Dialect returns the database kind.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the database; call it after the Writer has stopped.
func (s *Store) Close() {
	s.reads.Lock()
	for _, st := range s.reads.m {
		st.Close()
	}
	s.reads.Unlock()
	for i := 0; s.lanes != nil && i < s.nlanes; i++ {
		l := <-s.lanes
		for _, st := range l.stmts {
			st.Close()
		}
		l.conn.Close()
	}
	s.write.Close()
	if s.read != s.write {
		s.read.Close()
	}
}

// migrate applies the embedded migrations not yet recorded in payapi_schema_migrations, each in a
// transaction of its own with its record.
func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/sqlite"
	if s.dialect == Postgres {
		dir = "migrations/postgres"
	}
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS payapi_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("payments store: migrations table: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("payments store: migration %s: no version number", name)
		}
		body, err := fs.ReadFile(migrations, dir+"/"+name)
		if err != nil {
			return err
		}
		if err := s.apply(ctx, v, name, string(body)); err != nil {
			return fmt.Errorf("payments store: migration %s: %w", name, err)
		}
	}
	return nil
}

func (s *Store) apply(ctx context.Context, version int, name, body string) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT count(*) FROM payapi_schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, stmt := range strings.Split(body, ";\n") {
		if strings.TrimSpace(stripComments(stmt)) == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO payapi_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
		version, name, time.Now().UnixMicro()); err != nil {
		return err
	}
	return tx.Commit()
}

func stripComments(stmt string) string {
	var b strings.Builder
	for _, line := range strings.Split(stmt, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
	}
	return b.String()
}

// q rewrites a statement's ? placeholders to PostgreSQL's $N (none of the statements has a ? in a
// literal).
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
