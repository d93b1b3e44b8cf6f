package main

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// simWait bounds every wait on the issuer-sim process.
const simWait = 10 * time.Second

// buildBinary builds cardswitch into a directory removed at the end of the test.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cardswitch")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestIssuerSimCommand builds the binary once for its subtests.
func TestIssuerSimCommand(t *testing.T) {
	bin := buildBinary(t)
	t.Run("serves and stops on SIGTERM", func(t *testing.T) { testIssuerSimServes(t, bin) })
	t.Run("bad flags", func(t *testing.T) { testIssuerSimBadFlags(t, bin) })
	t.Run("journal survives SIGKILL and restart", func(t *testing.T) { testIssuerSimJournal(t, bin) })
}

// testIssuerSimServes runs `cardswitch issuer-sim`, drives it over TCP, SIGTERMs it and expects
// exit status 0.
func testIssuerSimServes(t *testing.T, bin string) {
	cmd := exec.Command(bin, "issuer-sim", "--listen", "127.0.0.1:0", "--name", "alpha", "--slow-delay", "1s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var addr string
	select {
	case line := <-lines:
		const marker = " listening on "
		i := strings.Index(line, marker)
		if i < 0 {
			t.Fatalf("first line %q does not say where it listens", line)
		}
		addr = line[i+len(marker):]
	case <-time.After(simWait):
		t.Fatalf("issuer-sim did not start: %s", stderr.String())
	}

	nc, err := net.DialTimeout("tcp", addr, simWait)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	br := bufio.NewReader(nc)
	for _, tc := range []struct{ amount, want string }{{"000000001001", "00"}, {"000000001051", "51"}, {"000000001005", "05"}} {
		req := &iso8583.Message{MTI: "0100", PAN: "4111111111111111", ProcessingCode: "000000", Amount: tc.amount,
			TransmissionDateTime: "1126143015", STAN: "000001", RRN: "633014000001", TerminalID: "TERM0001",
			MerchantID: "MERCHANT0000001", Currency: "840"}
		body, err := req.Pack(iso8583.AcquirerSpec())
		if err != nil {
			t.Fatal(err)
		}
		frame, _ := iso8583.AppendFrame(nil, iso8583.Binary2{}, body)
		nc.SetDeadline(time.Now().Add(simWait))
		if _, err := nc.Write(frame); err != nil {
			t.Fatal(err)
		}
		raw, err := iso8583.ReadFrame(br, iso8583.Binary2{}, 1<<16-1, nil)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		resp, err := iso8583.Unpack(iso8583.AcquirerSpec(), raw)
		if err != nil {
			t.Fatal(err)
		}
		if resp.MTI != "0110" || resp.ResponseCode != tc.want {
			t.Errorf("amount %s: %s/%s, want 0110/%s", tc.amount, resp.MTI, resp.ResponseCode, tc.want)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the cleanup
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v (stderr: %s)", err, stderr.String())
		}
	case <-time.After(simWait):
		t.Fatal("issuer-sim did not stop on SIGTERM")
	}
}

// testIssuerSimBadFlags: each bad flag exits 2 with one line naming it.
func testIssuerSimBadFlags(t *testing.T, bin string) {
	for _, tc := range []struct {
		name string
		args []string
		flag string
	}{
		{"no listen", []string{}, "--listen"},
		{"listen not host:port", []string{"--listen", "9583"}, "--listen"},
		{"negative latency", []string{"--listen", "127.0.0.1:0", "--latency", "-1s"}, "--latency"},
		{"zero slow delay", []string{"--listen", "127.0.0.1:0", "--slow-delay", "0s"}, "--slow-delay"},
		{"unknown framing", []string{"--listen", "127.0.0.1:0", "--framing", "ebcdic"}, "--framing"},
		{"no connections", []string{"--listen", "127.0.0.1:0", "--max-conns", "0"}, "--max-conns"},
		{"not a duration", []string{"--listen", "127.0.0.1:0", "--latency", "soon"}, "--latency"},
		{"unknown flag", []string{"--listen", "127.0.0.1:0", "--colour", "red"}, "--colour"},
		{"journal in no directory", []string{"--listen", "127.0.0.1:0", "--journal", "/nonexistent/dir/j"}, "--journal"},
		{"journal-sync without journal", []string{"--listen", "127.0.0.1:0", "--journal-sync"}, "--journal-sync"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(bin, append([]string{"issuer-sim"}, tc.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("got %v, want exit status 2 (stderr %q)", err, stderr.String())
			}
			msg := strings.TrimSpace(stderr.String())
			if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, tc.flag) {
				t.Fatalf("stderr %q: want one line naming %s", msg, tc.flag)
			}
		})
	}
}
