package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the HTTP listeners' metrics, one family for every listener of the process:
//
//	cardswitch_http_requests_total{listener, method, route, code}
//	cardswitch_http_request_duration_seconds{listener, route}
//
// listener is "admin" (the operators' listener) or "api" (the payments API); route is the
// pattern that matched ("/v1/payments/{id}"), never the path itself, so that no payment id, RRN
// or card number becomes a label value; code is the HTTP status. Every label is bounded: the
// routes by the code, methods to the standard ones (anything else is "other").
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics with reg. Build one per process and hand it to every
// listener's handler.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_http_requests_total",
			Help: "HTTP requests answered, by listener (admin, api), method, route pattern and status code.",
		}, []string{"listener", "method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cardswitch_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by listener and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"listener", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// RouteUnmatched is the route label of a request no route matched.
const RouteUnmatched = "unmatched"

// Instrument counts and times every request h answers. route names the matched route after h
// has run (MuxRoute for a net/http ServeMux; a chi router's RoutePattern for chi).
func (m *Metrics) Instrument(listener string, route func(*http.Request) string, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		rt := route(r)
		if rt == "" {
			rt = RouteUnmatched
		}
		m.requests.WithLabelValues(listener, methodLabel(r.Method), rt, strconv.Itoa(sw.status)).Inc()
		m.duration.WithLabelValues(listener, rt).Observe(time.Since(start).Seconds())
	})
}

// MuxRoute is the route of a request served by http.ServeMux: the matched pattern without its
// method ("GET /v1/transactions/{rrn}" → "/v1/transactions/{rrn}"). ServeMux sets the pattern on
// the request it routes, so after the handler ran it is the innermost mux's.
func MuxRoute(r *http.Request) string {
	p := r.Pattern
	if i := strings.IndexByte(p, ' '); i >= 0 {
		p = p[i+1:]
	}
	return p
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
