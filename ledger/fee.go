package ledger

import (
	"fmt"

	"github.com/shopspring/decimal"
)

var hundred = decimal.NewFromInt(100)

// Fee returns the fee on amount (minor units of currency): amount × Percent / 100 computed
// exactly in decimal, rounded half-up (a half minor unit rounds up) to the currency's ISO 4217
// exponent, plus Fixed. The fee never exceeds the amount it is charged on: a fixed fee larger than
// a tiny sale is capped at the sale, so the payee's payable cannot go negative from its own sale.
func (f FeeSchedule) Fee(amount int64, currency string) (int64, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	exp, err := Exponent(currency)
	if err != nil {
		return 0, err
	}
	if amount <= 0 {
		return 0, nil
	}
	// In major units: 100.03 USD × 1.5 % = 1.50045 → 1.50 (two decimals, half-up).
	major := decimal.New(amount, -exp)
	percent := major.Mul(f.Percent).Div(hundred).Round(exp)
	fee := percent.Shift(exp).IntPart() + f.Fixed
	return min(fee, amount), nil
}

// Validate checks the schedule: Percent within [0, 100], Fixed not negative.
func (f FeeSchedule) Validate() error {
	if f.Percent.IsNegative() || f.Percent.GreaterThan(hundred) {
		return &EventError{Field: "Payee.Fee.Percent", Problem: fmt.Sprintf("%s is outside [0, 100]", f.Percent)}
	}
	if f.Fixed < 0 {
		return &EventError{Field: "Payee.Fee.Fixed", Problem: "must not be negative"}
	}
	return nil
}
