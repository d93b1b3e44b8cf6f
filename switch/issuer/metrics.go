package issuer

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Result label values of cardswitch_issuer_requests_total: what became of a Send.
const (
	resultAnswered    = "answered"
	resultTimeout     = "timeout"
	resultUnavailable = "unavailable"
	resultBusy        = "busy"
	resultCircuitOpen = "circuit_open" // refused at once: the circuit of every endpoint in service is open
	resultError       = "error"        // the request could not be packed or numbered
)

// Metrics are the cardswitch_issuer_* metrics, labelled by issuer name (a label whose values are
// bounded by the configuration). One Metrics serves every issuer of a process.
type Metrics struct {
	requests     *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	inFlight     *prometheus.GaugeVec
	connsUp      *prometheus.GaugeVec
	late         *prometheus.CounterVec
	lateDropped  *prometheus.CounterVec
	unmatched    *prometheus.CounterVec
	decodeErrors *prometheus.CounterVec
	connFailures *prometheus.CounterVec
	echoFailures *prometheus.CounterVec
	circuit      *prometheus.GaugeVec
	endpointsUp  *prometheus.GaugeVec
	failovers    *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_issuer_requests_total",
			Help: "Requests sent to an issuer link, by result (answered, timeout, unavailable, circuit_open, busy, error).",
		}, []string{"issuer", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "cardswitch_issuer_request_duration_seconds",
			Help:    "Time from handing a request to an issuer connection to its answer.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"issuer"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cardswitch_issuer_in_flight_requests",
			Help: "Requests sent to an issuer and not yet answered or timed out.",
		}, []string{"issuer"}),
		connsUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cardswitch_issuer_connections_signed_on",
			Help: "Connections to an issuer that are signed on and carry traffic.",
		}, []string{"issuer"}),
		late: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_issuer_late_responses_total",
			Help: "Issuer responses that arrived after their request timed out.",
		}, []string{"issuer"}),
		lateDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_issuer_late_responses_dropped_total",
			Help: "Late responses not handed to the late handler because its queue was full.",
		}, []string{"issuer"}),
		unmatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_issuer_unmatched_responses_total",
			Help: "Issuer messages that matched no request in flight or remembered after a timeout.",
		}, []string{"issuer"}),
		decodeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_issuer_decode_errors_total",
			Help: "Issuer frames that could not be unpacked.",
		}, []string{"issuer"}),
		connFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_issuer_connection_failures_total",
			Help: "Failed dials, failed sign-ons and connections lost, per issuer.",
		}, []string{"issuer"}),
		echoFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_issuer_echo_failures_total",
			Help: "Echo (0800/301) requests not answered 00 in time.",
		}, []string{"issuer"}),
		circuit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cardswitch_issuer_circuit_state",
			Help: "The issuer's circuit breaker: 1 for its current state (closed, open, half_open), 0 for the others.",
		}, []string{"issuer", "state"}),
		endpointsUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cardswitch_issuer_endpoint_up",
			Help: "1 when an issuer endpoint (host:port) can take traffic: a connection in service and its circuit not open.",
		}, []string{"issuer", "endpoint"}),
		failovers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_issuer_failovers_total",
			Help: "Times an issuer's traffic moved from one endpoint to another (failover or failback).",
		}, []string{"issuer"}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.latency, m.inFlight, m.connsUp, m.late, m.lateDropped, m.unmatched,
			m.decodeErrors, m.connFailures, m.echoFailures, m.circuit, m.endpointsUp, m.failovers)
	}
	return m
}

// linkMetrics are one issuer's children of Metrics, resolved once so that the hot path does no
// label lookup.
type linkMetrics struct {
	m                                            *Metrics
	name                                         string
	answered, timeout, unavailable, busy, failed prometheus.Counter
	circuitOpen, failovers                       prometheus.Counter
	circuit                                      [len(circuitStates)]prometheus.Gauge
	latency                                      prometheus.Observer
	inFlight, connsUp                            prometheus.Gauge
	late, lateDropped, unmatched                 prometheus.Counter
	decodeErrors, connFailures, echoFailures     prometheus.Counter
}

func (m *Metrics) forIssuer(name string) *linkMetrics {
	lm := &linkMetrics{
		m:            m,
		name:         name,
		circuitOpen:  m.requests.WithLabelValues(name, resultCircuitOpen),
		failovers:    m.failovers.WithLabelValues(name),
		answered:     m.requests.WithLabelValues(name, resultAnswered),
		timeout:      m.requests.WithLabelValues(name, resultTimeout),
		unavailable:  m.requests.WithLabelValues(name, resultUnavailable),
		busy:         m.requests.WithLabelValues(name, resultBusy),
		failed:       m.requests.WithLabelValues(name, resultError),
		latency:      m.latency.WithLabelValues(name),
		inFlight:     m.inFlight.WithLabelValues(name),
		connsUp:      m.connsUp.WithLabelValues(name),
		late:         m.late.WithLabelValues(name),
		lateDropped:  m.lateDropped.WithLabelValues(name),
		unmatched:    m.unmatched.WithLabelValues(name),
		decodeErrors: m.decodeErrors.WithLabelValues(name),
		connFailures: m.connFailures.WithLabelValues(name),
		echoFailures: m.echoFailures.WithLabelValues(name),
	}
	for n, st := range circuitStates {
		lm.circuit[n] = m.circuit.WithLabelValues(name, string(st))
	}
	return lm
}

// endpointUp is the up gauge of one of the issuer's endpoints.
func (lm *linkMetrics) endpointUp(addr string) prometheus.Gauge {
	return lm.m.endpointsUp.WithLabelValues(lm.name, addr)
}
