// Package e2e drives the built cardswitch binary over TCP and HTTP exactly as CONTRACT.md
// describes it: `cardswitch serve` with two `cardswitch issuer-sim`, a terminal client speaking
// the acquirer interface, and the HTTP endpoints.
package e2e

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
)

// binary is the cardswitch binary built once for the package's tests.
var binary string

// atExit holds the cleanups of what outlives a single test (the shared system).
var atExit []func()

// packageFailed is set once the tests ran, so that exit cleanups know whether to print logs.
var packageFailed bool

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cardswitch-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "cardswitch")
	args := []string{"build", "-o", binary}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "../cmd/cardswitch")...)
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	packageFailed = code != 0
	for i := len(atExit) - 1; i >= 0; i-- {
		atExit[i]()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback address with a port that was free a moment ago.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running cardswitch subcommand.
type proc struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{} // closed when the process has exited
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start runs the binary with args; the process is killed at the end of the test if still running.
func start(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	return startExternal(t, name, binary, env, args...)
}

// startExternal runs the program at path with args, like start.
func startExternal(t testing.TB, name, path string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, cmd: exec.Command(path, args...), out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.Env = append(os.Environ(), env...)
	require.NoError(t, p.cmd.Start())
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- output of %s:\n%s", name, tail(p.out.String(), 4000))
		}
	})
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(timeout time.Duration) int {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		p.t.Fatalf("%s did not stop within %v", p.name, timeout)
		return -1
	}
}

// waitTCP polls until addr accepts connections.
func waitTCP(t testing.TB, addr string) {
	t.Helper()
	require.Eventually(t, func() bool {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}, 20*time.Second, 20*time.Millisecond, "nothing listens on %s", addr)
}

// httpGet returns the status and body of a GET.
func httpGet(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func getJSON(t testing.TB, url string, v any) int {
	t.Helper()
	code, body := httpGet(t, url)
	if code == http.StatusOK {
		require.NoError(t, json.Unmarshal([]byte(body), v), body)
	}
	return code
}

// system is a switch with two issuer simulators, in the default topology's shape.
type system struct {
	acquirer, http string
	api            string // the payments API listener
	alpha, beta    string
	dataDir        string
	serveArgs      []string
	sw             *proc
	issuers        []*proc
}

type systemOpts struct {
	databaseURL string
	extraYAML   string
	acceptorTLS [2]string // certificate and key files: TLS on the acquirer listener
	// apiYAML adds keys under api: (indented by two spaces, one per line); logLevel is the
	// switch's (default debug).
	apiYAML, logLevel string
	// issuerTimeout is both issuers' timeout (default 1s) and slowDelay the simulators' delay of
	// amounts ending in 98 (default 3s).
	issuerTimeout, slowDelay time.Duration
}

func startSystem(t testing.TB, o systemOpts) *system {
	t.Helper()
	s := &system{acquirer: freePort(t), http: freePort(t), api: freePort(t), alpha: freePort(t), beta: freePort(t), dataDir: t.TempDir()}
	if o.issuerTimeout == 0 {
		o.issuerTimeout = time.Second
	}
	if o.slowDelay == 0 {
		o.slowDelay = 3 * time.Second
	}
	s.issuers = append(s.issuers,
		start(t, "issuer-sim alpha", nil, "issuer-sim", "--listen", s.alpha, "--name", "alpha", "--slow-delay", o.slowDelay.String()),
		start(t, "issuer-sim beta", nil, "issuer-sim", "--listen", s.beta, "--name", "beta", "--slow-delay", o.slowDelay.String()))
	waitTCP(t, s.alpha)
	waitTCP(t, s.beta)
	cfg := fmt.Sprintf(`acceptor:
  listen: %q
  tls_cert: %q
  tls_key: %q
http:
  listen: %q
api:
  listen: %q
%sissuers:
  - {name: alpha, addr: %q, prefixes: ["4"], timeout: %s, echo_interval: 1s}
  - {name: beta, addr: %q, prefixes: ["5"], timeout: %s, echo_interval: 1s}
ledger:
  data_dir: %q
  database_url: %q
log:
  level: %s
%s`, s.acquirer, o.acceptorTLS[0], o.acceptorTLS[1], s.http, s.api, o.apiYAML, s.alpha, o.issuerTimeout, s.beta, o.issuerTimeout,
		s.dataDir, o.databaseURL, cmp.Or(o.logLevel, "debug"), o.extraYAML)
	path := filepath.Join(t.TempDir(), "cardswitch.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	s.serveArgs = []string{"serve", "--config", path}
	s.sw = start(t, "serve", []string{"CARDSWITCH_DATABASE_URL="}, s.serveArgs...)
	s.waitReady(t)
	return s
}

func (s *system) waitReady(t testing.TB) {
	t.Helper()
	require.Eventually(t, func() bool {
		code, _ := httpGet(t, "http://"+s.http+"/readyz")
		return code == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "the switch never became ready")
}

// terminal is a pipelining acquirer client: it matches responses by MTI class and STAN.
type terminal struct {
	t       testing.TB
	nc      net.Conn
	mu      sync.Mutex
	pending map[string]chan *iso8583.Message
	id      string
	stan    int
	readErr chan error
}

func dialTerminal(t testing.TB, addr, id string) *terminal {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	tm := &terminal{t: t, nc: nc, pending: map[string]chan *iso8583.Message{}, id: id, readErr: make(chan error, 1)}
	go tm.readLoop()
	t.Cleanup(func() { nc.Close() })
	return tm
}

func matchKey(mti, stan string) string { return iso8583.MTIClass(mti)[:3] + "/" + stan }

func (tm *terminal) readLoop() {
	r := bufio.NewReader(tm.nc)
	for {
		b, err := iso8583.ReadFrame(r, iso8583.Binary2{}, 65535, nil)
		if err != nil {
			tm.readErr <- err
			return
		}
		m, err := iso8583.Unpack(iso8583.AcquirerSpec(), b)
		if err != nil {
			tm.readErr <- fmt.Errorf("unpack response: %w", err)
			return
		}
		// a response 0x10 answers a request 0x00: match on the first two digits and the STAN.
		key := m.MTI[:2] + "/" + m.STAN
		tm.mu.Lock()
		ch := tm.pending[key]
		delete(tm.pending, key)
		tm.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

// nextSTAN returns a fresh STAN for this terminal.
func (tm *terminal) nextSTAN() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	tm.stan++
	return fmt.Sprintf("%06d", tm.stan)
}

// send writes a request and returns a channel for its response.
func (tm *terminal) send(m *iso8583.Message) <-chan *iso8583.Message {
	tm.t.Helper()
	b, err := m.Pack(iso8583.AcquirerSpec())
	require.NoError(tm.t, err)
	return tm.sendRaw(m.MTI, m.STAN, b)
}

func (tm *terminal) sendRaw(mti, stan string, b []byte) <-chan *iso8583.Message {
	tm.t.Helper()
	ch := make(chan *iso8583.Message, 1)
	tm.mu.Lock()
	tm.pending[mti[:2]+"/"+stan] = ch
	tm.mu.Unlock()
	framed, err := iso8583.AppendFrame(nil, iso8583.Binary2{}, b)
	require.NoError(tm.t, err)
	_, err = tm.nc.Write(framed)
	require.NoError(tm.t, err)
	return ch
}

// roundTrip sends m and waits for its response.
func (tm *terminal) roundTrip(m *iso8583.Message) *iso8583.Message {
	tm.t.Helper()
	return tm.await(tm.send(m), 10*time.Second)
}

func (tm *terminal) await(ch <-chan *iso8583.Message, timeout time.Duration) *iso8583.Message {
	tm.t.Helper()
	select {
	case m := <-ch:
		return m
	case err := <-tm.readErr:
		tm.t.Fatalf("connection failed: %v", err)
	case <-time.After(timeout):
		tm.t.Fatalf("no response within %v", timeout)
	}
	return nil
}

// request builds a valid financial request from this terminal for MERCHANT0000001.
func (tm *terminal) request(mti, pan string, amount int64) *iso8583.Message {
	now := time.Now().UTC()
	return &iso8583.Message{
		MTI: mti, PAN: pan, ProcessingCode: "000000", Amount: iso8583.FormatAmount(amount),
		TransmissionDateTime: now.Format("0102150405"), STAN: tm.nextSTAN(), LocalTime: now.Format("150405"),
		LocalDate: now.Format("0102"), Expiry: fmt.Sprintf("%02d12", (now.Year()+2)%100), MCC: "5999",
		POSEntryMode: "810", TerminalID: tm.id, MerchantID: "MERCHANT0000001", Currency: "840",
	}
}

var _ = context.Background
