package acceptor

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
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
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// echoHandler answers every request with its response MTI, the STAN echoed and 00, after a delay
// that depends on the STAN (so that pipelined answers come back out of order).
type echoHandler struct {
	delay   func(stan string) time.Duration
	block   chan struct{} // when non-nil, every request waits on it
	started atomic.Int64
}

func (h *echoHandler) Handle(ctx context.Context, req *iso8583.Message) *iso8583.Message {
	h.started.Add(1)
	if h.block != nil {
		select {
		case <-h.block:
		case <-ctx.Done():
		}
	}
	if h.delay != nil {
		time.Sleep(h.delay(req.STAN))
	}
	return &iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), STAN: req.STAN, ResponseCode: "00"}
}

func (h *echoHandler) HandleMalformed(_ context.Context, p *iso8583.Message, _ error) *iso8583.Message {
	return &iso8583.Message{MTI: iso8583.ResponseMTI(p.MTI), STAN: p.STAN, ResponseCode: "30"}
}

type harness struct {
	t      *testing.T
	addr   string
	srv    *Server
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, h Handler, mutate func(*Config)) *harness {
	t.Helper()
	cfg := Config{
		Framing: iso8583.Binary2{}, Spec: iso8583.AcquirerSpec(),
		MaxConnections: 8, MaxInFlightPerConn: 64, MaxInFlight: 256, MaxFrame: 2048,
		IdleTimeout: 5 * time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second, DrainTimeout: 5 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	reg := prometheus.NewRegistry()
	srv := New(cfg, h, zaptest.NewLogger(t), NewMetrics(reg))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	hs := &harness{t: t, addr: ln.Addr().String(), srv: srv, reg: reg, cancel: cancel, done: make(chan error, 1)}
	go func() { hs.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		hs.stop()
	})
	return hs
}

func (h *harness) stop() error {
	h.cancel()
	select {
	case err, ok := <-h.done:
		if ok {
			close(h.done)
		}
		return err
	case <-time.After(10 * time.Second):
		h.t.Fatal("server did not stop")
		return nil
	}
}

type client struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dial(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *client) sendRaw(b []byte) {
	c.t.Helper()
	framed, err := iso8583.AppendFrame(nil, iso8583.Binary2{}, b)
	require.NoError(c.t, err)
	_, err = c.nc.Write(framed)
	require.NoError(c.t, err)
}

func (c *client) send(m *iso8583.Message) {
	c.t.Helper()
	b, err := m.Pack(iso8583.AcquirerSpec())
	require.NoError(c.t, err)
	c.sendRaw(b)
}

func (c *client) recv() (*iso8583.Message, error) {
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := iso8583.ReadFrame(c.r, iso8583.Binary2{}, 65535, nil)
	if err != nil {
		return nil, err
	}
	return iso8583.Unpack(iso8583.AcquirerSpec(), b)
}

func stan(i int) string { return iso8583.FormatAmount(int64(i))[6:] }

func TestPipeliningAnswersEveryRequestInAnyOrder(t *testing.T) {
	h := &echoHandler{delay: func(s string) time.Duration {
		n, _ := strconv.Atoi(s)
		return time.Duration(n%7) * time.Millisecond
	}}
	hs := start(t, h, nil)
	c := dial(t, hs.addr)
	const n = 200
	for i := 1; i <= n; i++ {
		c.send(&iso8583.Message{MTI: "0800", STAN: stan(i), NetworkCode: "301"})
	}
	seen := map[string]bool{}
	inOrder := true
	for i := 1; i <= n; i++ {
		m, err := c.recv()
		require.NoError(t, err)
		require.Equal(t, "0810", m.MTI)
		require.False(t, seen[m.STAN], "answered twice: %s", m.STAN)
		seen[m.STAN] = true
		if m.STAN != stan(i) {
			inOrder = false
		}
	}
	require.Len(t, seen, n)
	require.False(t, inOrder, "answers should overtake each other when the handler finishes out of order")
}

func TestMalformedFrameAnswered30AndConnectionStaysUsable(t *testing.T) {
	hs := start(t, &echoHandler{}, nil)
	c := dial(t, hs.addr)
	c.sendRaw([]byte("0100723C44")) // readable MTI, truncated bitmap
	m, err := c.recv()
	require.NoError(t, err)
	require.Equal(t, "0110", m.MTI)
	require.Equal(t, "30", m.ResponseCode)
	c.send(&iso8583.Message{MTI: "0800", STAN: "000002", NetworkCode: "301"})
	m, err = c.recv()
	require.NoError(t, err)
	require.Equal(t, "000002", m.STAN)
	require.Equal(t, 1.0, testutil.ToFloat64(hs.srv.metrics.decodeErrors.WithLabelValues("message")))
}

func TestGarbageClosesOnlyThatConnection(t *testing.T) {
	hs := start(t, &echoHandler{}, nil)
	good := dial(t, hs.addr)
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"unreadable MTI", []byte{0x00, 0x06, 'G', 'A', 'R', 'B', 'A', 'G'}},
		{"oversized length", []byte{0xFF, 0xFF, '0', '1'}},
		{"zero length", []byte{0x00, 0x00}},
		{"truncated then closed", []byte{0x00, 0x40, '0', '1', '0', '0'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := dial(t, hs.addr)
			_, err := bad.nc.Write(tc.raw)
			require.NoError(t, err)
			if tc.name == "truncated then closed" {
				bad.nc.(*net.TCPConn).CloseWrite()
			}
			_, err = bad.recv()
			require.Error(t, err, "the server closes the connection")
			good.send(&iso8583.Message{MTI: "0800", STAN: "000009", NetworkCode: "301"})
			m, err := good.recv()
			require.NoError(t, err)
			require.Equal(t, "000009", m.STAN)
		})
	}
}

func TestConnectionLimit(t *testing.T) {
	hs := start(t, &echoHandler{}, func(c *Config) { c.MaxConnections = 2 })
	a, b := dial(t, hs.addr), dial(t, hs.addr)
	for _, c := range []*client{a, b} {
		c.send(&iso8583.Message{MTI: "0800", STAN: "000001", NetworkCode: "301"})
		_, err := c.recv()
		require.NoError(t, err)
	}
	third := dial(t, hs.addr)
	_, err := third.recv()
	require.Error(t, err)
	require.Eventually(t, func() bool {
		return testutil.ToFloat64(hs.srv.metrics.connectionsRejected) == 1
	}, 5*time.Second, 5*time.Millisecond)
}

func TestInFlightLimitAppliesBackPressure(t *testing.T) {
	h := &echoHandler{block: make(chan struct{})}
	hs := start(t, h, func(c *Config) { c.MaxInFlightPerConn = 4 })
	c := dial(t, hs.addr)
	for i := 1; i <= 10; i++ {
		c.send(&iso8583.Message{MTI: "0800", STAN: stan(i), NetworkCode: "301"})
	}
	require.Eventually(t, func() bool { return h.started.Load() == 4 }, 5*time.Second, time.Millisecond)
	require.Equal(t, 4.0, testutil.ToFloat64(hs.srv.metrics.inFlight))
	close(h.block)
	for range 10 {
		_, err := c.recv()
		require.NoError(t, err)
	}
	require.Equal(t, int64(10), h.started.Load())
}

func TestDrainFinishesInFlightThenCloses(t *testing.T) {
	h := &echoHandler{block: make(chan struct{})}
	hs := start(t, h, nil)
	c := dial(t, hs.addr)
	for i := 1; i <= 3; i++ {
		c.send(&iso8583.Message{MTI: "0800", STAN: stan(i), NetworkCode: "301"})
	}
	require.Eventually(t, func() bool { return h.started.Load() == 3 }, 5*time.Second, time.Millisecond)
	stopped := make(chan error, 1)
	go func() { stopped <- hs.stop() }()
	require.Eventually(t, hs.srv.Draining, 5*time.Second, time.Millisecond)
	_, err := net.DialTimeout("tcp", hs.addr, time.Second)
	require.Error(t, err, "no new connections while draining")
	close(h.block)
	for range 3 {
		m, err := c.recv()
		require.NoError(t, err)
		require.Equal(t, "00", m.ResponseCode)
	}
	_, err = c.recv()
	require.True(t, errors.Is(err, io.EOF), "closed after the drain: %v", err)
	require.NoError(t, <-stopped)
}

func TestIdleConnectionClosed(t *testing.T) {
	hs := start(t, &echoHandler{}, func(c *Config) { c.IdleTimeout = 50 * time.Millisecond })
	c := dial(t, hs.addr)
	_, err := c.recv()
	require.True(t, errors.Is(err, io.EOF), "%v", err)
}

func TestManyConnectionsConcurrently(t *testing.T) {
	hs := start(t, &echoHandler{}, nil)
	var wg sync.WaitGroup
	for range 8 {
		c := dial(t, hs.addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 1; i <= 50; i++ {
				c.send(&iso8583.Message{MTI: "0800", STAN: stan(i), NetworkCode: "301"})
			}
			for range 50 {
				_, err := c.recv()
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
