package payshield

import (
	"context"
	"testing"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/hsm"
)

// benchRemote starts a server on loopback and a client to it.
func benchRemote(b *testing.B) (*Client, *hsm.Soft, hsm.TestKeySet) {
	addr, soft := startServer(b, zap.NewNop())
	c := newClient(b, addr)
	ks, err := soft.NewTestKeySet()
	if err != nil {
		b.Fatal(err)
	}
	return c, soft, ks
}

// runParallel runs op from 32 goroutines (as the switch would, many transactions at once).
func runParallel(b *testing.B, op func() error) {
	b.ReportAllocs()
	b.SetParallelism(16) // × GOMAXPROCS (2) = 32 concurrent commands over 4 connections
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkRemoteCA is PIN translation TPK → ZPK over the host protocol on loopback.
func BenchmarkRemoteCA(b *testing.B) {
	c, soft, ks := benchRemote(b)
	ctx := context.Background()
	const pan = "4761739001010010"
	block, _ := soft.EncryptPIN(ctx, ks.TPK, hsm.PINFormatISO0, "1234", pan)
	req := hsm.TranslatePINRequest{Source: ks.TPK, Dest: ks.ZPK, PINBlock: block, SourceFormat: hsm.PINFormatISO0, PAN: pan}
	runParallel(b, func() error { _, err := c.TranslatePIN(ctx, req); return err })
}

// BenchmarkRemoteG0 is DUKPT PIN translation over the host protocol on loopback.
func BenchmarkRemoteG0(b *testing.B) {
	c, soft, ks := benchRemote(b)
	ctx := context.Background()
	const pan, ksn = "4761739001010010", "FFFF9876543210E00001"
	block, _ := soft.EncryptPINDUKPT(ctx, ks.BDK, ksn, "1234", pan)
	req := hsm.TranslatePINRequest{Source: ks.BDK, KSN: ksn, Dest: ks.ZPK, PINBlock: block, SourceFormat: hsm.PINFormatISO0, PAN: pan}
	runParallel(b, func() error { _, err := c.TranslatePIN(ctx, req); return err })
}

// BenchmarkRemoteM6 is an X9.19 MAC over a 200-byte message over the host protocol.
func BenchmarkRemoteM6(b *testing.B) {
	c, _, ks := benchRemote(b)
	ctx := context.Background()
	data := make([]byte, 200)
	runParallel(b, func() error { _, err := c.GenerateMAC(ctx, ks.TAK, hsm.MACRetail, data); return err })
}

// BenchmarkHandleCA is the server's command path alone (parse, translate, format), no TCP.
func BenchmarkHandleCA(b *testing.B) {
	s, err := NewServer(hsm.NewSoft(hsm.TestLMK()), Config{HeaderLen: 4}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	msg := []byte("0000CAU8463435FC4B4DAA0C49025272C29B12CU1EF828AA8F6B80EB83E19FBC373F3A85126428EB94035AF53B0101550000025321")
	b.ReportAllocs()
	for b.Loop() {
		s.Handle(msg)
	}
}
