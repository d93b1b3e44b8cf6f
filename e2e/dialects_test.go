package e2e

import (
	"bufio"
	be "encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	moov "github.com/moov-io/iso8583"
	connection "github.com/moov-io/iso8583-connection"
	"github.com/moov-io/iso8583-connection/server"
	"github.com/moov-io/iso8583/specs"
	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
)

// moovHost is an issuer host written on moov-io's iso8583-connection server with moov-io's
// specs.Spec87ASCII exactly as shipped (a 32-character bitmap, no field 70), deciding as CONTRACT
// §5 does on the amount's last two digits. It records what it received.
type moovHost struct {
	srv *server.Server
	mu  sync.Mutex
	got map[string]int // by MTI, and "0800/<field 24>" for network management
}

func startMoovHost(t *testing.T) *moovHost {
	t.Helper()
	h := &moovHost{got: map[string]int{}}
	h.srv = server.New(specs.Spec87ASCII, readLength2, writeLength2, connection.InboundMessageHandler(h.handle))
	require.NoError(t, h.srv.Start("127.0.0.1:0"))
	t.Cleanup(h.srv.Close)
	return h
}

func readLength2(r io.Reader) (int, error) {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, err
	}
	return int(be.BigEndian.Uint16(b[:])), nil
}

func writeLength2(w io.Writer, n int) (int, error) {
	return w.Write([]byte{byte(n >> 8), byte(n)})
}

func (h *moovHost) count(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[key]
}

func (h *moovHost) handle(c *connection.Connection, m *moov.Message) {
	mti, err := m.GetMTI()
	if err != nil || len(mti) != 4 {
		return
	}
	str := func(id int) string { v, _ := m.GetString(id); return v }
	h.mu.Lock()
	h.got[mti]++
	if mti == "0800" {
		h.got["0800/"+str(24)]++
	}
	h.mu.Unlock()
	resp := moov.NewMessage(specs.Spec87ASCII)
	resp.MTI(mti[:2] + string(mti[2]+1) + "0")
	for _, id := range []int{2, 3, 4, 7, 11, 12, 13, 24, 32, 37, 41, 42, 49} {
		if v := str(id); v != "" {
			resp.Field(id, v)
		}
	}
	code := "00"
	refund := strings.HasPrefix(fmt.Sprintf("%06s", str(3)), "20") // moov-io's field 3 is Numeric: "200000" or "0"
	if amount := str(4); len(amount) >= 2 && (mti == "0100" || mti == "0200") && !refund {
		switch last := amount[len(amount)-2:]; last {
		case "05", "14", "51", "54", "55", "57", "61", "62", "65":
			code = last
		case "99":
			return // never answers
		}
	}
	resp.Field(39, code)
	if code == "00" && (mti == "0100" || mti == "0200") {
		resp.Field(38, "MOOV01")
	}
	_ = c.Reply(resp)
}

const posSpecFile = "../iso8583/testdata/specs/pos-bcd-binary.json"

// TestDialects runs the switch, through its config file alone, against two issuer hosts built on
// moov-io's iso8583-connection with Spec87ASCII as shipped (one without network management,
// one signing on and echoing with the code in field 24) and an issuer host in a BCD/binary
// dialect behind a TPDU, with terminals on the contract listener and a fleet of BCD/binary
// terminals behind a TPDU on a second listener, both loaded at once; then the ledger verifies.
func TestDialects(t *testing.T) {
	plain, netmgmt := startMoovHost(t), startMoovHost(t)
	acquirer, pos, web, api, bcdHost, dataDir := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t), t.TempDir()
	spec, err := filepath.Abs(posSpecFile)
	require.NoError(t, err)
	start(t, "issuer-sim bcd", nil, "issuer-sim", "--listen", bcdHost, "--name", "bcd", "--spec", spec, "--header", "tpdu:6000030000")
	waitTCP(t, bcdHost)
	cfg := fmt.Sprintf(`acceptor: {listen: %q}
acceptors:
  - {name: pos-bcd, listen: %q, spec: %q, header: "tpdu:6000000000"}
http: {listen: %q}
api: {listen: %q}
issuers:
  - name: moov-plain
    addr: %q
    prefixes: ["4"]
    timeout: 2s
    spec: moov-spec87ascii
    sign_on: false
    echo_interval: 0
  - name: moov-netmgmt
    addr: %q
    prefixes: ["5"]
    timeout: 2s
    spec: moov-spec87ascii
    echo_interval: 300ms
    mapping:
      fields:
        - {op: move, from: "70", to: "24"}
  - {name: bcd, addr: %q, prefixes: ["51"], timeout: 2s, spec: %q, header: "tpdu:6000030000", echo_interval: 300ms}
ledger: {data_dir: %q}
`, acquirer, pos, spec, web, api, plain.srv.Addr, netmgmt.srv.Addr, bcdHost, spec, dataDir)
	path := filepath.Join(t.TempDir(), "cardswitch.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	sw := start(t, "serve", []string{"CARDSWITCH_DATABASE_URL="}, "serve", "--config", path)
	(&system{http: web}).waitReady(t)

	// Network management: the host without field 70 sees none; the other signs on and echoes.
	require.Eventually(t, func() bool { return netmgmt.count("0800/301") >= 2 }, 10*time.Second, 20*time.Millisecond,
		"echoes reach the host with the code in field 24")
	require.Positive(t, netmgmt.count("0800/001"), "each connection signs on")
	require.Zero(t, plain.count("0800"), "a host without field 70 gets no network management")
	var links []struct {
		Name string `json:"name"`
		Up   bool   `json:"up"`
	}
	require.Equal(t, 200, getJSON(t, "http://"+web+"/v1/issuers", &links))
	require.Len(t, links, 3)
	for _, l := range links {
		require.True(t, l.Up, "issuer link %s (BCD behind a TPDU for bcd) is up and signed on", l.Name)
	}

	// Approvals, declines and a reversal through the contract listener.
	tm := dialTerminal(t, acquirer, "DIALEC01")
	for _, pan := range []string{"4111111111111111", "5454545454545454", "5105105105105100"} {
		ok := tm.roundTrip(tm.request(iso8583.MTIFinancial, pan, 1000))
		require.Equal(t, "00", ok.ResponseCode, pan)
		require.Len(t, ok.ApprovalCode, 6)
		if pan[:2] != "51" {
			require.Equal(t, "MOOV01", ok.ApprovalCode, "the moov-io host approved it")
		}
		no := tm.roundTrip(tm.request(iso8583.MTIFinancial, pan, 1051))
		require.Equal(t, "51", no.ResponseCode, pan)
		hold := tm.roundTrip(tm.request(iso8583.MTIAuthorization, pan, 2000))
		require.Equal(t, "00", hold.ResponseCode)
	}
	sale := tm.request(iso8583.MTIFinancial, "4111111111111111", 3000)
	require.Equal(t, "00", tm.roundTrip(sale).ResponseCode)
	rev := *sale
	rev.MTI = iso8583.MTIReversal // the same terminal and STAN find the original
	require.Equal(t, "00", tm.roundTrip(&rev).ResponseCode)
	require.Eventually(t, func() bool { return plain.count("0400") >= 1 }, 10*time.Second, 20*time.Millisecond,
		"the reversal reaches the moov-io host")

	// A BCD/binary terminal behind a TPDU: the answer carries the TPDU with its NIIs swapped.
	posSpec, err := iso8583.LoadSpec(spec)
	require.NoError(t, err)
	pt := dialTerminal(t, pos, "POSBCD01")
	req := pt.request(iso8583.MTIAuthorization, "5105105105105100", 4200)
	body, err := req.Pack(posSpec)
	require.NoError(t, err)
	frame, err := iso8583.AppendFrame(nil, iso8583.Binary2{}, append([]byte{0x60, 0x00, 0x05, 0x00, 0x09}, body...))
	require.NoError(t, err)
	nc, err := net.Dial("tcp", pos)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write(frame)
	require.NoError(t, err)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	answer, err := iso8583.ReadFrame(bufio.NewReader(nc), iso8583.Binary2{}, 8192, nil)
	require.NoError(t, err)
	require.Equal(t, []byte{0x60, 0x00, 0x09, 0x00, 0x05}, answer[:5], "the TPDU comes back with its NIIs swapped")
	resp, err := iso8583.Unpack(posSpec, answer[5:])
	require.NoError(t, err)
	require.Equal(t, "0110", resp.MTI)
	require.Equal(t, "00", resp.ResponseCode)
	require.Equal(t, req.STAN, resp.STAN)
	require.Equal(t, "000000004200", resp.Amount)

	// Both listeners under load at once.
	contractLoad := start(t, "load contract", nil, "load", "--target", acquirer, "--rate", "150", "--duration", "3s",
		"--timeout", "3s", "--quiet", "--terminal-prefix", "LDC", "--mix", "purchase=70,preauth=15,refund=5,decline=10",
		"--expect", "unexpected=0,timeouts=0")
	posLoad := start(t, "load pos-bcd", nil, "load", "--target", pos, "--rate", "150", "--duration", "3s",
		"--timeout", "3s", "--quiet", "--terminal-prefix", "LDP", "--mix", "purchase=70,preauth=15,refund=5,decline=10",
		"--spec", spec, "--header", "tpdu:6000010000", "--expect", "unexpected=0,timeouts=0")
	for _, l := range []*proc{contractLoad, posLoad} {
		select {
		case <-l.done:
		case <-time.After(60 * time.Second):
			t.Fatalf("%s did not finish", l.name)
		}
		require.Equal(t, 0, l.cmd.ProcessState.ExitCode(), "%s: %s", l.name, tail(l.out.String(), 2000))
		require.Contains(t, l.out.String(), "unexpected  0")
	}
	require.Equal(t, 0, sw.stop(30*time.Second), "the switch stops cleanly")
	out, err := exec.Command(binary, "ledger", "verify", "--data-dir", dataDir).CombinedOutput()
	require.NoError(t, err, "ledger verify: %s", out)
	require.True(t, strings.Contains(string(out), "every invariant holds"), "%s", out)
}
