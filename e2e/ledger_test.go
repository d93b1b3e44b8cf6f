package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

// approval is one line of `cardswitch load --ledger-log`: what a terminal was told.
type approval struct {
	RRN         string `json:"rrn"`
	MTI         string `json:"mti"`
	Kind        string `json:"kind"`
	Terminal    string `json:"terminal"`
	STAN        string `json:"stan"`
	Transmitted string `json:"transmitted"`
	Amount      int64  `json:"amount"`
}

func (a approval) id() string {
	return iso8583.MTIClass(a.MTI) + "/" + a.Terminal + "/" + a.STAN + "/" + a.Transmitted
}

func readApprovals(t *testing.T, path string) []approval {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []approval
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a approval
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a), sc.Text())
		out = append(out, a)
	}
	require.NoError(t, sc.Err())
	return out
}

// journalRow is a decision as the ledger holds it.
type journalRow struct {
	id, mti, responseCode, originalID, rejection string
	kind                                         int
}

const (
	kindAuthorize = 1
	kindCapture   = 2
	kindPurchase  = 3
	kindRefund    = 4
	kindReverse   = 5
)

func readJournal(t *testing.T, url string) map[string]journalRow {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT id, kind, mti, response_code, original_id, rejection FROM ledger_transactions`)
	require.NoError(t, err)
	out := map[string]journalRow{}
	for rows.Next() {
		var r journalRow
		require.NoError(t, rows.Scan(&r.id, &r.kind, &r.mti, &r.responseCode, &r.originalID, &r.rejection))
		out[r.id] = r
	}
	require.NoError(t, rows.Err())
	return out
}

// checkLedgerAgainstTerminals asserts the ledger's promise: every approval a terminal was told is
// held exactly once (one journal row, approved, not rejected), and every approval the ledger holds
// that no terminal saw was reversed (the terminal timed out, as during a crash, and reversed it).
func checkLedgerAgainstTerminals(t *testing.T, approvals []approval, journal map[string]journalRow) {
	t.Helper()
	require.NotEmpty(t, approvals)
	reversed := map[string]bool{}
	for _, r := range journal {
		if r.kind == kindReverse && r.rejection == "" {
			reversed[r.originalID] = true
		}
	}
	told := map[string]bool{}
	for _, a := range approvals {
		row, ok := journal[a.id()]
		require.True(t, ok, "approval told to terminal %s STAN %s (%s) is not in the ledger", a.Terminal, a.STAN, a.Kind)
		require.Equal(t, "00", row.responseCode, "ledger decision for %s", a.id())
		told[a.id()] = true
		if row.kind == kindReverse && row.rejection != "" {
			// A reversal is acknowledged even when it has nothing to undo (its original was
			// declined, say, or was reversed already): the ledger records it as rejected and
			// moves nothing. That is right only if the original really holds no money.
			orig, found := journal[row.originalID]
			holdsMoney := found && orig.responseCode == "00" && orig.rejection == "" &&
				(orig.kind == kindAuthorize || orig.kind == kindPurchase || orig.kind == kindRefund)
			require.True(t, !holdsMoney || reversed[row.originalID],
				"reversal %s was acknowledged and rejected (%s), but its original %s still holds money", a.id(), row.rejection, row.originalID)
			continue
		}
		require.Empty(t, row.rejection, "ledger rejected %s, which the terminal was told was approved", a.id())
	}
	for id, r := range journal {
		money := r.kind == kindAuthorize || r.kind == kindPurchase || r.kind == kindRefund
		if !money || r.responseCode != "00" || r.rejection != "" || told[id] {
			continue
		}
		require.True(t, reversed[id], "the ledger holds approval %s that no terminal was told and nobody reversed", id)
	}
}

// ledgerVerify runs `cardswitch ledger verify` and requires exit status 0.
func ledgerVerify(t *testing.T, url string) {
	t.Helper()
	out, err := exec.Command(binary, "ledger", "verify", "--database-url", url).CombinedOutput()
	require.NoError(t, err, "ledger verify: %s", out)
}

func waitLines(t *testing.T, path string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		b, err := os.ReadFile(path)
		return err == nil && strings.Count(string(b), "\n") >= n
	}, 30*time.Second, 20*time.Millisecond, "the ledger log never reached %d approvals", n)
}

// TestCrashDuringLoadHoldsEveryApprovalOnce SIGKILLs the switch in the middle of a load run,
// restarts it, and checks the ledger against what the terminals were told.
func TestCrashDuringLoadHoldsEveryApprovalOnce(t *testing.T) {
	url := pgtest.Schema(t)
	s := startSystem(t, systemOpts{databaseURL: url})
	log := filepath.Join(t.TempDir(), "approvals.jsonl")
	load := start(t, "load", nil, "load", "--target", s.acquirer, "--rate", "400", "--duration", "8s", "--timeout", "2s",
		"--ledger-log", log, "--quiet", "--terminals", "8")
	waitLines(t, log, 300)
	require.NoError(t, s.sw.cmd.Process.Signal(syscall.SIGKILL))
	<-s.sw.done
	s.sw = start(t, "serve (restarted)", []string{"CARDSWITCH_DATABASE_URL="}, s.serveArgs...)
	s.waitReady(t)
	select {
	case <-load.done:
	case <-time.After(60 * time.Second):
		t.Fatal("the load run did not finish")
	}
	approvals := readApprovals(t, log)
	checkLedgerAgainstTerminals(t, approvals, readJournal(t, url))
	ledgerVerify(t, url)
	t.Logf("%d approvals told to terminals, all held once", len(approvals))
}

// TestTwoSwitchesShareOneLedger runs two switch processes on one PostgreSQL schema, each loaded by
// its own terminals at once (the same hot merchant and issuer accounts), and checks that no
// posting is lost or doubled.
func TestTwoSwitchesShareOneLedger(t *testing.T) {
	url := pgtest.Schema(t)
	a := startSystem(t, systemOpts{databaseURL: url, extraYAML: "node_id: \"A\"\n"})
	b := startSystem(t, systemOpts{databaseURL: url, extraYAML: "node_id: \"B\"\n"})
	dir := t.TempDir()
	var loads []*proc
	for i, s := range []*system{a, b} {
		loads = append(loads, start(t, fmt.Sprintf("load %d", i), nil, "load", "--target", s.acquirer, "--rate", "300",
			"--duration", "4s", "--ledger-log", filepath.Join(dir, fmt.Sprintf("approvals-%d.jsonl", i)), "--quiet",
			"--terminal-prefix", fmt.Sprintf("T%d", i), "--expect", "unexpected=0,timeouts=0"))
	}
	var approvals []approval
	for i, l := range loads {
		select {
		case <-l.done:
			require.Equal(t, 0, l.cmd.ProcessState.ExitCode(), "load %d: %s", i, tail(l.out.String(), 2000))
		case <-time.After(60 * time.Second):
			t.Fatal("a load run did not finish")
		}
		approvals = append(approvals, readApprovals(t, filepath.Join(dir, fmt.Sprintf("approvals-%d.jsonl", i)))...)
	}
	journal := readJournal(t, url)
	checkLedgerAgainstTerminals(t, approvals, journal)
	approved := 0
	for _, r := range journal {
		if r.responseCode == "00" && r.rejection == "" {
			approved++
		}
	}
	require.Equal(t, len(approvals), approved, "one ledger decision per approval, none lost, none doubled")
	ledgerVerify(t, url)
}
