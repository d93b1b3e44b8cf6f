package saf

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardswitch/cardswitch/ledger"
)

// Metrics are the store-and-forward queue's. Labels: configured issuer names, and bounded
// results.
type Metrics struct {
	depth       *prometheus.GaugeVec
	parked      *prometheus.GaugeVec
	intents     *prometheus.GaugeVec
	oldest      *prometheus.GaugeVec
	attempts    *prometheus.CounterVec
	delivered   *prometheus.CounterVec
	parkedTotal *prometheus.CounterVec
	recovered   *prometheus.CounterVec
	names       []string // configured issuers: their gauges exist, at zero when nothing waits
}

// NewMetrics registers the queue's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cardswitch_saf_depth",
			Help: "Store-and-forward items waiting for delivery to their issuer (parked ones excluded)."}, []string{"issuer"}),
		parked: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cardswitch_saf_parked",
			Help: "Store-and-forward items parked for an operator (older than the maximum age, or parked by hand)."}, []string{"issuer"}),
		intents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cardswitch_saf_intents",
			Help: "Requests in flight to their issuer whose outcome the ledger does not hold yet (their intents)."}, []string{"issuer"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "cardswitch_saf_oldest_age_seconds",
			Help: "Age of the oldest store-and-forward item waiting for delivery (0 when none)."}, []string{"issuer"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_saf_attempts_total",
			Help: "Delivery attempts of store-and-forward items, by result (delivered, failed)."}, []string{"issuer", "result"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_saf_delivered_total",
			Help: "Store-and-forward items the issuer answered."}, []string{"issuer"}),
		parkedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_saf_parked_total",
			Help: "Store-and-forward items parked because they were not delivered within their maximum age."}, []string{"issuer"}),
		recovered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_recovery_reversals_total",
			Help: "Requests that may have reached their issuer without a durable outcome, reversed there by recovery (at startup, or by the sweep)."},
			[]string{"when"}),
	}
	reg.MustRegister(m.depth, m.parked, m.intents, m.oldest, m.attempts, m.delivered, m.parkedTotal, m.recovered)
	for _, w := range []string{"startup", "sweep"} {
		m.recovered.WithLabelValues(w)
	}
	return m
}

// issuers creates every issuer's series at zero.
func (m *Metrics) issuers(names []string) {
	m.names = names
	for _, n := range names {
		m.depth.WithLabelValues(n)
		m.parked.WithLabelValues(n)
		m.intents.WithLabelValues(n)
		m.oldest.WithLabelValues(n)
		m.delivered.WithLabelValues(n)
		m.parkedTotal.WithLabelValues(n)
		for _, r := range []string{"delivered", "failed"} {
			m.attempts.WithLabelValues(n, r)
		}
	}
}

// set publishes the queue's shape; issuers absent from stats have nothing waiting.
func (m *Metrics) set(stats []ledger.SAFStats, now time.Time) {
	seen := map[string]bool{}
	for _, st := range stats {
		seen[st.Issuer] = true
	}
	for _, n := range m.names {
		if !seen[n] {
			stats = append(stats, ledger.SAFStats{Issuer: n})
		}
	}
	for _, st := range stats {
		m.depth.WithLabelValues(st.Issuer).Set(float64(st.Queued))
		m.parked.WithLabelValues(st.Issuer).Set(float64(st.Parked))
		m.intents.WithLabelValues(st.Issuer).Set(float64(st.Intents))
		age := 0.0
		if !st.OldestQueued.IsZero() {
			age = max(0, now.Sub(st.OldestQueued).Seconds())
		}
		m.oldest.WithLabelValues(st.Issuer).Set(age)
	}
}
