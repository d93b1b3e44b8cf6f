package ledger

import (
	"fmt"
	"slices"
)

// VerifyReport is the result of checking every invariant of a store.
type VerifyReport struct {
	Accounts     int64       `json:"accounts"`
	Transfers    int64       `json:"transfers"`
	Transactions int64       `json:"transactions"`
	Violations   []Violation `json:"violations"`
}

// OK reports whether no invariant is violated.
func (r *VerifyReport) OK() bool { return len(r.Violations) == 0 }

// Violation is one broken invariant.
type Violation struct {
	Check  string `json:"check"`
	Detail string `json:"detail"`
}

func (r *VerifyReport) add(check, format string, args ...any) {
	r.Violations = append(r.Violations, Violation{Check: check, Detail: fmt.Sprintf(format, args...)})
}

// Anomaly is a row a store's consistency query found (the store names the check).
type Anomaly struct {
	Check  string
	Detail string
}

// CheckLedger compares the accounts' running totals with the totals recomputed from the transfers
// table, checks that every currency balances and that every flagged account respects its limit,
// and adds the anomalies the store's own queries found. Stores build their Verify on it.
func CheckLedger(accounts []AccountBalance, recomputed map[int64]Totals, anomalies []Anomaly) VerifyReport {
	r := VerifyReport{Accounts: int64(len(accounts)), Violations: []Violation{}}
	byID := map[int64]bool{}
	for _, a := range accounts {
		byID[a.ID] = true
		got := Totals{DebitsPosted: a.DebitsPosted, CreditsPosted: a.CreditsPosted,
			DebitsPending: a.DebitsPending, CreditsPending: a.CreditsPending}
		if want := recomputed[a.ID]; got != want {
			r.add("account_totals", "%s (%s): stored %+v, recomputed from transfers %+v", a.Name, a.Currency, got, want)
		}
		if a.DebitsPending < 0 || a.DebitsPosted < 0 || a.CreditsPending < 0 || a.CreditsPosted < 0 {
			r.add("negative_total", "%s (%s) has a negative total", a.Name, a.Currency)
		}
		if a.Flags&DebitsMustNotExceedCredits != 0 && a.DebitsPending+a.DebitsPosted > a.CreditsPosted {
			r.add("debits_exceed_credits", "%s (%s): debits %d exceed credits %d", a.Name, a.Currency,
				a.DebitsPending+a.DebitsPosted, a.CreditsPosted)
		}
		if a.Flags&CreditsMustNotExceedDebits != 0 && a.CreditsPending+a.CreditsPosted > a.DebitsPosted {
			r.add("credits_exceed_debits", "%s (%s): credits exceed debits", a.Name, a.Currency)
		}
	}
	var orphans []int64
	for id := range recomputed {
		if !byID[id] {
			orphans = append(orphans, id)
		}
	}
	slices.Sort(orphans)
	for _, id := range orphans {
		r.add("unknown_account", "transfers move money on account id %d, which does not exist", id)
	}
	for _, c := range NewTrialBalance(accounts).Currencies {
		t := c.Totals
		if t.DebitsPosted != t.CreditsPosted {
			r.add("posted_balance", "currency %s: posted debits %d != posted credits %d", c.Currency, t.DebitsPosted, t.CreditsPosted)
		}
		if t.DebitsPending != t.CreditsPending {
			r.add("pending_balance", "currency %s: pending debits %d != pending credits %d", c.Currency, t.DebitsPending, t.CreditsPending)
		}
	}
	for _, a := range anomalies {
		r.add(a.Check, "%s", a.Detail)
	}
	return r
}
