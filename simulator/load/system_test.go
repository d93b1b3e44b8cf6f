package load

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/cardswitch/cardswitch/ledger"
)

// goodSystem is a run where every promise holds: 10 answers, a balanced ledger of one purchase of
// 100.00 with its 1.60 fee.
func goodSystem() System {
	return System{
		Load: Report{Sent: 10, Answered: 10, ResponseCodes: map[string]int64{"00": 9, "51": 1}, DurationSeconds: 1, AchievedRate: 10,
			Kinds: map[string]kindCounts{"purchase": {Sent: 10, Answered: 10, Approved: 9}}},
		TrialBalance: ledger.NewTrialBalance([]ledger.AccountBalance{
			{Name: "issuer:alpha:receivable", Currency: "840", DebitsPosted: 10000},
			{Name: "merchant:MERCHANT0000001:payable", Currency: "840", DebitsPosted: 160, CreditsPosted: 10000},
			{Name: "acquirer:fees:income", Currency: "840", CreditsPosted: 160},
		}),
		Verify:          &ledger.VerifyReport{Transfers: 2, Transactions: 15},
		DecisionsBefore: 5,
	}
}

func TestSystemChecks(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(*System)
		failed string // the first check that fails; "" when all hold
		detail string
	}{
		{"all hold", func(*System) {}, "", ""},
		{"a request unanswered", func(s *System) { s.Load.Answered, s.Load.Unanswered = 9, 1 }, "every request answered", "9 of 10 answered"},
		{"a timeout", func(s *System) { s.Load.Timeouts = 1 }, "every request answered", "1 timeouts"},
		{"nothing sent", func(s *System) { s.Load.Sent, s.Load.Answered, s.Verify.Transactions = 0, 0, 5 }, "every request answered", "0 of 0"},
		{"an unexpected answer", func(s *System) { s.Load.Unexpected = 1 }, "every answer as expected", "1 unexpected"},
		{"unbalanced", func(s *System) { s.TrialBalance.Currencies[0].Totals.CreditsPosted++ }, "trial balance nets to zero", "posted 101.60 = 101.61"},
		{"pending unbalanced", func(s *System) { s.TrialBalance.Currencies[0].Totals.DebitsPending = 5 }, "trial balance nets to zero", "pending 0.05 = 0.00"},
		{"no verify", func(s *System) { s.Verify, s.VerifyErr = nil, errors.New("this store has no verify") }, "ledger invariants hold", "no verify"},
		{"a violation", func(s *System) {
			s.Verify.Violations = []ledger.Violation{{Check: "account_totals", Detail: "issuer:alpha:receivable differs"}}
		}, "ledger invariants hold", "account_totals: issuer:alpha:receivable differs"},
		{"a decision missing", func(s *System) { s.Verify.Transactions = 14 }, "one ledger decision per answer", "9 decisions recorded, 10 answers"},
		{"a decision too many", func(s *System) { s.DecisionsBefore = 4 }, "one ledger decision per answer", "11 decisions recorded"},
		{"a payee owing money", func(s *System) {
			a := &s.TrialBalance.Currencies[0].Accounts[2]
			a.DebitsPosted = a.CreditsPosted + 1
		}, "no payable negative", "merchant:MERCHANT0000001:payable is -0.01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSystem()
			tc.edit(&s)
			var out bytes.Buffer
			failed, err := s.WriteSummary(&out)
			if err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if tc.failed == "" {
				if failed != nil || !strings.Contains(text, "All checks hold.") || strings.Contains(text, "FAIL") {
					t.Fatalf("failed %+v:\n%s", failed, text)
				}
				for _, want := range []string{"Throughput  10 requests answered in 1.0s: 10.0/s", "51 insufficient funds 1",
					"merchant MERCHANT0000001", "98.40 posted", "total"} {
					if !strings.Contains(text, want) {
						t.Errorf("summary lacks %q:\n%s", want, text)
					}
				}
				return
			}
			if failed == nil || failed.Name != tc.failed || !strings.Contains(failed.Detail, tc.detail) {
				t.Fatalf("first failure %+v, want %q with %q", failed, tc.failed, tc.detail)
			}
			if !strings.Contains(text, "FAIL  "+tc.failed) || strings.Contains(text, "All checks hold.") {
				t.Fatalf("summary does not mark the failure:\n%s", text)
			}
		})
	}
}

func TestMinor(t *testing.T) {
	cases := []struct {
		v    int64
		exp  int32
		want string
	}{
		{0, 2, "0.00"}, {5, 2, "0.05"}, {-5, 2, "-0.05"}, {123456, 2, "1,234.56"}, {100000000, 2, "1,000,000.00"},
		{1000, 0, "1,000"}, {1, 3, "0.001"}, {-1234567, 3, "-1,234.567"},
		{math.MinInt64, 2, "-92,233,720,368,547,758.08"},
	}
	for _, tc := range cases {
		if got := Minor(tc.v, tc.exp); got != tc.want {
			t.Errorf("Minor(%d, %d) = %q, want %q", tc.v, tc.exp, got, tc.want)
		}
	}
}
