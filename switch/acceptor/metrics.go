package acceptor

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the acceptor's Prometheus metrics.
type Metrics struct {
	connections         prometheus.Gauge
	connectionsAccepted prometheus.Counter
	connectionsRejected prometheus.Counter
	inFlight            prometheus.Gauge
	decodeErrors        *prometheus.CounterVec
}

// NewMetrics registers the acceptor's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cardswitch_acceptor_connections", Help: "Open terminal and gateway connections."}),
		connectionsAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardswitch_acceptor_connections_accepted_total", Help: "Terminal connections accepted."}),
		connectionsRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardswitch_acceptor_connections_rejected_total", Help: "Terminal connections closed at once because max_connections was reached."}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cardswitch_in_flight_requests", Help: "Requests read from terminals and not yet answered."}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_acceptor_decode_errors_total",
			Help: "Frames that could not be decoded, by kind: frame (bad or oversized length header; connection closed), truncated, mti (unreadable MTI; connection closed), message (answered with 30)."},
			[]string{"kind"}),
	}
	reg.MustRegister(m.connections, m.connectionsAccepted, m.connectionsRejected, m.inFlight, m.decodeErrors)
	for _, k := range []string{"frame", "truncated", "mti", "message"} {
		m.decodeErrors.WithLabelValues(k)
	}
	return m
}
