package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

func TestIssuerTimeoutAndLateAnswer(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2ETIME1")
	start := time.Now()
	never := tm.roundTrip(tm.request("0100", visa, 1099)) // 99: the simulator never answers
	require.Equal(t, "91", never.ResponseCode)
	require.Less(t, time.Since(start), 5*time.Second, "answered at the issuer timeout (1s here)")
	lateAnswers := func() int {
		_, body := httpGet(t, "http://"+s.http+"/metrics")
		return metricValue(t, body, `cardswitch_issuer_late_responses_total{issuer="alpha"}`)
	}
	before := lateAnswers()                              // the system is shared: earlier runs may have counted some
	slow := tm.roundTrip(tm.request("0100", visa, 1098)) // 98: answers after --slow-delay (3s)
	require.Equal(t, "91", slow.ResponseCode)
	require.Eventually(t, func() bool { return lateAnswers() == before+1 },
		10*time.Second, 50*time.Millisecond, "the late answer is counted")
}

// metricValue is the value of one series in a Prometheus text exposition (0 when absent).
func metricValue(t *testing.T, body, series string) int {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err, "metric %s", series)
			return n
		}
	}
	return 0
}

func TestIssuerDownGives91AndNotReady(t *testing.T) {
	s := startSystem(t, systemOpts{databaseURL: pgtest.Schema(t)})
	for _, p := range s.issuers {
		require.Equal(t, 0, p.stop(10*time.Second), "issuer-sim exits 0 on SIGTERM")
	}
	require.Eventually(t, func() bool {
		code, _ := httpGet(t, "http://"+s.http+"/readyz")
		return code == http.StatusServiceUnavailable
	}, 15*time.Second, 50*time.Millisecond, "/readyz is 503 with no issuer link up")
	tm := dialTerminal(t, s.acquirer, "E2EDOWN1")
	require.Equal(t, "91", tm.roundTrip(tm.request("0200", visa, 1001)).ResponseCode)
	require.Equal(t, "91", tm.roundTrip(tm.request("0200", mc, 1001)).ResponseCode)
}

func TestGracefulStopAnswersInFlightAndExits0(t *testing.T) {
	s := startSystem(t, systemOpts{databaseURL: pgtest.Schema(t)})
	tm := dialTerminal(t, s.acquirer, "E2ESTOP1")
	require.Equal(t, "00", tm.roundTrip(tm.request("0100", visa, 1001)).ResponseCode)
	slow := tm.send(tm.request("0100", visa, 1098)) // waits for the issuer's 1s timeout
	require.Eventually(t, func() bool {
		_, body := httpGet(t, "http://"+s.http+"/metrics")
		return strings.Contains(body, "\ncardswitch_in_flight_requests 1\n")
	}, 10*time.Second, 5*time.Millisecond, "the request is in flight before the stop")
	stopped := make(chan int, 1)
	go func() { stopped <- s.sw.stop(30 * time.Second) }()
	resp := tm.await(slow, 10*time.Second)
	require.Equal(t, "91", resp.ResponseCode, "the request in flight is answered during the drain")
	require.Equal(t, 0, <-stopped)
}

func TestBadConfigAndFlagsExit2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4x\"]}\n"), 0o600))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad prefix", []string{"serve", "--config", bad}, "issuers[0].prefixes[0]"},
		{"missing file", []string{"serve", "--config", filepath.Join(dir, "nope.yaml")}, "nope.yaml"},
		{"unknown flag", []string{"serve", "--bogus"}, "--bogus"},
		{"issuer-sim without listen", []string{"issuer-sim"}, "--listen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(binary, tc.args...).CombinedOutput()
			var ee *exec.ExitError
			require.ErrorAs(t, err, &ee)
			require.Equal(t, 2, ee.ExitCode(), "output: %s", out)
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			require.Len(t, lines, 1, "one line: %s", out)
			require.Contains(t, lines[0], tc.want)
		})
	}
}
