package payshield

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/hsm"
)

func sendFrame(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	var l [2]byte
	binary.BigEndian.PutUint16(l[:], uint16(len(msg)))
	if _, err := c.Write(append(l[:], msg...)); err != nil {
		t.Fatal(err)
	}
}

func readFrame(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var l [2]byte
	if _, err := io.ReadFull(br, l[:]); err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(br, msg); err != nil {
		t.Fatal(err)
	}
	return string(msg)
}

// On the wire: an oversized message is read past and answered 15, and the connection keeps
// serving; pipelined commands all get their answers.
func TestServerWire(t *testing.T) {
	srv, err := NewServer(hsm.NewSoft(hsm.TestLMK()), Config{HeaderLen: 4, MessageSizeMax: 64}, zap.NewNop())
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
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)

	sendFrame(t, c, "0001B2"+strings.Repeat("X", 100))
	if got := readFrame(t, br); got != "0001B315" {
		t.Fatalf("oversized: %q", got)
	}
	const n = 20
	for i := range n {
		sendFrame(t, c, "1"+string(rune('A'+i))+"00NC")
	}
	seen := map[string]bool{}
	for range n {
		r := readFrame(t, br)
		if !strings.HasPrefix(r[4:], "ND00") {
			t.Fatalf("NC reply %q", r)
		}
		seen[r[:4]] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct headers answered, want %d", len(seen), n)
	}
}

// After the context ends, Serve returns and the connection is closed.
func TestServerStops(t *testing.T) {
	srv, _ := NewServer(hsm.NewSoft(hsm.TestLMK()), Config{HeaderLen: 4}, zap.NewNop())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sendFrame(t, c, "0000NC")
	readFrame(t, bufio.NewReader(c))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after shutdown")
	}
}
