package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/carddata"
	"github.com/cardswitch/cardswitch/config"
)

// TestMetricsLint builds the switch of the default topology and checks every metric it registers
// with client_golang's linter and with promtool (when installed; CI installs it): names, units,
// help texts, and no label that could carry a card, terminal or merchant identifier.
func TestMetricsLint(t *testing.T) {
	cfg := config.Default()
	cfg.Acceptor.Listen, cfg.HTTP.Listen, cfg.API.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Ledger.DataDir = t.TempDir()
	require.NoError(t, cfg.Validate())
	app, err := buildSwitch(context.Background(), cfg, zaptest.NewLogger(t), time.Now)
	require.NoError(t, err)
	defer app.close()
	app.reg.MustRegister(carddata.NewGuard())

	problems, err := testutil.GatherAndLint(app.reg)
	require.NoError(t, err)
	require.Empty(t, problems)

	mfs, err := app.reg.Gather()
	require.NoError(t, err)
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, expfmt.NewFormat(expfmt.TypeTextPlain))
	names := map[string]bool{}
	for _, mf := range mfs {
		require.NoError(t, enc.Encode(mf))
		names[mf.GetName()] = true
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				require.NotContains(t, forbiddenLabels, l.GetName(), "%s has a label that identifies a card, terminal or merchant", mf.GetName())
			}
		}
		if !strings.HasPrefix(mf.GetName(), "go_") && !strings.HasPrefix(mf.GetName(), "process_") {
			require.True(t, strings.HasPrefix(mf.GetName(), "cardswitch_"), mf.GetName())
		}
	}
	// What operators need (CONTRACT §10, docs/runbook.md), series present from the start. Those
	// created with their first event (transactions, HTTP requests) are checked by e2e/prometheus_test.go.
	for _, n := range []string{"cardswitch_build_info",
		"cardswitch_issuer_request_duration_seconds", "cardswitch_issuer_requests_total", "cardswitch_issuer_connections_signed_on",
		"cardswitch_issuer_in_flight_requests", "cardswitch_issuer_late_responses_total", "cardswitch_stand_in_approvals_total",
		"cardswitch_saf_depth", "cardswitch_ledger_batch_items", "cardswitch_ledger_batch_duration_seconds",
		"cardswitch_ledger_verify_violations", "cardswitch_hsm_requests_total", "cardswitch_hsm_request_duration_seconds",
		"cardswitch_acceptor_connections", "cardswitch_in_flight_requests", "cardswitch_card_data_detections_total",
		"cardswitch_audit_write_failures_total"} {
		require.True(t, names[n], "%s is not registered", n)
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (apt-get install prometheus); the client_golang lint passed")
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = &text
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool check metrics:\n%s", out)
}

// forbiddenLabels are label names that would put a card, terminal or merchant identifier in a
// metric (CONTRACT §10).
var forbiddenLabels = []string{"pan", "card", "card_number", "terminal", "terminal_id", "merchant", "merchant_id", "rrn", "stan", "agency"}
