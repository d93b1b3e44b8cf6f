package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// VerifySchedule checks every invariant of the ledger (Store.Verify, the same as `cardswitch
// ledger verify`) once at start and then every Interval, and publishes the outcome as metrics
// that an alert watches: cardswitch_ledger_verify_violations (violations found by the last run),
// cardswitch_ledger_verify_runs_total{result} (ok, violations, error) and
// cardswitch_ledger_verify_last_run_timestamp_seconds (of the last run that completed).
type VerifySchedule struct {
	Store interface {
		Verify(context.Context) (VerifyReport, error)
	}
	Interval time.Duration
	Logger   *zap.Logger // default zap.NewNop()
	Now      func() time.Time

	violations prometheus.Gauge
	runs       *prometheus.CounterVec
	lastRun    prometheus.Gauge
}

// Register registers the schedule's metrics with reg; call it once before Run.
func (s *VerifySchedule) Register(reg prometheus.Registerer) error {
	s.violations = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cardswitch_ledger_verify_violations",
		Help: "Invariant violations found by the last scheduled ledger verification (must be 0)."})
	s.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_ledger_verify_runs_total",
		Help: "Scheduled ledger verifications, by result (ok, violations, error)."}, []string{"result"})
	s.lastRun = prometheus.NewGauge(prometheus.GaugeOpts{Name: "cardswitch_ledger_verify_last_run_timestamp_seconds",
		Help: "When the last scheduled ledger verification finished (Unix time)."})
	for _, r := range []string{"ok", "violations", "error"} {
		s.runs.WithLabelValues(r)
	}
	for _, c := range []prometheus.Collector{s.violations, s.runs, s.lastRun} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// Run verifies at once and then every Interval until ctx ends.
func (s *VerifySchedule) Run(ctx context.Context) error {
	if s.Store == nil || s.Interval <= 0 || s.runs == nil {
		return errors.New("verify schedule: needs a store, a positive interval and Register")
	}
	log, now := s.Logger, s.Now
	if log == nil {
		log = zap.NewNop()
	}
	if now == nil {
		now = time.Now
	}
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		s.verify(ctx, log, now)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *VerifySchedule) verify(ctx context.Context, log *zap.Logger, now func() time.Time) {
	rep, err := s.Store.Verify(ctx)
	switch {
	case ctx.Err() != nil:
		return
	case err != nil:
		s.runs.WithLabelValues("error").Inc()
		log.Error("ledger verification could not run", zap.Error(err))
		return
	case !rep.OK():
		s.runs.WithLabelValues("violations").Inc()
		s.violations.Set(float64(len(rep.Violations)))
		log.Error("ledger verification found violations", zap.Int("violations", len(rep.Violations)),
			zap.String("first-check", rep.Violations[0].Check), zap.String("first-detail", rep.Violations[0].Detail))
	default:
		s.runs.WithLabelValues("ok").Inc()
		s.violations.Set(0)
	}
	s.lastRun.Set(float64(now().Unix()))
}
