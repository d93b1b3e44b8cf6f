package sqlite

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate applies the embedded migrations the file lacks, in one BEGIN IMMEDIATE transaction: a
// second process opening the file at the same time waits, then finds them applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	ms, err := ledger.ReadMigrations(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	w, err := s.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate ledger schema: %w", err)
	}
	defer s.release(w)
	applied, err := migrate(ctx, w, ms)
	if err == nil {
		err = w.commit(ctx)
	} else {
		w.rollback()
	}
	if err != nil {
		return nil, fmt.Errorf("migrate ledger schema: %w", err)
	}
	return applied, nil
}

// migrate applies, inside w's transaction, the migrations the file lacks. Migrations run once:
// they do not go through the statement cache.
func migrate(ctx context.Context, w *writeConn, ms []ledger.Migration) ([]int, error) {
	if err := w.script(`CREATE TABLE IF NOT EXISTS ledger_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		var n int
		if err := w.queryRow(ctx, `SELECT count(*) FROM ledger_schema_migrations WHERE version = ?`,
			[]any{m.Version}, &n); err != nil {
			return nil, err
		}
		if n > 0 {
			continue
		}
		if err := w.script(m.SQL); err != nil {
			return nil, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := w.ExecContext(ctx, `INSERT INTO ledger_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixNano()); err != nil {
			return nil, err
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}
