package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/postgres"
	"github.com/cardswitch/cardswitch/ledger/sqlite"
)

// ledgerStore is what the switch and the ledger commands need of a store.
type ledgerStore interface {
	ledger.Store
	Describe() string
}

// openLedger opens PostgreSQL when a database URL is set, the embedded store under the data
// directory otherwise; migrations are applied either way.
func openLedger(ctx context.Context, c config.Ledger, log *zap.Logger) (ledgerStore, error) {
	if c.DatabaseURL != "" {
		s, err := postgres.Open(ctx, postgres.Config{URL: c.DatabaseURL})
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		return pgStore{s}, nil
	}
	if err := os.MkdirAll(c.DataDir, 0o750); err != nil {
		return nil, usagef("ledger.data_dir: %v", err)
	}
	s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(c.DataDir, embeddedLedgerFile)})
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return sqliteStore{s}, nil
}

// embeddedLedgerFile is the embedded store's file under the data directory.
const embeddedLedgerFile = "ledger.db"

type sqliteStore struct{ *sqlite.Store }

func (s sqliteStore) Describe() string { return "embedded " + s.Path() }

type pgStore struct{ *postgres.Store }

func (pgStore) Describe() string { return "postgres" }
