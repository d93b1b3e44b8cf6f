// Package postgres is the ledger's PostgreSQL store (pgx): embedded schema migrations, the batch
// transactions the ledger.Writer runs (CopyFrom plus one set-based balance update per batch), and
// the lookups and reports. Several switch processes may share one database: balance updates are
// increments on rows locked in id order, pending transfers are locked before they are posted or
// voided, and uniqueness and balance limits are database constraints.
package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardswitch/cardswitch/ledger"
)

// Config configures a Store.
type Config struct {
	// URL is the PostgreSQL connection string, e.g.
	// postgres://postgres@127.0.0.1:5432/cardswitch?sslmode=disable. A search_path parameter in
	// the URL selects the schema.
	URL string
	// MaxConns bounds the pool: one connection for the writer, the rest for lookups and reports.
	// Default 8.
	MaxConns int32
}

// DefaultMaxConns is the pool size when Config.MaxConns is 0.
const DefaultMaxConns = 8

// Store is the ledger in PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects, applies pending migrations and returns the store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ledger database url: %w", err)
	}
	pc.MaxConns = cfg.MaxConns
	if pc.MaxConns <= 0 {
		pc.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("connect ledger database: %w", err)
	}
	s := &Store{pool: pool}
	if _, err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// BeginBatch implements ledger.Backend. BEGIN, the business-day lock (shared, or exclusive for a
// cutover) and the read of the open day go to the server in one round trip.
func (s *Store) BeginBatch(ctx context.Context, exclusive bool) (ledger.BatchTx, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, mapErr(err)
	}
	lock := `SELECT pg_advisory_xact_lock_shared($1, hashtext(current_schema()))`
	if exclusive {
		lock = `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`
	}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(lock, lockClassBusinessDay)
	// A statement of its own after the lock: its snapshot sees a cutover that committed meanwhile.
	b.Queue(`SELECT day::text FROM ledger_business_days WHERE closed_at IS NULL`)
	br := conn.SendBatch(ctx, b)
	var day string
	_, err = br.Exec()
	if err == nil {
		_, err = br.Exec()
	}
	if err == nil {
		err = br.QueryRow().Scan(&day)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	tx := &batchTx{reader: reader{q: conn}, conn: conn, day: day}
	if err != nil {
		_ = tx.Rollback(ctx)
		return nil, fmt.Errorf("begin ledger batch: %w", mapErr(err))
	}
	return tx, nil
}

// Constraint names the Writer reacts to (see the migration).
const (
	constraintDebits  = "ledger_accounts_debits_must_not_exceed_credits"
	constraintCredits = "ledger_accounts_credits_must_not_exceed_debits"
)

// mapErr turns PostgreSQL errors into the ledger's: constraint violations the Writer can
// isolate, and transient failures it may retry.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &ledger.ConstraintError{Kind: ledger.ConstraintUnique, Constraint: pgErr.ConstraintName, Err: err}
		case "23514": // check_violation
			switch pgErr.ConstraintName {
			case constraintDebits:
				return &ledger.ConstraintError{Kind: ledger.ConstraintDebitsMustNotExceedCredits, Constraint: pgErr.ConstraintName, Err: err}
			case constraintCredits:
				return &ledger.ConstraintError{Kind: ledger.ConstraintCreditsMustNotExceedDebits, Constraint: pgErr.ConstraintName, Err: err}
			}
		case "40P01", "40001", "55P03", "57P01": // deadlock, serialization, lock not available, admin shutdown
			return fmt.Errorf("%w: %w", ledger.ErrTransient, err)
		}
		return err
	}
	if pgconn.SafeToRetry(err) {
		return fmt.Errorf("%w: %w", ledger.ErrTransient, err)
	}
	return err
}

var _ ledger.Backend = (*Store)(nil)
var _ ledger.Store = (*Store)(nil)
