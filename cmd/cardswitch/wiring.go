package main

// The composition root: builds every component of the switch from its configuration and runs
// them with a stop order that drains terminals first (while issuers and the ledger still work),
// then stops issuer links, the store-and-forward queue and the ledger writer, and HTTP last.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/cardswitch/cardswitch/audit"
	"github.com/cardswitch/cardswitch/carddata"
	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/hsm/payshield"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/acceptor"
	"github.com/cardswitch/cardswitch/switch/engine"
	"github.com/cardswitch/cardswitch/switch/httpapi"
	"github.com/cardswitch/cardswitch/switch/issuer"
	"github.com/cardswitch/cardswitch/switch/saf"
	"github.com/cardswitch/cardswitch/tlsconf"
)

// switchApp is a built switch, ready to run.
type switchApp struct {
	cfg      *config.Config
	log      *zap.Logger
	reg      *prometheus.Registry
	now      func() time.Time
	store    ledgerStore
	audit    *audit.Log
	httpM    *httpapi.Metrics
	writer   *ledger.Writer
	verify   *ledger.VerifySchedule
	hsmClose func()
	protect  *hsm.DataProtector
	hsm      hsmAPI
	links    *linkSet   // the issuer links (links.go)
	saf      *safHolder // the store-and-forward queue (links.go)
	engine   *engine.Engine
	issuerM  *issuer.Metrics
	tlsM     *tlsconf.Metrics
	safM     *saf.Metrics
	engineM  *engine.Metrics
	reload   *reloader        // POST /v1/reload and SIGHUP (reload.go); nil: no reload (demo)
	hup      <-chan os.Signal // SIGHUP: reload
	acceptor *acceptor.Server // the acceptor block's listener
	acqLn    net.Listener
	more     []listener // acceptors[]
	httpLn   net.Listener
	payapi   *paymentsApp // the payments API (payapi.go); nil when api.listen is off
	started  atomic.Bool
}

// newLogger builds the process logger from the config, and its level (which a reload changes).
// With a guard, every line goes through it on its way to stderr: card data that slipped into a
// log line is masked and counted.
func newLogger(c config.Log, guard *carddata.Guard) (*zap.Logger, zap.AtomicLevel, error) {
	level, err := zapcore.ParseLevel(c.Level)
	if err != nil {
		return nil, zap.AtomicLevel{}, usagef("log.level: %v", err)
	}
	zc := zap.NewProductionConfig()
	if c.Format == "console" {
		zc = zap.NewDevelopmentConfig()
	}
	zc.Level = zap.NewAtomicLevelAt(level)
	zc.Sampling = nil
	if guard == nil {
		log, err := zc.Build()
		return log, zc.Level, err
	}
	enc := zapcore.NewJSONEncoder(zc.EncoderConfig)
	if c.Format == "console" {
		enc = zapcore.NewConsoleEncoder(zc.EncoderConfig)
	}
	ws := guard.WriteSyncer(zapcore.Lock(os.Stderr))
	log, err := zc.Build(zap.WrapCore(func(zapcore.Core) zapcore.Core { return zapcore.NewCore(enc, ws, zc.Level) }))
	return log, zc.Level, err
}

// buildSwitch constructs every component and binds the listeners; nothing runs yet. A problem
// with the configuration (a key that does not decrypt, a listener address in use) is returned
// as a usage error.
func buildSwitch(ctx context.Context, cfg *config.Config, log *zap.Logger, now func() time.Time) (_ *switchApp, err error) {
	a := &switchApp{cfg: cfg, log: log, reg: prometheus.NewRegistry(), now: now}
	a.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerBuildInfo(a.reg)
	a.httpM = httpapi.NewMetrics(a.reg)
	defer func() {
		if err != nil {
			a.close()
		}
	}()

	rawHSM, closeHSM, err := openHSM(cfg.HSM, log)
	if err != nil {
		return nil, err
	}
	h := hsm.Metered(rawHSM, hsm.NewMetrics(a.reg))
	a.hsmClose = closeHSM
	if err := checkKeys(ctx, cfg, h); err != nil {
		return nil, err
	}
	if a.protect, err = dataProtector(cfg.HSM); err != nil {
		return nil, err
	}

	if a.store, err = openLedger(ctx, cfg.Ledger, log); err != nil {
		return nil, err
	}
	if a.audit, err = openAudit(ctx, cfg.Ledger, log.Named("audit")); err != nil {
		return nil, err
	}
	if err := a.audit.Register(a.reg); err != nil {
		return nil, err
	}
	lm, err := ledger.NewMetrics(a.reg)
	if err != nil {
		return nil, err
	}
	a.verify = &ledger.VerifySchedule{Store: a.store, Interval: cfg.Ledger.VerifyInterval, Logger: log.Named("ledger"), Now: now}
	if err := a.verify.Register(a.reg); err != nil {
		return nil, err
	}
	// The writer wakes the store-and-forward loops after a commit that queued items; the queue is
	// built after the issuer links, so it is reached through a.saf, set before anything runs.
	a.writer = ledger.NewWriter(a.store, ledger.WriterConfig{BatchItemsMax: cfg.Ledger.BatchMax,
		HoldTimeoutDefault: cfg.Ledger.HoldTimeout, Now: now, Logger: log.Named("ledger"), Metrics: lm,
		OnSAFQueued: func() { a.saf.Wake() }})

	table, names, err := routeTable(cfg)
	if err != nil {
		return nil, err
	}
	a.hsm, a.issuerM, a.tlsM, a.safM = h, issuer.NewMetrics(a.reg), tlsconf.NewMetrics(a.reg), saf.NewMetrics(a.reg)
	var links []*liveLink
	for n, ic := range cfg.Issuers {
		l, exps, err := a.newLink(n, ic)
		if err != nil {
			return nil, err
		}
		a.tlsM.Set(tlsconf.EndpointIssuer(ic.Name), exps)
		links = append(links, l)
	}
	a.links = newLinkSet(log.Named("issuer"), links)
	a.saf = newSAFHolder(a.newQueue(cfg, 0))

	ecfg, err := engineConfig(cfg, engineIssuers(links))
	if err != nil {
		return nil, err
	}
	a.engineM = engine.NewMetrics(a.reg)
	a.engineM.Issuers(names...)
	a.engine, err = engine.New(ecfg, engine.Deps{Router: table, Ledger: engineLedger{a.writer, a.store}, HSM: h,
		Protector: a.protect, Log: log.Named("engine"), Metrics: a.engineM, Now: now})
	if err != nil {
		return nil, err
	}
	eng := a.engine

	ls, err := buildListeners(cfg, eng, log.Named("acceptor"), acceptor.NewMetrics(a.reg), a.tlsM)
	if err != nil {
		return nil, err
	}
	a.acceptor, a.acqLn, a.more = ls[0].srv, ls[0].ln, ls[1:]
	if a.httpLn, err = net.Listen("tcp", cfg.HTTP.Listen); err != nil {
		return nil, usagef("http.listen: %v", err)
	}
	if a.payapi, err = buildPayments(ctx, a); err != nil {
		return nil, err
	}
	return a, nil
}

// run runs the switch until ctx ends, then drains and stops in order. It returns nil after a
// clean stop.
func (a *switchApp) run(ctx context.Context) error {
	defer a.close()
	// A background component that fails stops the whole switch.
	frontCtx, stopFront := context.WithCancelCause(ctx)
	defer stopFront(nil)
	backCtx, stopBack := context.WithCancel(context.WithoutCancel(ctx))
	httpCtx, stopHTTP := context.WithCancel(context.WithoutCancel(ctx))

	var back, web sync.WaitGroup
	goBack := func(name string, run func(context.Context) error) {
		back.Add(1)
		go func() {
			defer back.Done()
			if err := run(backCtx); err != nil && backCtx.Err() == nil {
				a.log.Error("component stopped", zap.String("component", name), zap.Error(err))
				stopFront(fmt.Errorf("%s: %w", name, err))
			}
		}()
	}
	goBack("ledger-writer", a.writer.Run)
	a.links.start(backCtx)
	back.Go(func() {
		<-backCtx.Done()
		a.links.wait()
	})
	// Before any new traffic: what this instance had in flight when it last stopped without an
	// answer is reversed at its issuers.
	if n, err := a.saf.queue().RecoverOwn(ctx); err != nil {
		stopBack()
		back.Wait()
		stopHTTP()
		return fmt.Errorf("recovery of requests in flight at the last stop: %w", err)
	} else if n > 0 {
		a.log.Warn("recovered requests in flight at the last stop", zap.Int("requests", n))
	}
	goBack("saf", a.saf.Run)
	goBack("engine", a.engine.Run)
	goBack("ledger-verify", a.verify.Run)
	if at, on := a.cfg.Ledger.CutoverAt(); on {
		sched := &ledger.CutoverSchedule{Backend: a.store, At: at, Now: a.now, Logger: a.log.Named("ledger"),
			OnReport: func(rep *ledger.SettlementReport) {
				a.writeSettlement(rep)
				a.recordCutover(backCtx, rep, nil)
			},
			OnError: func(day string, err error) { a.recordCutover(backCtx, &ledger.SettlementReport{BusinessDay: day}, err) }}
		goBack("cutover", sched.Run)
	}

	if a.payapi != nil {
		if err := a.payapi.start(frontCtx, goBack); err != nil {
			stopFront(err)
		}
	}

	if a.hup != nil {
		web.Go(func() { a.reloadOnSignal(httpCtx) })
	}
	handler := httpapi.Handler(a.httpDeps())
	web.Add(1)
	var httpErr error
	go func() {
		defer web.Done()
		httpErr = httpapi.Serve(httpCtx, a.httpLn, handler, a.log.Named("http"))
	}()

	a.log.Info("cardswitch serving", zap.String("acquirer", a.acqLn.Addr().String()), zap.String("http", a.httpLn.Addr().String()),
		zap.Int("more-listeners", len(a.more)), zap.Int("issuers", len(a.links.list())), zap.String("ledger", a.store.Describe()))
	a.started.Store(true)
	var more sync.WaitGroup
	for _, l := range a.more {
		more.Go(func() {
			if err := l.srv.Serve(frontCtx, l.ln); err != nil {
				stopFront(fmt.Errorf("listener %s: %w", l.name, err))
			}
		})
	}
	err := a.acceptor.Serve(frontCtx, a.acqLn)
	stopFront(nil)
	more.Wait()
	if cause := context.Cause(frontCtx); err == nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	a.log.Info("cardswitch stopping: terminals drained")
	if a.payapi != nil {
		if perr := a.payapi.wait(); err == nil && perr != nil && !errors.Is(perr, net.ErrClosed) {
			err = perr
		}
	}
	stopBack()
	back.Wait()
	stopHTTP()
	web.Wait()
	if err == nil && httpErr != nil && !errors.Is(httpErr, net.ErrClosed) {
		err = httpErr
	}
	a.log.Info("cardswitch stopped")
	return err
}

// ready is /readyz: not while starting or draining, nor when no issuer can take traffic (no
// connection in service on an endpoint whose circuit is not open).
func (a *switchApp) ready() error {
	switch {
	case !a.started.Load():
		return errors.New("starting")
	case a.acceptor.Draining():
		return errors.New("draining")
	}
	if err := a.writer.Err(); err != nil {
		return fmt.Errorf("ledger unavailable: %w", err)
	}
	for _, l := range a.links.list() {
		if l.link.Status().Up {
			return nil
		}
	}
	return errors.New("no issuer can take traffic (no link up, or every circuit open)")
}

func (a *switchApp) httpDeps() httpapi.Deps {
	return httpapi.Deps{
		Gatherer: a.reg,
		Ready:    a.ready,
		Issuers: func() any {
			links := a.links.list()
			out := make([]issuer.Status, 0, len(links))
			for _, l := range links {
				out = append(out, l.link.Status())
			}
			return out
		},
		TrialBalance: func(ctx context.Context) (any, error) { return a.store.TrialBalance(ctx) },
		Transaction: func(ctx context.Context, rrn string) (any, error) {
			tx, err := a.store.TransactionByRRN(ctx, rrn)
			if errors.Is(err, ledger.ErrNotFound) {
				return nil, httpapi.ErrNotFound
			}
			return tx, err
		},
		SAF: func(ctx context.Context, f ledger.SAFFilter) (any, error) { return a.saf.Snapshot(ctx, f) },
		SAFItem: func(ctx context.Context, seq int64) (*ledger.SAFItem, error) {
			it, err := a.store.SAFItem(ctx, seq)
			if errors.Is(err, ledger.ErrNotFound) {
				return nil, httpapi.ErrNotFound
			}
			return it, err
		},
		ChangeSAF: func(ctx context.Context, c ledger.SAFChange, actor string) error {
			c.At = a.now()
			err := a.writer.ChangeSAF(ctx, []ledger.SAFChange{c})
			a.saf.Wake()
			e := audit.Entry{Actor: actor, Action: audit.ActionSAFRetry, Target: strconv.FormatInt(c.Seq, 10)}
			if c.Op == ledger.SAFPark {
				e.Action = audit.ActionSAFPark
			}
			if err != nil {
				e.Result, e.Detail = audit.ResultFailed, err.Error()
			}
			a.audit.Record(ctx, e)
			return err
		},
		TransactionByTerminal: func(ctx context.Context, terminal, stan, transmitted string) (any, error) {
			tx, err := a.store.ByTerminalIdentity(ctx, terminal, stan, transmitted)
			if errors.Is(err, ledger.ErrNotFound) {
				return nil, httpapi.ErrNotFound
			}
			return tx, err
		},
		Reload: func(ctx context.Context, actor string) (any, error) {
			if a.reload == nil {
				return nil, httpapi.ErrNotFound
			}
			return a.Reload(ctx, actor)
		},
		Pprof:   a.cfg.HTTP.Pprof,
		Token:   a.cfg.HTTP.Token,
		Metrics: a.httpM,
		Audit:   a.audit,
		Log:     a.log.Named("http"),
	}
}

func (a *switchApp) close() {
	if a.acqLn != nil {
		a.acqLn.Close()
	}
	for _, l := range a.more {
		l.ln.Close()
	}
	if a.httpLn != nil {
		a.httpLn.Close()
	}
	if a.audit != nil {
		a.audit.Close()
	}
	if a.payapi != nil {
		a.payapi.close()
	}
	if a.store != nil {
		a.store.Close()
	}
	if a.hsmClose != nil {
		a.hsmClose()
	}
}

// engineConfig maps the configuration to the engine's view of merchants, terminals and issuers.
func engineConfig(cfg *config.Config, issuers []engine.Issuer) (engine.Config, error) {
	ec := engine.Config{AcquirerID: cfg.AcquirerID, NodeID: cfg.NodeID[0], DuplicateWindow: cfg.Engine.DuplicateWindow,
		DuplicateMax: cfg.Engine.DuplicateMax, HoldTimeout: cfg.Ledger.HoldTimeout, Issuers: issuers}
	for _, m := range cfg.Merchants {
		em := engine.Merchant{ID: m.ID, Kind: ledger.Merchant, Currencies: m.Currencies, MCC: m.MCC,
			Fee: ledger.FeeSchedule{Percent: m.FeeRate(), Fixed: m.FeeFixed}, ConvenienceFee: m.ConvenienceFee, MaxAmount: m.MaxAmount}
		if m.Kind == config.KindAgency {
			em.Kind = ledger.Agency
		}
		for _, t := range m.Transactions {
			em.Allowed |= map[string]engine.TxnSet{config.TxnPreauth: engine.TxnPreauth, config.TxnCompletion: engine.TxnCompletion,
				config.TxnPurchase: engine.TxnPurchase, config.TxnRefund: engine.TxnRefund, config.TxnReversal: engine.TxnReversal}[t]
		}
		ec.Merchants = append(ec.Merchants, em)
	}
	formats := map[int]hsm.PINFormat{0: hsm.PINFormatISO0, 1: hsm.PINFormatISO1, 3: hsm.PINFormatISO3, 4: hsm.PINFormatISO4}
	for _, t := range cfg.Terminals {
		et := engine.Terminal{ID: t.ID, Merchant: t.Merchant, PINFormat: formats[t.PINFormat], MACAlg: hsm.MACRetail,
			MACKey: hsmKey(t.MACKey, hsm.KeyTypeTAK)}
		switch {
		case !t.TPK.IsZero():
			et.PINKey = hsmKey(t.TPK, hsm.KeyTypeTPK)
		case !t.BDK.IsZero():
			et.PINKey, et.DUKPT = hsmKey(t.BDK, hsm.KeyTypeBDK1), true
		}
		ec.Terminals = append(ec.Terminals, et)
	}
	return ec, nil
}

// issuerMAC is an issuer link's outbound MAC (ISO 9797-1 algorithm 3 under the ZAK), nil without a ZAK.
func issuerMAC(h hsmAPI, zak hsm.Key) issuer.MACFunc {
	if zak.Cryptogram == "" {
		return nil
	}
	return func(ctx context.Context, data []byte) ([]byte, error) {
		return h.GenerateMAC(ctx, zak, hsm.MACRetail, data)
	}
}

// engineEMV maps an issuer's EMV check (validated by config).
func engineEMV(e *config.EMV) *engine.EMV {
	if e == nil {
		return nil
	}
	scheme := hsm.ARQCVisaCVN10
	if e.Scheme == config.EMVCommon {
		scheme = hsm.ARQCEMVCommon
	}
	return &engine.EMV{MKAC: hsmKey(e.MKAC, hsm.KeyTypeMKAC), Scheme: scheme}
}

func hsmKey(k config.Key, t hsm.KeyType) hsm.Key {
	if k.IsZero() {
		return hsm.Key{}
	}
	return hsm.Key{Type: t, Cryptogram: k.Cryptogram, CheckValue: k.CheckValue}
}

// hsmAPI is what the switch needs of an HSM: the engine's calls and the startup key check.
type hsmAPI interface {
	engine.HSM
	CheckKey(ctx context.Context, key hsm.Key) error
	GenerateMAC(ctx context.Context, key hsm.Key, alg hsm.MACAlgorithm, data []byte) ([]byte, error)
}

// openHSM returns the configured HSM: in process with its LMK, or a payShield host-protocol client.
func openHSM(c config.HSM, log *zap.Logger) (hsm.HSM, func(), error) {
	switch c.Mode {
	case "payshield":
		cl, err := payshield.NewClient(payshield.ClientConfig{Addr: c.Addr, HeaderLen: c.HeaderLen, RequestTimeout: c.Timeout}, log.Named("hsm"))
		if err != nil {
			return nil, nil, usagef("hsm: %v", err)
		}
		return cl, func() { cl.Close() }, nil
	default:
		lmk := hsm.TestLMK()
		if c.LMK != "test" {
			var err error
			if lmk, err = hsm.LoadLMKFile(c.LMK); err != nil {
				return nil, nil, usagef("hsm.lmk: %v", err)
			}
		}
		return hsm.NewSoft(lmk), func() {}, nil
	}
}

// checkKeys has the HSM check every configured key: it must decrypt under the LMK with good
// parity and match its check value. A bad key stops the start with the key's config path.
func checkKeys(ctx context.Context, cfg *config.Config, h hsmAPI) error {
	type named struct {
		path string
		key  hsm.Key
	}
	var keys []named
	for i, is := range cfg.Issuers {
		keys = append(keys, named{fmt.Sprintf("issuers[%d].zpk", i), hsmKey(is.ZPK, hsm.KeyTypeZPK)},
			named{fmt.Sprintf("issuers[%d].mac_key", i), hsmKey(is.MACKey, hsm.KeyTypeZAK)})
		if is.EMV != nil {
			keys = append(keys, named{fmt.Sprintf("issuers[%d].emv.mk_ac", i), hsmKey(is.EMV.MKAC, hsm.KeyTypeMKAC)})
		}
	}
	for i, t := range cfg.Terminals {
		keys = append(keys, named{fmt.Sprintf("terminals[%d].tpk", i), hsmKey(t.TPK, hsm.KeyTypeTPK)},
			named{fmt.Sprintf("terminals[%d].bdk", i), hsmKey(t.BDK, hsm.KeyTypeBDK1)},
			named{fmt.Sprintf("terminals[%d].mac_key", i), hsmKey(t.MACKey, hsm.KeyTypeTAK)})
	}
	for _, k := range keys {
		if k.key.Cryptogram == "" {
			continue
		}
		checkCtx, cancel := context.WithTimeout(ctx, cfg.HSM.Timeout)
		err := h.CheckKey(checkCtx, k.key)
		cancel()
		if errors.Is(err, hsm.ErrUnavailable) {
			return fmt.Errorf("hsm unavailable while checking %s: %w", k.path, err)
		}
		if err != nil {
			return usagef("%s: %v", k.path, err)
		}
	}
	return nil
}

// dataProtector builds the protector of stored card numbers from hsm.data_key, held by the
// in-process software HSM with the LMK of hsm.lmk (also when PIN and MAC work goes to a payShield).
func dataProtector(c config.HSM) (*hsm.DataProtector, error) {
	lmk := hsm.TestLMK()
	if c.LMK != "test" {
		var err error
		if lmk, err = hsm.LoadLMKFile(c.LMK); err != nil {
			return nil, usagef("hsm.lmk: %v", err)
		}
	}
	p, err := hsm.NewSoft(lmk).DataProtector(hsmKey(c.DataKey, hsm.KeyTypeDEK))
	if err != nil {
		return nil, usagef("hsm.data_key: %v", err)
	}
	return p, nil
}

// linkAdapter maps the issuer link's errors to the engine's.
type linkAdapter struct{ l *issuer.Issuer }

func (a linkAdapter) Send(ctx context.Context, req *iso8583.Message) (*iso8583.Message, error) {
	resp, err := a.l.Send(ctx, req)
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(err, issuer.ErrUnavailable):
		return nil, fmt.Errorf("%w: %w", engine.ErrIssuerUnavailable, err)
	case errors.Is(err, issuer.ErrBusy):
		return nil, fmt.Errorf("%w: %w", engine.ErrIssuerBusy, err)
	case errors.Is(err, issuer.ErrTimeout):
		return nil, fmt.Errorf("%w: %w", engine.ErrIssuerTimeout, err)
	}
	return nil, err
}

// engineLedger is the engine's view of the ledger: the batch writer for decisions, the store
// for lookups.
type engineLedger struct {
	*ledger.Writer
	ledgerStore
}

func (l engineLedger) Commit(ctx context.Context, ev ledger.Event) (ledger.Outcome, error) {
	return l.Writer.Commit(ctx, ev)
}

// writeSettlement writes a scheduled cutover's report as <day>.json and <day>.csv in the
// settlement directory (each file written whole, then renamed into place).
func (a *switchApp) writeSettlement(rep *ledger.SettlementReport) {
	dir := a.cfg.Ledger.SettlementDir
	write := func(name string, fill func(*os.File) error) error {
		tmp, err := os.CreateTemp(dir, "."+name+".*")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if err := fill(tmp); err != nil {
			tmp.Close()
			return err
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), filepath.Join(dir, name))
	}
	err := os.MkdirAll(dir, 0o750)
	if err == nil {
		err = write(rep.BusinessDay+".json", func(f *os.File) error {
			enc := json.NewEncoder(f)
			enc.SetIndent("", "  ")
			return enc.Encode(rep)
		})
	}
	if err == nil {
		err = write(rep.BusinessDay+".csv", func(f *os.File) error { return rep.WriteCSV(f) })
	}
	if err != nil {
		a.log.Error("settlement report not written", zap.String("business-day", rep.BusinessDay), zap.String("dir", dir), zap.Error(err))
	}
}
