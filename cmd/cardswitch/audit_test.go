package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

// runCmd runs `cardswitch args...` in-process and returns its output and error.
func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCmd(&out, &errOut)
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String() + errOut.String(), err
}

// `cardswitch ledger cutover` is recorded in the audit log with the OS user and host, and
// `cardswitch audit list` shows it, on both stores.
func TestCutoverIsAudited(t *testing.T) {
	t.Setenv("CARDSWITCH_DATABASE_URL", "")
	for name, db := range map[string]string{"embedded": "--data-dir=" + t.TempDir(), "postgres": "--database-url=" + pgtest.Schema(t)} {
		t.Run(name, func(t *testing.T) {
			out, err := runCmd(t, "ledger", "cutover", "--json", db)
			require.NoError(t, err, out)
			out, err = runCmd(t, "audit", "list", "--json", db)
			require.NoError(t, err, out)
			var got struct{ Entries []audit.Entry }
			require.NoError(t, json.Unmarshal([]byte(out), &got), out)
			require.Len(t, got.Entries, 1)
			e := got.Entries[0]
			require.Equal(t, audit.ActorCLI(), e.Actor)
			require.True(t, strings.HasPrefix(e.Actor, "cli:"))
			require.Equal(t, audit.ActionCutover, e.Action)
			require.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, e.Target)
			require.Equal(t, audit.ResultOK, e.Result)
			require.WithinDuration(t, time.Now(), e.At, time.Minute)

			// A second cutover closes the next day: two entries, newest first, in the text listing too.
			out, err = runCmd(t, "ledger", "cutover", db)
			require.NoError(t, err, out)
			out, err = runCmd(t, "audit", "list", "--action", audit.ActionCutover, db)
			require.NoError(t, err, out)
			lines := strings.Split(strings.TrimSpace(out), "\n")
			require.Len(t, lines, 3, out) // header and two entries
			require.Contains(t, lines[2], "ledger.cutover  "+e.Target)
			require.NotContains(t, lines[1], "ledger.cutover  "+e.Target)
			require.Contains(t, lines[1], audit.ActorCLI())
		})
	}
}

func TestAuditListBadFlags(t *testing.T) {
	for _, args := range [][]string{{"audit", "list", "--since", "yesterday"}, {"audit", "list", "--limit", "-1"}, {"audit"}} {
		_, err := runCmd(t, args...)
		var ue usageError
		require.ErrorAs(t, err, &ue, "%v", args)
	}
}

// The cutover schedule's outcomes, success and failure, are recorded as the switch's own.
func TestScheduledCutoverIsAudited(t *testing.T) {
	cfg := config.Default()
	cfg.Acceptor.Listen, cfg.HTTP.Listen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ledger.DataDir = t.TempDir()
	require.NoError(t, cfg.Validate())
	app, err := buildSwitch(context.Background(), cfg, zaptest.NewLogger(t), time.Now)
	require.NoError(t, err)
	defer app.close()
	ctx := context.Background()
	app.recordCutover(ctx, &ledger.SettlementReport{BusinessDay: "2026-12-05"}, nil)
	app.recordCutover(ctx, &ledger.SettlementReport{BusinessDay: "2026-12-06"}, errors.New("cutover: database unavailable"))
	got, err := app.audit.List(ctx, audit.Filter{})
	require.NoError(t, err)
	require.Len(t, got, 2)
	for _, e := range got {
		require.Equal(t, "system:cutover-schedule", e.Actor)
		require.Equal(t, audit.ActionCutover, e.Action)
	}
	require.Equal(t, "2026-12-06", got[0].Target)
	require.Equal(t, audit.ResultFailed, got[0].Result)
	require.Contains(t, got[0].Detail, "database unavailable")
	require.Equal(t, audit.ResultOK, got[1].Result)
}

// Creating and revoking an API key is recorded, with the key's id and never the key; a revoke
// of no valid key is recorded as refused.
func TestAPIKeysAreAudited(t *testing.T) {
	t.Setenv("CARDSWITCH_DATABASE_URL", "")
	db := "--data-dir=" + t.TempDir()
	out, err := runCmd(t, "api-key", "create", "--merchant", "MERCHANT0000001", "--json", db)
	require.NoError(t, err, out)
	var created struct{ ID, Key string }
	require.NoError(t, json.Unmarshal([]byte(out), &created), out)
	_, err = runCmd(t, "api-key", "revoke", created.ID, db)
	require.NoError(t, err)
	_, err = runCmd(t, "api-key", "revoke", created.ID, db)
	require.Error(t, err)

	out, err = runCmd(t, "audit", "list", "--json", db)
	require.NoError(t, err, out)
	require.NotContains(t, out, created.Key)
	var got struct{ Entries []audit.Entry }
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	require.Len(t, got.Entries, 3)
	want := []struct{ action, result string }{{audit.ActionAPIKeyRevoke, audit.ResultRefused},
		{audit.ActionAPIKeyRevoke, audit.ResultOK}, {audit.ActionAPIKeyCreate, audit.ResultOK}}
	for i, e := range got.Entries {
		require.Equal(t, want[i].action, e.Action, "entry %d", i)
		require.Equal(t, want[i].result, e.Result, "entry %d", i)
		require.Equal(t, created.ID, e.Target)
		require.Equal(t, audit.ActorCLI(), e.Actor)
	}
	require.Contains(t, got.Entries[2].Detail, "MERCHANT0000001")
}
