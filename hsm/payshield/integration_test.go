package payshield

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/hsm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs a server on a random loopback port until the test ends.
func startServer(t testing.TB, log *zap.Logger) (string, *hsm.Soft) {
	t.Helper()
	soft := hsm.NewSoft(hsm.TestLMK())
	srv, err := NewServer(soft, Config{HeaderLen: DefaultHeaderLen}, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String(), soft
}

func newClient(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{Addr: addr}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Every HSM operation over TCP gives what the in-process HSM gives.
func TestClientServerMatchesSoft(t *testing.T) {
	addr, soft := startServer(t, zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel)))
	c := newClient(t, addr)
	ctx := context.Background()
	ks, err := soft.NewTestKeySet()
	if err != nil {
		t.Fatal(err)
	}
	const pan = "4761739001010010"

	block, _ := soft.EncryptPIN(ctx, ks.TPK, hsm.PINFormatISO0, "1234", pan)
	req := hsm.TranslatePINRequest{Source: ks.TPK, Dest: ks.ZPK, PINBlock: block, SourceFormat: hsm.PINFormatISO0, PAN: pan}
	remote, err := c.TranslatePIN(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	local, _ := soft.TranslatePIN(ctx, req)
	if string(remote) != string(local) {
		t.Fatalf("CA: remote %X, local %X", remote, local)
	}

	const ksn = "FFFF9876543210E00001"
	dblock, _ := soft.EncryptPINDUKPT(ctx, ks.BDK, ksn, "1234", pan)
	dreq := hsm.TranslatePINRequest{Source: ks.BDK, KSN: ksn, Dest: ks.ZPK, PINBlock: dblock, SourceFormat: hsm.PINFormatISO0, PAN: pan}
	if remote, err = c.TranslatePIN(ctx, dreq); err != nil || string(remote) != string(local) {
		t.Fatalf("G0: %X, %v; want %X", remote, err, local)
	}

	data := []byte("0200 message to authenticate")
	mac, err := c.GenerateMAC(ctx, ks.TAK, hsm.MACRetail, data)
	if err != nil {
		t.Fatal(err)
	}
	if lmac, _ := soft.GenerateMAC(ctx, ks.TAK, hsm.MACRetail, data); string(lmac) != string(mac) {
		t.Fatalf("M6: remote %X, local %X", mac, lmac)
	}
	if err := c.VerifyMAC(ctx, ks.TAK, hsm.MACRetail, data, mac); err != nil {
		t.Fatalf("M8: %v", err)
	}
	mac[0] ^= 1
	if err := c.VerifyMAC(ctx, ks.TAK, hsm.MACRetail, data, mac); !errors.Is(err, hsm.ErrMACMismatch) {
		t.Fatalf("M8 tampered: %v", err)
	}

	cvv, _ := soft.GenerateCVV(ks.CVK, pan, "2612", "000")
	if err := c.VerifyCVV(ctx, hsm.CVVRequest{CVK: ks.CVK, PAN: pan, Expiry: "2612", ServiceCode: "000", CVV: cvv}); err != nil {
		t.Fatalf("CY: %v", err)
	}
	bad := "000"
	if cvv == bad {
		bad = "001"
	}
	if err := c.VerifyCVV(ctx, hsm.CVVRequest{CVK: ks.CVK, PAN: pan, Expiry: "2612", ServiceCode: "000", CVV: bad}); !errors.Is(err, hsm.ErrCVVMismatch) {
		t.Fatalf("CY wrong CVV: %v", err)
	}

	if err := c.CheckKey(ctx, ks.ZPK); err != nil {
		t.Fatalf("BU: %v", err)
	}
	wrong := ks.ZPK
	wrong.CheckValue = "000000"
	if err := c.CheckKey(ctx, wrong); !errors.Is(err, hsm.ErrKCV) {
		t.Fatalf("BU wrong KCV: %v", err)
	}
	corrupt := ks.ZPK
	corrupt.Cryptogram = corrupt.Cryptogram[:32] + flipHex(corrupt.Cryptogram[32])
	if err := c.CheckKey(ctx, corrupt); !errors.Is(err, hsm.ErrKeyParity) {
		t.Fatalf("BU corrupt: %v", err)
	}
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

// Many goroutines share the pool; every response reaches the request it answers.
func TestClientConcurrentMatching(t *testing.T) {
	addr, soft := startServer(t, zap.NewNop())
	c := newClient(t, addr)
	ctx := context.Background()
	ks, _ := soft.NewTestKeySet()
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				data := []byte{byte(w), byte(i), 1, 2, 3, 4, 5, 6, 7}
				mac, err := c.GenerateMAC(ctx, ks.ZAK, hsm.MACRetail, data)
				if err == nil {
					err = soft.VerifyMAC(ctx, ks.ZAK, hsm.MACRetail, data, mac)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestClientUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	c := newClient(t, addr)
	err = c.CheckKey(context.Background(), hsm.Key{Type: hsm.KeyTypeZPK, Cryptogram: "U1EF828AA8F6B80EB83E19FBC373F3A85"})
	if !errors.Is(err, hsm.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

// A server that never answers: the request times out as ErrUnavailable.
func TestClientTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		buf := make([]byte, 1024)
		for {
			if _, err := conn.Read(buf); err != nil {
				conn.Close()
				return
			}
		}
	}()
	c, err := NewClient(ClientConfig{Addr: ln.Addr().String(), RequestTimeout: 100 * time.Millisecond}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckKey(context.Background(), hsm.Key{Type: hsm.KeyTypeZPK, Cryptogram: "U1EF828AA8F6B80EB83E19FBC373F3A85"})
	if !errors.Is(err, hsm.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrUnavailable from the deadline", err)
	}
	c.Close()
	ln.Close()
	wg.Wait()
}

// After the server restarts on the same address, the client reconnects.
func TestClientReconnects(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	run := func(ln net.Listener) (stop func()) {
		srv, _ := NewServer(soft, Config{HeaderLen: DefaultHeaderLen}, zap.NewNop())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { srv.Serve(ctx, ln); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := run(ln)
	c, _ := NewClient(ClientConfig{Addr: addr, Conns: 1, RedialInterval: time.Millisecond}, zap.NewNop())
	defer c.Close()
	key := hsm.Key{Type: hsm.KeyTypeZPK, Cryptogram: "U1EF828AA8F6B80EB83E19FBC373F3A85", CheckValue: "6F1E3F"}
	if err := c.CheckKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	stop()
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port not reusable: %v", err)
	}
	defer run(ln2)()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := c.CheckKey(context.Background(), key)
		if err == nil {
			return
		}
		if !errors.Is(err, hsm.ErrUnavailable) || time.Now().After(deadline) {
			t.Fatalf("after restart: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
