package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// merchantsYAML is the merchants block of the default topology with MERCHANT0000001's fee.
func merchantsYAML(percent string, fixed int64) string {
	return fmt.Sprintf(`merchants:
  - {id: MERCHANT0000001, name: Example e-commerce merchant, mcc: "5999", fee_percent: %q, fee_fixed: %d}
  - {id: GOVAGENCY000001, name: Example government agency, kind: agency, mcc: "9311", convenience_fee: 100}
`, percent, fixed)
}

// feeOf is the merchant fee on amount: percent of it rounded half up to the minor unit, plus fixed.
func feeOf(amount int64, percent string, fixed int64) int64 {
	p := decimal.RequireFromString(percent)
	return decimal.NewFromInt(amount).Mul(p).Div(decimal.NewFromInt(100)).Round(0).IntPart() + fixed
}

// purchasesAnswered is the switch's count of approved purchases.
func purchasesAnswered(t *testing.T, httpAddr string) int {
	_, body := httpGet(t, "http://"+httpAddr+"/metrics")
	return metricValue(t, body, `cardswitch_transactions_total{response_code="00",type="purchase"}`)
}

func reloadCLI(t *testing.T, configPath string) (string, int) {
	out, err := exec.Command(binary, "reload", "--config", configPath).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	}
	require.NoError(t, err, string(out))
	return string(out), 0
}

// TestReloadUnderLoad changes a merchant's fee with `cardswitch reload` while `cardswitch load`
// sends purchases at 300/s: no request is lost, errored or slowed into a timeout, no terminal
// connection is dropped, every purchase sent after the reload is charged the new fee and every
// one before it the old fee (each checked in the ledger); a bad file is refused with the reason
// while traffic goes on; SIGHUP reloads too.
func TestReloadUnderLoad(t *testing.T) {
	s := startSystem(t, systemOpts{})
	path := s.serveArgs[2]
	base, err := os.ReadFile(path)
	require.NoError(t, err)
	write := func(extra string) {
		require.NoError(t, os.WriteFile(path, append(append([]byte{}, base...), extra...), 0o600))
	}

	dir := t.TempDir()
	report, approvals := filepath.Join(dir, "report.json"), filepath.Join(dir, "approvals.jsonl")
	const terminals = 8
	load := exec.Command(binary, "load", "--target", s.acquirer, "--rate", "300", "--duration", "9s", "--mix", "purchase=100",
		"--terminals", fmt.Sprint(terminals), "--quiet", "--report", report, "--ledger-log", approvals,
		"--expect", "unexpected=0,timeouts=0")
	var loadOut strings.Builder
	load.Stdout, load.Stderr = &loadOut, &loadOut
	require.NoError(t, load.Start())
	loadDone, exited := make(chan error, 1), make(chan struct{})
	go func() {
		loadDone <- load.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		load.Process.Kill()
		<-exited
	})
	waitPurchases := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool { return purchasesAnswered(t, s.http) >= n }, 20*time.Second, 20*time.Millisecond,
			"%d purchases answered", n)
	}

	waitPurchases(900) // about 3 s of traffic at the old fee
	write(merchantsYAML("2.50", 20))
	reloadStart := time.Now()
	out, code := reloadCLI(t, path)
	reloadEnd := time.Now()
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "merchants changed: MERCHANT0000001")

	waitPurchases(1500)
	write("merchants:\n  - {id: SHORT, mcc: \"5999\"}\n")
	out, code = reloadCLI(t, path)
	require.Equal(t, 2, code, "a bad file is refused with exit status 2: %s", out)
	require.Contains(t, out, "merchants[0].id")
	_, metrics := httpGet(t, "http://"+s.http+"/metrics")
	require.Equal(t, 0, metricValue(t, metrics, "cardswitch_config_last_reload_successful"))

	write(merchantsYAML("2.50", 20))
	require.NoError(t, s.sw.cmd.Process.Signal(syscall.SIGHUP))
	require.Eventually(t, func() bool {
		_, m := httpGet(t, "http://"+s.http+"/metrics")
		return metricValue(t, m, `cardswitch_config_reloads_total{result="success"}`) == 2
	}, 10*time.Second, 20*time.Millisecond, "SIGHUP reloads")

	select {
	case err := <-loadDone:
		require.NoError(t, err, "cardswitch load:\n%s", loadOut.String())
	case <-time.After(60 * time.Second):
		t.Fatal("cardswitch load did not finish")
	}
	var rep struct {
		Sent, Answered, Timeouts, Unexpected, Unanswered, Skipped int64
		ConnErrors                                                int64            `json:"connection_errors"`
		ResponseCodes                                             map[string]int64 `json:"response_codes"`
	}
	b, err := os.ReadFile(report)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &rep))
	require.Positive(t, rep.Sent)
	require.Equal(t, rep.Sent, rep.Answered, "every request answered")
	require.Zero(t, rep.Timeouts+rep.Unexpected+rep.Unanswered+rep.Skipped+rep.ConnErrors, "%s", b)
	require.Equal(t, map[string]int64{"00": rep.Sent}, rep.ResponseCodes)
	_, metrics = httpGet(t, "http://"+s.http+"/metrics")
	require.Equal(t, terminals, metricValue(t, metrics, "cardswitch_acceptor_connections_accepted_total"),
		"no terminal reconnected: no connection was dropped")
	require.Equal(t, 1, metricValue(t, metrics, `cardswitch_config_reloads_total{result="failure"}`))
	require.Equal(t, 1, metricValue(t, metrics, "cardswitch_config_last_reload_successful"))

	// Each purchase's fee in the ledger: the old schedule for those sent well before the reload,
	// the new one for those sent after it, either for the few in flight across it.
	f, err := os.Open(approvals)
	require.NoError(t, err)
	defer f.Close()
	before, after := reloadStart.UTC().Truncate(time.Second).Add(-time.Second), reloadEnd.UTC().Truncate(time.Second).Add(time.Second)
	var old, fresh, across int
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var a struct {
			RRN, Transmitted string
			Amount           int64
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		sent, err := time.Parse("0102150405", a.Transmitted)
		require.NoError(t, err)
		sent = sent.AddDate(reloadStart.UTC().Year(), 0, 0)
		var tx struct {
			Fee int64 `json:"fee"`
		}
		require.Equal(t, http.StatusOK, getJSON(t, "http://"+s.http+"/v1/transactions/"+a.RRN, &tx), a.RRN)
		oldFee, newFee := feeOf(a.Amount, "1.50", 10), feeOf(a.Amount, "2.50", 20)
		switch {
		case sent.Before(before):
			require.Equal(t, oldFee, tx.Fee, "purchase %s sent at %s, before the reload", a.RRN, a.Transmitted)
			old++
		case !sent.Before(after):
			require.Equal(t, newFee, tx.Fee, "purchase %s sent at %s, after the reload", a.RRN, a.Transmitted)
			fresh++
		default:
			require.Contains(t, []int64{oldFee, newFee}, tx.Fee, "purchase %s sent during the reload", a.RRN)
			across++
		}
	}
	require.NoError(t, sc.Err())
	require.Equal(t, int(rep.Sent), old+fresh+across, "every approval is in the ledger log")
	require.Greater(t, old, 300, "purchases at the old fee")
	require.Greater(t, fresh, 300, "purchases at the new fee")
	t.Logf("%d purchases at the old fee, %d at the new, %d in flight across the reload", old, fresh, across)
}
