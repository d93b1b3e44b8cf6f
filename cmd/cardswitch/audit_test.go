package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/audit"
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
