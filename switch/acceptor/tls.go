package acceptor

import (
	"context"
	"crypto/tls"

	"go.uber.org/zap"
)

// handshake completes the TLS handshake of a TLS connection before anything is read from it,
// within the read timeout (a client that connects and never finishes it does not hold a
// connection until the idle timeout). A failure — no client certificate, one signed by a CA not
// in tls_client_ca, no common protocol version — is counted and logged with its reason. A plain
// TCP connection passes.
func (c *conn) handshake(ctx context.Context) bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	hctx, cancel := context.WithTimeout(ctx, c.s.cfg.ReadTimeout)
	defer cancel()
	err := tc.HandshakeContext(hctx)
	if err == nil || c.stopped.Load() { // a drain that began meanwhile is no failure
		return err == nil
	}
	c.s.metrics.tlsFailures.Inc()
	c.s.log.Info("acceptor TLS handshake failed", zap.String("remote", c.nc.RemoteAddr().String()), zap.Error(err))
	return false
}
