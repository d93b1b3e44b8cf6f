package tlsconf

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cardswitch/cardswitch/tlsconf/tlstest"
)

// handshake runs one TLS handshake over loopback TCP and returns the client's and the server's
// errors.
func handshake(t *testing.T, server, client *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer nc.Close()
		s := tls.Server(nc, server)
		s.SetDeadline(time.Now().Add(5 * time.Second))
		err = s.Handshake()
		if err == nil {
			// TLS 1.3: the client learns of a refused certificate on its first read.
			_, err = s.Write([]byte("ok"))
		}
		done <- err
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := tls.Client(nc, client)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	clientErr = c.Handshake()
	if clientErr == nil {
		buf := make([]byte, 2)
		_, clientErr = io.ReadFull(c, buf)
	}
	nc.Close()
	return clientErr, <-done
}

func TestMutualTLS(t *testing.T) {
	ca, other := tlstest.NewCA(t, "bank"), tlstest.NewCA(t, "elsewhere")
	srv := ca.Server(t, "switch", "127.0.0.1", "switch.example")
	good, bad := ca.Client(t, "terminal"), other.Client(t, "intruder")

	server, exps, err := Server(srv.CertFile, srv.KeyFile, ca.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(exps) != 2 || !exps[0].NotAfter.Equal(srv.NotAfter) || !exps[1].NotAfter.Equal(ca.NotAfter()) {
		t.Fatalf("server expiries %+v, want the certificate's and the client CA's", exps)
	}
	client := func(caFile string, leaf *tlstest.Leaf, name string) *tls.Config {
		t.Helper()
		var cert, key string
		if leaf != nil {
			cert, key = leaf.CertFile, leaf.KeyFile
		}
		c, _, err := Client(caFile, cert, key, name)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		client *tls.Config
		want   string // in the client's error; empty: the handshake succeeds
	}{
		{"trusted client certificate", client(ca.CertFile, &good, "switch.example"), ""},
		{"server checked by IP", ForAddr(client(ca.CertFile, &good, ""), "127.0.0.1:8583"), ""},
		{"no client certificate", client(ca.CertFile, nil, "switch.example"), "certificate required"},
		{"client certificate of another CA", forced(client(ca.CertFile, &bad, "switch.example")), "unknown certificate authority"},
		{"server certificate of an untrusted CA", client(other.CertFile, &good, "switch.example"), "unknown authority"},
		{"wrong server name", client(ca.CertFile, &good, "bank.example"), "not bank.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cerr, serr := handshake(t, server, tc.client)
			if tc.want == "" {
				if cerr != nil || serr != nil {
					t.Fatalf("handshake failed: client %v, server %v", cerr, serr)
				}
				return
			}
			if cerr == nil || !strings.Contains(cerr.Error(), tc.want) {
				t.Fatalf("client error %v, want one saying %q", cerr, tc.want)
			}
		})
	}
}

// forced sends the client certificate even when the server asks for another CA's (Go's client
// otherwise sends none), as an intruder would.
func forced(c *tls.Config) *tls.Config {
	cert := c.Certificates[0]
	c.Certificates = nil
	c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	return c
}

func TestFileErrorsNameTheFile(t *testing.T) {
	ca := tlstest.NewCA(t, "bank")
	leaf := ca.Server(t, "switch", "127.0.0.1")
	notPEM := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"missing key", func() error { _, _, err := Server(leaf.CertFile, "", ""); return err }, "key"},
		{"key of another certificate", func() error {
			other := ca.Server(t, "other", "127.0.0.1")
			_, _, err := Server(leaf.CertFile, other.KeyFile, "")
			return err
		}, leaf.CertFile},
		{"CA bundle without certificates", func() error { _, _, err := Client(notPEM, "", "", ""); return err }, notPEM},
		{"missing CA file", func() error { _, _, err := Server(leaf.CertFile, leaf.KeyFile, "/nonexistent/ca.pem"); return err }, "/nonexistent/ca.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error naming %q", err, tc.want)
			}
		})
	}
	var pe *os.PathError
	if _, _, err := Client("/nonexistent/ca.pem", "", "", ""); !errors.As(err, &pe) {
		t.Fatalf("missing file: %v, want a path error", err)
	}
}

func TestExpiryMetric(t *testing.T) {
	ca := tlstest.NewCA(t, "bank")
	client := ca.Client(t, "switch")
	_, exps, err := Client(ca.CertFile, client.CertFile, client.KeyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.Set(EndpointIssuer("alpha"), exps)
	if got := testutil.ToFloat64(m.expiry.WithLabelValues("issuer/alpha", RoleClient)); got != float64(client.NotAfter.Unix()) {
		t.Fatalf("client certificate expiry %v, want %d", got, client.NotAfter.Unix())
	}
	if got := testutil.ToFloat64(m.expiry.WithLabelValues("issuer/alpha", RoleRootCA)); got != float64(ca.NotAfter().Unix()) {
		t.Fatalf("root CA expiry %v, want %d", got, ca.NotAfter().Unix())
	}
	m.Set(EndpointIssuer("alpha"), exps[:1])
	if n := testutil.CollectAndCount(m.expiry); n != 1 {
		t.Fatalf("%d series after the client certificate was dropped, want 1", n)
	}
}
