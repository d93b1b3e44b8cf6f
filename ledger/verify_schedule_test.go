package ledger

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

type verifyStub struct {
	mu      sync.Mutex
	reports []VerifyReport
	errs    []error
	calls   int
}

func (v *verifyStub) Verify(context.Context) (VerifyReport, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	i := min(v.calls, len(v.reports)-1)
	v.calls++
	return v.reports[i], v.errs[i]
}

func (v *verifyStub) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.calls
}

func TestVerifySchedulePublishesOutcomes(t *testing.T) {
	stub := &verifyStub{
		reports: []VerifyReport{{}, {Violations: []Violation{{Check: "account_totals", Detail: "x"}, {Check: "negative_total", Detail: "y"}}}, {}},
		errs:    []error{nil, nil, errors.New("database down")},
	}
	reg := prometheus.NewRegistry()
	s := &VerifySchedule{Store: stub, Interval: 5 * time.Millisecond, Now: func() time.Time { return time.Unix(1700000000, 0) }}
	require.NoError(t, s.Register(reg))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	require.Eventually(t, func() bool { return stub.count() >= 4 }, 5*time.Second, time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, 1.0, testutil.ToFloat64(s.runs.WithLabelValues("ok")))
	require.Equal(t, 1.0, testutil.ToFloat64(s.runs.WithLabelValues("violations")))
	require.GreaterOrEqual(t, testutil.ToFloat64(s.runs.WithLabelValues("error")), 1.0)
	require.Equal(t, 2.0, testutil.ToFloat64(s.violations), "an error keeps the last known violations")
	require.Equal(t, 1700000000.0, testutil.ToFloat64(s.lastRun))
}
