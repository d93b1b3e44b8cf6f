package engine

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// Metrics are the engine's Prometheus metrics (issuer link metrics are the issuer package's).
// Label values are bounded: transaction types, the response-code table (anything else is
// "other") and configured issuer names.
type Metrics struct {
	transactions     *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	issuerDuration   *prometheus.HistogramVec
	issuerErrors     *prometheus.CounterVec
	lateResponses    *prometheus.CounterVec
	duplicates       *prometheus.CounterVec
	standIn          *prometheus.CounterVec
	securityFailures *prometheus.CounterVec
	ledgerFailures   prometheus.Counter
	compensations    *prometheus.CounterVec
	reversalsRefused *prometheus.CounterVec
	forwardDropped   prometheus.Counter
	unexpected       prometheus.Counter

	// resolved caches the per-(type, code) children so the hot path does no label hashing.
	resolved sync.Map // key resolvedKey → *resolvedSeries
}

type resolvedKey struct {
	kind txnKind
	code string
}

type resolvedSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// NewMetrics registers the engine's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	latencyBuckets := []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m := &Metrics{
		transactions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_transactions_total", Help: "Requests answered, by type and response code."},
			[]string{"type", "response_code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "cardswitch_transaction_duration_seconds", Help: "Time from a decoded request to its response, by type.",
			Buckets: latencyBuckets}, []string{"type"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_duplicates_total", Help: "Duplicate transmissions, by outcome (original_response, different_content)."},
			[]string{"outcome"}),
		standIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_stand_in_approvals_total", Help: "Approvals given in stand-in for an unavailable issuer."},
			[]string{"issuer"}),
		securityFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_security_failures_total", Help: "Requests refused by a security check, by check (mac, mac_missing, pin_translation, pin_no_key, pin_no_ksn, arqc, icc_format, hsm_unavailable)."},
			[]string{"check"}),
		ledgerFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardswitch_ledger_failures_total", Help: "Decisions the ledger could not hold (answered 96)."}),
		compensations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_commit_compensations_total", Help: "Approvals answered 96 because their commit's outcome was unknown, by how they were resolved (reversed: held after all and reversed; not_held; dropped: queue full; expired: unresolved within an hour)."},
			[]string{"result"}),
		reversalsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardswitch_reversals_refused_total", Help: "Reversals of sales the ledger could no longer undo whole (refunded, or their payee's payable settled or paid out), by reason: 0400 declined 12, 0420 acknowledged and left to reconciliation."},
			[]string{"reason"}),
		forwardDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardswitch_forward_dropped_total", Help: "Advices or reversals that could not be queued for their issuer (no issuer routes their PAN)."}),
		unexpected: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cardswitch_unexpected_messages_total", Help: "Messages from terminals that get no answer (responses, unreadable MTIs)."}),
	}
	reg.MustRegister(m.transactions, m.duration, m.duplicates,
		m.standIn, m.securityFailures, m.ledgerFailures, m.compensations, m.reversalsRefused, m.forwardDropped, m.unexpected)
	for _, r := range []string{"reversed", "not_held", "dropped", "expired"} {
		m.compensations.WithLabelValues(r)
	}
	for _, r := range []string{ledger.ErrRefunded.Code, ledger.ErrExceedsCredits.Code} {
		m.reversalsRefused.WithLabelValues(r)
	}
	// Series that exist from the start, so that rate() and alerts see 0 rather than nothing.
	for _, o := range []string{"original_response", "different_content"} {
		m.duplicates.WithLabelValues(o)
	}
	for _, c := range []string{"mac", "mac_missing", "pin_translation", "pin_no_key", "pin_no_ksn", "arqc", "icc_format", "hsm_unavailable"} {
		m.securityFailures.WithLabelValues(c)
	}
	return m
}

// Issuers creates the per-issuer series at zero (stand-in approvals), so that dashboards and
// alerts see every configured issuer before its first event.
func (m *Metrics) Issuers(names ...string) {
	for _, n := range names {
		m.standIn.WithLabelValues(n)
	}
}

func (m *Metrics) observe(kind txnKind, code string, d time.Duration) {
	key := resolvedKey{kind, iso8583.ResponseCodeLabel(code)}
	v, ok := m.resolved.Load(key)
	if !ok {
		v, _ = m.resolved.LoadOrStore(key, &resolvedSeries{
			count:    m.transactions.WithLabelValues(kind.String(), key.code),
			duration: m.duration.WithLabelValues(kind.String()),
		})
	}
	s := v.(*resolvedSeries)
	s.count.Inc()
	if d > 0 {
		s.duration.Observe(d.Seconds())
	}
}
