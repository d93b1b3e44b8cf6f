package ledger_test

import (
	"errors"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/cardswitch/cardswitch/ledger"
)

func TestFee(t *testing.T) {
	pct := decimal.RequireFromString
	tests := []struct {
		name     string
		schedule ledger.FeeSchedule
		amount   int64
		currency string
		want     int64
	}{
		{"1.50% + 0.10 on 100.03 USD: 1.50045 rounds to 1.50", ledger.FeeSchedule{Percent: pct("1.50"), Fixed: 10}, 10003, "840", 160},
		{"a half cent rounds up: 1.515 → 1.52", ledger.FeeSchedule{Percent: pct("1.50"), Fixed: 10}, 10100, "840", 162},
		{"just under a half rounds down: 1.5149 → 1.51", ledger.FeeSchedule{Percent: pct("1.49990099"), Fixed: 0}, 10100, "840", 151},
		{"yen has no minor unit: 1.5% of ¥1,033 = 15.495 → ¥15", ledger.FeeSchedule{Percent: pct("1.5")}, 1033, "392", 15},
		{"yen half rounds up: 1.5% of ¥1,100 = 16.5 → ¥17", ledger.FeeSchedule{Percent: pct("1.5")}, 1100, "392", 17},
		{"dinar has three decimals: 1.5% of 1.033 BHD = 0.015495 → 0.015", ledger.FeeSchedule{Percent: pct("1.5")}, 1033, "048", 15},
		{"fixed only", ledger.FeeSchedule{Fixed: 25}, 10000, "978", 25},
		{"no fee", ledger.FeeSchedule{}, 10000, "840", 0},
		{"the fee never exceeds the amount", ledger.FeeSchedule{Percent: pct("1.50"), Fixed: 10}, 7, "840", 7},
		{"100% takes it all", ledger.FeeSchedule{Percent: pct("100")}, 12345, "840", 12345},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.schedule.Fee(tc.amount, tc.currency)
			if err != nil || got != tc.want {
				t.Errorf("Fee(%d %s) = %d, %v; want %d", tc.amount, tc.currency, got, err, tc.want)
			}
		})
	}
}

func TestFeeRejectsBadSchedules(t *testing.T) {
	for _, tc := range []struct {
		name     string
		schedule ledger.FeeSchedule
		currency string
		want     error
	}{
		{"negative percent", ledger.FeeSchedule{Percent: decimal.RequireFromString("-1")}, "840", ledger.ErrInvalidEvent},
		{"above 100 percent", ledger.FeeSchedule{Percent: decimal.RequireFromString("100.01")}, "840", ledger.ErrInvalidEvent},
		{"negative fixed", ledger.FeeSchedule{Fixed: -1}, "840", ledger.ErrInvalidEvent},
		{"unknown currency", ledger.FeeSchedule{Fixed: 1}, "999", ledger.ErrUnknownCurrency},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.schedule.Fee(1000, tc.currency); !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestExponent(t *testing.T) {
	for code, want := range map[string]int32{"840": 2, "978": 2, "392": 0, "048": 3, "990": 4, "952": 0} {
		if got, err := ledger.Exponent(code); err != nil || got != want {
			t.Errorf("Exponent(%s) = %d, %v; want %d", code, got, err, want)
		}
	}
	for _, bad := range []string{"", "USD", "84", "000", "999"} {
		if _, err := ledger.Exponent(bad); !errors.Is(err, ledger.ErrUnknownCurrency) {
			t.Errorf("Exponent(%q): %v, want ErrUnknownCurrency", bad, err)
		}
	}
}
