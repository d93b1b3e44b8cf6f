//go:build faults

package faults

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cardswitch/cardswitch/ledger/reconcile"
)

// outcome is what a schedule found.
type outcome struct {
	Index     int      `json:"schedule"`
	Seed      uint64   `json:"seed"`
	Store     string   `json:"store"`
	Reversals bool     `json:"terminal_reversals"`
	Planned   string   `json:"faults"`
	Applied   []string `json:"applied"`
	// The acceptance counts: approvals a terminal was told that the ledger does not hold; issuer
	// approvals the ledger does not hold (a cardholder charged for nothing); anything approved
	// or posted twice; and every other difference.
	Lost    int `json:"lost"`
	Charged int `json:"charged_without_a_sale"`
	Doubled int `json:"doubled"`
	Other   int `json:"other_differences"`
	// Load is the load generator's summary; SAF how the drain went; Verify the ledger's check.
	Load        string   `json:"load"`
	SAF         string   `json:"saf"`
	Verify      string   `json:"verify"`
	Problems    []string `json:"problems,omitempty"`
	Differences []string `json:"differences,omitempty"`
	Dir         string   `json:"dir,omitempty"`
	OK          bool     `json:"ok"`
	Elapsed     string   `json:"elapsed"`
}

// maxDifferencesListed bounds the differences an outcome lists (the reconcile JSON in the
// schedule's directory has them all).
const maxDifferencesListed = 40

func (o *outcome) problem(format string, args ...any) {
	o.Problems = append(o.Problems, fmt.Sprintf(format, args...))
}

// runSchedule runs one schedule from setup to teardown. The schedule's directory is removed
// unless it failed (or keep is set).
func runSchedule(sc schedule, root string, drain time.Duration, keep bool) (o outcome) {
	began := time.Now()
	o = outcome{Index: sc.Index, Seed: sc.Seed, Store: sc.Store, Reversals: sc.Reversals, Planned: sc.faultsString()}
	dir := filepath.Join(root, fmt.Sprintf("faults-%016x", sc.Seed))
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		o.problem("%v", err)
		return o
	}
	s, err := startSystem(sc, dir)
	defer func() {
		s.teardown()
		o.OK = len(o.Problems) == 0 && o.Lost+o.Charged+o.Doubled+o.Other == 0
		o.Elapsed = time.Since(began).Round(100 * time.Millisecond).String()
		if o.OK && !keep {
			os.RemoveAll(dir)
		} else {
			o.Dir = dir
		}
	}()
	if err != nil {
		o.problem("setup: %v", err)
		return o
	}
	if err := s.load.start(); err != nil {
		o.problem("load: %v", err)
		return o
	}
	start := time.Now()
	o.Applied = s.inject(start)
	code, err := s.load.wait(max(sc.Duration+loadSlack-time.Since(start), time.Second))
	switch {
	case err != nil:
		o.problem("load: %v", err)
	case code != 0:
		o.problem("load exited %d (see load.log)", code)
	}
	o.Load = loadSummary(filepath.Join(dir, "load.json"))
	if err := s.restore(); err != nil {
		o.problem("restore after the faults: %v", err)
	}
	if err := s.waitReady(startTimeout); err != nil {
		o.problem("%v", err)
		return o
	}
	took, st, err := s.drainSAF(drain)
	o.SAF = fmt.Sprintf("drained in %v", took.Round(100*time.Millisecond))
	if err != nil {
		o.SAF = err.Error()
		o.problem("saf: %v", err)
	} else if st.Oldest > safMaxAge.Seconds() {
		o.problem("saf: an item %.0fs old, past saf.max_age", st.Oldest)
	}
	if err := s.sw.stop(stopTimeout); err != nil {
		o.problem("stop the switch: %v", err)
	}
	for _, name := range issuerNames {
		s.issuers[name].stop(stopTimeout)
	}
	s.check(&o)
	return o
}

// event is a fault's action, or the end of one (a restart).
type event struct {
	at     time.Duration
	fault  fault
	ending bool
}

// inject applies the schedule's faults at their moments after start, in order, and returns what
// was done when (each line: the offset at which it happened, the fault, and an error if any).
func (s *system) inject(start time.Time) []string {
	var events []event
	for _, f := range s.sc.Faults {
		events = append(events, event{at: f.At, fault: f})
		if f.Kind == issuerKill || f.Kind == switchKill || f.Kind == switchStop {
			events = append(events, event{at: f.At + f.For, fault: f, ending: true})
		}
	}
	slices.SortStableFunc(events, func(a, b event) int { return cmp.Compare(a.at, b.at) })
	var log []string
	for _, e := range events {
		time.Sleep(time.Until(start.Add(e.at)))
		at := time.Since(start)
		err := s.apply(e)
		what := string(e.fault.Kind)
		if e.fault.Issuer != "" {
			what += " " + e.fault.Issuer
		}
		switch {
		case e.ending && e.fault.Kind == switchStop:
			what += " continued"
		case e.ending:
			what += " restarted"
		case e.fault.For > 0:
			what += " for " + round(e.fault.For).String()
		case e.fault.Mode != "":
			what += " " + e.fault.Mode
		}
		line := fmt.Sprintf("%v %s", round(at), what)
		if err != nil {
			line += " (error: " + err.Error() + ")"
		}
		log = append(log, line)
	}
	return log
}

func (s *system) apply(e event) error {
	f := e.fault
	switch {
	case f.Kind == issuerKill && e.ending:
		return s.startIssuer(f.Issuer)
	case f.Kind == issuerKill:
		return s.issuers[f.Issuer].kill()
	case f.Kind == switchKill && e.ending:
		return s.sw.start()
	case f.Kind == switchKill:
		return s.sw.kill()
	case f.Kind == switchStop && e.ending:
		return s.sw.resume()
	case f.Kind == switchStop:
		return s.sw.pause()
	case f.Kind == dbCut:
		if s.dbProxy == nil {
			return errors.New("no PostgreSQL in this schedule")
		}
		s.dbProxy.cutAll()
	case f.Kind == issuerSlow:
		s.proxies[f.Issuer].stall(f.For)
	case f.Kind == linkCut:
		s.proxies[f.Issuer].cutAll()
	case f.Kind == pgRestart:
		if s.pg == nil {
			return errors.New("no PostgreSQL in this schedule")
		}
		return s.pg.restart(f.Mode)
	}
	return nil
}

// reconciled is the JSON of `cardswitch ledger reconcile --json`.
type reconciled struct {
	OK     bool                    `json:"ok"`
	Issuer *reconcile.Report       `json:"issuer"`
	Client *reconcile.ClientReport `json:"client"`
}

// check runs `ledger verify` and `ledger reconcile` against both journals and the terminals'
// approvals, and counts what they found.
func (s *system) check(o *outcome) {
	out, err := s.ledger("verify")
	o.Verify = "ok"
	if err != nil {
		o.Verify = strings.TrimSpace(lastLines(out, 3))
		o.problem("ledger verify: %v: %s", err, o.Verify)
	}
	for _, name := range issuerNames {
		r, err := s.reconcile(name+".reconcile.json", "--issuer", name, "--journal", s.journal(name))
		if err != nil || r.Issuer == nil {
			o.problem("reconcile %s: %v", name, err)
			continue
		}
		c := r.Issuer.Counts
		o.Charged += c[reconcile.IssuerOnly]
		o.Doubled += c[reconcile.IssuerDoubled] + c[reconcile.LedgerDoubled]
		o.Other += c[reconcile.LedgerOnly] + c[reconcile.AmountDiffers]
		for _, d := range r.Issuer.Differences {
			if len(o.Differences) < maxDifferencesListed {
				o.Differences = append(o.Differences, name+": "+d.Summary())
			}
		}
	}
	r, err := s.reconcile("approvals.reconcile.json", "--approvals", s.approvals())
	if err != nil || r.Client == nil {
		o.problem("reconcile approvals: %v", err)
		return
	}
	c := r.Client.Counts
	o.Lost += c[reconcile.Lost]
	o.Other += c[reconcile.ClientAmountDiffers] + c[reconcile.ReversedButHeld]
	for _, d := range r.Client.Differences {
		if len(o.Differences) < maxDifferencesListed {
			o.Differences = append(o.Differences, "terminals: "+d.Summary())
		}
	}
}

// ledger runs `cardswitch ledger CMD` on the schedule's store.
func (s *system) ledger(args ...string) (string, error) {
	cmd := exec.Command(binary, append(append([]string{"ledger"}, args...), s.storeFlags...)...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return "", err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		<-done
		return out.String(), errors.New("ledger " + args[0] + " did not finish within 2m")
	}
}

// reconcile runs `ledger reconcile --json` (exit 1 is its verdict, not a failure to run), keeps
// its output in file and decodes it.
func (s *system) reconcile(file string, args ...string) (*reconciled, error) {
	out, err := s.ledger(append([]string{"reconcile", "--json"}, args...)...)
	os.WriteFile(filepath.Join(s.dir, file), []byte(out), 0o644)
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return nil, fmt.Errorf("%v: %s", err, lastLines(out, 3))
	}
	var r reconciled
	if err := json.Unmarshal([]byte(out[:strings.LastIndexByte(out, '}')+1]), &r); err != nil {
		return nil, fmt.Errorf("decode: %v: %s", err, lastLines(out, 3))
	}
	return &r, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// loadSummary reads the load generator's report into a line.
func loadSummary(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no report: " + err.Error()
	}
	var r struct {
		Sent             int64            `json:"sent"`
		Answered         int64            `json:"answered"`
		Timeouts         int64            `json:"timeouts"`
		Unexpected       int64            `json:"unexpected"`
		TimeoutReversals int64            `json:"timeout_reversals"`
		ConnectionErrors int64            `json:"connection_errors"`
		ResponseCodes    map[string]int64 `json:"response_codes"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return "unreadable report: " + err.Error()
	}
	return fmt.Sprintf("sent %d answered %d approved %d timeouts %d reversals %d unexpected %d conn errors %d",
		r.Sent, r.Answered, r.ResponseCodes["00"], r.Timeouts, r.TimeoutReversals, r.Unexpected, r.ConnectionErrors)
}
