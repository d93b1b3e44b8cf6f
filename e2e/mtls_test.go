package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
	"github.com/cardswitch/cardswitch/tlsconf"
	"github.com/cardswitch/cardswitch/tlsconf/tlstest"
)

// dialTerminalTLS is dialTerminal over TLS; the handshake error, if any, is returned.
func dialTerminalTLS(t *testing.T, addr, id string, cfg *tls.Config) (*terminal, error) {
	t.Helper()
	nc, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	tm := &terminal{t: t, nc: nc, pending: map[string]chan *iso8583.Message{}, id: id, readErr: make(chan error, 1)}
	go tm.readLoop()
	t.Cleanup(func() { nc.Close() })
	return tm, nil
}

// refused reports whether a TLS terminal gets no answer: the handshake fails, or (TLS 1.3, where
// the server checks the client's certificate after the client is done) the connection is closed
// before any answer.
func refused(t *testing.T, addr string, cfg *tls.Config) bool {
	tm, err := dialTerminalTLS(t, addr, "E2EROGUE", cfg)
	if err != nil {
		return true
	}
	ch := tm.send(tm.request("0200", visa, 1001))
	select {
	case <-ch:
		return false
	case <-tm.readErr:
		return true
	case <-time.After(10 * time.Second):
		return false
	}
}

// metricFloat is the value of one series in a Prometheus text exposition (-1 when absent).
func metricFloat(t *testing.T, body, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err, "metric %s", series)
			return f
		}
	}
	return -1
}

// TestMutualTLSBothSides: terminals must present a certificate of the acquirer's CA; the switch
// verifies each issuer host against the bank's CA and presents its own. A terminal with a wrong
// certificate or none is refused at the acquirer side; an issuer host presenting a certificate
// of another CA is refused by the link, which says why in /v1/issuers and the log. The
// certificates' expiry is published. `cardswitch load` drives it all over TLS.
func TestMutualTLSBothSides(t *testing.T) {
	acquirerCA, bankCA, rogueCA := tlstest.NewCA(t, "acquirer"), tlstest.NewCA(t, "bank"), tlstest.NewCA(t, "rogue")
	switchServer := acquirerCA.Server(t, "switch", "127.0.0.1")
	switchClient := bankCA.Client(t, "switch-client")
	alphaHost := bankCA.Server(t, "alpha-host", "127.0.0.1")
	betaHost := rogueCA.Server(t, "beta-host", "127.0.0.1") // not signed by the bank's CA

	alpha, beta, acq, httpAddr, apiAddr := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	start(t, "issuer-sim alpha", nil, "issuer-sim", "--listen", alpha, "--name", "alpha",
		"--tls-cert", alphaHost.CertFile, "--tls-key", alphaHost.KeyFile, "--tls-client-ca", bankCA.CertFile)
	start(t, "issuer-sim beta", nil, "issuer-sim", "--listen", beta, "--name", "beta",
		"--tls-cert", betaHost.CertFile, "--tls-key", betaHost.KeyFile)
	waitTCP(t, alpha)
	waitTCP(t, beta)
	linkTLS := fmt.Sprintf("{enabled: true, ca_file: %q, cert_file: %q, key_file: %q}", bankCA.CertFile, switchClient.CertFile, switchClient.KeyFile)
	cfg := fmt.Sprintf(`acceptor: {listen: %q, tls_cert: %q, tls_key: %q, tls_client_ca: %q}
http: {listen: %q}
api: {listen: %q}
issuers:
  - {name: alpha, addr: %q, prefixes: ["4"], timeout: 2s, tls: %s}
  - {name: beta, addr: %q, prefixes: ["5"], timeout: 2s, reconnect_max: 500ms, tls: %s}
ledger: {data_dir: %q, database_url: %q}
`, acq, switchServer.CertFile, switchServer.KeyFile, acquirerCA.CertFile, httpAddr, apiAddr,
		alpha, linkTLS, beta, linkTLS, t.TempDir(), pgtest.Schema(t))
	path := filepath.Join(t.TempDir(), "cardswitch.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	sw := start(t, "serve", []string{"CARDSWITCH_DATABASE_URL="}, "serve", "--config", path)
	require.Eventually(t, func() bool { return readyz(t, httpAddr) == http.StatusOK }, 30*time.Second, 50*time.Millisecond,
		"ready: alpha's link up over mutual TLS")

	terminalTLS := func(leaf *tlstest.Leaf) *tls.Config {
		c, _, err := tlsconf.Client(acquirerCA.CertFile, "", "", "")
		require.NoError(t, err)
		if leaf != nil {
			cert, err := tls.LoadX509KeyPair(leaf.CertFile, leaf.KeyFile)
			require.NoError(t, err)
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		}
		return c
	}
	good := acquirerCA.Client(t, "terminal")
	tm, err := dialTerminalTLS(t, acq, "E2EMTLS1", terminalTLS(&good))
	require.NoError(t, err)
	require.Equal(t, "00", tm.roundTrip(tm.request("0200", visa, 1001)).ResponseCode, "over TLS on both sides")

	rogueTerminal := rogueCA.Client(t, "intruder")
	require.True(t, refused(t, acq, terminalTLS(&rogueTerminal)), "a terminal with another CA's certificate")
	require.True(t, refused(t, acq, terminalTLS(nil)), "a terminal without a certificate")

	require.Eventually(t, func() bool {
		for _, c := range issuerStatuses(t, httpAddr)["beta"].Connections {
			if !strings.Contains(c.LastError, "certificate signed by unknown authority") {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "/v1/issuers says why beta's host is refused")
	require.False(t, issuerStatuses(t, httpAddr)["beta"].Up)
	require.Equal(t, "91", tm.roundTrip(tm.request("0200", mc, 1001)).ResponseCode, "beta's cards while its host is refused")
	log := sw.out.String()
	require.Contains(t, log, "acceptor TLS handshake failed")
	require.Regexp(t, `issuer connection down.*"issuer":"beta".*certificate signed by unknown authority`, log)

	_, metrics := httpGet(t, "http://"+httpAddr+"/metrics")
	for series, want := range map[string]time.Time{
		`{endpoint="acceptor",role="server"}`:      switchServer.NotAfter,
		`{endpoint="acceptor",role="client_ca"}`:   acquirerCA.NotAfter(),
		`{endpoint="issuer/alpha",role="client"}`:  switchClient.NotAfter,
		`{endpoint="issuer/alpha",role="root_ca"}`: bankCA.NotAfter(),
		`{endpoint="issuer/beta",role="root_ca"}`:  bankCA.NotAfter(),
		`{endpoint="acceptor",role="nonexistent"}`: {},
	} {
		got := metricFloat(t, metrics, "cardswitch_tls_certificate_expiry_timestamp_seconds"+series)
		if want.IsZero() {
			require.Equal(t, -1.0, got, series)
			continue
		}
		require.Equal(t, float64(want.Unix()), got, series)
	}
	require.GreaterOrEqual(t, metricFloat(t, metrics, "cardswitch_acceptor_tls_handshake_failures_total"), 2.0)

	out, err := exec.Command(binary, "load", "--target", acq, "--rate", "50", "--duration", "2s", "--bins", "4",
		"--mix", "purchase=100", "--quiet", "--tls-ca", acquirerCA.CertFile, "--tls-cert", good.CertFile,
		"--tls-key", good.KeyFile, "--expect", "unexpected=0,timeouts=0").CombinedOutput()
	require.NoError(t, err, "cardswitch load over mutual TLS:\n%s", out)
}
