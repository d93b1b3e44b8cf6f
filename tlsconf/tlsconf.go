// Package tlsconf builds the TLS configurations of the switch's links from PEM files — the
// acquirer listener (server, optionally requiring client certificates) and the issuer links
// (client, optionally presenting one) — and publishes when their certificates expire.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// MinVersion is the oldest protocol version accepted on either side: TLS 1.0 and 1.1 are
// deprecated (RFC 8996) and refused by PCI DSS.
const MinVersion = tls.VersionTLS12

// Roles of a certificate, the role label values of cardswitch_tls_certificate_expiry_timestamp_seconds.
const (
	RoleServer   = "server"    // the listener's own certificate
	RoleClient   = "client"    // the certificate a link presents to its host (mutual TLS)
	RoleRootCA   = "root_ca"   // the CAs a link trusts to sign its host's certificate
	RoleClientCA = "client_ca" // the CAs a listener trusts to sign its clients' certificates
)

// Expiry is when the certificates of one role stop being valid: the earliest NotAfter among them
// (the one that breaks connections first).
type Expiry struct {
	Role     string
	NotAfter time.Time
}

// Server is the TLS configuration of a listener: its certificate and key, and with clientCA a
// bundle of the CAs whose client certificates it requires and accepts (mutual TLS).
func Server(certFile, keyFile, clientCA string) (*tls.Config, []Expiry, error) {
	cert, exp, err := keyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: MinVersion}
	exps := []Expiry{{Role: RoleServer, NotAfter: exp}}
	if clientCA != "" {
		pool, exp, err := caBundle(clientCA)
		if err != nil {
			return nil, nil, err
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
		exps = append(exps, Expiry{Role: RoleClientCA, NotAfter: exp})
	}
	return cfg, exps, nil
}

// Client is the TLS configuration of a link to a host: caFile is the bundle of the CAs that sign
// the host's certificate (empty: the system's roots), certFile and keyFile the client certificate
// it presents (empty: none), serverName the name its certificate must carry (empty: the host part
// of the address dialled, set per connection by ForAddr).
func Client(caFile, certFile, keyFile, serverName string) (*tls.Config, []Expiry, error) {
	cfg := &tls.Config{MinVersion: MinVersion, ServerName: serverName}
	var exps []Expiry
	if caFile != "" {
		pool, exp, err := caBundle(caFile)
		if err != nil {
			return nil, nil, err
		}
		cfg.RootCAs = pool
		exps = append(exps, Expiry{Role: RoleRootCA, NotAfter: exp})
	}
	if certFile != "" || keyFile != "" {
		cert, exp, err := keyPair(certFile, keyFile)
		if err != nil {
			return nil, nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
		exps = append(exps, Expiry{Role: RoleClient, NotAfter: exp})
	}
	return cfg, exps, nil
}

// ForAddr returns cfg for dialling addr (host:port): a copy whose ServerName is the host when cfg
// names none, so that the certificate is checked against the name (or IP address) dialled.
func ForAddr(cfg *tls.Config, addr string) *tls.Config {
	if cfg == nil || cfg.ServerName != "" {
		return cfg
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return cfg
	}
	c := cfg.Clone()
	c.ServerName = host
	return c
}

func keyPair(certFile, keyFile string) (tls.Certificate, time.Time, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, time.Time{}, errors.New("a certificate needs both its certificate and its key file")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, time.Time{}, fmt.Errorf("%s: %w", certFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return tls.Certificate{}, time.Time{}, fmt.Errorf("%s: %w", certFile, err)
		}
	}
	return cert, cert.Leaf.NotAfter, nil
}

// caBundle reads a PEM file of CA certificates; it returns the pool and the earliest expiry.
func caBundle(path string) (*x509.CertPool, time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	pool := x509.NewCertPool()
	var first time.Time
	n := 0
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(c)
		if n == 0 || c.NotAfter.Before(first) {
			first = c.NotAfter
		}
		n++
	}
	if n == 0 {
		return nil, time.Time{}, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, first, nil
}
