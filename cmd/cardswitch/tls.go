package main

import (
	"crypto/tls"

	"github.com/spf13/cobra"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/tlsconf"
)

// acceptorTLS is an acquirer listener's TLS from its files (nil without tls_cert); the
// certificates' expiry is published under endpoint "acceptor" for the acceptor block and
// "acceptor/<name>" for acceptors[]. key is the listener's config key, for errors.
func acceptorTLS(key string, ac config.Acceptor, m *tlsconf.Metrics) (*tls.Config, error) {
	if ac.TLSCert == "" {
		return nil, nil
	}
	cfg, exps, err := tlsconf.Server(ac.TLSCert, ac.TLSKey, ac.TLSClientCA)
	if err != nil {
		return nil, usagef("%s.tls_cert: %v", key, err)
	}
	endpoint := tlsconf.EndpointAcceptor
	if key != "acceptor" {
		endpoint += "/" + ac.Name
	}
	m.Set(endpoint, exps)
	return cfg, nil
}

// issuerTLS is an issuer link's TLS from its files (nil when off), and its certificates' expiry
// (to publish under endpoint "issuer/<name>").
func issuerTLS(n int, ic config.Issuer) (*tls.Config, []tlsconf.Expiry, error) {
	t := ic.TLS
	if !t.Enabled {
		return nil, nil, nil
	}
	cfg, exps, err := tlsconf.Client(t.CAFile, t.CertFile, t.KeyFile, t.ServerName)
	if err != nil {
		return nil, nil, usagef("issuers[%d].tls: %v", n, err)
	}
	return cfg, exps, nil
}

// clientTLSFlags are the TLS flags of a command that dials the switch (`cardswitch load`).
type clientTLSFlags struct {
	on                        bool
	ca, cert, key, serverName string
}

func (f *clientTLSFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.BoolVar(&f.on, "tls", false, "connect with TLS (implied by the other --tls-* flags)")
	fl.StringVar(&f.ca, "tls-ca", "", "PEM bundle of the CAs that sign the switch's certificate (default: the system's roots)")
	fl.StringVar(&f.cert, "tls-cert", "", "client certificate (PEM) for mutual TLS, with --tls-key")
	fl.StringVar(&f.key, "tls-key", "", "client certificate's private key (PEM)")
	fl.StringVar(&f.serverName, "tls-server-name", "", "name the switch's certificate must carry (default: the host of --target)")
}

// config is the TLS configuration the flags ask for, nil for plain TCP.
func (f *clientTLSFlags) config() (*tls.Config, error) {
	if !f.on && f.ca == "" && f.cert == "" && f.key == "" && f.serverName == "" {
		return nil, nil
	}
	if (f.cert == "") != (f.key == "") {
		return nil, usagef("--tls-cert and --tls-key go together")
	}
	cfg, _, err := tlsconf.Client(f.ca, f.cert, f.key, f.serverName)
	if err != nil {
		return nil, usagef("--tls: %v", err)
	}
	return cfg, nil
}

// serverTLSFlags are the TLS flags of a command that listens (`cardswitch issuer-sim`).
type serverTLSFlags struct{ cert, key, clientCA string }

func (f *serverTLSFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.cert, "tls-cert", "", "serve TLS with this certificate (PEM), with --tls-key")
	fl.StringVar(&f.key, "tls-key", "", "the certificate's private key (PEM)")
	fl.StringVar(&f.clientCA, "tls-client-ca", "", "require client certificates signed by these CAs (PEM bundle): mutual TLS")
}

// config is the TLS configuration the flags ask for, nil for plain TCP.
func (f *serverTLSFlags) config() (*tls.Config, error) {
	switch {
	case f.cert == "" && f.key == "" && f.clientCA == "":
		return nil, nil
	case f.cert == "" || f.key == "":
		return nil, usagef("--tls-cert and --tls-key go together")
	}
	cfg, _, err := tlsconf.Server(f.cert, f.key, f.clientCA)
	if err != nil {
		return nil, usagef("--tls-cert: %v", err)
	}
	return cfg, nil
}
