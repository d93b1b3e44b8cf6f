package issuer

import (
	"bufio"
	"context"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/iso8583"
)

// echoIssuer is the cheapest possible issuer for benchmarks: it answers each frame with the same
// bytes and the MTI's function digit turned into a response (0100 → 0110), batching its writes.
type echoIssuer struct {
	ln net.Listener
	wg sync.WaitGroup
	mu sync.Mutex
	cs []net.Conn
}

func startEchoIssuer(tb testing.TB) *echoIssuer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	e := &echoIssuer{ln: ln}
	e.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			e.mu.Lock()
			e.cs = append(e.cs, nc)
			e.mu.Unlock()
			e.wg.Go(func() { echoFrames(nc) })
		}
	})
	tb.Cleanup(func() {
		ln.Close()
		e.mu.Lock()
		for _, c := range e.cs {
			c.Close()
		}
		e.mu.Unlock()
		e.wg.Wait()
	})
	return e
}

func echoFrames(nc net.Conn) {
	br := bufio.NewReaderSize(nc, 64<<10)
	bw := bufio.NewWriterSize(nc, 64<<10)
	var buf []byte
	for {
		body, err := iso8583.ReadFrame(br, iso8583.Binary2{}, 1<<16-1, buf)
		if err != nil {
			return
		}
		buf = body[:0]
		body[2]++
		var hdr [2]byte
		iso8583.Binary2{}.PutLength(hdr[:], len(body))
		bw.Write(hdr[:])
		bw.Write(body)
		if br.Buffered() == 0 {
			if bw.Flush() != nil {
				return
			}
		}
	}
}

func benchLink(b *testing.B, conns int) *Issuer {
	e := startEchoIssuer(b)
	cfg := DefaultConfig("alpha", e.ln.Addr().String())
	cfg.SignOn = false // the echo issuer answers without field 39
	cfg.Connections = conns
	cfg.AcquirerID = "12345678901"
	l, err := New(cfg, zap.NewNop(), NewMetrics(nil), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(waitMax)
	for !allSignedOn(l) {
		if time.Now().After(deadline) {
			b.Fatal("link not up")
		}
		time.Sleep(time.Millisecond)
	}
	return l
}

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSend is one request at a time: the round trip over loopback and its cost.
func BenchmarkSend(b *testing.B) {
	l := benchLink(b, 2)
	req := authorization("000001", "000000012301")
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := l.Send(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkSendParallel is many requests in flight on two connections (pipelining): throughput
// and the process CPU per request (the echo issuer's share included).
func BenchmarkSendParallel(b *testing.B) {
	l := benchLink(b, 2)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(32)
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		req := authorization("000001", "000000012301")
		for pb.Next() {
			if _, err := l.Send(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// BenchmarkCodecBaseline is what any link must spend per request and answer with moov-io: build
// and pack the request, unpack the answer and convert it (no network).
func BenchmarkCodecBaseline(b *testing.B) {
	spec := iso8583.AcquirerSpec()
	req := authorization("000001", "000000012301")
	b.ReportAllocs()
	for b.Loop() {
		mm, err := req.Moov(spec)
		if err != nil {
			b.Fatal(err)
		}
		packed, err := mm.Pack()
		if err != nil {
			b.Fatal(err)
		}
		packed[2]++
		resp, err := iso8583.Unpack(spec, packed)
		if err != nil || resp.MTI != "0110" {
			b.Fatal(err)
		}
	}
}
