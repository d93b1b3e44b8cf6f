package audit

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/cardswitch/cardswitch/ledger"
)

//go:embed migrations/sqlite/*.sql
var sqliteMigrations embed.FS

// sqliteBusyTimeoutMs is how long an audit write waits for the ledger writer's lock on the shared
// file (a ledger batch holds it for about a millisecond).
const sqliteBusyTimeoutMs = 10000

type sqliteStore struct{ db *sql.DB }

func openSQLite(ctx context.Context, path string) (*sqliteStore, error) {
	if path == "" {
		return nil, errors.New("audit: no database URL and no embedded store path")
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(sqliteBusyTimeoutMs))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	db.SetMaxOpenConns(1) // entries are rare; one connection serializes them
	s := &sqliteStore{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the audit migrations the file lacks in one BEGIN IMMEDIATE transaction (a
// second process waits, then finds them applied), recorded in audit_schema_migrations.
func (s *sqliteStore) migrate(ctx context.Context) (err error) {
	ms, err := ledger.ReadMigrations(sqliteMigrations, "migrations/sqlite")
	if err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("audit: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("audit: migrate: %w", err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
			err = fmt.Errorf("audit: migrate: %w", err)
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS audit_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		return err
	}
	for _, m := range ms {
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM audit_schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO audit_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixNano()); err != nil {
			return err
		}
	}
	_, err = conn.ExecContext(ctx, "COMMIT")
	return err
}

func (s *sqliteStore) insert(ctx context.Context, e Entry) (int64, error) {
	res, err := s.db.ExecContext(ctx, `INSERT INTO audit_log (at, actor, action, target, detail, result) VALUES (?, ?, ?, ?, ?, ?)`,
		e.At.UnixNano(), e.Actor, e.Action, e.Target, e.Detail, e.Result)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func (s *sqliteStore) list(ctx context.Context, f Filter) ([]Entry, error) {
	since := int64(0)
	if !f.Since.IsZero() {
		since = f.Since.UnixNano()
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, action, target, detail, result FROM audit_log
		WHERE at >= ? AND (? = '' OR action = ?) ORDER BY at DESC, id DESC LIMIT ?`, since, f.Action, f.Action, f.Limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Result); err != nil {
			return nil, err
		}
		e.At = time.Unix(0, at).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

func (s *sqliteStore) close() { s.db.Close() }
