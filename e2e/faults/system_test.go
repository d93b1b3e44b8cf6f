//go:build faults

package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Bounds of the waits of a schedule (every loop is bounded in time).
const (
	startTimeout  = 30 * time.Second // a process listening, the switch ready
	stopTimeout   = 40 * time.Second // a graceful stop (the switch drains up to its own 30s)
	loadSlack     = 40 * time.Second // the load's wait for answers and reversals after its duration
	loadTimeout   = 3 * time.Second  // the terminals' timeout: above the switch's issuer timeout
	slowDelay     = 1500 * time.Millisecond
	intentStale   = 15 * time.Second // saf.intent_stale_after: the issuer timeout + the writer's 10s batch timeout + margin
	safMaxAge     = 2 * time.Minute  // saf.max_age: an item older than this is parked (a failure)
	safPollPeriod = 200 * time.Millisecond
)

// loadMix is what the terminals send: every kind, with timeouts (99: never answered) and slow
// approvals (98: answered after the switch's timeout, which must reverse them).
const loadMix = "purchase=50,preauth=15,refund=5,reversal=10,decline=5,timeout=3,slow=4"

// system is what one schedule runs: two issuer simulators with journals behind proxies, the
// switch on PostgreSQL (a cluster of its own) or the embedded store, and the load generator.
type system struct {
	sc         schedule
	dir        string
	pg         *cluster
	dbProxy    *proxy   // between the switch and PostgreSQL (the ledger commands connect directly)
	storeFlags []string // how the ledger commands find the store
	acquirer   string
	http       string
	api        string
	issuerAddr map[string]string
	issuers    map[string]*proc
	proxies    map[string]*proxy
	sw         *proc
	load       *proc
}

// env keeps a database URL in the environment from overriding the configuration.
var env = []string{"CARDSWITCH_DATABASE_URL=", "CARDSWITCH_ADMIN_TOKEN="}

func startSystem(sc schedule, dir string) (*system, error) {
	s := &system{sc: sc, dir: dir, issuerAddr: map[string]string{}, issuers: map[string]*proc{}, proxies: map[string]*proxy{}}
	var err error
	dbURL := ""
	if sc.Store == "postgres" {
		if s.pg, err = newCluster(dir); err != nil {
			return s, fmt.Errorf("postgres: %w", err)
		}
		s.storeFlags = []string{"--database-url", s.pg.URL()}
		if s.dbProxy, err = newProxy(s.pg.addr()); err != nil {
			return s, err
		}
		dbURL = fmt.Sprintf("postgres://postgres@%s/postgres?sslmode=disable", s.dbProxy.addr())
	} else {
		s.storeFlags = []string{"--data-dir", filepath.Join(dir, "data")}
	}
	for _, name := range issuerNames {
		if s.issuerAddr[name], err = freePort(); err != nil {
			return s, err
		}
		s.issuers[name] = newProc("issuer-sim "+name, filepath.Join(dir, name+".log"), env, "issuer-sim",
			"--listen", s.issuerAddr[name], "--name", name, "--journal", s.journal(name),
			"--slow-delay", slowDelay.String(), "--log-level", "warn")
		if err := s.startIssuer(name); err != nil {
			return s, err
		}
		if s.proxies[name], err = newProxy(s.issuerAddr[name]); err != nil {
			return s, err
		}
	}
	if s.acquirer, err = freePort(); err != nil {
		return s, err
	}
	if s.http, err = freePort(); err != nil {
		return s, err
	}
	if s.api, err = freePort(); err != nil {
		return s, err
	}
	cfg := fmt.Sprintf(`node_id: "0"
acceptor:
  listen: %q
http:
  listen: %q
api:
  listen: %q
issuers:
  - {name: alpha, addr: %q, prefixes: ["4"], timeout: 1s, echo_interval: 1s}
  - {name: beta, addr: %q, prefixes: ["5"], timeout: 1s, echo_interval: 1s,
     stand_in: {enabled: true, max_amount: 20000}}
saf:
  max_age: %s
  retry_min: 200ms
  retry_max: 5s
  timeout: 2s
  intent_stale_after: %s
ledger:
  data_dir: %q
  database_url: %q
log:
  level: info
`, s.acquirer, s.http, s.api, s.proxies["alpha"].addr(), s.proxies["beta"].addr(), safMaxAge, intentStale,
		filepath.Join(dir, "data"), dbURL)
	path := filepath.Join(dir, "switch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return s, err
	}
	s.sw = newProc("serve", filepath.Join(dir, "serve.log"), env, "serve", "--config", path)
	if err := s.sw.start(); err != nil {
		return s, err
	}
	if err := s.waitReady(startTimeout); err != nil {
		return s, err
	}
	args := []string{"load", "--target", s.acquirer, "--rate", strconv.Itoa(sc.Rate), "--duration", sc.Duration.String(),
		"--timeout", loadTimeout.String(), "--mix", loadMix, "--completion-delay", "500ms",
		"--seed", strconv.FormatUint(sc.Seed>>1, 10), "--ledger-log", s.approvals(),
		"--report", filepath.Join(dir, "load.json"), "--quiet"}
	if !sc.Reversals {
		args = append(args, "--no-reversal")
	}
	s.load = newProc("load", filepath.Join(dir, "load.log"), env, args...)
	return s, nil
}

func (s *system) journal(issuer string) string { return filepath.Join(s.dir, issuer+".jsonl") }
func (s *system) approvals() string            { return filepath.Join(s.dir, "approvals.jsonl") }

func (s *system) startIssuer(name string) error {
	if err := s.issuers[name].start(); err != nil {
		return err
	}
	return waitTCP(s.issuerAddr[name], startTimeout)
}

// waitReady polls /readyz until it answers 200.
func (s *system) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + s.http + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the switch was not ready within %v (see %s)", timeout, filepath.Join(s.dir, "serve.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// restore brings back whatever a fault left down and ends any stall.
func (s *system) restore() error {
	var errs []error
	for _, name := range issuerNames {
		s.proxies[name].stall(0)
		if !s.issuers[name].running() {
			errs = append(errs, s.startIssuer(name))
		}
	}
	if s.sw.running() {
		errs = append(errs, s.sw.resume()) // a pause that outlived the load
	} else {
		errs = append(errs, s.sw.start())
	}
	return errors.Join(errs...)
}

// safState is what the drain waits on in GET /v1/saf.
type safState struct {
	Depth   int     `json:"depth"`
	Parked  int     `json:"parked"`
	Intents int     `json:"in_flight_intents"`
	Oldest  float64 `json:"oldest_age_seconds"`
}

// drainSAF waits until the store-and-forward queue holds nothing queued and no intent is in
// flight. It returns how long that took and the last state seen.
func (s *system) drainSAF(timeout time.Duration) (time.Duration, safState, error) {
	start := time.Now()
	client := http.Client{Timeout: 5 * time.Second}
	var last safState
	var lastErr error
	for time.Since(start) < timeout {
		resp, err := client.Get("http://" + s.http + "/v1/saf?limit=1")
		if err == nil {
			var st safState
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err == nil && resp.StatusCode == http.StatusOK {
				last = st
				if st.Depth == 0 && st.Intents == 0 {
					return time.Since(start), st, nil
				}
				if st.Parked > 0 && st.Depth == st.Parked && st.Intents == 0 {
					return time.Since(start), st, fmt.Errorf("%d items parked (older than saf.max_age %v or refused)", st.Parked, safMaxAge)
				}
			}
		}
		lastErr = err
		time.Sleep(safPollPeriod)
	}
	return time.Since(start), last, fmt.Errorf("not drained after %v: depth %d, parked %d, intents %d, oldest %.1fs (last error: %v)",
		timeout, last.Depth, last.Parked, last.Intents, last.Oldest, lastErr)
}

// teardown stops everything still running and the database.
func (s *system) teardown() {
	for _, p := range []*proc{s.load, s.sw, s.issuers["alpha"], s.issuers["beta"]} {
		if p != nil {
			p.kill()
		}
	}
	for _, p := range s.proxies {
		p.close()
	}
	if s.dbProxy != nil {
		s.dbProxy.close()
	}
	if s.pg != nil {
		s.pg.stop()
	}
}
