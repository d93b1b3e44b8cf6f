package saf

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type flakySender struct {
	mu       sync.Mutex
	failures atomic.Int64 // fail this many more attempts
	got      []string     // MTI+RRN of delivered messages, in order
}

func (s *flakySender) Send(_ context.Context, _ string, msg *iso8583.Message) (*iso8583.Message, error) {
	if s.failures.Add(-1) >= 0 {
		return nil, errors.New("issuer unavailable")
	}
	s.mu.Lock()
	s.got = append(s.got, msg.MTI+"/"+msg.RRN)
	s.mu.Unlock()
	return &iso8583.Message{MTI: iso8583.ResponseMTI(msg.MTI), ResponseCode: "00"}, nil
}

func (s *flakySender) delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

func TestQueueRetriesInOrderAndMarksRepeats(t *testing.T) {
	s := &flakySender{}
	s.failures.Store(3)
	q := New(Config{Capacity: 10, Timeout: time.Second, RetryMin: time.Millisecond, RetryMax: 4 * time.Millisecond},
		[]string{"alpha"}, s, zaptest.NewLogger(t), prometheus.NewRegistry(), time.Now)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- q.Run(ctx) }()
	require.NoError(t, q.Enqueue(ctx, "alpha", &iso8583.Message{MTI: "0400", RRN: "A"}))
	require.NoError(t, q.Enqueue(ctx, "alpha", &iso8583.Message{MTI: "0220", RRN: "B"}))
	require.Eventually(t, func() bool { return len(s.delivered()) == 2 }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{"0401/A", "0220/B"}, s.delivered(), "in order; a retried reversal goes as a repeat")
	require.Equal(t, 0, q.Snapshot().Depth)
	cancel()
	require.NoError(t, <-done)
}

func TestQueueIsBounded(t *testing.T) {
	q := New(Config{Capacity: 2, Timeout: time.Second, RetryMin: time.Millisecond, RetryMax: time.Millisecond},
		[]string{"alpha"}, &flakySender{}, zaptest.NewLogger(t), prometheus.NewRegistry(), time.Now)
	ctx := context.Background()
	require.NoError(t, q.Enqueue(ctx, "alpha", &iso8583.Message{MTI: "0400", PAN: "4111111111111111"}))
	require.NoError(t, q.Enqueue(ctx, "alpha", &iso8583.Message{MTI: "0400"}))
	require.ErrorIs(t, q.Enqueue(ctx, "alpha", &iso8583.Message{MTI: "0400"}), ErrFull)
	require.ErrorIs(t, q.Enqueue(ctx, "nobody", &iso8583.Message{MTI: "0400"}), ErrUnknownIssuer)
	snap := q.Snapshot()
	require.Equal(t, 2, snap.Depth)
	require.Equal(t, "411111******1111", snap.Items[0].MaskedPAN)
}
