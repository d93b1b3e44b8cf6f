package main

// The payments API's part of the composition root: its store beside the ledger's tables, its
// group-commit writer, the service over the engine, the webhook dispatcher and the listener.

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/switch/httpapi"
	"github.com/cardswitch/cardswitch/switch/payments"
	"github.com/cardswitch/cardswitch/switch/payments/store"
	"github.com/cardswitch/cardswitch/switch/payments/webhook"
)

// paymentsApp is the built payments API.
type paymentsApp struct {
	log        *zap.Logger
	store      *store.Store
	writer     *store.Writer
	svc        *payments.Service
	dispatcher *webhook.Dispatcher
	handler    http.Handler
	ln         net.Listener
	served     sync.WaitGroup
	serveErr   error
}

// Bounds of the API's HTTP server.
const (
	apiReadHeaderTimeout = 10 * time.Second
	apiReadTimeout       = 30 * time.Second
	apiWriteTimeout      = 60 * time.Second // an answer waits for the issuer (at most its timeout)
	apiIdleTimeout       = 2 * time.Minute
	apiMaxHeaderBytes    = 32 << 10
	apiShutdownTimeout   = 30 * time.Second
	apiMaintenanceEvery  = 30 * time.Second
)

// openPaymentsStore opens the API's tables in the ledger's database.
func openPaymentsStore(ctx context.Context, c config.Ledger, file string) (*store.Store, error) {
	if file == "" {
		file = filepath.Join(c.DataDir, embeddedLedgerFile)
	}
	s, err := store.Open(ctx, store.Config{DatabaseURL: c.DatabaseURL, Path: file})
	if err != nil {
		return nil, fmt.Errorf("payments api: %w", err)
	}
	return s, nil
}

// apiMerchants maps the configured merchants to the API's view.
func apiMerchants(cfg *config.Config) ([]payments.Merchant, []string) {
	var ms []payments.Merchant
	var ids []string
	for _, m := range cfg.Merchants {
		ms = append(ms, payments.Merchant{ID: m.ID, Name: m.Name, Agency: m.Kind == config.KindAgency, MCC: m.MCC,
			ConvenienceFee: m.ConvenienceFee, Currencies: m.Currencies, Language: m.Language})
		ids = append(ids, m.ID)
	}
	return ms, ids
}

// buildPayments builds the API (nil when api.listen is off) and binds its listener.
func buildPayments(ctx context.Context, a *switchApp) (*paymentsApp, error) {
	cfg := a.cfg
	if !cfg.API.Enabled() {
		return nil, nil
	}
	p := &paymentsApp{log: a.log.Named("payments")}
	var err error
	if p.store, err = openPaymentsStore(ctx, cfg.Ledger, cfg.API.DatabaseFile); err != nil {
		return nil, err
	}
	ms, ids := apiMerchants(cfg)
	if cfg.API.TestKeysOn() {
		if err := payments.EnsureTestKeys(ctx, p.store, ids, a.now()); err != nil {
			p.store.Close()
			return nil, fmt.Errorf("payments api: test keys: %w", err)
		}
	} else if !config.IsLoopback(cfg.API.Listen) {
		if err := refuseTestKeys(ctx, p.store); err != nil {
			p.store.Close()
			return nil, err
		}
	}
	key, err := payments.LoadCardKey(cfg.CardKeyPath())
	if err != nil {
		p.store.Close()
		return nil, usagef("%v", err)
	}
	floor, err := p.store.ClockSecond(ctx)
	if err != nil {
		p.store.Close()
		return nil, err
	}
	metrics := payments.NewMetrics(a.reg)
	guard := &webhook.Guard{AllowPrivate: cfg.API.Webhooks.PrivateNetworksAllowed()}
	p.writer = store.NewWriter(p.store, store.WriterConfig{BatchMax: cfg.API.WriteBatchMax})
	p.dispatcher = webhook.NewDispatcher(webhook.Config{Workers: cfg.API.Webhooks.Workers, Timeout: cfg.API.Webhooks.Timeout, Guard: guard},
		p.store, p.log.Named("webhooks"), a.now, metrics.CountWebhook)
	p.svc, err = payments.NewService(payments.Config{Merchants: ms, NodeID: cfg.NodeID[0], PublicURL: cfg.API.BaseURL(),
		CreatedExpiry: cfg.API.CreatedExpiry, HoldExpiry: cfg.Ledger.HoldTimeout,
		Bills: payments.BillsConfig{PageAttemptsMax: cfg.API.Page.AttemptsMax}},
		payments.Deps{Store: p.store, Writer: p.writer, Engine: a.engine, Ledger: a.store, CardKey: key, Log: p.log,
			Now: a.now, Metrics: metrics, Notify: p.dispatcher.Notify, Settlements: ledgerSettlements{a.store, a.now}}, floor)
	if err != nil {
		p.store.Close()
		return nil, usagef("api: %v", err)
	}
	if err := p.svc.LoadEndpoints(ctx); err != nil {
		p.store.Close()
		return nil, err
	}
	api, err := payments.NewAPI(p.svc, payments.HTTPConfig{MaxBodyBytes: cfg.API.MaxBodyBytes, RateLimit: cfg.API.RateLimit,
		Ready: a.apiReady}, guard.CheckURL)
	if err != nil {
		p.store.Close()
		return nil, err
	}
	hosted, err := buildPage(ctx, a, p)
	if err != nil {
		p.store.Close()
		return nil, err
	}
	p.handler = instrumentAPI(a.httpM, withPage(hosted, api.Handler()))
	if p.ln, err = net.Listen("tcp", cfg.API.Listen); err != nil {
		p.store.Close()
		return nil, usagef("api.listen: %v", err)
	}
	if cfg.API.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.API.TLSCert, cfg.API.TLSKey)
		if err != nil {
			p.ln.Close()
			p.store.Close()
			return nil, usagef("api.tls_cert: %v", err)
		}
		p.ln = tls.NewListener(p.ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	}
	return p, nil
}

// instrumentAPI counts and times the API's requests as cardswitch_http_requests_total{listener="api"}
// by chi route pattern. The route context is made here, so that chi fills it in place (rather than
// one from its pool, reset when the request ends) and the pattern is still there after the handler.
func instrumentAPI(m *httpapi.Metrics, h http.Handler) http.Handler {
	inner := m.Instrument("api", func(r *http.Request) string { return chi.RouteContext(r.Context()).RoutePattern() }, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), chi.RouteCtxKey, chi.NewRouteContext())))
	})
}

// refuseTestKeys stops a start on a listener others can reach while a public test key is valid.
func refuseTestKeys(ctx context.Context, s *store.Store) error {
	keys, err := s.APIKeys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.Test && k.RevokedAt.IsZero() {
			return usagef("api.listen is not a loopback address and the public test key %s is valid: revoke it (cardswitch api-key revoke %s)", k.ID, k.ID)
		}
	}
	return nil
}

// start runs the API's background parts, resolves what a crash left unresolved, then serves.
// goBack runs a component that stops after the front doors have drained.
func (p *paymentsApp) start(ctx context.Context, goBack func(string, func(context.Context) error)) error {
	goBack("payments-writer", p.writer.Run)
	n, err := p.svc.Recover(ctx, 0)
	if err != nil {
		return fmt.Errorf("payments api: recovery: %w", err)
	}
	if n > 0 {
		p.log.Info("payments resolved after a restart", zap.Int("payments", n))
	}
	if _, err := p.svc.RecoverBills(ctx); err != nil {
		return fmt.Errorf("payments api: bills recovery: %w", err)
	}
	goBack("bills-maintenance", func(ctx context.Context) error { return p.svc.RunBillMaintenance(ctx, apiMaintenanceEvery) })
	goBack("webhooks", p.dispatcher.Run)
	goBack("payments-maintenance", func(ctx context.Context) error { return p.svc.RunMaintenance(ctx, apiMaintenanceEvery) })
	srv := &http.Server{Handler: p.handler, ReadHeaderTimeout: apiReadHeaderTimeout, ReadTimeout: apiReadTimeout,
		WriteTimeout: apiWriteTimeout, IdleTimeout: apiIdleTimeout, MaxHeaderBytes: apiMaxHeaderBytes, ErrorLog: zap.NewStdLog(p.log)}
	p.served.Add(1)
	go func() {
		defer p.served.Done()
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(p.ln) }()
		select {
		case err := <-errc:
			p.serveErr = err
			return
		case <-ctx.Done():
		}
		shCtx, cancel := context.WithTimeout(context.Background(), apiShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(shCtx); err != nil {
			p.serveErr = err
		}
		if err := <-errc; !errors.Is(err, http.ErrServerClosed) && p.serveErr == nil {
			p.serveErr = err
		}
	}()
	return nil
}

// wait waits until the listener has drained.
func (p *paymentsApp) wait() error {
	p.served.Wait()
	return p.serveErr
}

func (p *paymentsApp) close() {
	if p.ln != nil {
		p.ln.Close()
	}
	if p.store != nil {
		p.store.Close()
	}
}

// apiReady is the API's readiness: serving, not draining (503 otherwise).
func (a *switchApp) apiReady() error {
	if !a.started.Load() {
		return errors.New("starting")
	}
	if a.acceptor.Draining() {
		return errors.New("draining")
	}
	return nil
}
