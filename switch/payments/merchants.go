package payments

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/cardswitch/cardswitch/ledger"
)

// Merchant is a merchant or agency as the API sees it.
type Merchant struct {
	ID             string // field 42
	Name           string
	Agency         bool
	MCC            string
	ConvenienceFee int64    // minor units, added on top of an agency's amount
	Currencies     []string // ISO 4217 numeric
	Language       string   // the hosted page's language for its payers ("en", "fr"; "": the browser's)
}

// VirtualTerminal is the terminal id (field 41) of a merchant's API payments created in a year:
// "W", five base-36 characters of a hash of the merchant id, and the year in two base-36
// characters. The year is there because field 7 (MMDDhhmmss) repeats every year while the
// ledger remembers every transaction id for ever. buildMerchants refuses two merchants on one.
func VirtualTerminal(merchantID string, year int) string {
	return "W" + merchantCode(merchantID) + pad36(uint64(year)%(36*36), 2)
}

func merchantCode(merchantID string) string {
	h := fnv.New32a()
	h.Write([]byte(merchantID))
	return pad36(uint64(h.Sum32())%(36*36*36*36*36), 5)
}

func pad36(v uint64, n int) string {
	s := strings.ToUpper(strconv.FormatUint(v, 36))
	return strings.Repeat("0", n-len(s)) + s
}

func buildMerchants(ms []Merchant) (map[string]*Merchant, error) {
	out := make(map[string]*Merchant, len(ms))
	codes := map[string]string{}
	for i := range ms {
		m := ms[i]
		code := merchantCode(m.ID)
		if other, ok := codes[code]; ok {
			return nil, fmt.Errorf("merchants %s and %s share the virtual terminal code %s", other, m.ID, code)
		}
		codes[code] = m.ID
		out[m.ID] = &m
	}
	return out, nil
}

func (m *Merchant) accepts(numeric string) bool {
	for _, c := range m.Currencies {
		if c == numeric {
			return true
		}
	}
	return false
}

// currencies maps ISO 4217 alphabetic codes to numeric ones (the ones the ledger knows the
// exponent of).
var currencies = map[string]string{
	"USD": "840", "EUR": "978", "GBP": "826", "JPY": "392", "CAD": "124", "AUD": "036", "CHF": "756",
	"SEK": "752", "NOK": "578", "DKK": "208", "PLN": "985", "CZK": "203", "HUF": "348", "RON": "946",
	"CNY": "156", "HKD": "344", "SGD": "702", "INR": "356", "IDR": "360", "MYR": "458", "THB": "764",
	"PHP": "608", "KRW": "410", "NZD": "554", "ZAR": "710", "NGN": "566", "KES": "404", "EGP": "818",
	"MAD": "504", "AED": "784", "SAR": "682", "QAR": "634", "ILS": "376", "TRY": "949", "BRL": "986",
	"MXN": "484", "ARS": "032", "CLP": "152", "COP": "170", "PEN": "604", "UYU": "858", "BHD": "048",
	"KWD": "414", "JOD": "400", "OMR": "512", "TND": "788", "RWF": "646", "UGX": "800", "XOF": "952",
	"XAF": "950",
}

// numericCurrency returns the numeric code of an alphabetic one, "" when unknown.
func numericCurrency(alpha string) string {
	n := currencies[alpha]
	if n == "" {
		return ""
	}
	if _, err := ledger.Exponent(n); err != nil {
		return ""
	}
	return n
}

// alphaCurrency returns the alphabetic code of a numeric one.
func alphaCurrency(numeric string) string {
	for a, n := range currencies {
		if n == numeric {
			return a
		}
	}
	return numeric
}
