package main

// Building the issuer side from the configuration: links, routes, the engine's view of the
// issuers and the store-and-forward queue. Used at start and by a reload.

import (
	"time"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/switch/engine"
	"github.com/cardswitch/cardswitch/switch/issuer"
	"github.com/cardswitch/cardswitch/switch/route"
	"github.com/cardswitch/cardswitch/switch/saf"
	"github.com/cardswitch/cardswitch/tlsconf"
)

// newLink builds issuer n's link (not started) and returns its certificates' expiry, for the
// caller to publish once the link is in use.
func (a *switchApp) newLink(n int, ic config.Issuer) (*liveLink, []tlsconf.Expiry, error) {
	framing, err := iso8583.ParseFraming(ic.Framing)
	if err != nil {
		return nil, nil, usagef("issuer %s: %v", ic.Name, err)
	}
	d, err := issuerDialect(ic)
	if err != nil {
		return nil, nil, err
	}
	linkTLS, exps, err := issuerTLS(n, ic)
	if err != nil {
		return nil, nil, err
	}
	var endpoints []issuer.Endpoint
	for _, addr := range ic.EndpointAddrs() {
		endpoints = append(endpoints, issuer.Endpoint{Addr: addr, TLS: linkTLS})
	}
	name := ic.Name
	link, err := issuer.New(issuer.Config{
		Name: ic.Name, Endpoints: endpoints, Connections: ic.Connections, Framing: framing, Spec: d.spec,
		Header: d.header, Mapping: d.mapping, NetworkCodes: d.codes,
		Circuit: issuer.Circuit{Disabled: !ic.Circuit.On(), Failures: ic.Circuit.ConsecutiveFailures, OpenFor: ic.Circuit.OpenDuration},
		Timeout: ic.Timeout, EchoInterval: d.echo, SignOn: ic.SignsOn(), MaxInFlight: ic.MaxInFlight,
		AcquirerID: a.cfg.AcquirerID, ReconnectMin: ic.ReconnectMin, ReconnectMax: ic.ReconnectMax,
		MaxFrame: min(config.DefaultMaxFrame, framing.MaxLength()),
		// The engine is built after the links; a late answer comes only once they run.
		OnLate: func(req, resp *iso8583.Message) { a.engine.LateResponse(name, req, resp) },
		MAC:    issuerMAC(a.hsm, hsmKey(ic.MACKey, hsm.KeyTypeZAK)),
	}, a.log.Named("issuer"), a.issuerM, a.now)
	if err != nil {
		return nil, nil, usagef("issuer %s: %v", ic.Name, err)
	}
	return &liveLink{cfg: ic, files: tlsFiles(ic.TLS), link: link}, exps, nil
}

// routeTable is the longest-prefix routing table of cfg's issuers, and their names.
func routeTable(cfg *config.Config) (*route.Table, []string, error) {
	var entries []route.Entry
	var names []string
	for _, is := range cfg.Issuers {
		names = append(names, is.Name)
		for _, p := range is.Prefixes {
			entries = append(entries, route.Entry{Prefix: p, Issuer: is.Name})
		}
	}
	table, err := route.New(entries)
	if err != nil {
		return nil, nil, usagef("issuers: %v", err)
	}
	return table, names, nil
}

// engineIssuers is the engine's view of the issuers behind links.
func engineIssuers(links []*liveLink) []engine.Issuer {
	out := make([]engine.Issuer, 0, len(links))
	for _, l := range links {
		ic := l.cfg
		out = append(out, engine.Issuer{Name: ic.Name, Link: linkAdapter{l.link}, Timeout: ic.Timeout,
			ZPK: hsmKey(ic.ZPK, hsm.KeyTypeZPK), StandIn: engine.StandIn{Enabled: ic.StandIn.Enabled, MaxAmount: ic.StandIn.MaxAmount,
				MaxPerCardDay: ic.StandIn.MaxPerCardDay, ProcessingCodes: ic.StandIn.ProcessingCodes, MCCs: ic.StandIn.MCCs},
			EMV: engineEMV(ic.EMV)})
	}
	return out
}

// newQueue is the store-and-forward queue for cfg's issuers. An intent is recovered no earlier
// than staleFloor (a reload keeps the running value when it was longer: a request sent before the
// reload may still wait for its old, longer timeout).
func (a *switchApp) newQueue(cfg *config.Config, staleFloor time.Duration) *saf.Queue {
	_, names, _ := routeTable(cfg) // validated
	sc := cfg.SAF
	return saf.New(saf.Config{Issuers: names, Node: cfg.NodeID, Window: sc.Window, Timeout: sc.Timeout,
		RetryMin: sc.RetryMin, RetryMax: sc.RetryMax, MaxAge: sc.MaxAge, StaleAfter: max(sc.IntentStaleAfter, staleFloor),
		Retention: sc.Retention}, a.store, a.writer, safSender{a.links}, a.protect, a.log.Named("saf"), a.safM, a.now)
}
