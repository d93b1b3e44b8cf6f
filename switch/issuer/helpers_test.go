package issuer

import (
	"bufio"
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// waitMax bounds every wait of a test: a hang fails instead of blocking the run.
const waitMax = 5 * time.Second

// fixedNow is the test clock: field 7 is "1126143015".
func fixedNow() time.Time { return time.Date(2026, 11, 26, 14, 30, 15, 0, time.UTC) }

// sim is a running issuer simulator that records the requests it receives.
type sim struct {
	*simissuer.Simulator
	mu   sync.Mutex
	reqs []*iso8583.Message
}

func (s *sim) requests() []*iso8583.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*iso8583.Message(nil), s.reqs...)
}

// startSim runs the issuer simulator (on a random port unless cfg.Listen is set) until stop is
// called or the test ends.
func startSim(t *testing.T, cfg simissuer.Config) (s *sim, stop func()) {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = time.Millisecond
	}
	s = &sim{}
	cfg.OnRequest = func(req *iso8583.Message) {
		s.mu.Lock()
		s.reqs = append(s.reqs, req)
		s.mu.Unlock()
	}
	var err error
	s.Simulator, err = simissuer.New(cfg, zaptest.NewLogger(t).Named("sim"))
	if err != nil {
		t.Fatalf("simulator: %v", err)
	}
	stop = runUntilStopped(t, "simulator", s.Run)
	return s, stop
}

// runUntilStopped runs run in a goroutine; the returned stop (also called at the end of the test)
// cancels it and waits for it to return nil.
func runUntilStopped(t *testing.T, what string, run func(context.Context) error) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("%s Run: %v", what, err)
				}
			case <-time.After(2 * waitMax):
				t.Errorf("%s Run did not return after cancel", what)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// testConfig is a link to addr with quick reconnects and the test clock's acquirer ID.
func testConfig(addr string) Config {
	cfg := DefaultConfig("alpha", addr)
	cfg.AcquirerID = "12345678901"
	cfg.ReconnectMin = 5 * time.Millisecond
	cfg.ReconnectMax = 50 * time.Millisecond
	cfg.Timeout = 2 * waitMax // long enough that a CPU-starved test machine does not time out
	return cfg
}

// startLink runs a link until stop or the end of the test.
func startLink(t *testing.T, cfg Config) (l *Issuer, stop func()) {
	t.Helper()
	l, err := New(cfg, zaptest.NewLogger(t).Named("link"), NewMetrics(nil), fixedNow)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	stop = runUntilStopped(t, "link", l.Run)
	return l, stop
}

// eventually polls cond until it holds or waitMax passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitMax)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", waitMax, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// allSignedOn reports whether every connection of l is in service.
func allSignedOn(l *Issuer) bool {
	for _, c := range l.Status().Connections {
		if c.State != StateSignedOn {
			return false
		}
	}
	return true
}

// authorization is an 0100 for amount (minor units, 12 digits) with the terminal's STAN stan.
func authorization(stan, amount string) *iso8583.Message {
	return &iso8583.Message{
		MTI:                  iso8583.MTIAuthorization,
		PAN:                  "4111111111111111",
		ProcessingCode:       "000000",
		Amount:               amount,
		TransmissionDateTime: "0101000000",
		STAN:                 stan,
		LocalTime:            "143015",
		LocalDate:            "1126",
		Expiry:               "2812",
		POSEntryMode:         "810",
		RRN:                  "633014" + stan,
		TerminalID:           "WEB00001",
		MerchantID:           "MERCHANT0000001",
		Currency:             "840",
	}
}

// fakePeer is a scripted issuer for what the simulator does not do: answer is called for every
// frame received on a connection and returns the frames (bodies) to write back, in order.
type fakePeer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	conn []net.Conn
}

func startFakePeer(t *testing.T, answer func(body []byte) [][]byte) *fakePeer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &fakePeer{ln: ln}
	p.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conn = append(p.conn, nc)
			p.mu.Unlock()
			p.wg.Go(func() { p.serve(nc, answer) })
		}
	})
	t.Cleanup(p.close)
	return p
}

func (p *fakePeer) addr() string { return p.ln.Addr().String() }

// push writes body as a frame on every connection the peer has accepted.
func (p *fakePeer) push(body []byte) {
	frame, _ := iso8583.AppendFrame(nil, iso8583.Binary2{}, body)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conn {
		c.Write(frame)
	}
}

func (p *fakePeer) serve(nc net.Conn, answer func([]byte) [][]byte) {
	br := bufio.NewReader(nc)
	for {
		body, err := iso8583.ReadFrame(br, iso8583.Binary2{}, 1<<16-1, nil)
		if err != nil {
			return
		}
		for _, out := range answer(body) {
			if string(out) == hangUp {
				nc.Close()
				return
			}
			frame, _ := iso8583.AppendFrame(nil, iso8583.Binary2{}, out)
			if _, err := nc.Write(frame); err != nil {
				return
			}
		}
	}
}

// hangUp, as a frame of a fakePeer's answer, closes the connection instead.
const hangUp = "\x00hang up"

func (p *fakePeer) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conn {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// pack packs m with the acquirer spec (nil if it does not pack; the peer then sends nothing).
func pack(m *iso8583.Message) []byte {
	b, err := m.Pack(iso8583.AcquirerSpec())
	if err != nil {
		return nil
	}
	return b
}
