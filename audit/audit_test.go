package audit

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cardswitch/cardswitch/ledger/postgres"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
	"github.com/cardswitch/cardswitch/ledger/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stores opens the audit log beside a real ledger store of each kind, in the same database.
func stores(t *testing.T) map[string]func(log *zap.Logger, now func() time.Time) *Log {
	ctx := context.Background()
	return map[string]func(*zap.Logger, func() time.Time) *Log{
		"sqlite": func(log *zap.Logger, now func() time.Time) *Log {
			path := filepath.Join(t.TempDir(), "ledger.db")
			ls, err := sqlite.Open(ctx, sqlite.Config{Path: path})
			require.NoError(t, err)
			t.Cleanup(ls.Close)
			l, err := Open(ctx, Config{SQLitePath: path, Logger: log, Now: now})
			require.NoError(t, err)
			t.Cleanup(l.Close)
			return l
		},
		"postgres": func(log *zap.Logger, now func() time.Time) *Log {
			url := pgtest.Schema(t)
			ls, err := postgres.Open(ctx, postgres.Config{URL: url})
			require.NoError(t, err)
			t.Cleanup(ls.Close)
			l, err := Open(ctx, Config{DatabaseURL: url, Logger: log, Now: now})
			require.NoError(t, err)
			t.Cleanup(l.Close)
			return l
		},
	}
}

func TestRecordAndList(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			core, logs := observer.New(zap.InfoLevel)
			clock := time.Date(2026, 12, 6, 23, 30, 0, 0, time.UTC)
			l := open(zap.New(core), func() time.Time { return clock })
			reg := prometheus.NewRegistry()
			require.NoError(t, l.Register(reg))

			first, err := l.Record(ctx, Entry{Actor: ActorSystem("cutover-schedule"), Action: ActionCutover, Target: "2026-12-06",
				Detail: "merchants=2 agencies=1 issuers=2"})
			require.NoError(t, err)
			require.Positive(t, first.ID)
			require.Equal(t, ResultOK, first.Result)
			require.Equal(t, clock, first.At)

			clock = clock.Add(time.Minute)
			// A card number typed into a detail by mistake is masked before it is stored or logged.
			_, err = l.Record(ctx, Entry{Actor: "cli:alice@ops1", Action: ActionSAFPark, Target: "saf/42",
				Detail: "settled by phone, card 4111111111111111", Result: ResultOK})
			require.NoError(t, err)
			clock = clock.Add(time.Minute)
			_, err = l.Record(ctx, Entry{Actor: "signal:SIGHUP", Action: ActionReload, Target: "/etc/cardswitch.yaml",
				Detail: "issuers[0].timeout: must be positive", Result: ResultRefused})
			require.NoError(t, err)

			all, err := l.List(ctx, Filter{})
			require.NoError(t, err)
			require.Len(t, all, 3)
			require.Equal(t, []string{ActionReload, ActionSAFPark, ActionCutover}, []string{all[0].Action, all[1].Action, all[2].Action}, "newest first")
			require.Equal(t, "settled by phone, card 411111******1111", all[1].Detail)
			require.Equal(t, ResultRefused, all[0].Result)
			require.Equal(t, first, all[2], "an entry reads back as it was recorded")

			since, err := l.List(ctx, Filter{Since: clock.Add(-time.Minute)})
			require.NoError(t, err)
			require.Len(t, since, 2)
			cutovers, err := l.List(ctx, Filter{Action: ActionCutover})
			require.NoError(t, err)
			require.Len(t, cutovers, 1)
			one, err := l.List(ctx, Filter{Limit: 1})
			require.NoError(t, err)
			require.Len(t, one, 1)

			require.Equal(t, 3, logs.FilterMessage("operator action").Len(), "every entry is in the log too")
			line := logs.FilterMessage("operator action").All()[1].ContextMap()
			require.Equal(t, "cli:alice@ops1", line["actor"])
			require.Equal(t, "settled by phone, card 411111******1111", line["detail"])
			require.Zero(t, testutil.ToFloat64(l.failures))
		})
	}
}

func TestRecordRefusesInvalidEntries(t *testing.T) {
	l := stores(t)["sqlite"](zap.NewNop(), time.Now)
	for name, e := range map[string]Entry{
		"no actor":      {Action: ActionCutover},
		"no action":     {Actor: "cli:a@b"},
		"bad action":    {Actor: "cli:a@b", Action: "DROP TABLE"},
		"bad result":    {Actor: "cli:a@b", Action: ActionCutover, Result: "maybe"},
		"actor too big": {Actor: string(make([]byte, ActorMax+1)), Action: ActionCutover},
	} {
		_, err := l.Record(context.Background(), e)
		require.ErrorIs(t, err, ErrInvalid, name)
	}
	all, err := l.List(context.Background(), Filter{})
	require.NoError(t, err)
	require.Empty(t, all)
}

// A database that fails: the entry is logged at error level and counted, and the error returned.
func TestRecordFailureIsLoggedAndCounted(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	l := stores(t)["sqlite"](zap.New(core), time.Now)
	reg := prometheus.NewRegistry()
	require.NoError(t, l.Register(reg))
	l.Close()
	_, err := l.Record(context.Background(), Entry{Actor: "cli:a@b", Action: ActionCutover, Target: "2026-12-06"})
	require.Error(t, err)
	require.Equal(t, 1.0, testutil.ToFloat64(l.failures))
	require.Equal(t, 1, logs.FilterMessage("operator action not written to the audit table").FilterField(zap.String("target", "2026-12-06")).Len())
}

// Concurrent writers on the embedded store (the audit log and the ledger share one file; two
// processes may write at once): every entry lands.
func TestConcurrentRecordsSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	ctx := context.Background()
	var logs [2]*Log
	for i := range logs {
		l, err := Open(ctx, Config{SQLitePath: path})
		require.NoError(t, err)
		defer l.Close()
		logs[i] = l
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := logs[i%2].Record(ctx, Entry{Actor: "cli:a@b", Action: ActionSAFRetry, Target: "saf/1"})
			require.NoError(t, err)
		}()
	}
	wg.Wait()
	all, err := logs[0].List(ctx, Filter{})
	require.NoError(t, err)
	require.Len(t, all, 20)
}

func TestActors(t *testing.T) {
	require.Equal(t, "token:10.0.0.5", ActorHTTP(true, "10.0.0.5:41234", ""))
	require.Equal(t, "loopback:127.0.0.1 (claims cli:alice@ops1)", ActorHTTP(false, "127.0.0.1:5000", "cli:alice@ops1"))
	require.Equal(t, "token:::1 (claims x)", ActorHTTP(true, "[::1]:5000", "x\n\x1b"), "control characters dropped")
	require.Equal(t, "system:cutover-schedule", ActorSystem("cutover-schedule"))
	require.Regexp(t, `^cli:[^@]+@.+`, ActorCLI())
}
