package e2e

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger/postgres/pgtest"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns their paths.
func selfSigned(t *testing.T) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cardswitch-e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certPath, keyPath
}

func TestAcquirerOverTLS(t *testing.T) {
	cert, key := selfSigned(t)
	tlsSys := startSystem(t, systemOpts{databaseURL: pgtest.Schema(t), acceptorTLS: [2]string{cert, key}})
	pool := x509.NewCertPool()
	pemBytes, err := os.ReadFile(cert)
	require.NoError(t, err)
	require.True(t, pool.AppendCertsFromPEM(pemBytes))
	nc, err := tls.Dial("tcp", tlsSys.acquirer, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	require.NoError(t, err)
	defer nc.Close()
	msg := &iso8583.Message{MTI: "0800", TransmissionDateTime: time.Now().UTC().Format("0102150405"), STAN: "000001", NetworkCode: "301"}
	b, err := msg.Pack(iso8583.AcquirerSpec())
	require.NoError(t, err)
	framed, err := iso8583.AppendFrame(nil, iso8583.Binary2{}, b)
	require.NoError(t, err)
	_, err = nc.Write(framed)
	require.NoError(t, err)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	frame, err := iso8583.ReadFrame(bufio.NewReader(nc), iso8583.Binary2{}, 65535, nil)
	require.NoError(t, err)
	resp, err := iso8583.Unpack(iso8583.AcquirerSpec(), frame)
	require.NoError(t, err)
	require.Equal(t, "0810", resp.MTI)
	require.Equal(t, "00", resp.ResponseCode)

	plain, err := net.DialTimeout("tcp", tlsSys.acquirer, time.Second)
	require.NoError(t, err)
	defer plain.Close()
	_, _ = plain.Write(framed)
	plain.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = iso8583.ReadFrame(bufio.NewReader(plain), iso8583.Binary2{}, 65535, nil)
	require.Error(t, err, "a plain-text client gets no ISO 8583 answer from a TLS listener")
}
