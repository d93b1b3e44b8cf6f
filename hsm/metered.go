package hsm

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Results of cardswitch_hsm_requests_total: a verdict of the HSM (a MAC that does not verify, a
// bad PIN block) is "refused"; a transport failure is "unavailable".
const (
	hsmResultOK          = "ok"
	hsmResultRefused     = "refused"
	hsmResultUnavailable = "unavailable"
)

// Metrics are the cardswitch_hsm_* metrics: calls by operation and result, and their latency.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HSM metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_hsm_requests_total",
			Help: "HSM calls by operation and result (ok, refused: a cryptographic verdict, unavailable: the HSM could not be reached)."},
			[]string{"operation", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cardswitch_hsm_request_duration_seconds",
			Help:    "Time of one HSM call, by operation.",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}},
			[]string{"operation"}),
	}
	reg.MustRegister(m.requests, m.duration)
	for _, op := range []string{"translate_pin", "generate_mac", "verify_mac", "verify_cvv", "verify_arqc", "check_key"} {
		for _, r := range []string{hsmResultOK, hsmResultRefused, hsmResultUnavailable} {
			m.requests.WithLabelValues(op, r)
		}
		m.duration.WithLabelValues(op)
	}
	return m
}

func (m *Metrics) observe(op string, start time.Time, err error) {
	r := hsmResultOK
	switch {
	case errors.Is(err, ErrUnavailable):
		r = hsmResultUnavailable
	case err != nil:
		r = hsmResultRefused
	}
	m.requests.WithLabelValues(op, r).Inc()
	m.duration.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

// Metered returns h with every call counted and timed in m.
func Metered(h HSM, m *Metrics) HSM { return metered{h, m} }

type metered struct {
	h HSM
	m *Metrics
}

func (x metered) TranslatePIN(ctx context.Context, req TranslatePINRequest) ([]byte, error) {
	start := time.Now()
	b, err := x.h.TranslatePIN(ctx, req)
	x.m.observe("translate_pin", start, err)
	return b, err
}

func (x metered) GenerateMAC(ctx context.Context, key Key, alg MACAlgorithm, data []byte) ([]byte, error) {
	start := time.Now()
	b, err := x.h.GenerateMAC(ctx, key, alg, data)
	x.m.observe("generate_mac", start, err)
	return b, err
}

func (x metered) VerifyMAC(ctx context.Context, key Key, alg MACAlgorithm, data, mac []byte) error {
	start := time.Now()
	err := x.h.VerifyMAC(ctx, key, alg, data, mac)
	x.m.observe("verify_mac", start, err)
	return err
}

func (x metered) VerifyCVV(ctx context.Context, req CVVRequest) error {
	start := time.Now()
	err := x.h.VerifyCVV(ctx, req)
	x.m.observe("verify_cvv", start, err)
	return err
}

func (x metered) VerifyARQC(ctx context.Context, req ARQCRequest) ([]byte, error) {
	start := time.Now()
	b, err := x.h.VerifyARQC(ctx, req)
	x.m.observe("verify_arqc", start, err)
	return b, err
}

func (x metered) CheckKey(ctx context.Context, key Key) error {
	start := time.Now()
	err := x.h.CheckKey(ctx, key)
	x.m.observe("check_key", start, err)
	return err
}
