package main

// The acquirer listeners (the acceptor block and acceptors[]) and the dialect of each issuer
// link: every listener and link has its own spec, header and mapping, and all of them reach the
// same engine in its one internal form.

import (
	"fmt"
	"net"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/switch/acceptor"
	"github.com/cardswitch/cardswitch/switch/issuer"
	"github.com/cardswitch/cardswitch/tlsconf"
)

// listener is one acquirer listener, bound and ready to serve.
type listener struct {
	name string
	srv  *acceptor.Server
	ln   net.Listener
}

// buildListeners builds and binds every acquirer listener, the acceptor block's first. They share
// the metrics (the series count all listeners).
func buildListeners(cfg *config.Config, h acceptor.Handler, log *zap.Logger, m *acceptor.Metrics, tlsM *tlsconf.Metrics) ([]listener, error) {
	var out []listener
	fail := func(err error) ([]listener, error) {
		for _, l := range out {
			l.ln.Close()
		}
		return nil, err
	}
	for i, ac := range cfg.Listeners() {
		key := "acceptor"
		if i > 0 {
			key = fmt.Sprintf("acceptors[%d]", i-1)
		}
		srv, err := newListener(key, ac, h, log, m, tlsM)
		if err != nil {
			return fail(err)
		}
		ln, err := net.Listen("tcp", ac.Listen)
		if err != nil {
			return fail(usagef("%s.listen: %v", key, err))
		}
		out = append(out, listener{name: ac.Name, srv: srv, ln: ln})
	}
	return out, nil
}

func newListener(key string, ac config.Acceptor, h acceptor.Handler, log *zap.Logger, m *acceptor.Metrics, tlsM *tlsconf.Metrics) (*acceptor.Server, error) {
	framing, err := iso8583.ParseFraming(ac.Framing)
	if err != nil {
		return nil, usagef("%s.framing: %v", key, err)
	}
	spec, header, mapping, err := config.DialectOf(ac.Spec, ac.Header, ac.Mapping)
	if err != nil {
		return nil, usagef("%s: %v", key, err)
	}
	tlsCfg, err := acceptorTLS(key, ac, tlsM)
	if err != nil {
		return nil, err
	}
	return acceptor.New(acceptor.Config{Name: ac.Name, Framing: framing, Spec: spec, Header: header, Mapping: mapping,
		MaxConnections: ac.MaxConnections, MaxInFlightPerConn: ac.MaxInFlightPerConn, MaxInFlight: ac.MaxInFlight,
		MaxFrame: ac.MaxFrame, IdleTimeout: ac.IdleTimeout, ReadTimeout: ac.ReadTimeout, WriteTimeout: ac.WriteTimeout,
		DrainTimeout: ac.DrainTimeout, TLS: tlsCfg}, h, log, m), nil
}

// linkDialect is how one issuer link speaks to its host.
type linkDialect struct {
	spec    *iso8583.Spec
	header  iso8583.Header
	mapping *iso8583.Mapping
	codes   issuer.NetworkCodes
	echo    time.Duration // negative: no echo
}

func issuerDialect(ic config.Issuer) (linkDialect, error) {
	spec, header, mapping, err := config.DialectOf(ic.Spec, ic.Header, ic.Mapping)
	if err != nil {
		return linkDialect{}, usagef("issuer %s: %v", ic.Name, err)
	}
	d := linkDialect{spec: spec, header: header, mapping: mapping, echo: ic.Echo(),
		codes: issuer.NetworkCodes{SignOn: ic.NetworkCodes.SignOn, SignOff: ic.NetworkCodes.SignOff, Echo: ic.NetworkCodes.Echo}}
	if d.echo == 0 {
		d.echo = -1 // the link's "no echo"
	}
	return d, nil
}
