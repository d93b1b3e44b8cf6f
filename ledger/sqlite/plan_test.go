package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueryPlans pins how SQLite runs the queries of the batch and of the read API: each reads
// the rows it needs through an index (or a range of row numbers), never a whole table. A plan
// that regresses to a scan is invisible on a small file and takes seconds on a large one.
func TestQueryPlans(t *testing.T) {
	s, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	list := `["00112233445566778899aabbccddeeff"]`
	const jsonList = "SCAN json_each VIRTUAL TABLE INDEX 1:" // the list parameter, in a subquery
	for _, c := range []struct {
		name  string
		query string
		args  []any
		want  []string // every line of the plan that reads rows
	}{
		{"due pending", duePendingQuery, []any{int64(1_764_000_000_000_000_000), 2000},
			[]string{"SEARCH ledger_transfers USING INDEX ledger_transfers_due (timeout_at<?)"}},
		{"transfers by id", transfersByIDQuery, []any{list},
			[]string{"SEARCH ledger_transfers USING INDEX ledger_transfers_id (id=?)", jsonList}},
		{"posts", postsQuery, []any{list},
			[]string{"SEARCH ledger_transfers USING INDEX ledger_transfers_one_post_or_void (pending_id=?)", jsonList}},
		{"transactions by id", transactionsByIDQuery, []any{`["a"]`},
			[]string{"SEARCH ledger_transactions USING INDEX ledger_transactions_id (id=?)", jsonList}},
		{"accounts by id", accountsByIDQuery, []any{`[1]`},
			[]string{"SEARCH ledger_accounts USING INTEGER PRIMARY KEY (rowid=?)", jsonList}},
		{"accounts by key", accountsByKeyQuery, []any{`[{"Name":"a","Currency":"840"}]`},
			[]string{"SCAN k VIRTUAL TABLE INDEX 1:", "SEARCH a USING INDEX sqlite_autoindex_ledger_accounts_1 (name=? AND currency=?)"}},
		{"transaction", transactionQuery, []any{"a"},
			[]string{"SEARCH ledger_transactions USING INDEX ledger_transactions_id (id=?)"}},
		{"transaction by rrn", transactionByRRNQuery, []any{"123456789012"},
			[]string{"SEARCH ledger_transactions USING INDEX ledger_transactions_rrn (rrn=?)"}},
		{"latest by terminal and stan", latestByTerminalSTANQuery, []any{"TERM0001", "000001"},
			[]string{"SEARCH ledger_transactions USING INDEX ledger_transactions_terminal_stan (terminal=? AND stan=?)"}},
		{"related", relatedQuery, []any{"a", maxRelated},
			[]string{"SEARCH ledger_transactions USING INDEX ledger_transactions_original (original_id=?)"}},
		{"settlement rows", settlementRowsQuery, []any{1, 1000, "2025-11-26", 7}, []string{
			"SEARCH t USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
			"SEARCH d USING INTEGER PRIMARY KEY (rowid=?)",
			"SEARCH c USING INTEGER PRIMARY KEY (rowid=?)",
			"SEARCH j USING INDEX ledger_transactions_id (id=?) LEFT-JOIN",
		}},
		{"settlement payments", settlementPaymentsQuery, []any{1, 1000, "2025-11-26", 7}, []string{
			"SEARCH t USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)",
			"SEARCH a USING INTEGER PRIMARY KEY (rowid=?)",
		}},
		{"state changes", stateUpdate.sql(2), []any{[]byte{1}, 3, []byte{2}, 4},
			[]string{"SCAN 2 CONSTANT ROWS", "SCAN c", "SEARCH ledger_transfers USING COVERING INDEX ledger_transfers_id (id=?)"}},
		{"balance update", balanceUpdate.sql(2), []any{1, 0, 0, 0, 1, 2, 0, 0, 0, 1},
			[]string{"SCAN 2 CONSTANT ROWS", "SCAN d", "SEARCH ledger_accounts USING INTEGER PRIMARY KEY (rowid=?)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := plan(t, s, c.query, c.args...)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
		})
	}
}

// plan returns the lines of query's plan that read a table or a list (the JSON list parameter,
// a VALUES list); sorting and materializing are left out.
func plan(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(detail, "SEARCH ") || strings.HasPrefix(detail, "SCAN ") {
			out = append(out, detail)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
