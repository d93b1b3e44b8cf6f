//go:build faults

package faults

import (
	"reflect"
	"testing"
	"time"
)

// TestSchedulesAreReproducible: a seed always draws the same schedule, and a schedule's faults
// written as SCHEDULE read back the same (the way a failure is reduced and run again).
func TestSchedulesAreReproducible(t *testing.T) {
	o := options{MaxFaults: 4, Store: "mixed", Reversals: "mixed", Duration: 20 * time.Second, Rate: 240,
		IssuerTimout: time.Second, Kinds: allKinds}
	stores := map[string]int{}
	for i := range 200 {
		seed := scheduleSeed(42, i)
		a, b := newSchedule(o, i, seed), newSchedule(o, i, seed)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("seed %d drew two schedules: %+v and %+v", seed, a, b)
		}
		stores[a.Store]++
		if len(a.Faults) < 1 || len(a.Faults) > o.MaxFaults {
			t.Errorf("seed %d: %d faults", seed, len(a.Faults))
		}
		for _, f := range a.Faults {
			if f.At < time.Second || f.At > o.Duration-2*time.Second {
				t.Errorf("seed %d: fault at %v, outside the load", seed, f.At)
			}
			if postgresOnly(f.Kind) && a.Store == "embedded" {
				t.Errorf("seed %d: a PostgreSQL restart on the embedded store", seed)
			}
		}
		parsed, err := parseFaults(a.faultsString())
		if err != nil {
			t.Fatalf("seed %d: %q: %v", seed, a.faultsString(), err)
		}
		if got := (schedule{Faults: parsed}).faultsString(); got != a.faultsString() {
			t.Errorf("SCHEDULE %q read back as %q", a.faultsString(), got)
		}
	}
	if stores["embedded"] != 50 || stores["postgres"] != 150 {
		t.Errorf("stores: %v, want every fourth schedule on the embedded store", stores)
	}
	for _, bad := range []string{"3s", "x:switch_kill:1s", "3s:switch_kill", "3s:issuer_kill:gamma:1s", "3s:pg_restart:slow", "3s:link_cut:alpha:1s", "3s:reboot"} {
		if _, err := parseFaults(bad); err == nil {
			t.Errorf("SCHEDULE %q accepted", bad)
		}
	}
}
