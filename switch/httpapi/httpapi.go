// Package httpapi is the switch's HTTP interface for operators (CONTRACT §10): Prometheus metrics,
// liveness and readiness, issuer link status, the ledger's trial balance, transaction lookup by
// RRN and the store-and-forward queue.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/ledger"
)

// ErrNotFound is what Deps.Transaction returns for an unknown RRN (404).
var ErrNotFound = errors.New("not found")

// Deps are the sources of what the endpoints show. Every function must be safe for concurrent
// use; a nil function answers 404 (the feature is not configured).
type Deps struct {
	Gatherer prometheus.Gatherer
	// Ready returns nil when the switch takes traffic, or the reason it does not (starting,
	// draining, no issuer link up).
	Ready        func() error
	Issuers      func() any
	TrialBalance func(ctx context.Context) (any, error)
	Transaction  func(ctx context.Context, rrn string) (any, error)
	// TransactionByTerminal finds a transaction by the terminal's own identity: fields 41, 11, 7.
	TransactionByTerminal func(ctx context.Context, terminal, stan, transmitted string) (any, error)
	// SAF lists the store-and-forward queue; SAFItem reads one item; ChangeSAF applies an
	// operator's retry or park (the change's At is set by the callee, which records it in the
	// audit log as actor's).
	SAF       func(ctx context.Context, f ledger.SAFFilter) (any, error)
	SAFItem   func(ctx context.Context, seq int64) (*ledger.SAFItem, error)
	ChangeSAF func(ctx context.Context, c ledger.SAFChange, actor string) error
	// Reload re-reads the configuration file (POST /v1/reload): what changed, or why the file was
	// refused (recorded in the audit log as actor's).
	Reload func(ctx context.Context, actor string) (any, error)
	// Pprof serves the Go profiler under /debug/pprof/ (for operators; off by default).
	Pprof bool
	// Token, when set, is required as "Authorization: Bearer <token>" on every /v1/... and
	// /debug/... request (401 otherwise); /metrics, /livez and /readyz stay open.
	Token string
	// Metrics, when set, counts and times every request (listener "admin").
	Metrics *Metrics
	// Audit, when set, serves GET /v1/audit: the operators' actions, newest first.
	Audit AuditLister
	Log   *zap.Logger
}

// Handler returns the HTTP routes.
func Handler(d Deps) http.Handler {
	admin := http.NewServeMux()
	open := http.NewServeMux()
	routes(d, open, admin)
	var adminH http.Handler = admin
	if d.Token != "" {
		adminH = requireToken(d.Token, admin)
	}
	open.Handle("/v1/", adminH)
	open.Handle("/debug/", adminH)
	return d.Metrics.Instrument("admin", MuxRoute, open)
}

// routes adds the open endpoints to open and the admin endpoints (/v1/..., /debug/...) to admin.
func routes(d Deps, open, mux *http.ServeMux) {
	open.Handle("GET /metrics", promhttp.HandlerFor(d.Gatherer, promhttp.HandlerOpts{ErrorLog: zap.NewStdLog(d.Log)}))
	open.HandleFunc("GET /livez", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	open.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := d.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready: " + err.Error() + "\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
	reloadRoute(d, mux)
	mux.HandleFunc("GET /v1/issuers", func(w http.ResponseWriter, _ *http.Request) {
		if d.Issuers == nil {
			http.NotFound(w, nil)
			return
		}
		writeJSON(w, http.StatusOK, d.Issuers())
	})
	mux.HandleFunc("GET /v1/ledger/trial-balance", func(w http.ResponseWriter, r *http.Request) {
		if d.TrialBalance == nil {
			http.NotFound(w, r)
			return
		}
		tb, err := d.TrialBalance(r.Context())
		if err != nil {
			d.Log.Error("http trial balance", zap.Error(err))
			writeError(w, http.StatusServiceUnavailable, "ledger unavailable")
			return
		}
		writeJSON(w, http.StatusOK, tb)
	})
	mux.HandleFunc("GET /v1/transactions", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		terminal, stan, transmitted := q.Get("terminal"), q.Get("stan"), q.Get("transmitted")
		switch {
		case d.TransactionByTerminal == nil:
			writeError(w, http.StatusNotFound, "no such transaction")
			return
		case terminal == "" || len(terminal) > 8:
			writeError(w, http.StatusBadRequest, "terminal: required, the terminal id of field 41 (up to 8 characters)")
			return
		case !digitsOf(stan, 6):
			writeError(w, http.StatusBadRequest, "stan: required, the 6 digits of field 11")
			return
		case !digitsOf(transmitted, 10):
			writeError(w, http.StatusBadRequest, "transmitted: required, field 7 as MMDDhhmmss")
			return
		}
		tx, err := d.TransactionByTerminal(r.Context(), terminal, stan, transmitted)
		writeLookup(w, d.Log, tx, err)
	})
	mux.HandleFunc("GET /v1/transactions/{rrn}", func(w http.ResponseWriter, r *http.Request) {
		rrn := r.PathValue("rrn")
		if d.Transaction == nil || len(rrn) == 0 || len(rrn) > 12 {
			writeError(w, http.StatusNotFound, "no such transaction")
			return
		}
		tx, err := d.Transaction(r.Context(), rrn)
		writeLookup(w, d.Log, tx, err)
	})
	if d.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	if d.Audit != nil {
		mux.HandleFunc("GET /v1/audit", auditHandler(d.Audit, d.Log))
	}
	safRoutes(d, mux)
}

// writeLookup answers a transaction look-up.
func writeLookup(w http.ResponseWriter, log *zap.Logger, tx any, err error) {
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such transaction")
	case err != nil:
		log.Error("http transaction lookup", zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, "ledger unavailable")
	default:
		writeJSON(w, http.StatusOK, tx)
	}
}

func digitsOf(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// HTTP server limits: admin endpoints answer small requests; slow clients must not hold
// connections.
const (
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	shutdownTimeout   = 5 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Serve serves h on ln until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *zap.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout, WriteTimeout: writeTimeout,
		IdleTimeout: idleTimeout, MaxHeaderBytes: maxHeaderBytes, ErrorLog: zap.NewStdLog(log)}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(shCtx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}
