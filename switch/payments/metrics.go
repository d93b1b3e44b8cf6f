package payments

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the API's Prometheus series.
type Metrics struct {
	payments *prometheus.CounterVec // by outcome status
	commit   prometheus.Histogram
	webhooks *prometheus.CounterVec // delivery attempts by result
}

// NewMetrics registers the API's metrics (reg nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_api_payments_total",
			Help: "API payments by the status their authorisation ended in."}, []string{"status"}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cardswitch_api_store_commit_duration_seconds",
			Help: "Time for a write of the payments API to be durable (group commit).", Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14)}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_api_webhook_deliveries_total",
			Help: "Webhook delivery attempts by result (delivered, failed_attempt, gave_up, refused)."}, []string{"result"}),
	}
	if reg != nil {
		reg.MustRegister(m.payments, m.commit, m.webhooks)
	}
	return m
}

// CountWebhook counts one delivery attempt by result.
func (m *Metrics) CountWebhook(result string) { m.webhooks.WithLabelValues(result).Inc() }
