package payments

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API's Prometheus series.
type Metrics struct {
	requests *prometheus.CounterVec   // by operation and status code
	latency  *prometheus.HistogramVec // by operation
	payments *prometheus.CounterVec   // by outcome status
	commit   prometheus.Histogram
	webhooks *prometheus.CounterVec // delivery attempts by result
}

// NewMetrics registers the API's metrics (reg nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_api_requests_total",
			Help: "Payments API requests by operation and HTTP status."}, []string{"operation", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cardswitch_api_request_duration_seconds",
			Help: "Payments API request latency by operation.", Buckets: []float64{.001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10}},
			[]string{"operation"}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_api_payments_total",
			Help: "API payments by the status their authorisation ended in."}, []string{"status"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cardswitch_api_store_commit_duration_seconds",
			Help: "Time for a write of the payments API to be durable (group commit).", Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14)}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_api_webhook_deliveries_total",
			Help: "Webhook delivery attempts by result (delivered, failed_attempt, gave_up, refused)."}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.payments, m.commit, m.webhooks)
	}
	return m
}

// observe counts one request.
func (m *Metrics) observe(operation string, status int, d time.Duration) {
	m.requests.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(operation).Observe(d.Seconds())
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// CountWebhook counts one delivery attempt by result.
func (m *Metrics) CountWebhook(result string) { m.webhooks.WithLabelValues(result).Inc() }
