package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/goleak"
	_ "modernc.org/sqlite"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/ledgertest"
	lsqlite "github.com/cardswitch/cardswitch/ledger/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func harness() ledgertest.Harness {
	var mu sync.Mutex // tests run in parallel
	paths := map[ledger.Store]string{}
	pathOf := func(s ledger.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return paths[s]
	}
	open := func(t testing.TB, path string) ledger.Store {
		t.Helper()
		s, err := lsqlite.Open(context.Background(), lsqlite.Config{Path: path})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(s.Close)
		mu.Lock()
		paths[s] = path
		mu.Unlock()
		return s
	}
	return ledgertest.Harness{
		Open: func(t testing.TB) ledger.Store { return open(t, filepath.Join(t.TempDir(), "ledger.db")) },
		OpenShared: func(t testing.TB, s ledger.Store) ledger.Store {
			return open(t, pathOf(s))
		},
		Corrupt: func(t testing.TB, s ledger.Store, account, currency string, delta int64) {
			t.Helper()
			db, err := sql.Open("sqlite", "file:"+pathOf(s)+"?_busy_timeout=10000")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`UPDATE ledger_accounts SET credits_posted = credits_posted + ?
				WHERE name = ? AND currency = ?`, delta, account, currency); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestStore(t *testing.T) {
	ledgertest.Run(t, harness())
}
