package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// demoWait bounds a demo run in these tests: a few seconds of load plus start and checks.
const demoWait = 60 * time.Second

// TestDemoCommand runs the built binary's demo: the whole system in one process on the embedded
// ledger.
func TestDemoCommand(t *testing.T) {
	bin := buildBinary(t)
	t.Run("runs and every check holds", func(t *testing.T) { testDemoRuns(t, bin) })
	t.Run("SIGINT stops early with the summary", func(t *testing.T) { testDemoInterrupt(t, bin) })
	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{{"--rate", "0"}, {"--duration", "-1s"}, {"--speed", "2"}} {
			ctx, cancel := context.WithTimeout(context.Background(), demoWait)
			out, err := exec.CommandContext(ctx, bin, append([]string{"demo"}, args...)...).CombinedOutput()
			cancel()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("demo %v: %v, want exit 2\n%s", args, err, out)
			}
		}
	})
}

func testDemoRuns(t *testing.T, bin string) {
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithTimeout(context.Background(), demoWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--duration", "3s", "--rate", "200", "--data-dir", dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"on the embedded ledger",
		"Throughput  600 requests answered in 3.0s: 200.0/s",
		"Latency     p50 ",
		"Responses   00 approved ",
		"issuer:alpha:receivable", "issuer:beta:receivable", "merchant:MERCHANT0000001:payable", "agency:GOVAGENCY000001:payable",
		"merchant MERCHANT0000001", "agency   GOVAGENCY000001",
		"ok    every request answered: 600 of 600 answered",
		"ok    every answer as expected",
		"ok    trial balance nets to zero",
		"ok    ledger invariants hold",
		"ok    one ledger decision per answer: ", // the terminals' 600 and the API shops' operations
		"ok    every API payment answered as expected",
		"API         ",
		"ok    no payable negative",
		"All checks hold.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "FAIL") {
		t.Errorf("a check failed:\n%s", out)
	}
	if !strings.Contains(stderr.String(), "answered") {
		t.Errorf("no progress on stderr:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), `"level"`) {
		t.Errorf("logs on the terminal (they belong in the data directory's log file):\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, demoLogFile)); err != nil {
		t.Errorf("no log file in the data directory: %v", err)
	}
}

func testDemoInterrupt(t *testing.T, bin string) {
	out := interruptAfterProgress(t, exec.Command(bin, "demo", "--duration", "1m", "--rate", "100"), demoWait)
	if !strings.Contains(out, "(interrupted)") || !strings.Contains(out, "All checks hold.") {
		t.Fatalf("summary after SIGINT:\n%s", out)
	}
}

// interruptAfterProgress starts cmd, waits (at most wait) for its first progress line on stderr,
// sends SIGINT and waits (at most wait) for a clean exit. It returns what cmd wrote on stdout.
func interruptAfterProgress(t *testing.T, cmd *exec.Cmd, wait time.Duration) string {
	t.Helper()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	progressed := make(chan struct{})
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		first := true
		for sc.Scan() {
			if first && strings.Contains(sc.Text(), "answered") {
				close(progressed)
				first = false
			}
		}
		exited <- cmd.Wait()
	}()
	select {
	case <-progressed:
	case <-time.After(wait):
		cmd.Process.Kill()
		t.Fatalf("no progress line:\n%s", stdout.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGINT: %v\n%s", err, stdout.String())
		}
	case <-time.After(wait):
		cmd.Process.Kill()
		t.Fatal("no exit after SIGINT")
	}
	return stdout.String()
}
