package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/simulator/issuer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testWait bounds every wait of a test: a hang fails instead of blocking the run.
const testWait = 20 * time.Second

// received is one request as the fake acquirer read it.
type received struct {
	conn int // the connection's number, in accept order
	req  *iso8583.Message
}

// fakeAcquirer answers like the switch in front of issuer simulators: the rules of
// simulator/issuer (Decide), plus an RRN for a 0100/0200 that has none. fault, when set, may
// change an answer or return nil to send none; closeAfter, when set, closes each connection
// after that many requests without answering the last.
type fakeAcquirer struct {
	t          *testing.T
	ln         net.Listener
	fault      func(req, resp *iso8583.Message) *iso8583.Message
	closeAfter int

	wg sync.WaitGroup
	mu struct {
		sync.Mutex
		conns    []net.Conn
		received []received
		rrn      int
	}
}

func startFake(t *testing.T, setup func(*fakeAcquirer)) *fakeAcquirer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeAcquirer{t: t, ln: ln}
	if setup != nil {
		setup(f)
	}
	f.wg.Go(f.accept)
	t.Cleanup(f.stop)
	return f
}

func (f *fakeAcquirer) addr() string { return f.ln.Addr().String() }

func (f *fakeAcquirer) accept() {
	for {
		nc, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		id := len(f.mu.conns)
		f.mu.conns = append(f.mu.conns, nc)
		f.mu.Unlock()
		f.wg.Go(func() { f.serve(id, nc) })
	}
}

func (f *fakeAcquirer) serve(id int, nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	bw := bufio.NewWriter(nc)
	spec := iso8583.AcquirerSpec()
	for n := 1; ; n++ {
		frame, err := iso8583.ReadFrame(br, iso8583.Binary2{}, 8192, nil)
		if err != nil {
			return
		}
		req, err := iso8583.Unpack(spec, frame)
		if err != nil {
			f.t.Errorf("fake acquirer: request does not unpack: %v", err)
			return
		}
		f.mu.Lock()
		f.mu.received = append(f.mu.received, received{conn: id, req: req})
		rrn := f.nextRRNLocked()
		f.mu.Unlock()
		if f.closeAfter > 0 && n%f.closeAfter == 0 {
			return
		}
		resp, timing := issuer.Decide(req)
		if resp == nil || timing == issuer.Never {
			continue
		}
		if resp.RRN == "" && (req.MTI == iso8583.MTIAuthorization || req.MTI == iso8583.MTIFinancial) {
			resp.RRN = rrn
		}
		if f.fault != nil {
			if resp = f.fault(req, resp); resp == nil {
				continue
			}
		}
		body, err := resp.Pack(spec)
		if err != nil {
			f.t.Errorf("fake acquirer: answer does not pack: %v", err)
			return
		}
		framed, _ := iso8583.AppendFrame(nil, iso8583.Binary2{}, body)
		bw.Write(framed)
		if br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
	}
}

func (f *fakeAcquirer) nextRRNLocked() string {
	f.mu.rrn++
	return fmt.Sprintf("633000%06d", f.mu.rrn)
}

func (f *fakeAcquirer) stop() {
	f.ln.Close()
	f.mu.Lock()
	for _, nc := range f.mu.conns {
		nc.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// requests returns a copy of everything received, after waiting (polling) until the fake has
// read the n requests the generator reports sent: on a busy machine the fake may lag behind.
func (f *fakeAcquirer) requests(n int64) []received {
	f.t.Helper()
	deadline := time.Now().Add(testWait)
	for {
		f.mu.Lock()
		got := append([]received(nil), f.mu.received...)
		f.mu.Unlock()
		if int64(len(got)) >= n {
			return got
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("the fake acquirer read %d requests, the generator sent %d", len(got), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// run runs the generator against addr with cfg (Target set here) and fails the test on an error
// or a run that does not end in time.
func run(t *testing.T, addr string, cfg Config) Report {
	t.Helper()
	cfg.Target = addr
	if cfg.Log == nil {
		cfg.Log = zaptest.NewLogger(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Interrupted {
		t.Fatalf("run did not finish within %v", testWait)
	}
	return rep
}

// kindOf classifies a request as the generator meant it, from what is on the wire.
func kindOf(req *iso8583.Message) Kind {
	ending := req.Amount[len(req.Amount)-2:]
	switch {
	case req.MTI == iso8583.MTICompletion || req.MTI == "0221":
		return KindCompletion
	case (req.MTI == iso8583.MTIReversal || req.MTI == "0401") && req.RRN == "":
		return KindTimeoutReversal
	case req.MTI == iso8583.MTIReversal || req.MTI == "0401":
		return KindReversal
	case req.MTI == iso8583.MTIAuthorization:
		return KindPreauth
	case req.ProcessingCode == pcRefund:
		return KindRefund
	case isDeclineEnding(ending):
		return KindDecline
	case ending == "99":
		return KindTimeout
	case ending == "98":
		return KindSlow
	}
	return KindPurchase
}

// newBufferCore is a JSON log core writing into b (read it after the run).
func newBufferCore(b *bytes.Buffer) zapcore.Core {
	return zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig()), zapcore.Lock(zapcore.AddSync(b)), zap.DebugLevel)
}
