package main

// Live reconfiguration: SIGHUP, POST /v1/reload and `cardswitch reload` make a running switch
// re-read its configuration file and apply what may change without a restart — merchants,
// terminals and their keys, issuers (added, removed, changed) and their routes, the
// store-and-forward queue's settings and the log level — without dropping a terminal connection
// or an in-flight request. A file that is invalid, or that changes what needs a restart, is
// refused whole: the running configuration stays (docs/operations.md).

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/tlsconf"
)

// linkUpWait bounds how long a reload waits for a new or rebuilt issuer link to sign on before it
// publishes it (make before break); past it the link is published anyway and comes up on its own.
const linkUpWait = 5 * time.Second

// ErrNoConfigFile is the answer to a reload of a switch started without --config.
var ErrNoConfigFile = errors.New("the switch runs the default topology (no --config): there is no file to re-read")

// reloader re-reads the configuration file of a running switch.
type reloader struct {
	path     string               // the file serve was started with; empty: the default topology
	override func(*config.Config) // what the command line sets over the file (--database-url)
	level    zap.AtomicLevel      // the logger's level: log.level applies at once

	mu      sync.Mutex     // one reload at a time
	current *config.Config // the running configuration, under mu

	results *prometheus.CounterVec
	lastOK  prometheus.Gauge
	lastAt  prometheus.Gauge
}

// Reload results, the result label values of cardswitch_config_reloads_total.
const (
	reloadSuccess = "success"
	reloadFailure = "failure"
)

func newReloader(reg prometheus.Registerer, path string, override func(*config.Config), level zap.AtomicLevel,
	cfg *config.Config, now time.Time) *reloader {
	r := &reloader{path: path, override: override, level: level, current: cfg,
		results: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_config_reloads_total",
			Help: "Configuration reloads (SIGHUP, POST /v1/reload), by result: success, failure (refused; the running configuration stays).",
		}, []string{"result"}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cardswitch_config_last_reload_successful",
			Help: "1 when the last configuration reload was applied (or none was tried since the start), 0 when it was refused.",
		}),
		lastAt: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cardswitch_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration in use was loaded: the start, or the last reload that was applied (Unix time).",
		}),
	}
	reg.MustRegister(r.results, r.lastOK, r.lastAt)
	r.results.WithLabelValues(reloadSuccess)
	r.results.WithLabelValues(reloadFailure)
	r.lastOK.Set(1)
	r.lastAt.Set(float64(now.Unix()))
	return r
}

// ReloadResult is what a reload applied, one line per change.
type ReloadResult struct {
	Changes []string `json:"changes"`
}

// Reload re-reads the configuration file and applies it, or refuses it with the reason and keeps
// the running configuration. actor is who asked (the audit log's).
func (a *switchApp) Reload(ctx context.Context, actor string) (ReloadResult, error) {
	r := a.reload
	if r == nil {
		return ReloadResult{}, ErrNoConfigFile // demo: not a daemon
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	res, err := ReloadResult{}, ErrNoConfigFile
	if r.path != "" {
		res, err = a.applyConfig(ctx, r)
	}
	e := audit.Entry{Actor: actor, Action: audit.ActionReload, Target: r.path}
	if err != nil {
		r.results.WithLabelValues(reloadFailure).Inc()
		r.lastOK.Set(0)
		e.Result, e.Detail = audit.ResultFailed, err.Error()
		a.log.Warn("configuration reload refused: the running configuration stays", zap.String("file", r.path),
			zap.String("actor", actor), zap.Error(err))
	} else {
		r.results.WithLabelValues(reloadSuccess).Inc()
		r.lastOK.Set(1)
		r.lastAt.Set(float64(a.now().Unix()))
		e.Detail = "applied: " + strings.Join(res.Changes, "; ")
		if len(res.Changes) == 0 {
			e.Detail = "applied: nothing changed"
		}
		a.log.Info("configuration reloaded", zap.String("file", r.path), zap.String("actor", actor), zap.Strings("changes", res.Changes))
	}
	a.audit.Record(ctx, e)
	return res, err
}

// reloadOnSignal reloads on every SIGHUP until ctx ends.
func (a *switchApp) reloadOnSignal(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.hup:
			a.Reload(ctx, audit.ActorSignal("SIGHUP")) // logged, counted and audited by Reload
		}
	}
}

// applyConfig reads the file, checks everything that can fail, and only then swaps the new
// configuration in.
func (a *switchApp) applyConfig(ctx context.Context, r *reloader) (ReloadResult, error) {
	next, err := config.Load(r.path, os.Getenv)
	if err == nil && r.override != nil {
		r.override(next)
		err = next.Validate()
	}
	if err != nil {
		return ReloadResult{}, err
	}
	old := r.current
	if err := restartOnly(old, next); err != nil {
		return ReloadResult{}, err
	}
	if err := checkKeys(ctx, next, a.hsm); err != nil {
		return ReloadResult{}, err
	}
	p, err := a.planLinks(ctx, old, next)
	if err != nil {
		return ReloadResult{}, err
	}
	table, names, err := routeTable(next)
	if err != nil {
		return ReloadResult{}, err
	}
	ecfg, err := engineConfig(next, engineIssuers(p.next))
	if err != nil {
		return ReloadResult{}, err
	}
	if err := a.payments(old, next); err != nil {
		return ReloadResult{}, err
	}

	// From here on nothing is refused: the new links come up beside the old ones, then the engine,
	// the store-and-forward queue and the gauges move to the new configuration at once.
	for _, l := range p.replacing {
		l.repl.link.Replace(l.old.link)
	}
	a.links.begin(p.next)
	a.waitLinksUp(ctx, p.started)
	if err := a.engine.Reconfigure(ecfg, table); err != nil {
		// Reconfigure checks only what restartOnly already did; reaching here is a bug.
		a.links.set(a.links.list(), p.started)
		return ReloadResult{}, fmt.Errorf("engine: %w", err)
	}
	for _, l := range p.retired {
		if !slices.Contains(p.removed, l.cfg.Name) {
			continue
		}
		l.link.Retire()
	}
	a.links.set(p.next, p.retired)
	for _, name := range p.removed {
		a.issuerM.Forget(name)
		a.tlsM.Set(tlsconf.EndpointIssuer(name), nil)
	}
	for name, exps := range p.expiries {
		a.tlsM.Set(tlsconf.EndpointIssuer(name), exps)
	}
	a.engineM.Issuers(names...)
	if p.issuersChanged || !reflect.DeepEqual(old.SAF, next.SAF) {
		a.saf.Replace(a.newQueue(next, old.SAF.IntentStaleAfter))
	}
	if level, err := zapcore.ParseLevel(next.Log.Level); err == nil {
		r.level.SetLevel(level)
	}
	r.current = next
	return ReloadResult{Changes: describeChanges(old, next, p)}, nil
}

// restartOnly refuses a file that changes what a reload cannot apply: listeners, the ledger, the
// HSM, the identity of the instance, the duplicate cache, the payments API, the runtime.
func restartOnly(old, next *config.Config) error {
	for _, s := range []struct {
		key       string
		was, will any
	}{
		{"node_id", old.NodeID, next.NodeID}, {"acquirer_id", old.AcquirerID, next.AcquirerID},
		{"acceptor", old.Acceptor, next.Acceptor}, {"acceptors", old.Acceptors, next.Acceptors},
		{"http", old.HTTP, next.HTTP}, {"engine", old.Engine, next.Engine}, {"hsm", old.HSM, next.HSM},
		{"ledger", old.Ledger, next.Ledger}, {"api", old.API, next.API}, {"log.format", old.Log.Format, next.Log.Format},
		{"runtime", old.Runtime, next.Runtime},
	} {
		if !reflect.DeepEqual(s.was, s.will) {
			return fmt.Errorf("%s: changed, and it needs a restart (a reload applies merchants, terminals, issuers, saf and log.level)", s.key)
		}
	}
	return nil
}

// linkPlan is what a reload does to the issuer links.
type linkPlan struct {
	next      []*liveLink // the links after the reload, in configuration order
	started   []*liveLink // built by this reload
	retired   []*liveLink // replaced or removed: stopped once next is published
	replacing []struct{ old, repl *liveLink }
	removed   []string
	added     []string
	rebuilt   []string // changed in a way that needs a new link
	retuned   []string // changed only in what the engine reads (prefixes, stand-in, keys)
	expiries  map[string][]tlsconf.Expiry
	// issuersChanged: the set of issuer names differs (the queue has a loop per issuer).
	issuersChanged bool
}

// planLinks builds the links next needs that the running ones cannot serve. It refuses to remove
// an issuer that store-and-forward items still wait for.
func (a *switchApp) planLinks(ctx context.Context, old, next *config.Config) (*linkPlan, error) {
	p := &linkPlan{expiries: map[string][]tlsconf.Expiry{}}
	running := map[string]*liveLink{}
	for _, l := range a.links.list() {
		running[l.cfg.Name] = l
	}
	kept := map[string]bool{}
	for n, ic := range next.Issuers {
		cur := running[ic.Name]
		if cur != nil && reflect.DeepEqual(linkPart(cur.cfg), linkPart(ic)) && cur.files == tlsFiles(ic.TLS) {
			kept[ic.Name] = true
			reused := *cur
			reused.cfg = ic
			if !reflect.DeepEqual(cur.cfg, ic) {
				p.retuned = append(p.retuned, ic.Name)
			}
			p.next = append(p.next, &reused)
			continue
		}
		l, exps, err := a.newLink(n, ic)
		if err != nil {
			return nil, err
		}
		p.next, p.started = append(p.next, l), append(p.started, l)
		p.expiries[ic.Name] = exps
		if cur != nil {
			kept[ic.Name] = true
			p.replacing = append(p.replacing, struct{ old, repl *liveLink }{cur, l})
			p.retired = append(p.retired, cur)
			p.rebuilt = append(p.rebuilt, ic.Name)
		} else {
			p.added = append(p.added, ic.Name)
			p.issuersChanged = true
		}
	}
	for _, l := range a.links.list() {
		if !kept[l.cfg.Name] {
			p.removed = append(p.removed, l.cfg.Name)
			p.retired = append(p.retired, l)
			p.issuersChanged = true
		}
	}
	if len(p.removed) > 0 {
		if err := a.safDrained(ctx, p.removed); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// linkPart is the part of an issuer's configuration its link is built from: what the engine alone
// reads (prefixes, stand-in, PIN and EMV keys) is left out, so changing it keeps the link.
func linkPart(ic config.Issuer) config.Issuer {
	ic.Prefixes, ic.StandIn, ic.ZPK, ic.EMV = nil, config.StandIn{}, config.Key{}, nil
	return ic
}

// safDrained refuses to remove issuers that store-and-forward items (or requests in flight) still
// wait for: their reversals and advices would be stranded.
func (a *switchApp) safDrained(ctx context.Context, removed []string) error {
	stats, err := a.store.SAFStats(ctx)
	if err != nil {
		return fmt.Errorf("issuers: cannot tell whether store-and-forward items wait for the removed issuers: %w", err)
	}
	gone := map[string]bool{}
	for _, n := range removed {
		gone[n] = true
	}
	for _, st := range stats {
		if gone[st.Issuer] && st.Queued+st.Intents > 0 {
			return fmt.Errorf("issuers: %s removed while %d store-and-forward items and %d requests in flight wait for it: let them drain or park them (cardswitch saf list) first",
				st.Issuer, st.Queued, st.Intents)
		}
	}
	return nil
}

// payments gives the payments API the new merchants. A merchant the API may hold payments of is
// not removed by a reload.
func (a *switchApp) payments(old, next *config.Config) error {
	if a.payapi == nil {
		return nil
	}
	keep := map[string]bool{}
	for _, m := range next.Merchants {
		keep[m.ID] = true
	}
	for _, m := range old.Merchants {
		if !keep[m.ID] {
			return fmt.Errorf("merchants: %s removed while the payments API runs (it may hold its payments): remove it with a restart", m.ID)
		}
	}
	ms, _ := apiMerchants(next)
	if err := a.payapi.svc.SetMerchants(ms); err != nil {
		return fmt.Errorf("merchants: %w", err)
	}
	return nil
}

// waitLinksUp waits, at most linkUpWait, for the links a reload started to sign on.
func (a *switchApp) waitLinksUp(ctx context.Context, links []*liveLink) {
	deadline := time.Now().Add(linkUpWait)
	for _, l := range links {
		for !l.link.Status().Up {
			if time.Now().After(deadline) || ctx.Err() != nil {
				a.log.Warn("issuer link not up yet after the reload: its cards get 91 or stand-in until it is",
					zap.String("issuer", l.cfg.Name))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// describeChanges lists what a reload changed, for its answer, the log and the audit log.
func describeChanges(old, next *config.Config, p *linkPlan) []string {
	var out []string
	add := func(what string, names []string) {
		if len(names) > 0 {
			sort.Strings(names)
			out = append(out, what+" "+strings.Join(names, ", "))
		}
	}
	merchants := func(c *config.Config) map[string]any {
		m := map[string]any{}
		for _, x := range c.Merchants {
			m[x.ID] = x
		}
		return m
	}
	terminals := func(c *config.Config) map[string]any {
		m := map[string]any{}
		for _, x := range c.Terminals {
			m[x.ID] = x
		}
		return m
	}
	for _, kind := range []struct {
		what      string
		was, will map[string]any
	}{{"merchants", merchants(old), merchants(next)}, {"terminals", terminals(old), terminals(next)}} {
		var added, removed, changed []string
		for id, v := range kind.will {
			w, ok := kind.was[id]
			switch {
			case !ok:
				added = append(added, id)
			case !reflect.DeepEqual(v, w):
				changed = append(changed, id)
			}
		}
		for id := range kind.was {
			if _, ok := kind.will[id]; !ok {
				removed = append(removed, id)
			}
		}
		add(kind.what+" added:", added)
		add(kind.what+" changed:", changed)
		add(kind.what+" removed:", removed)
	}
	add("issuers added:", p.added)
	add("issuers changed (new link):", p.rebuilt)
	add("issuers changed:", p.retuned)
	add("issuers removed:", p.removed)
	if !reflect.DeepEqual(old.SAF, next.SAF) {
		out = append(out, "saf changed")
	}
	if old.Log.Level != next.Log.Level {
		out = append(out, "log.level "+old.Log.Level+" → "+next.Log.Level)
	}
	return out
}
