package ledger

import (
	"cmp"
	"slices"
)

// TrialBalance lists every account's totals per currency (CONTRACT.md §10). Posted debits equal
// posted credits, and pending debits equal pending credits, in every currency at all times.
type TrialBalance struct {
	Currencies []CurrencyBalance `json:"currencies"`
}

// CurrencyBalance is the trial balance of one currency.
type CurrencyBalance struct {
	Currency string          `json:"currency"`
	Exponent int32           `json:"exponent"`
	Accounts []AccountTotals `json:"accounts"`
	Totals   Totals          `json:"totals"`
}

// AccountTotals is one account's line.
type AccountTotals struct {
	Account string `json:"account"`
	Totals
}

// Totals are the four running totals, in minor units.
type Totals struct {
	DebitsPosted   int64 `json:"debits_posted"`
	CreditsPosted  int64 `json:"credits_posted"`
	DebitsPending  int64 `json:"debits_pending"`
	CreditsPending int64 `json:"credits_pending"`
}

func (t *Totals) add(o Totals) {
	t.DebitsPosted += o.DebitsPosted
	t.CreditsPosted += o.CreditsPosted
	t.DebitsPending += o.DebitsPending
	t.CreditsPending += o.CreditsPending
}

// NewTrialBalance groups accounts by currency (in code order) and lists them by name.
func NewTrialBalance(accounts []AccountBalance) TrialBalance {
	byCurrency := map[string]*CurrencyBalance{}
	var order []string
	for _, a := range accounts {
		cb := byCurrency[a.Currency]
		if cb == nil {
			exp, _ := Exponent(a.Currency)
			cb = &CurrencyBalance{Currency: a.Currency, Exponent: exp, Accounts: []AccountTotals{}}
			byCurrency[a.Currency] = cb
			order = append(order, a.Currency)
		}
		t := Totals{DebitsPosted: a.DebitsPosted, CreditsPosted: a.CreditsPosted,
			DebitsPending: a.DebitsPending, CreditsPending: a.CreditsPending}
		cb.Accounts = append(cb.Accounts, AccountTotals{Account: a.Name, Totals: t})
		cb.Totals.add(t)
	}
	slices.Sort(order)
	tb := TrialBalance{Currencies: []CurrencyBalance{}}
	for _, c := range order {
		cb := byCurrency[c]
		slices.SortFunc(cb.Accounts, func(a, b AccountTotals) int { return cmp.Compare(a.Account, b.Account) })
		tb.Currencies = append(tb.Currencies, *cb)
	}
	return tb
}

// Balanced reports whether posted debits equal posted credits and pending debits equal pending
// credits in every currency.
func (tb TrialBalance) Balanced() bool {
	for _, c := range tb.Currencies {
		if c.Totals.DebitsPosted != c.Totals.CreditsPosted || c.Totals.DebitsPending != c.Totals.CreditsPending {
			return false
		}
	}
	return true
}
