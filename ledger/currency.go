package ledger

import "fmt"

// Exponent returns the ISO 4217 minor-unit exponent of a numeric currency code ("840" → 2,
// "392" → 0, "048" → 3). The table covers the currencies a card acquirer commonly sees (source:
// ISO 4217 list one, maintained by SIX); an unknown code is an error wrapping ErrUnknownCurrency,
// never a guess.
func Exponent(currency string) (int32, error) {
	switch currency {
	case "108", "152", "174", "262", "324", "352", "392", "410", "548", "600", "646", "704",
		"800", "940", "950", "952", "953":
		// BIF CLP KMF DJF GNF ISK JPY KRW VUV PYG RWF VND UGX UYI XAF XOF XPF
		return 0, nil
	case "008", "012", "032", "036", "050", "124", "156", "170", "203", "208", "344", "348",
		"356", "360", "376", "398", "404", "458", "484", "504", "554", "566", "578", "586",
		"604", "608", "634", "643", "682", "702", "710", "752", "756", "764", "784", "818",
		"826", "840", "858", "901", "941", "946", "949", "978", "985", "986":
		// ALL DZD ARS AUD BDT CAD CNY COP CZK DKK HKD HUF INR IDR ILS KZT KES MYR MXN MAD NZD
		// NGN NOK PKR PEN PHP QAR RUB SAR SGD ZAR SEK CHF THB AED EGP GBP USD UYU TWD RSD RON
		// TRY EUR PLN BRL
		return 2, nil
	case "048", "368", "400", "414", "434", "512", "788":
		// BHD IQD JOD KWD LYD OMR TND
		return 3, nil
	case "990":
		// CLF
		return 4, nil
	}
	return 0, fmt.Errorf("currency %q: %w", currency, ErrUnknownCurrency)
}
