package postgres

import (
	"context"
	"embed"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/cardswitch/cardswitch/ledger"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Advisory lock class ids (the second key is the schema's hash, so that stores in different
// schemas of one database never wait for each other).
const (
	lockClassMigrate     = 0x6c656467 // "ledg"
	lockClassBusinessDay = 0x64617973 // "days"
)

// Migrate applies the embedded migrations that the database lacks, in one transaction under an
// advisory lock: two processes starting at once apply them once. It returns the versions applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	ms, err := ledger.ReadMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var applied []int
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, lockClassMigrate); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS ledger_schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM ledger_schema_migrations`)
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
			if _, err := tx.Exec(ctx, `INSERT INTO ledger_schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return err
			}
			applied = append(applied, m.Version)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("migrate ledger schema: %w", err)
	}
	return applied, nil
}
