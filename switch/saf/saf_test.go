package saf

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/ledger/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sender is an issuer that fails while down, answers otherwise, and records what it got.
type sender struct {
	mu       sync.Mutex
	down     atomic.Bool
	failRRN  string // always fails this RRN
	got      []*iso8583.Message
	attempts atomic.Int64
}

func (s *sender) Send(_ context.Context, _ string, msg *iso8583.Message) (*iso8583.Message, error) {
	s.attempts.Add(1)
	s.mu.Lock()
	if s.down.Load() || msg.RRN == s.failRRN {
		s.mu.Unlock()
		return nil, errors.New("issuer unavailable")
	}
	s.got = append(s.got, msg)
	s.mu.Unlock()
	return &iso8583.Message{MTI: iso8583.ResponseMTI(msg.MTI), ResponseCode: "00"}, nil
}

func (s *sender) delivered() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, m := range s.got {
		out = append(out, m.MTI+"/"+m.RRN)
	}
	return out
}

// opener "opens" what the test sealed by prefixing.
type opener struct{}

func (opener) Open(b []byte) (string, error) {
	if !strings.HasPrefix(string(b), "sealed:") {
		return "", errors.New("does not open")
	}
	return strings.TrimPrefix(string(b), "sealed:"), nil
}

type clock struct{ t atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.t.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.t.Add(int64(d)) }
func newClock() *clock {
	c := &clock{}
	c.t.Store(time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

type env struct {
	t        *testing.T
	store    *sqlite.Store
	writer   *ledger.Writer
	sender   *sender
	clock    *clock
	q        *Queue
	reg      *prometheus.Registry
	stop     func()
	nextSTAN int
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	require.NoError(t, err)
	e := &env{t: t, store: store, sender: &sender{}, clock: newClock(), reg: prometheus.NewRegistry()}
	var q *Queue
	e.writer = ledger.NewWriter(store, ledger.WriterConfig{Now: e.clock.now, Logger: zaptest.NewLogger(t),
		OnSAFQueued: func() { q.Wake() }})
	cfg.Issuers = []string{"alpha"}
	cfg.Node = "0"
	cfg.RetryMin, cfg.RetryMax = time.Millisecond, 4*time.Millisecond
	cfg.Poll = 5 * time.Millisecond
	q = New(cfg, store, e.writer, e.sender, opener{}, zaptest.NewLogger(t), NewMetrics(e.reg), e.clock.now)
	e.q = q
	wctx, wcancel := context.WithCancel(ctx)
	wdone := make(chan error, 1)
	go func() { wdone <- e.writer.Run(wctx) }()
	t.Cleanup(func() {
		wcancel()
		require.NoError(t, <-wdone)
		store.Close()
	})
	return e
}

func (e *env) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.q.Run(ctx) }()
	e.stop = func() {
		cancel()
		require.NoError(e.t, <-done)
	}
	e.t.Cleanup(func() {
		if e.stop != nil {
			e.stop()
		}
	})
}

// queue commits a declined request owing issuer alpha msg (a follow-up queued always).
func (e *env) queue(msg *iso8583.Message) {
	e.t.Helper()
	e.nextSTAN++
	stripped := *msg
	stripped.PAN = ""
	packed, err := stripped.Pack(iso8583.AcquirerSpec())
	require.NoError(e.t, err)
	var sealed []byte
	if msg.PAN != "" {
		sealed = []byte("sealed:" + msg.PAN)
	}
	ev := ledger.Event{ID: fmt.Sprintf("0100/TERM0001/%06d/1206120000", e.nextSTAN), Kind: ledger.Decline, Currency: "840",
		Amount: 1000, Issuer: "alpha", RRN: msg.RRN, ResponseCode: "91", At: e.clock.now(),
		FollowUps: []ledger.FollowUp{{Issuer: "alpha", Kind: ledger.SAFReversal, When: ledger.FollowAlways,
			Message: ledger.SAFMessage{MTI: msg.MTI, RRN: msg.RRN, Currency: "840", Amount: 1000, Packed: packed, PANSealed: sealed}}}}
	_, err = e.writer.Commit(context.Background(), ev)
	require.NoError(e.t, err)
}

func reversal(rrn string) *iso8583.Message {
	return &iso8583.Message{MTI: "0400", PAN: "4111111111111111", ProcessingCode: "000000", Amount: "000000001000",
		TransmissionDateTime: "1206120000", STAN: "000001", RRN: rrn, TerminalID: "TERM0001", MerchantID: "MERCHANT0000001",
		Currency: "840"}
}

func (e *env) snapshot() Snapshot {
	e.t.Helper()
	s, err := e.q.Snapshot(context.Background(), ledger.SAFFilter{})
	require.NoError(e.t, err)
	return s
}

func TestDeliversWithThePANRecordsAndSurvivesNothingInMemory(t *testing.T) {
	e := newEnv(t, Config{})
	e.queue(reversal("RRN000000001"))
	e.queue(reversal("RRN000000002"))
	require.Equal(t, 2, e.snapshot().Depth)
	e.run()
	require.Eventually(t, func() bool { return e.snapshot().Depth == 0 }, 5*time.Second, time.Millisecond)
	require.ElementsMatch(t, []string{"0400/RRN000000001", "0400/RRN000000002"}, e.sender.delivered())
	e.sender.mu.Lock()
	require.Equal(t, "4111111111111111", e.sender.got[0].PAN, "the issuer gets the card number back")
	e.sender.mu.Unlock()
	items, err := e.store.SAFList(context.Background(), ledger.SAFFilter{States: []ledger.SAFState{ledger.SAFDelivered}})
	require.NoError(t, err)
	require.Len(t, items, 2)
	require.Equal(t, "00", items[0].ResponseCode)
	require.Equal(t, 2.0, testutil.ToFloat64(e.q.metrics.delivered.WithLabelValues("alpha")))
}

func TestRetriesAsRepeatsThenParksWhenTooOld(t *testing.T) {
	e := newEnv(t, Config{MaxAge: time.Hour})
	e.sender.down.Store(true)
	e.queue(reversal("RRN000000003"))
	e.run()
	require.Eventually(t, func() bool { e.clock.advance(10 * time.Millisecond); return e.sender.attempts.Load() >= 3 }, 5*time.Second, time.Millisecond)
	e.clock.advance(2 * time.Hour) // the item is now older than its maximum age
	require.Eventually(t, func() bool { return e.snapshot().Parked == 1 }, 5*time.Second, time.Millisecond)
	s := e.snapshot()
	require.Equal(t, 0, s.Queued)
	require.Equal(t, 1, s.Depth, "a parked item is still owed")
	require.Contains(t, s.Items[0].LastError, "not delivered within 1h0m0s")
	n := e.sender.attempts.Load()
	e.sender.down.Store(false)
	// Parked: no more attempts until an operator retries it.
	time.Sleep(50 * time.Millisecond) // a negative check: nothing may happen in this window
	require.Equal(t, n, e.sender.attempts.Load())
	require.NoError(t, e.writer.ChangeSAF(context.Background(), []ledger.SAFChange{{Op: ledger.SAFRetry, Seq: s.Items[0].Seq, At: e.clock.now()}}))
	e.q.Wake()
	require.Eventually(t, func() bool { return len(e.sender.delivered()) == 1 }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{"0401/RRN000000003"}, e.sender.delivered(), "a retried reversal goes as a repeat")
	require.Eventually(t, func() bool { return e.snapshot().Depth == 0 }, 5*time.Second, time.Millisecond)
}

func TestOneTransactionAtATime(t *testing.T) {
	e := newEnv(t, Config{})
	e.sender.mu.Lock()
	e.sender.failRRN = "RRN000000004"
	e.sender.mu.Unlock()
	completion := reversal("RRN000000004")
	completion.MTI = "0220"
	e.queue(completion)
	e.queue(reversal("RRN000000004")) // must not overtake the completion
	e.queue(reversal("RRN000000005"))
	e.run()
	require.Eventually(t, func() bool { return len(e.sender.delivered()) == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(30 * time.Millisecond) // a negative check: the blocked transaction stays blocked
	require.Equal(t, []string{"0400/RRN000000005"}, e.sender.delivered())
	e.sender.mu.Lock()
	e.sender.failRRN = ""
	e.sender.mu.Unlock()
	require.Eventually(t, func() bool { e.clock.advance(10 * time.Millisecond); return len(e.sender.delivered()) == 3 }, 5*time.Second, time.Millisecond)
	require.Equal(t, []string{"0400/RRN000000005", "0221/RRN000000004", "0400/RRN000000004"}, e.sender.delivered())
}

func TestRecovery(t *testing.T) {
	e := newEnv(t, Config{StaleAfter: time.Minute, MaintainEvery: 5 * time.Millisecond})
	ctx := context.Background()
	intend := func(key, node string) {
		m := reversal("RRN00000" + key[len(key)-4:])
		stripped := *m
		stripped.PAN = ""
		packed, err := stripped.Pack(iso8583.AcquirerSpec())
		require.NoError(t, err)
		require.NoError(t, e.writer.Intend(ctx, ledger.Intent{Key: "rrn:" + key, EventID: "0200/TERM0001/000001/" + key[len(key)-10:],
			Issuer: "alpha", Node: node, Payee: "MERCHANT0000001",
			Message: ledger.SAFMessage{MTI: "0400", RRN: m.RRN, Currency: "840", Amount: 1000, Packed: packed, PANSealed: []byte("sealed:" + m.PAN)}}))
	}
	intend("RRN0001206120001", "0")
	intend("RRN0001206120002", "1") // another instance's, in flight
	e.clock.advance(time.Millisecond)
	n, err := e.q.RecoverOwn(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "at start, this instance's own intents")
	require.Equal(t, 1.0, testutil.ToFloat64(e.q.metrics.recovered.WithLabelValues("startup")))
	e.run()
	require.Eventually(t, func() bool { return len(e.sender.delivered()) == 1 }, 5*time.Second, time.Millisecond)
	require.Equal(t, 1, e.snapshot().Intents, "the other instance's intent is young: left alone")
	e.clock.advance(2 * time.Minute)
	require.Eventually(t, func() bool { return len(e.sender.delivered()) == 2 }, 5*time.Second, time.Millisecond)
	require.Equal(t, 1.0, testutil.ToFloat64(e.q.metrics.recovered.WithLabelValues("sweep")))
	tx, err := e.store.Transaction(ctx, "0200/TERM0001/000001/1206120001")
	require.NoError(t, err)
	require.Equal(t, ledger.Recovered, tx.Kind)
}
