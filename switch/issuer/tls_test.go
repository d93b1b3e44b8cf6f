package issuer

import (
	"context"
	"errors"
	"strings"
	"testing"

	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
	"github.com/cardswitch/cardswitch/tlsconf"
	"github.com/cardswitch/cardswitch/tlsconf/tlstest"
)

// TestMutualTLSLink: a link verifies its host's certificate and presents its own; a host whose
// certificate another CA signed is refused, and the status says why.
func TestMutualTLSLink(t *testing.T) {
	bank, rogue := tlstest.NewCA(t, "bank"), tlstest.NewCA(t, "rogue")
	hostCert := bank.Server(t, "issuer-host", "127.0.0.1")
	serverTLS, _, err := tlsconf.Server(hostCert.CertFile, hostCert.KeyFile, bank.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := startSim(t, simissuer.Config{TLS: serverTLS})
	switchCert := bank.Client(t, "switch")

	clientTLS, _, err := tlsconf.Client(bank.CertFile, switchCert.CertFile, switchCert.KeyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig("")
	cfg.Endpoints = []Endpoint{{Addr: s.Addr(), TLS: clientTLS}}
	l, _ := startLink(t, cfg)
	eventually(t, "link up over TLS", func() bool { return allSignedOn(l) })
	resp, err := l.Send(context.Background(), authorization("000001", "000000000151"))
	if err != nil || resp.ResponseCode != "51" {
		t.Fatalf("Send over TLS: %v, %v; want a 51", resp, err)
	}
	if c := l.Status().Connections[0]; c.TLS != "TLS 1.3" || !c.PeerCertificateExpires.Equal(hostCert.NotAfter) {
		t.Fatalf("connection status TLS %q, peer certificate expires %v; want TLS 1.3 and %v", c.TLS, c.PeerCertificateExpires, hostCert.NotAfter)
	}

	wrongCA, _, err := tlsconf.Client(rogue.CertFile, switchCert.CertFile, switchCert.KeyFile, "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name = "beta"
	cfg.Endpoints = []Endpoint{{Addr: s.Addr(), TLS: wrongCA}}
	refused, _ := startLink(t, cfg)
	eventually(t, "the handshake failure recorded", func() bool {
		return strings.Contains(refused.Status().Connections[0].LastError, "certificate signed by unknown authority")
	})
	if _, err := refused.Send(context.Background(), authorization("000002", "000000000101")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Send with the host refused: %v, want ErrUnavailable", err)
	}

	noClientCert, _, err := tlsconf.Client(bank.CertFile, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Name = "gamma"
	cfg.Endpoints = []Endpoint{{Addr: s.Addr(), TLS: noClientCert}}
	anonymous, _ := startLink(t, cfg)
	eventually(t, "the host's refusal recorded", func() bool {
		return strings.Contains(anonymous.Status().Connections[0].LastError, "certificate required")
	})
}
