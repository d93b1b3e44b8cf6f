package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger/reconcile"
)

// startIssuerSim runs `cardswitch issuer-sim` with args and returns it with the address its first
// line names.
func startIssuerSim(t *testing.T, bin string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"issuer-sim", "--listen", "127.0.0.1:0", "--log-level", "warn"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Scan()
		first <- sc.Text()
		for sc.Scan() {
		}
	}()
	select {
	case line := <-first:
		const marker = " listening on "
		i := strings.Index(line, marker)
		if i < 0 {
			t.Fatalf("first line %q does not say where it listens", line)
		}
		return cmd, line[i+len(marker):]
	case <-time.After(simWait):
		t.Fatal("issuer-sim did not start")
	}
	return nil, ""
}

// exchange sends one request and waits for its answer.
func exchange(t *testing.T, addr string, req *iso8583.Message) *iso8583.Message {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, simWait)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	body, err := req.Pack(iso8583.AcquirerSpec())
	if err != nil {
		t.Fatal(err)
	}
	frame, _ := iso8583.AppendFrame(nil, iso8583.Binary2{}, body)
	nc.SetDeadline(time.Now().Add(simWait))
	if _, err := nc.Write(frame); err != nil {
		t.Fatal(err)
	}
	raw, err := iso8583.ReadFrame(bufio.NewReader(nc), iso8583.Binary2{}, 1<<16-1, nil)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	resp, err := iso8583.Unpack(iso8583.AcquirerSpec(), raw)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func simRequest(mti, stan, rrn, amount string) *iso8583.Message {
	return &iso8583.Message{MTI: mti, PAN: "4111111111111111", ProcessingCode: "000000", Amount: amount,
		TransmissionDateTime: "1126143015", STAN: stan, RRN: rrn, TerminalID: "TERM0001",
		MerchantID: "MERCHANT0000001", Currency: "840"}
}

// testIssuerSimJournal: an approval answered before a SIGKILL is in the journal, and a simulator
// restarted on the same file appends to it; the reconciliation reads both runs' records.
func testIssuerSimJournal(t *testing.T, bin string) {
	path := filepath.Join(t.TempDir(), "alpha.jsonl")
	cmd, addr := startIssuerSim(t, bin, "--journal", path)
	if resp := exchange(t, addr, simRequest("0200", "000001", "633014000001", "000000001001")); resp.ResponseCode != "00" {
		t.Fatalf("purchase answered %s", resp.ResponseCode)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	_, addr = startIssuerSim(t, bin, "--journal", path)
	if resp := exchange(t, addr, simRequest("0420", "000002", "633014000001", "000000001001")); resp.MTI != "0430" || resp.ResponseCode != "00" {
		t.Fatalf("reversal answered %s/%s", resp.MTI, resp.ResponseCode)
	}
	if _, err := exec.Command(bin, "issuer-sim", "--listen", "127.0.0.1:0", "--journal", path).CombinedOutput(); err == nil {
		t.Error("a second simulator started on a journal in use")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, stats, err := reconcile.ReadRecords(f)
	if err != nil || stats.Torn || len(recs) != 2 {
		t.Fatalf("journal: %d records %+v %v, want the purchase and its reversal", len(recs), stats, err)
	}
	if recs[0].MTI != "0200" || recs[0].ResponseCode != "00" || recs[1].MTI != "0420" {
		t.Errorf("records: %+v", recs)
	}
	if p := reconcile.NewIssuerBook(recs).Positions["633014000001"]; p == nil || p.Approved != 1 || p.Holds != 0 {
		t.Errorf("position: %+v, want approved once and reversed", p)
	}
}
