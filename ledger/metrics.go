package ledger

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the Writer's Prometheus instruments. A nil *Metrics records nothing.
type Metrics struct {
	batchItems    prometheus.Histogram
	batchSeconds  prometheus.Histogram
	events        *prometheus.CounterVec
	holdsExpired  prometheus.Counter
	queueDepth    prometheus.Gauge
	batchFailures prometheus.Counter
}

// NewMetrics registers the ledger's metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		batchItems: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cardswitch_ledger_batch_items",
			Help:    "Events and transfer chains committed per ledger database transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cardswitch_ledger_batch_duration_seconds",
			Help:    "Time from the start of a ledger batch to its COMMIT.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_ledger_events_total",
			Help: "Card events answered by the ledger writer, by result.",
		}, []string{"result"}),
		holdsExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardswitch_ledger_pending_expired_total",
			Help: "Pending transfers released because their timeout passed.",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cardswitch_ledger_queue_depth",
			Help: "Requests waiting for the ledger writer when its last batch started.",
		}),
		batchFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardswitch_ledger_batch_failures_total",
			Help: "Ledger batches that failed for a store error (their events answered as unavailable).",
		}),
	}
	for _, c := range []prometheus.Collector{m.batchItems, m.batchSeconds, m.events, m.holdsExpired, m.queueDepth, m.batchFailures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observeBatch(items int, seconds float64, queued int) {
	if m == nil {
		return
	}
	m.batchItems.Observe(float64(items))
	m.batchSeconds.Observe(seconds)
	m.queueDepth.Set(float64(queued))
}

func (m *Metrics) event(result string) {
	if m != nil {
		m.events.WithLabelValues(result).Inc()
	}
}

func (m *Metrics) expired(n int) {
	if m != nil {
		m.holdsExpired.Add(float64(n))
	}
}

func (m *Metrics) failure() {
	if m != nil {
		m.batchFailures.Inc()
	}
}
