package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

// issuerStatus is the part of /v1/issuers these tests read.
type issuerStatus struct {
	Name      string `json:"name"`
	Up        bool   `json:"up"`
	Circuit   string `json:"circuit"`
	Endpoints []struct {
		Addr    string `json:"addr"`
		Up      bool   `json:"up"`
		Active  bool   `json:"active"`
		Circuit string `json:"circuit"`
	} `json:"endpoints"`
	Connections []struct {
		Addr      string `json:"addr"`
		State     string `json:"state"`
		LastError string `json:"last_error"`
	} `json:"connections"`
}

func issuerStatuses(t *testing.T, httpAddr string) map[string]issuerStatus {
	t.Helper()
	var list []issuerStatus
	if getJSON(t, "http://"+httpAddr+"/v1/issuers", &list) != http.StatusOK {
		return nil
	}
	out := map[string]issuerStatus{}
	for _, is := range list {
		out[is.Name] = is
	}
	return out
}

func readyz(t *testing.T, httpAddr string) int {
	code, _ := httpGet(t, "http://"+httpAddr+"/readyz")
	return code
}

// TestIssuerFailoverAndCircuit: one issuer with a primary and a secondary host. Killing the
// primary moves traffic to the secondary; killing both opens the circuit: requests are answered
// 91 at once (not after the issuer timeout) and /readyz is 503; when one host is back the circuit
// closes by itself, with no request needed, and traffic flows again.
func TestIssuerFailoverAndCircuit(t *testing.T) {
	primary, secondary, acq, httpAddr, apiAddr := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	sim := func(addr, name string) *proc {
		p := start(t, "issuer-sim "+name, nil, "issuer-sim", "--listen", addr, "--name", name)
		waitTCP(t, addr)
		return p
	}
	p, s := sim(primary, "primary"), sim(secondary, "secondary")
	const timeout = 3 * time.Second
	cfg := fmt.Sprintf(`acceptor: {listen: %q}
http: {listen: %q}
api: {listen: %q}
issuers:
  - name: alpha
    endpoints: [{addr: %q}, {addr: %q}]
    prefixes: ["4", "5"]
    timeout: %s
    echo_interval: 1s
    reconnect_max: 300ms
    circuit: {consecutive_failures: 3, open_duration: 1s}
ledger: {data_dir: %q, database_url: %q}
log: {level: debug}
`, acq, httpAddr, apiAddr, primary, secondary, timeout, t.TempDir(), pgtest.Schema(t))
	path := filepath.Join(t.TempDir(), "cardswitch.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	start(t, "serve", []string{"CARDSWITCH_DATABASE_URL="}, "serve", "--config", path)
	require.Eventually(t, func() bool {
		st := issuerStatuses(t, httpAddr)["alpha"]
		return readyz(t, httpAddr) == http.StatusOK && len(st.Endpoints) == 2 && st.Endpoints[0].Up && st.Endpoints[1].Up
	}, 30*time.Second, 50*time.Millisecond, "both endpoints up")

	tm := dialTerminal(t, acq, "E2EFAIL1")
	approveAll := func(what string) {
		t.Helper()
		for k := range 10 {
			require.Equal(t, "00", tm.roundTrip(tm.request("0200", visa, 1001)).ResponseCode, "%s: request %d", what, k)
		}
	}
	approveAll("both hosts up")
	require.True(t, issuerStatuses(t, httpAddr)["alpha"].Endpoints[0].Active, "the primary carries the traffic")

	require.NoError(t, p.cmd.Process.Kill())
	require.Eventually(t, func() bool { return !issuerStatuses(t, httpAddr)["alpha"].Endpoints[0].Up },
		10*time.Second, 20*time.Millisecond, "the primary seen down")
	approveAll("primary killed")
	st := issuerStatuses(t, httpAddr)["alpha"]
	require.True(t, st.Endpoints[1].Active, "the secondary carries the traffic")
	require.Equal(t, "closed", st.Circuit)
	_, metrics := httpGet(t, "http://"+httpAddr+"/metrics")
	require.Equal(t, 1, metricValue(t, metrics, `cardswitch_issuer_failovers_total{issuer="alpha"}`))
	require.Equal(t, 0, metricValue(t, metrics, fmt.Sprintf(`cardswitch_issuer_endpoint_up{endpoint=%q,issuer="alpha"}`, primary)))
	require.Equal(t, 1, metricValue(t, metrics, fmt.Sprintf(`cardswitch_issuer_endpoint_up{endpoint=%q,issuer="alpha"}`, secondary)))

	require.NoError(t, s.cmd.Process.Kill())
	require.Eventually(t, func() bool {
		return issuerStatuses(t, httpAddr)["alpha"].Circuit == "open" && readyz(t, httpAddr) == http.StatusServiceUnavailable
	}, 10*time.Second, 20*time.Millisecond, "the circuit open and /readyz 503 with both hosts dead")
	for k := range 10 {
		sent := time.Now()
		resp := tm.roundTrip(tm.request("0200", visa, 1001))
		require.Equal(t, "91", resp.ResponseCode, "request %d with both hosts dead", k)
		require.Less(t, time.Since(sent), timeout/3, "request %d waited on a dead issuer", k)
	}
	_, metrics = httpGet(t, "http://"+httpAddr+"/metrics")
	require.Equal(t, 1, metricValue(t, metrics, `cardswitch_issuer_circuit_state{issuer="alpha",state="open"}`))
	require.Equal(t, 0, metricValue(t, metrics, `cardswitch_issuer_circuit_state{issuer="alpha",state="closed"}`))

	sim(secondary, "secondary again")
	require.Eventually(t, func() bool {
		return issuerStatuses(t, httpAddr)["alpha"].Circuit == "closed" && readyz(t, httpAddr) == http.StatusOK
	}, 20*time.Second, 20*time.Millisecond, "the circuit closed by itself when the secondary came back")
	approveAll("secondary back")
	_, metrics = httpGet(t, "http://"+httpAddr+"/metrics")
	require.Equal(t, 1, metricValue(t, metrics, `cardswitch_issuer_circuit_state{issuer="alpha",state="closed"}`))
}
