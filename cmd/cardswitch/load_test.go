package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	simissuer "github.com/cardswitch/cardswitch/simulator/issuer"
)

// loadWait bounds every run of `cardswitch load` in these tests.
const loadWait = 30 * time.Second

// TestLoadCommand builds the binary once and runs `cardswitch load` against an issuer simulator in
// this process.
func TestLoadCommand(t *testing.T) {
	bin := buildBinary(t)
	sim, err := simissuer.New(simissuer.Config{Listen: "127.0.0.1:0"}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-simDone
	})
	t.Run("report, ledger log and expectations met", func(t *testing.T) { testLoadReport(t, bin, sim.Addr()) })
	t.Run("exit codes", func(t *testing.T) { testLoadExitCodes(t, bin, sim.Addr()) })
	t.Run("SIGINT prints the summary", func(t *testing.T) { testLoadInterrupt(t, bin, sim.Addr()) })
}

// runLoad runs the binary with args and returns its exit code, stdout and stderr.
func runLoad(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loadWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"load"}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit) && ctx.Err() == nil:
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("cardswitch load %v: %v\n%s", args, err, stderr.String())
	return 0, "", ""
}

func testLoadReport(t *testing.T, bin, target string) {
	dir := t.TempDir()
	report, ledgerLog := filepath.Join(dir, "report.json"), filepath.Join(dir, "ledger.jsonl")
	code, stdout, stderr := runLoad(t, bin, "--target", target, "--rate", "200", "--requests", "300", "--duration", "20s",
		"--terminals", "4", "--completion-delay", "0s", "--report", report, "--ledger-log", ledgerLog,
		"--expect", "unexpected=0,timeouts=0,answered=300,p99<5s")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"open model at 200/s", "sent       300", "p99.9", "purchase"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "sent ") || !strings.Contains(stderr, "p99 ") {
		t.Errorf("no progress line on stderr:\n%s", stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Sent, Answered, Unexpected int64
		Kinds                      map[string]struct{ Approved int64 }
		Latency                    struct{ P99 float64 } `json:"latency_ms"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, b)
	}
	if rep.Sent != 300 || rep.Answered != 300 || rep.Unexpected != 0 || rep.Latency.P99 <= 0 {
		t.Fatalf("report %s", b)
	}
	var approved int64
	for _, k := range rep.Kinds {
		approved += k.Approved
	}
	f, err := os.Open(ledgerLog)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines int64
	for sc := bufio.NewScanner(f); sc.Scan(); lines++ {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l["terminal"] == nil || l["amount"] == nil {
			t.Fatalf("ledger log line %q: %v", sc.Text(), err)
		}
	}
	if lines != approved || lines == 0 {
		t.Fatalf("%d ledger log lines, %d approvals", lines, approved)
	}
}

func testLoadExitCodes(t *testing.T, bin, target string) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	short := []string{"--target", target, "--concurrency", "4", "--requests", "40", "--quiet"}
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"expectations met", append(short, "--expect", "unexpected=0"), 0, ""},
		{"expectation not met", append(short, "--expect", "unexpected=0,p99<1us"), 1, "p99<1us not met"},
		{"malformed threshold", append(short, "--expect", "p99<fast"), 2, "--expect"},
		{"unknown metric", append(short, "--expect", "speed>1"), 2, "unknown metric"},
		{"no target", []string{"--rate", "10"}, 2, "--target is required"},
		{"target not host:port", []string{"--target", "nowhere", "--rate", "10"}, 2, "host:port"},
		{"no model", []string{"--target", target}, 2, "--rate N or --concurrency N"},
		{"both models", []string{"--target", target, "--rate", "10", "--concurrency", "2"}, 2, "exclude each other"},
		{"bad mix", append(short, "--mix", "purchase=70,coffee=30"), 2, "unknown kind"},
		{"bad merchant", append(short, "--merchants", "SHOP"), 2, "15 printable"},
		{"bad framing", append(short, "--framing", "ascii3"), 2, "framing"},
		{"bad BIN", append(short, "--bins", "4,x"), 2, "BINs"},
		{"unknown flag", append(short, "--speed", "3"), 2, "unknown flag"},
		{"unreachable target", []string{"--target", closed, "--rate", "10", "--quiet"}, 1, "unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runLoad(t, bin, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d with %q on stderr\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.stderr, stdout, stderr)
			}
			if tc.code == 2 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
				t.Errorf("a usage error takes one line, got:\n%s", stderr)
			}
		})
	}
}

func testLoadInterrupt(t *testing.T, bin, target string) {
	out := interruptAfterProgress(t, exec.Command(bin, "load", "--target", target, "--rate", "200", "--duration", "1m"), loadWait)
	if !strings.Contains(out, "(interrupted)") || !strings.Contains(out, "answered") {
		t.Fatalf("summary after SIGINT:\n%s", out)
	}
}
