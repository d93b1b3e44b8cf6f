package acceptor

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the acceptor's Prometheus metrics.
type Metrics struct {
	connections         prometheus.Gauge
	connectionsAccepted prometheus.Counter
	connectionsRejected prometheus.Counter
	inFlight            prometheus.Gauge
	decodeErrors        *prometheus.CounterVec
	tlsFailures         prometheus.Counter
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
		tlsFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardswitch_acceptor_tls_handshake_failures_total",
			Help: "Terminal connections closed because their TLS handshake failed (no or an untrusted client certificate, no common version or cipher, a client that never finished it)."}),
	}
	reg.MustRegister(m.connections, m.connectionsAccepted, m.connectionsRejected, m.inFlight, m.decodeErrors, m.tlsFailures)
	for _, k := range []string{"frame", "truncated", "mti", "message"} {
		m.decodeErrors.WithLabelValues(k)
	}
	return m
}
