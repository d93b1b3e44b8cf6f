package audit

import (
	"context"
	"embed"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardswitch/cardswitch/ledger"
)

//go:embed migrations/postgres/*.sql
var pgMigrations embed.FS

// pgConnsMax bounds the audit log's own connections: entries are rare (operator actions).
const pgConnsMax = 2

// lockClassMigrate is the advisory lock class of the audit migrations ("audi"), with the
// schema's hash as the second key, like the ledger's.
const lockClassMigrate = 0x61756469

type pgStore struct{ pool *pgxpool.Pool }

func openPostgres(ctx context.Context, url string) (*pgStore, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("audit: database url: %w", err)
	}
	pc.MaxConns = pgConnsMax
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("audit: connect: %w", err)
	}
	s := &pgStore{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the audit migrations the database lacks, in one transaction under an advisory
// lock, recorded in audit_schema_migrations.
func (s *pgStore) migrate(ctx context.Context) error {
	ms, err := ledger.ReadMigrations(pgMigrations, "migrations/postgres")
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, lockClassMigrate); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS audit_schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM audit_schema_migrations`)
		if err != nil {
			return err
		}
		done, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		for _, m := range ms {
			if slices.Contains(done, int32(m.Version)) {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO audit_schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: migrate: %w", err)
	}
	return nil
}

func (s *pgStore) insert(ctx context.Context, e Entry) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO audit_log (at, actor, action, target, detail, result)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, e.At, e.Actor, e.Action, e.Target, e.Detail, e.Result).Scan(&id)
	return id, err
}

func (s *pgStore) list(ctx context.Context, f Filter) ([]Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, actor, action, target, detail, result FROM audit_log
		WHERE at >= $1 AND ($2 = '' OR action = $2) ORDER BY at DESC, id DESC LIMIT $3`, f.Since, f.Action, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Entry, error) {
		var e Entry
		err := r.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Result)
		e.At = e.At.UTC()
		return e, err
	})
}

func (s *pgStore) close() { s.pool.Close() }
