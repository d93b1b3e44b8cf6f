package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
)

// safItem is an item as `cardswitch saf list --json` and /v1/saf show it.
type safItem struct {
	ID           int64  `json:"id"`
	Transaction  string `json:"transaction_id"`
	Issuer       string `json:"issuer"`
	Kind         string `json:"kind"`
	State        string `json:"state"`
	MTI          string `json:"mti"`
	RRN          string `json:"rrn"`
	MaskedPAN    string `json:"masked_pan"`
	ResponseCode string `json:"response_code"`
}

// safCLI runs `cardswitch saf ARGS --data-dir DIR` and returns its output.
func safCLI(t *testing.T, dataDir string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(binary, append(append([]string{"saf"}, args...), "--data-dir", dataDir)...).CombinedOutput()
	return string(out), err
}

func safList(t *testing.T, dataDir, states string) []safItem {
	t.Helper()
	out, err := safCLI(t, dataDir, "list", "--state", states, "--json")
	require.NoError(t, err, out)
	var got struct{ Items []safItem }
	require.NoError(t, json.Unmarshal([]byte(out), &got), out)
	return got.Items
}

func safDepth(t *testing.T, s *system) int {
	t.Helper()
	var snap struct {
		Depth int `json:"depth"`
	}
	require.Equal(t, 200, getJSON(t, "http://"+s.http+"/v1/saf", &snap))
	return snap.Depth
}

// TestCrashWithRequestsAtTheIssuer SIGKILLs the switch while requests wait for the issuer's
// answer: after the restart, each is reversed at the issuer (nobody else will: the terminal got
// no answer), journaled as recovered, and a retransmission of one gets 96, not a second charge.
func TestCrashWithRequestsAtTheIssuer(t *testing.T) {
	// The requests wait at the issuer (--slow-delay) well within its timeout: the crash comes first.
	s := startSystem(t, systemOpts{extraYAML: "saf: {retry_min: 100ms, retry_max: 1s}\n",
		issuerTimeout: 20 * time.Second, slowDelay: 15 * time.Second})
	tm := dialTerminal(t, s.acquirer, "E2ECRSH1")
	var sent []*iso8583.Message
	for range 5 {
		req := tm.request("0200", visa, 2098) // 98: the simulator answers after --slow-delay
		tm.send(req)
		sent = append(sent, req)
	}
	// Within the simulator's delay: the requests are at the issuer, their intents stored.
	require.Eventually(t, func() bool { return len(safList(t, s.dataDir, "intent")) == len(sent) },
		10*time.Second, 20*time.Millisecond, "the requests' intents are stored before they leave")
	require.NoError(t, s.sw.cmd.Process.Signal(syscall.SIGKILL))
	<-s.sw.done
	// The issuer host restarts too, quicker now, so that the terminal's retransmission below is
	// answered soon.
	require.Equal(t, 0, s.issuers[0].stop(10*time.Second))
	s.issuers[0] = start(t, "issuer-sim alpha (restarted)", nil, "issuer-sim", "--listen", s.alpha, "--name", "alpha",
		"--slow-delay", "500ms")
	waitTCP(t, s.alpha)

	s.sw = start(t, "serve (restarted)", []string{"CARDSWITCH_DATABASE_URL="}, s.serveArgs...)
	s.waitReady(t)
	require.Eventually(t, func() bool { return safDepth(t, s) == 0 }, 20*time.Second, 50*time.Millisecond,
		"the reversals reach the issuer")
	delivered := safList(t, s.dataDir, "delivered")
	require.Len(t, delivered, len(sent), "one reversal per request in flight at the crash")
	for _, it := range delivered {
		require.Equal(t, "reversal", it.Kind)
		require.Equal(t, "0400", it.MTI)
		require.Equal(t, "411111******1111", it.MaskedPAN)
		require.Equal(t, "00", it.ResponseCode, "the issuer acknowledged it")
	}
	var tx struct {
		Status string    `json:"status"`
		SAF    []safItem `json:"saf_items"`
	}
	require.Equal(t, 200, getJSON(t, "http://"+s.http+"/v1/transactions/"+delivered[0].RRN, &tx))
	require.Equal(t, "recovered", tx.Status)
	require.Len(t, tx.SAF, 1)
	require.Equal(t, "delivered", tx.SAF[0].State)

	// The terminal, never answered, repeats one: the recovery decided it already.
	again := dialTerminal(t, s.acquirer, "E2ECRSH1")
	retry := *sent[0]
	retry.MTI = "0201"
	resp := again.roundTrip(&retry)
	require.Equal(t, "96", resp.ResponseCode)
	var byTerminal struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	require.Equal(t, 200, getJSON(t, fmt.Sprintf("http://%s/v1/transactions?terminal=%s&stan=%s&transmitted=%s", s.http,
		retry.TerminalID, retry.STAN, retry.TransmissionDateTime), &byTerminal))
	require.Equal(t, "recovered", byTerminal.Status)
	out, err := exec.Command(binary, "ledger", "verify", "--data-dir", s.dataDir).CombinedOutput()
	require.NoError(t, err, "ledger verify: %s", out)
}

// TestStoreAndForwardSurvivesRestartsAndOperators queues a completion for an issuer that is down,
// restarts the switch, parks and retries the item with the CLI, and sees it delivered when the
// issuer is back.
func TestStoreAndForwardSurvivesRestartsAndOperators(t *testing.T) {
	s := startSystem(t, systemOpts{extraYAML: "saf: {retry_min: 100ms, retry_max: 500ms}\n"})
	tm := dialTerminal(t, s.acquirer, "E2ESAF01")
	auth := tm.request("0100", mc, 7001)
	resp := tm.roundTrip(auth)
	require.Equal(t, "00", resp.ResponseCode)
	beta := s.issuers[1]
	require.Equal(t, 0, beta.stop(10*time.Second))

	comp := tm.request("0220", mc, 7001)
	comp.OriginalData = iso8583.OriginalData{MTI: "0100", STAN: auth.STAN, TransmissionDateTime: auth.TransmissionDateTime}.String()
	require.Equal(t, "00", tm.roundTrip(comp).ResponseCode, "the completion is the terminal's: accepted, owed to the issuer")
	require.Eventually(t, func() bool { return safDepth(t, s) == 1 }, 10*time.Second, 20*time.Millisecond)

	require.Equal(t, 0, s.sw.stop(30*time.Second), "serve exits 0 on SIGTERM")
	s.sw = start(t, "serve (restarted)", []string{"CARDSWITCH_DATABASE_URL="}, s.serveArgs...)
	queued := safList(t, s.dataDir, "queued")
	require.Len(t, queued, 1, "the completion survived the restart")
	require.Equal(t, "completion", queued[0].Kind)
	require.Equal(t, resp.RRN, queued[0].RRN)
	id := fmt.Sprint(queued[0].ID)

	out, err := safCLI(t, s.dataDir, "retry", id)
	require.Error(t, err, "a queued item is not retried: %s", out)
	require.Equal(t, 2, exitCode(err))
	out, err = safCLI(t, s.dataDir, "park", id, "--reason", "issuer beta in maintenance")
	require.NoError(t, err, out)
	require.Len(t, safList(t, s.dataDir, "parked"), 1)

	s.issuers[1] = start(t, "issuer-sim beta (restarted)", nil, "issuer-sim", "--listen", s.beta, "--name", "beta", "--slow-delay", "3s")
	s.waitReady(t)
	time.Sleep(300 * time.Millisecond) // a negative check: a parked item is not delivered, even with its issuer back
	require.Len(t, safList(t, s.dataDir, "parked"), 1)

	out, err = safCLI(t, s.dataDir, "retry", id)
	require.NoError(t, err, out)
	require.Eventually(t, func() bool { return safDepth(t, s) == 0 }, 20*time.Second, 50*time.Millisecond,
		"the retried completion reaches the issuer")
	done := safList(t, s.dataDir, "delivered")
	require.Len(t, done, 1)
	require.Equal(t, "0220", done[0].MTI)

	auditOut, err := exec.Command(binary, "audit", "list", "--data-dir", s.dataDir).CombinedOutput()
	require.NoError(t, err, "%s", auditOut)
	require.Contains(t, string(auditOut), "saf.park")
	require.Contains(t, string(auditOut), "saf.retry")
	require.True(t, strings.Count(string(auditOut), "refused") >= 1, "the refused retry is audited too: %s", auditOut)
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestRefundsAndReversalsOfOneSale drives a sale's refunds and reversals through the real ledger:
// refunds naming the sale stay within its amount, and a sale once refunded is not reversed whole.
func TestRefundsAndReversalsOfOneSale(t *testing.T) {
	s := contractSystem(t)
	tm := dialTerminal(t, s.acquirer, "E2EREF01")
	// Another sale first, so that the merchant is owed enough for every refund below (refunds come
	// out of what the merchant is owed, fees kept).
	require.Equal(t, "00", tm.roundTrip(tm.request("0200", visa, 50001)).ResponseCode)
	sale := tm.request("0200", visa, 10001)
	resp := tm.roundTrip(sale)
	require.Equal(t, "00", resp.ResponseCode)
	of := iso8583.OriginalData{MTI: "0200", STAN: sale.STAN, TransmissionDateTime: sale.TransmissionDateTime}.String()
	refund := func(amount int64) string {
		r := tm.request("0200", visa, amount)
		r.ProcessingCode, r.OriginalData = "200000", of
		return tm.roundTrip(r).ResponseCode
	}
	require.Equal(t, "00", refund(4001), "a partial refund")
	rev := tm.request("0400", visa, 10001)
	rev.OriginalData = of
	require.Equal(t, "12", tm.roundTrip(rev).ResponseCode, "a refunded sale is not reversed whole: refund the rest")
	require.Equal(t, "13", refund(6001), "refunds stay within the sale (6,000 is left)")
	require.Equal(t, "00", refund(6000), "the rest")
	require.Equal(t, "13", refund(1001), "nothing is left")

	var tx struct {
		Status  string `json:"status"`
		Related []struct {
			Kind      string `json:"kind"`
			Status    string `json:"status"`
			Rejection string `json:"ledger_rejection"`
		} `json:"related"`
	}
	require.Equal(t, 200, getJSON(t, "http://"+s.http+"/v1/transactions/"+resp.RRN, &tx))
	require.Equal(t, "posted", tx.Status, "the sale stands, refunded in full by two refunds")
	kinds := map[string]int{}
	for _, r := range tx.Related {
		if r.Rejection == "" {
			kinds[r.Kind]++
		}
	}
	require.Equal(t, 2, kinds["refund"])
	require.Zero(t, kinds["reverse"])
}
