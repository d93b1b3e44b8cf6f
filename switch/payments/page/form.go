package page

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Form is the card form as the payer filled it in; its errors name each field in error with the
// message key to show next to it. The card number is never sent back to the browser.
type Form struct {
	Number, Month, Year, CVC, Name string
	Errors                         map[string]string // field → message key
}

// Form field names (and element ids).
const (
	fieldNumber = "card_number"
	fieldMonth  = "expiry_month"
	fieldYear   = "expiry_year"
	fieldCVC    = "cvc"
	fieldName   = "cardholder_name"
	fieldCSRF   = "csrf_token"
	fieldLang   = "lang"
)

// Bounds of a form (anything longer is not a card).
const (
	formMaxBytes   = 4 << 10
	holderNameMax  = 100
	yearsAheadMax  = 20
	panLengthMin   = 12
	panLengthMax   = 19
	cvcLengthMin   = 3
	cvcLengthMax   = 4
	twoDigitYearAt = 2000
)

// parseForm reads and checks the card form: Luhn and length of the number, a month and year not
// before the current month, a 3- or 4-digit security code, a name.
func parseForm(r *http.Request, now time.Time) *Form {
	f := &Form{Errors: map[string]string{}}
	f.Number = digitsOnly(r.PostFormValue(fieldNumber))
	f.Month = strings.TrimSpace(r.PostFormValue(fieldMonth))
	f.Year = strings.TrimSpace(r.PostFormValue(fieldYear))
	f.CVC = strings.TrimSpace(r.PostFormValue(fieldCVC))
	f.Name = strings.TrimSpace(r.PostFormValue(fieldName))
	if n := len(f.Number); n < panLengthMin || n > panLengthMax || !iso8583.LuhnValid(f.Number) {
		f.Errors[fieldNumber] = "err_number"
	}
	month, errM := strconv.Atoi(f.Month)
	year, errY := strconv.Atoi(f.Year)
	if errY == nil && year < 100 && len(f.Year) == 2 {
		year += twoDigitYearAt
	}
	now = now.UTC()
	switch {
	case errM != nil || errY != nil || month < 1 || month > 12 || year < twoDigitYearAt || year > now.Year()+yearsAheadMax:
		f.Errors[fieldMonth] = "err_expiry"
	case year < now.Year() || year == now.Year() && month < int(now.Month()):
		f.Errors[fieldMonth] = "err_expired"
	}
	if n := len(f.CVC); n < cvcLengthMin || n > cvcLengthMax || !iso8583.IsDigits(f.CVC) {
		f.Errors[fieldCVC] = "err_cvc"
	}
	if f.Name == "" || len(f.Name) > holderNameMax || strings.ContainsAny(f.Name, "<>\x00") || !printable(f.Name) {
		f.Errors[fieldName] = "err_name"
	}
	if len(f.Errors) == 0 {
		f.Year = strconv.Itoa(year)
	}
	return f
}

// card is the checked form as a card for the backend.
func (f *Form) card() Card {
	m, _ := strconv.Atoi(f.Month)
	y, _ := strconv.Atoi(f.Year)
	return Card{Number: f.Number, ExpiryMonth: m, ExpiryYear: y, CVC: f.CVC, HolderName: f.Name}
}

// digitsOnly keeps the digits of s, dropping the spaces and dashes people type in card numbers;
// anything else makes it invalid (returned as typed, so that Luhn fails).
func digitsOnly(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == ' ' || c == '-':
		default:
			return s
		}
	}
	return b.String()
}

func printable(s string) bool {
	for _, c := range s {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}
