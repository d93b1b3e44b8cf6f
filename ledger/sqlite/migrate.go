package sqlite

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a version number and '_'", e.Name())
		}
		body, err := fs.ReadFile(migrationFiles, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms, nil
}

// Migrate applies the embedded migrations the file lacks, in one BEGIN IMMEDIATE transaction: a
// second process opening the file at the same time waits, then finds them applied.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	ms, err := migrations()
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
func migrate(ctx context.Context, w *writeConn, ms []migration) ([]int, error) {
	if err := w.script(`CREATE TABLE IF NOT EXISTS ledger_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		var n int
		if err := w.queryRow(ctx, `SELECT count(*) FROM ledger_schema_migrations WHERE version = ?`,
			[]any{m.version}, &n); err != nil {
			return nil, err
		}
		if n > 0 {
			continue
		}
		if err := w.script(m.sql); err != nil {
			return nil, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if _, err := w.ExecContext(ctx, `INSERT INTO ledger_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.version, m.name, time.Now().UnixNano()); err != nil {
			return nil, err
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}
