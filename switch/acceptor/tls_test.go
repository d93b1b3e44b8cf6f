package acceptor

import (
	"bufio"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/tlsconf"
	"github.com/cardswitch/cardswitch/tlsconf/tlstest"
)

// TestMutualTLSRefusesUntrustedClients: with a client CA, a terminal presenting a certificate of
// that CA is served; one with no certificate, or with one of another CA, is refused at the
// handshake, counted, and never reaches the handler. A client that connects and sends nothing is
// closed after the read timeout, not the idle timeout.
func TestMutualTLSRefusesUntrustedClients(t *testing.T) {
	bank, rogue := tlstest.NewCA(t, "acquirer"), tlstest.NewCA(t, "rogue")
	srv := bank.Server(t, "switch", "127.0.0.1")
	serverTLS, _, err := tlsconf.Server(srv.CertFile, srv.KeyFile, bank.CertFile)
	require.NoError(t, err)
	h := &echoHandler{}
	hs := start(t, h, func(c *Config) { c.TLS, c.ReadTimeout = serverTLS, 300*time.Millisecond })

	dialTLS := func(leaf *tlstest.Leaf) (*client, error) {
		t.Helper()
		cfg, _, err := tlsconf.Client(bank.CertFile, "", "", "")
		require.NoError(t, err)
		if leaf != nil {
			cert, err := tls.LoadX509KeyPair(leaf.CertFile, leaf.KeyFile)
			require.NoError(t, err)
			// Sent whatever CAs the server asks for, as an intruder would.
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		}
		nc, err := tls.Dial("tcp", hs.addr, cfg)
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { nc.Close() })
		return &client{t: t, nc: nc, r: bufio.NewReader(nc)}, nil
	}
	roundTrip := func(c *client) (*iso8583.Message, error) {
		c.send(&iso8583.Message{MTI: "0800", STAN: "000001", NetworkCode: "301"})
		return c.recv()
	}

	good := bank.Client(t, "terminal-1")
	c, err := dialTLS(&good)
	require.NoError(t, err)
	m, err := roundTrip(c)
	require.NoError(t, err)
	require.Equal(t, "0810", m.MTI)

	bad := rogue.Client(t, "terminal-2")
	for _, leaf := range []*tlstest.Leaf{&bad, nil} {
		c, err := dialTLS(leaf)
		if err == nil { // TLS 1.3: the refusal arrives after the client's side of the handshake
			_, err = roundTrip(c)
		}
		require.Error(t, err, "a client without a trusted certificate got an answer")
	}
	require.Eventually(t, func() bool { return testutil.ToFloat64(hs.srv.metrics.tlsFailures) == 2 },
		5*time.Second, 5*time.Millisecond, "refused handshakes counted")
	require.Equal(t, int64(1), h.started.Load(), "only the trusted client reached the handler")

	silent, err := net.Dial("tcp", hs.addr)
	require.NoError(t, err)
	defer silent.Close()
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = silent.Read(make([]byte, 1))
	require.Error(t, err, "a client that never handshakes is closed")
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "closed by the server within its read timeout, not by the test's deadline")
}
