package iso8583

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/response-codes.md from the response-code table")

// TestResponseCodesDoc keeps docs/response-codes.md generated from the table in codes.go, so that
// the code, the documentation and the metric labels have one source.
func TestResponseCodesDoc(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Response codes (field 39)\n\n")
	b.WriteString("Generated from `iso8583/codes.go` by `go test ./iso8583 -run TestResponseCodesDoc -update-docs`;\n")
	b.WriteString("the same table drives the engine's decisions and the `response_code` label of\n")
	b.WriteString("`cardswitch_transactions_total` (a code not in it is labelled `other`).\n\n")
	b.WriteString("| code | name | produced by | when |\n|---|---|---|---|\n")
	for _, rc := range ResponseCodes() {
		by := "issuer (relayed)"
		if rc.Switch {
			by = "switch"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", rc.Code, rc.Name, by, rc.Meaning)
	}
	const path = "../docs/response-codes.md"
	if *updateDocs {
		require.NoError(t, os.WriteFile(path, []byte(b.String()), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run with -update-docs to create it")
	require.Equal(t, string(want), b.String(), "docs/response-codes.md is stale: run go test ./iso8583 -run TestResponseCodesDoc -update-docs")
}
