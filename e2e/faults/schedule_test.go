//go:build faults

package faults

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// faultKind is one kind of fault a schedule injects.
type faultKind string

const (
	issuerKill faultKind = "issuer_kill"  // SIGKILL an issuer simulator, start it again after For
	issuerSlow faultKind = "issuer_slow"  // hold an issuer's answers for For (longer than the switch's timeout)
	switchKill faultKind = "switch_kill"  // SIGKILL the switch, start it again after For
	pgRestart  faultKind = "pg_restart"   // restart PostgreSQL, Mode fast or immediate (a crash)
	linkCut    faultKind = "link_cut"     // drop every connection to an issuer in the middle of a message
	dbCut      faultKind = "db_cut"       // drop every connection to PostgreSQL in the middle of a message
	switchStop faultKind = "switch_pause" // SIGSTOP the switch, SIGCONT after For (a stall longer than timeouts)
)

var allKinds = []faultKind{issuerKill, issuerSlow, switchKill, pgRestart, linkCut, dbCut, switchStop}

// postgresOnly are the kinds a schedule on the embedded store does not draw.
func postgresOnly(k faultKind) bool { return k == pgRestart || k == dbCut }

var issuerNames = []string{"alpha", "beta"}

// fault is one fault of a schedule, At after the load started.
type fault struct {
	At     time.Duration
	Kind   faultKind
	Issuer string        // issuer_kill, issuer_slow, link_cut
	For    time.Duration // issuer_kill, switch_kill, switch_pause: how long it stays down; issuer_slow: how long answers are held
	Mode   string        // pg_restart
}

// String is the fault as SCHEDULE takes it: at:kind[:issuer][:for|:mode].
func (f fault) String() string {
	parts := []string{round(f.At).String(), string(f.Kind)}
	if f.Issuer != "" {
		parts = append(parts, f.Issuer)
	}
	if f.For > 0 {
		parts = append(parts, round(f.For).String())
	}
	if f.Mode != "" {
		parts = append(parts, f.Mode)
	}
	return strings.Join(parts, ":")
}

func round(d time.Duration) time.Duration { return d.Round(10 * time.Millisecond) }

// schedule is one run of the system under load with its faults.
type schedule struct {
	Index     int
	Seed      uint64
	Store     string // postgres or embedded
	Reversals bool   // the terminals reverse what timed out
	Duration  time.Duration
	Rate      int
	Faults    []fault
}

func (s schedule) faultsString() string {
	out := make([]string, len(s.Faults))
	for i, f := range s.Faults {
		out[i] = f.String()
	}
	return strings.Join(out, ",")
}

// options are the suite's settings, from the environment (docs/faults.md).
type options struct {
	Seed         uint64
	Schedules    int
	ScheduleSeed *uint64     // SCHEDULE_SEED: run this one schedule
	Faults       []fault     // SCHEDULE: these faults instead of random ones
	Kinds        []faultKind // FAULTS: the kinds drawn
	MaxFaults    int
	Store        string // postgres, embedded or mixed
	Reversals    string // on, off or mixed
	Duration     time.Duration
	Rate         int
	Drain        time.Duration
	IssuerTimout time.Duration
	Keep         bool
	Report       string
	Dir          string
}

func optionsFromEnv() (options, error) {
	o := options{Schedules: 3, MaxFaults: 4, Store: "mixed", Reversals: "mixed", Duration: 20 * time.Second,
		Rate: 240, Drain: 90 * time.Second, IssuerTimout: time.Second, Kinds: allKinds, Dir: os.TempDir()}
	var err error
	env := func(name string, parse func(string) error) {
		if v := os.Getenv(name); v != "" && err == nil {
			if perr := parse(v); perr != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, perr)
			}
		}
	}
	o.Seed = uint64(time.Now().UnixNano())
	env("SEED", func(v string) (e error) { o.Seed, e = strconv.ParseUint(v, 0, 64); return })
	env("SCHEDULES", func(v string) (e error) { o.Schedules, e = positive(v); return })
	env("SCHEDULE_SEED", func(v string) error {
		s, e := strconv.ParseUint(v, 0, 64)
		o.ScheduleSeed = &s
		return e
	})
	env("SCHEDULE", func(v string) (e error) { o.Faults, e = parseFaults(v); return })
	env("FAULTS", func(v string) error {
		o.Kinds = nil
		for _, k := range strings.Split(v, ",") {
			if !slices.Contains(allKinds, faultKind(k)) {
				return fmt.Errorf("unknown fault %q", k)
			}
			o.Kinds = append(o.Kinds, faultKind(k))
		}
		return nil
	})
	env("FAULTS_MAX", func(v string) (e error) { o.MaxFaults, e = positive(v); return })
	env("STORE", func(v string) error { o.Store = v; return oneOf(v, "postgres", "embedded", "mixed") })
	env("REVERSALS", func(v string) error { o.Reversals = v; return oneOf(v, "on", "off", "mixed") })
	env("DURATION", func(v string) (e error) { o.Duration, e = time.ParseDuration(v); return })
	env("RATE", func(v string) (e error) { o.Rate, e = positive(v); return })
	env("FAULTS_DRAIN", func(v string) (e error) { o.Drain, e = time.ParseDuration(v); return })
	env("FAULTS_KEEP", func(v string) error { o.Keep = v == "1"; return nil })
	env("FAULTS_REPORT", func(v string) error { o.Report = v; return nil })
	env("FAULTS_DIR", func(v string) error { o.Dir = v; return nil })
	if err == nil && o.Duration < 5*time.Second {
		err = fmt.Errorf("DURATION=%v: at least 5s", o.Duration)
	}
	return o, err
}

func positive(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err == nil && n < 1 {
		err = fmt.Errorf("must be at least 1")
	}
	return n, err
}

func oneOf(v string, allowed ...string) error {
	if !slices.Contains(allowed, v) {
		return fmt.Errorf("must be one of %s", strings.Join(allowed, ", "))
	}
	return nil
}

// scheduleSeed derives schedule i's seed from the suite's (SplitMix64), so that any schedule can
// be run again alone with SCHEDULE_SEED.
func scheduleSeed(seed uint64, i int) uint64 {
	z := seed + uint64(i+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// newSchedule draws a schedule: 1 to MaxFaults faults at random moments of the load, from its seed
// (PostgreSQL faults only on PostgreSQL).
func newSchedule(o options, index int, seed uint64) schedule {
	rng := rand.New(rand.NewPCG(seed, seed^0x5851F42D4C957F2D))
	s := schedule{Index: index, Seed: seed, Duration: o.Duration, Rate: o.Rate, Store: o.Store}
	// Mixed stores and reversals go by the schedule's index, so that a short run covers both:
	// every fourth schedule (the third of three) on the embedded store, every other one without
	// the terminals' reversals. A schedule run again alone is given them as printed.
	if s.Store == "mixed" {
		s.Store = "postgres"
		if index%4 == 2 {
			s.Store = "embedded"
		}
	}
	s.Reversals = o.Reversals == "on" || (o.Reversals == "mixed" && index%2 == 0)
	kinds := o.Kinds
	if s.Store == "embedded" {
		kinds = slices.DeleteFunc(slices.Clone(kinds), postgresOnly)
	}
	if o.Faults != nil {
		s.Faults = o.Faults
		return s
	}
	if len(kinds) == 0 {
		return s
	}
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(rng.Int64N(int64(hi-lo)+1)) }
	n := 1 + rng.IntN(o.MaxFaults)
	for range n {
		f := fault{At: between(time.Second, s.Duration-2*time.Second), Kind: kinds[rng.IntN(len(kinds))]}
		switch f.Kind {
		case issuerKill:
			f.Issuer, f.For = issuerNames[rng.IntN(2)], between(300*time.Millisecond, 3*time.Second)
		case issuerSlow:
			f.Issuer, f.For = issuerNames[rng.IntN(2)], between(o.IssuerTimout+300*time.Millisecond, o.IssuerTimout+2*time.Second)
		case switchKill:
			f.For = between(200*time.Millisecond, 2*time.Second)
		case switchStop:
			f.For = between(500*time.Millisecond, 4*time.Second) // up to past the terminals' 3s timeout
		case pgRestart:
			f.Mode = []string{"fast", "immediate"}[rng.IntN(2)]
		case linkCut:
			f.Issuer = issuerNames[rng.IntN(2)]
		}
		s.Faults = append(s.Faults, f)
	}
	slices.SortFunc(s.Faults, func(a, b fault) int { return cmp.Compare(a.At, b.At) })
	return s
}

// parseFaults reads SCHEDULE: faults as fault.String writes them, separated by commas.
func parseFaults(v string) ([]fault, error) {
	out := []fault{}
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		fs := strings.Split(part, ":")
		if len(fs) < 2 {
			return nil, fmt.Errorf("%q: want at:kind[:issuer][:for|:mode]", part)
		}
		at, err := time.ParseDuration(fs[0])
		if err != nil {
			return nil, fmt.Errorf("%q: %v", part, err)
		}
		f := fault{At: at, Kind: faultKind(fs[1])}
		rest := fs[2:]
		needIssuer := f.Kind == issuerKill || f.Kind == issuerSlow || f.Kind == linkCut
		if needIssuer {
			if len(rest) == 0 || !slices.Contains(issuerNames, rest[0]) {
				return nil, fmt.Errorf("%q: name the issuer (alpha or beta)", part)
			}
			f.Issuer, rest = rest[0], rest[1:]
		}
		switch f.Kind {
		case issuerKill, issuerSlow, switchKill, switchStop:
			if len(rest) != 1 {
				return nil, fmt.Errorf("%q: give how long, e.g. 1.5s", part)
			}
			if f.For, err = time.ParseDuration(rest[0]); err != nil {
				return nil, fmt.Errorf("%q: %v", part, err)
			}
		case pgRestart:
			if len(rest) != 1 || (rest[0] != "fast" && rest[0] != "immediate") {
				return nil, fmt.Errorf("%q: give the mode, fast or immediate", part)
			}
			f.Mode = rest[0]
		case linkCut:
			if len(rest) != 0 {
				return nil, fmt.Errorf("%q: link_cut takes only the issuer", part)
			}
		case dbCut:
			if len(rest) != 0 {
				return nil, fmt.Errorf("%q: db_cut takes nothing more", part)
			}
		default:
			return nil, fmt.Errorf("%q: unknown fault %q", part, fs[1])
		}
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b fault) int { return cmp.Compare(a.At, b.At) })
	return out, nil
}
