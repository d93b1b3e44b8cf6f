package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// System is what a run against a whole system (`cardswitch demo`) ends with: the load's report and
// what the ledger holds afterwards.
type System struct {
	Load         Report
	TrialBalance ledger.TrialBalance
	// Verify is the store's invariant check after the run (nil when VerifyErr says why not).
	Verify    *ledger.VerifyReport
	VerifyErr error
	// DecisionsBefore is the number of decisions the ledger held before the run.
	DecisionsBefore int64
	// API, when set, is a payments API load run beside the terminals (RunAPI): its operations are
	// ledger decisions too, and its answers are checked like the terminals'.
	API *Report
}

// SystemCheck is one promise of the system, held or not.
type SystemCheck struct {
	Name   string
	OK     bool
	Detail string
}

// Checks are the promises of a run against a whole system: every request answered as it should be,
// the trial balance netting to zero, the ledger's invariants holding, exactly one decision recorded
// per answer, and no payee owing money.
func (s System) Checks() []SystemCheck {
	rep := s.Load
	checks := []SystemCheck{
		{"every request answered", rep.Sent > 0 && rep.Answered == rep.Sent && rep.Timeouts == 0 && rep.Unanswered == 0,
			fmt.Sprintf("%s of %s answered, %d timeouts", thousands(rep.Answered), thousands(rep.Sent), rep.Timeouts)},
		{"every answer as expected", rep.Unexpected == 0 && rep.Unmatched == 0,
			fmt.Sprintf("%d unexpected, %d unreadable", rep.Unexpected, rep.Unmatched)},
		s.balanced(),
	}
	if s.Verify == nil {
		why := "no verify report"
		if s.VerifyErr != nil {
			why = s.VerifyErr.Error()
		}
		checks = append(checks, SystemCheck{"ledger invariants hold", false, why})
	} else {
		v := SystemCheck{"ledger invariants hold", s.Verify.OK(),
			fmt.Sprintf("%s transfers, %d violations", thousands(s.Verify.Transfers), len(s.Verify.Violations))}
		if !v.OK {
			v.Detail += ": " + s.Verify.Violations[0].Check + ": " + s.Verify.Violations[0].Detail
		}
		recorded, answers := s.Verify.Transactions-s.DecisionsBefore, rep.Answered
		if s.API != nil {
			answers += s.API.Answered
		}
		checks = append(checks, v, SystemCheck{"one ledger decision per answer", recorded == answers,
			fmt.Sprintf("%s decisions recorded, %s answers", thousands(recorded), thousands(answers))})
	}
	if a := s.API; a != nil {
		checks = append(checks, SystemCheck{"every API payment answered as expected",
			a.Sent > 0 && a.Answered == a.Sent && a.Timeouts == 0 && a.Unexpected == 0,
			fmt.Sprintf("%s of %s answered, %d unexpected, %d timeouts", thousands(a.Answered), thousands(a.Sent), a.Unexpected, a.Timeouts)})
	}
	return append(checks, s.payablesNotNegative())
}

func (s System) balanced() SystemCheck {
	c := SystemCheck{Name: "trial balance nets to zero", OK: s.TrialBalance.Balanced()}
	var parts []string
	for _, cur := range s.TrialBalance.Currencies {
		t := cur.Totals
		parts = append(parts, fmt.Sprintf("%s: debits = credits posted %s = %s, pending %s = %s", cur.Currency,
			Minor(t.DebitsPosted, cur.Exponent), Minor(t.CreditsPosted, cur.Exponent), Minor(t.DebitsPending, cur.Exponent),
			Minor(t.CreditsPending, cur.Exponent)))
	}
	if len(parts) == 0 {
		parts = append(parts, "no accounts")
	}
	c.Detail = strings.Join(parts, "; ")
	return c
}

func (s System) payablesNotNegative() SystemCheck {
	c := SystemCheck{Name: "no payable negative", OK: true, Detail: "every merchant and agency is owed money or nothing"}
	for _, cur := range s.TrialBalance.Currencies {
		for _, a := range cur.Accounts {
			if _, _, kind := splitAccount(a.Account); kind == "payable" && a.CreditsPosted < a.DebitsPosted {
				c.OK, c.Detail = false, fmt.Sprintf("%s is %s", a.Account, Minor(a.CreditsPosted-a.DebitsPosted, cur.Exponent))
			}
		}
	}
	return c
}

// WriteSummary writes the end-of-run summary: throughput, latency, requests and response codes,
// the trial balance, the payees' balances and the checks. It returns the first check that failed,
// or nil.
func (s System) WriteSummary(w io.Writer) (*SystemCheck, error) {
	var b strings.Builder
	s.writeLoad(&b)
	s.writeLedger(&b)
	failed := writeChecks(&b, s.Checks())
	_, err := io.WriteString(w, b.String())
	return failed, err
}

func (s System) writeLoad(b *strings.Builder) {
	rep := s.Load
	stopped := ""
	if rep.Interrupted {
		stopped = " (interrupted)"
	}
	fmt.Fprintf(b, "Throughput  %s requests answered in %.1fs: %.1f/s%s\n", thousands(rep.Answered), rep.DurationSeconds,
		rep.AchievedRate, stopped)
	l := rep.Latency
	fmt.Fprintf(b, "Latency     p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms\n", l.P50, l.P90, l.P99, l.P999, l.Max)
	b.WriteString("Requests   ")
	for k := Kind(0); k < kindCount; k++ {
		if kc, ok := rep.Kinds[k.String()]; ok {
			fmt.Fprintf(b, " %s %s", k, thousands(kc.Sent))
		}
	}
	b.WriteByte('\n')
	pct := func(n int64) float64 { return 100 * float64(n) / float64(max(rep.Answered, 1)) }
	approved := rep.ResponseCodes[iso8583.RCApproved]
	var others []string
	for _, code := range slices.Sorted(maps.Keys(rep.ResponseCodes)) {
		if code == iso8583.RCApproved {
			continue
		}
		name := "unknown"
		if rc, ok := iso8583.LookupResponseCode(code); ok {
			name = strings.ReplaceAll(rc.Name, "_", " ")
		}
		others = append(others, fmt.Sprintf("%s %s %s", code, name, thousands(rep.ResponseCodes[code])))
	}
	fmt.Fprintf(b, "Responses   00 approved %s (%.1f%%), other %s (%.1f%%)\n", thousands(approved), pct(approved),
		thousands(rep.Answered-approved), pct(rep.Answered-approved))
	for i := 0; i < len(others); i += 4 {
		fmt.Fprintf(b, "              %s\n", strings.Join(others[i:min(i+4, len(others))], ", "))
	}
	if a := s.API; a != nil {
		fmt.Fprintf(b, "API         %s payments API operations by %d shops beside the terminals: %.1f/s, p50 %.2fms  p99 %.2fms\n",
			thousands(a.Answered), a.Connections, a.AchievedRate, a.Latency.P50, a.Latency.P99)
		b.WriteString("           ")
		for k := Kind(0); k < kindCount; k++ {
			if kc, ok := a.Kinds[k.String()]; ok {
				name, ok := apiKindNames[k]
				if !ok {
					name = k.String()
				}
				fmt.Fprintf(b, " %s %s", name, thousands(kc.Sent))
			}
		}
		b.WriteByte('\n')
	}
}

// apiKindNames are the API operations behind the load's kinds.
var apiKindNames = map[Kind]string{KindPreauth: "authorisation", KindReversal: "cancel", KindCompletion: "capture"}

func (s System) writeLedger(b *strings.Builder) {
	for _, c := range s.TrialBalance.Currencies {
		fmt.Fprintf(b, "\nLedger, currency %s (amounts in major units)\n", c.Currency)
		fmt.Fprintf(b, "  %-34s %16s %16s %16s %16s\n", "account", "debits posted", "credits posted", "debits pending", "credits pending")
		row := func(name string, t ledger.Totals) {
			fmt.Fprintf(b, "  %-34s %16s %16s %16s %16s\n", name, Minor(t.DebitsPosted, c.Exponent), Minor(t.CreditsPosted, c.Exponent),
				Minor(t.DebitsPending, c.Exponent), Minor(t.CreditsPending, c.Exponent))
		}
		for _, a := range c.Accounts {
			row(a.Account, a.Totals)
		}
		row("total", c.Totals)
		fmt.Fprintf(b, "\nPayees, currency %s: owed now (posted) and held (pending)\n", c.Currency)
		for _, a := range c.Accounts {
			owner, id, kind := splitAccount(a.Account)
			if kind != "payable" {
				continue
			}
			fmt.Fprintf(b, "  %-8s %-16s %15s posted %15s pending\n", owner, id, Minor(a.CreditsPosted-a.DebitsPosted, c.Exponent),
				Minor(a.CreditsPending-a.DebitsPending, c.Exponent))
		}
	}
}

// writeChecks writes the checks and returns the first that failed, if any.
func writeChecks(b *strings.Builder, checks []SystemCheck) *SystemCheck {
	b.WriteString("\nChecks\n")
	var failed *SystemCheck
	for i, c := range checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
			if failed == nil {
				failed = &checks[i]
			}
		}
		fmt.Fprintf(b, "  %s  %s: %s\n", mark, c.Name, c.Detail)
	}
	if failed == nil {
		b.WriteString("\nAll checks hold.\n")
	}
	return failed
}

// splitAccount splits a ledger account name "owner:id:kind" (CONTRACT §9).
func splitAccount(name string) (owner, id, kind string) {
	parts := strings.SplitN(name, ":", 3)
	if len(parts) != 3 {
		return "", name, ""
	}
	return parts[0], parts[1], parts[2]
}

// Minor renders an amount in minor units in major units with the currency's exponent and comma
// thousands separators: Minor(123456, 2) is "1,234.56".
func Minor(v int64, exp int32) string {
	sign := ""
	u := uint64(v)
	if v < 0 {
		sign, u = "-", uint64(-v) // -MinInt64 wraps to its own magnitude as a uint64
	}
	div := uint64(1)
	for range exp {
		div *= 10
	}
	s := sign + thousandsU(u/div)
	if exp > 0 {
		s += fmt.Sprintf(".%0*d", exp, u%div)
	}
	return s
}

// thousands renders n with comma thousands separators.
func thousands(n int64) string {
	if n < 0 {
		return "-" + thousandsU(uint64(-n))
	}
	return thousandsU(uint64(n))
}

func thousandsU(n uint64) string {
	s := strconv.FormatUint(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
