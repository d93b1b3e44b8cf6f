package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
	"github.com/cardswitch/cardswitch/simulator/testkeys"
)

// TestSecretsNeverPrintedOrLogged configures every secret the switch has — the admin token (from
// a file, then from CARDSWITCH_ADMIN_TOKEN), the database password (from a file), and the
// terminal and issuer keys under the LMK — and checks that none appears in `serve
// --print-config`, in the log of a switch that served requests with and without the token at
// debug level, or in the error of a start that fails to reach the database.
func TestSecretsNeverPrintedOrLogged(t *testing.T) {
	dir := t.TempDir()
	const (
		token    = "admin-token-e2e-7f3c9a1d5b"
		envToken = "admin-token-from-env-4e8b2c6a"
		password = "db-password-e2e-91c4f7a2"
	)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content+"\n"), 0o600))
		return p
	}
	tokenFile, passwordFile := write("token", token), write("db-password", password)
	keys, err := testkeys.Generate(hsm.NewSoft(hsm.TestLMK()), "test")
	require.NoError(t, err)
	secrets := map[string]string{"admin token": token, "admin token from the environment": envToken, "database password": password}
	for name, k := range map[string]hsm.Key{"TPK": keys.TPK, "TAK": keys.TAK, "BDK": keys.BDK, "ZPK": keys.ZPK, "ZAK": keys.ZAK, "MK-AC": keys.MKAC} {
		secrets[name+" cryptogram"] = k.Cryptogram[1:] // with or without its scheme letter
	}
	noSecrets := func(what, out string) {
		t.Helper()
		require.NotEmpty(t, out, "%s is empty: the check would prove nothing", what)
		for name, v := range secrets {
			require.NotContains(t, out, v, "%s shows the %s", what, name)
		}
	}

	// The trust-authenticated test server ignores the password, so the switch runs with it.
	dbURL := pgtest.Schema(t)
	acquirer, web, api, alpha := freePort(t), freePort(t), freePort(t), freePort(t)
	k := testkeys.ConfigKey
	cfg := func(db string) string {
		path := filepath.Join(t.TempDir(), "cardswitch.yaml")
		require.NoError(t, os.WriteFile(path, []byte(fmt.Sprintf(`acceptor: {listen: %q}
http: {listen: %q, token_file: %q}
api: {listen: %q}
issuers:
  - {name: alpha, addr: %q, prefixes: ["4"], timeout: 1s, echo_interval: 1s, zpk: %s, mac_key: %s,
     emv: {scheme: visa-cvn10, mk_ac: %s}}
terminals:
  - {id: E2ESEC01, tpk: %s, mac_key: %s}
  - {id: E2ESEC02, bdk: %s}
ledger: {database_url: %q, database_password_file: %q, data_dir: %q}
log: {level: debug}
`, acquirer, web, tokenFile, api, alpha, k(keys.ZPK), k(keys.ZAK), k(keys.MKAC), k(keys.TPK), k(keys.TAK), k(keys.BDK), db, passwordFile,
			filepath.Join(dir, "data"))), 0o600))
		return path
	}
	path := cfg(dbURL)
	printConfig := func(env ...string) string {
		cmd := exec.Command(binary, "serve", "--config", path, "--print-config")
		cmd.Env = append(os.Environ(), append([]string{"CARDSWITCH_DATABASE_URL="}, env...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		return string(out)
	}
	printed := printConfig()
	noSecrets("serve --print-config", printed)
	require.Contains(t, printed, "REDACTED", "the cryptograms and the password are replaced, not dropped silently")
	require.Contains(t, printed, keys.TPK.CheckValue, "check values stay, to tell keys apart")
	noSecrets("serve --print-config with CARDSWITCH_ADMIN_TOKEN", printConfig("CARDSWITCH_ADMIN_TOKEN="+envToken))

	// A running switch, at debug level, asked with the token, without it and with a wrong one.
	start(t, "issuer-sim alpha", nil, "issuer-sim", "--listen", alpha, "--name", "alpha", "--lmk", "test",
		"--zpk", keys.ZPK.Cryptogram, "--zak", keys.ZAK.Cryptogram)
	waitTCP(t, alpha)
	sw := start(t, "serve", []string{"CARDSWITCH_DATABASE_URL="}, "serve", "--config", path)
	(&system{http: web}).waitReady(t)
	call := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, "http://"+web+"/v1/issuers", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusOK, call(token))
	require.Equal(t, http.StatusUnauthorized, call(""))
	require.Equal(t, http.StatusUnauthorized, call(envToken))
	tm := dialTerminal(t, acquirer, "E2ESEC02")
	require.NotEmpty(t, tm.roundTrip(tm.request("0200", visa, 1500)).ResponseCode)

	// An operator closes the day from the command line; the running switch's audit endpoint shows
	// who did it (the same table, another process).
	cut := exec.Command(binary, "ledger", "cutover", "--database-url", dbURL)
	cut.Env = append(os.Environ(), "CARDSWITCH_DATABASE_URL=")
	out, err := cut.CombinedOutput()
	require.NoError(t, err, "%s", out)
	req, _ := http.NewRequest(http.MethodGet, "http://"+web+"/v1/audit?action=ledger.cutover", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var entries struct{ Entries []audit.Entry }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&entries))
	resp.Body.Close()
	require.Len(t, entries.Entries, 1)
	require.Equal(t, audit.ActorCLI(), entries.Entries[0].Actor)
	require.Equal(t, audit.ResultOK, entries.Entries[0].Result)

	require.Equal(t, 0, sw.stop(30*time.Second))
	log := sw.out.String()
	require.Contains(t, log, "cardswitch stopped")
	noSecrets("the serve log", log)

	// A start that cannot reach the database says so without the password.
	bad := exec.Command(binary, "serve", "--config", cfg("postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2"))
	bad.Env = append(os.Environ(), "CARDSWITCH_DATABASE_URL=")
	out, err = bad.CombinedOutput()
	require.Error(t, err, "%s", out)
	require.True(t, strings.Contains(string(out), "127.0.0.1") || strings.Contains(string(out), "connect"), "%s", out)
	noSecrets("the failed start's error", string(out))
}
