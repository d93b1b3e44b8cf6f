package load

import (
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/simulator/issuer"
)

// benchConn is a connection of a generator that is never dialled, for the per-request steps.
func benchConn(b *testing.B) *conn {
	b.Helper()
	g, err := newGenerator(Config{Target: "127.0.0.1:1", Rate: 1000, Seed: 1, CompletionShare: -1})
	if err != nil {
		b.Fatal(err)
	}
	return g.conns[0]
}

// BenchmarkBuildRequest is the writer's cost per request: draw, number, date and encode.
func BenchmarkBuildRequest(b *testing.B) {
	c := benchConn(b)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		c.out = c.out[:0]
		r := c.newRequestLocked(now)
		if err := c.sendLocked(r, now); err != nil {
			b.Fatal(err)
		}
		delete(c.mu.inflight, r.stan)
		c.recycleLocked(r)
		c.mu.Unlock()
	}
}

// BenchmarkAnswer is the reader's cost per answer: unpack, match, check and count.
func BenchmarkAnswer(b *testing.B) {
	c := benchConn(b)
	now := time.Now()
	c.mu.Lock()
	c.out = c.out[:0]
	r := c.newRequestLocked(now)
	for r.kind != KindPurchase {
		c.recycleLocked(r)
		r = c.newRequestLocked(now)
	}
	if err := c.sendLocked(r, now); err != nil {
		b.Fatal(err)
	}
	req, err := iso8583.Unpack(iso8583.AcquirerSpec(), c.out[2:])
	if err != nil {
		b.Fatal(err)
	}
	saved := *r
	c.mu.Unlock()
	resp, _ := issuer.Decide(req)
	resp.RRN = "633000000001"
	body, err := resp.Pack(iso8583.AcquirerSpec())
	if err != nil {
		b.Fatal(err)
	}
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		c.mu.Lock()
		fresh := c.allocLocked()
		*fresh = saved
		c.mu.inflight[saved.stan] = fresh
		c.mu.Unlock()
		m, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			b.Fatal(err)
		}
		line = c.answer(m, now, line[:0])
	}
	b.StopTimer()
	if c.mu.stats.unexpected != 0 || c.mu.stats.answered == 0 {
		b.Fatalf("answers counted unexpected: %d of %d", c.mu.stats.unexpected, c.mu.stats.answered)
	}
}
