package issuer

import (
	"bufio"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// BenchmarkHandle is the simulator's work per request: unpack, decide, pack the answer.
func BenchmarkHandle(b *testing.B) {
	s := &Simulator{cfg: Config{}.withDefaults()}
	frame, err := authorization("000001", "000000012301").Pack(iso8583.AcquirerSpec())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		body, timing, ok := s.handle(frame)
		if !ok || timing != Now || body == nil {
			b.Fatal("not answered")
		}
	}
}

// BenchmarkServe is requests pipelined on one loopback connection (a window of 64 outstanding):
// the process CPU per answered request covers the simulator and the benchmark's client, which
// only frames bytes.
func BenchmarkServe(b *testing.B) {
	s, err := New(Config{Listen: "127.0.0.1:0"}, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); <-done }()
	nc, err := net.Dial("tcp", s.Addr())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	body, _ := authorization("000001", "000000012301").Pack(iso8583.AcquirerSpec())
	frame, _ := iso8583.AppendFrame(nil, iso8583.Binary2{}, body)
	const window = 64
	br := bufio.NewReaderSize(nc, 64<<10)
	bw := bufio.NewWriterSize(nc, 64<<10)
	b.ReportAllocs()
	cpu0 := cpuTime()
	start := time.Now()
	sent, got := 0, 0
	var buf []byte
	for got < b.N {
		for sent < b.N && sent-got < window {
			bw.Write(frame)
			sent++
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		resp, err := iso8583.ReadFrame(br, iso8583.Binary2{}, 1<<16-1, buf)
		if err != nil {
			b.Fatal(err)
		}
		buf = resp[:0]
		got++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "answers/s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
