package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/ledgertest"
	"github.com/cardswitch/cardswitch/ledger/postgres"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness opens each store in a schema of its own on the real server.
func harness() ledgertest.Harness {
	var mu sync.Mutex // tests run in parallel
	urls := map[ledger.Store]string{}
	urlOf := func(s ledger.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return urls[s]
	}
	open := func(t testing.TB, url string) ledger.Store {
		t.Helper()
		s, err := postgres.Open(context.Background(), postgres.Config{URL: url})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		t.Cleanup(s.Close)
		mu.Lock()
		urls[s] = url
		mu.Unlock()
		return s
	}
	return ledgertest.Harness{
		Open: func(t testing.TB) ledger.Store { return open(t, pgtest.Schema(t)) },
		OpenShared: func(t testing.TB, s ledger.Store) ledger.Store {
			return open(t, urlOf(s))
		},
		Corrupt: func(t testing.TB, s ledger.Store, account, currency string, delta int64) {
			t.Helper()
			conn, err := pgx.Connect(context.Background(), urlOf(s))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			if _, err := conn.Exec(context.Background(), `UPDATE ledger_accounts SET credits_posted = credits_posted + $3
				WHERE name = $1 AND currency = $2`, account, currency, delta); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestStore(t *testing.T) {
	ledgertest.Run(t, harness())
}
