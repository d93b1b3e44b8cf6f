//go:build faults

package faults

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestFaults runs the schedules SEED and SCHEDULES (or SCHEDULE_SEED alone) describe, one after
// the other, and fails when any schedule finds a difference (docs/faults.md).
func TestFaults(t *testing.T) {
	o, err := optionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	var schedules []schedule
	if o.ScheduleSeed != nil {
		schedules = append(schedules, newSchedule(o, 0, *o.ScheduleSeed))
	} else {
		for i := range o.Schedules {
			schedules = append(schedules, newSchedule(o, i, scheduleSeed(o.Seed, i)))
		}
	}
	t.Logf("fault suite: SEED=%d, %d schedules of %v at %d/s", o.Seed, len(schedules), o.Duration, o.Rate)
	var report *os.File
	if o.Report != "" {
		if report, err = os.OpenFile(o.Report, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			t.Fatal(err)
		}
		defer report.Close()
	}
	failed := 0
	var totals [4]int
	for _, sc := range schedules {
		out := runSchedule(sc, o.Dir, o.Drain, o.Keep)
		totals[0] += out.Lost
		totals[1] += out.Charged
		totals[2] += out.Doubled
		totals[3] += out.Other
		t.Log(describe(sc, out))
		if report != nil {
			b, _ := json.Marshal(out)
			fmt.Fprintf(report, "%s\n", b)
		}
		if !out.OK {
			failed++
			t.Errorf("schedule %d (SCHEDULE_SEED=%d) failed; its files are in %s", sc.Index, sc.Seed, out.Dir)
		}
	}
	t.Logf("fault suite: SEED=%d: %d of %d schedules passed; lost %d, charged without a sale %d, doubled %d, other %d",
		o.Seed, len(schedules)-failed, len(schedules), totals[0], totals[1], totals[2], totals[3])
}

// describe prints a schedule and what it found, for people.
func describe(sc schedule, o outcome) string {
	var b strings.Builder
	verdict := "PASS"
	if !o.OK {
		verdict = "FAIL"
	}
	reversals := "on"
	if !sc.Reversals {
		reversals = "off"
	}
	fmt.Fprintf(&b, "schedule %d: store %s, terminal reversals %s, load %v at %d/s: %s (%s)\n",
		sc.Index, sc.Store, reversals, sc.Duration, sc.Rate, verdict, o.Elapsed)
	fmt.Fprintf(&b, "  again: SCHEDULE_SEED=%d STORE=%s REVERSALS=%s SCHEDULE=%q scripts/faults\n",
		sc.Seed, sc.Store, reversals, o.Planned)
	for _, a := range o.Applied {
		fmt.Fprintf(&b, "  fault at %s\n", a)
	}
	fmt.Fprintf(&b, "  load: %s\n  saf: %s; verify: %s\n", o.Load, o.SAF, o.Verify)
	fmt.Fprintf(&b, "  lost %d, charged without a sale %d, doubled %d, other differences %d\n", o.Lost, o.Charged, o.Doubled, o.Other)
	for _, p := range o.Problems {
		fmt.Fprintf(&b, "  problem: %s\n", p)
	}
	for _, d := range o.Differences {
		fmt.Fprintf(&b, "  %s\n", d)
	}
	if o.Dir != "" {
		fmt.Fprintf(&b, "  files: %s\n", o.Dir)
	}
	return b.String()
}
