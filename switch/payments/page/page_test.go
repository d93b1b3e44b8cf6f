package page

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEveryLanguageHasEveryMessage(t *testing.T) {
	for _, l := range Languages {
		require.Len(t, messages[l], len(messages["en"]), l)
		for k := range messages["en"] {
			require.NotEmpty(t, messages[l][k], "%s: %s", l, k)
		}
		for code := range declineWords["en"] {
			require.NotEmpty(t, declineWords[l][code], "%s: decline %s", l, code)
		}
	}
}

func TestLanguageNegotiation(t *testing.T) {
	cases := []struct {
		name, query, accept, preferred, want string
	}{
		{"default", "", "", "", "en"},
		{"browser", "", "de-DE,fr;q=0.8,en;q=0.5", "", "fr"},
		{"browser order by q", "", "en;q=0.2, fr-BE;q=0.9", "", "fr"},
		{"merchant beats browser", "", "fr", "en", "en"},
		{"choice beats merchant", "lang=fr", "en", "en", "fr"},
		{"unknown choice ignored", "lang=xx", "", "fr", "fr"},
		{"q=0 refused", "", "fr;q=0", "", "en"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/pay/x?"+c.query, nil)
		r.Header.Set("Accept-Language", c.accept)
		require.Equal(t, c.want, negotiate(r, c.preferred), c.name)
	}
}

func TestMoney(t *testing.T) {
	require.Equal(t, "1,234.56\u00a0USD", money(123456, 2, "USD", "en"))
	require.Equal(t, "1\u202f234,56\u00a0USD", money(123456, 2, "USD", "fr"))
	require.Equal(t, "0.05\u00a0USD", money(5, 2, "USD", "en"))
	require.Equal(t, "1,500\u00a0JPY", money(1500, 0, "JPY", "en"))
	require.Equal(t, "-1.000\u00a0KWD", money(-1000, 3, "KWD", "en"))
}

func formRequest(v url.Values) *http.Request {
	r := httptest.NewRequest("POST", "/pay/x", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestFormChecks(t *testing.T) {
	now := time.Date(2027, 3, 15, 12, 0, 0, 0, time.UTC)
	good := url.Values{"card_number": {"4111 1111-1111 1111"}, "expiry_month": {"03"}, "expiry_year": {"27"}, "cvc": {"123"}, "cardholder_name": {"A B"}}
	f := parseForm(formRequest(good), now)
	require.Empty(t, f.Errors)
	require.Equal(t, Card{Number: "4111111111111111", ExpiryMonth: 3, ExpiryYear: 2027, CVC: "123", HolderName: "A B"}, f.card())
	cases := []struct {
		field, value, want string
	}{
		{"card_number", "4111111111111112", "err_number"},
		{"card_number", "4111", "err_number"},
		{"card_number", "4111x111111111111", "err_number"},
		{"expiry_month", "2", "err_expired"},
		{"expiry_month", "13", "err_expiry"},
		{"expiry_year", "2026", "err_expired"},
		{"expiry_year", "2099", "err_expiry"},
		{"cvc", "12", "err_cvc"},
		{"cvc", "12a", "err_cvc"},
		{"cardholder_name", "", "err_name"},
		{"cardholder_name", "<b>", "err_name"},
	}
	for _, c := range cases {
		v := url.Values{}
		for k, x := range good {
			v[k] = x
		}
		v.Set(c.field, c.value)
		errField := c.field
		if errField == "expiry_year" {
			errField = "expiry_month"
		}
		require.Equal(t, c.want, parseForm(formRequest(v), now).Errors[errField], "%s=%q", c.field, c.value)
	}
}

func FuzzParseForm(f *testing.F) {
	f.Add("4111111111111111", "12", "2030", "123", "Ada")
	f.Add("", "", "", "", "")
	f.Add("٤١١١", "0x1", "-1", "１２３", "\x00")
	now := time.Date(2027, 3, 15, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, number, month, year, cvc, name string) {
		v := url.Values{"card_number": {number}, "expiry_month": {month}, "expiry_year": {year}, "cvc": {cvc}, "cardholder_name": {name}}
		form := parseForm(formRequest(v), now)
		if len(form.Errors) == 0 {
			c := form.card()
			if c.ExpiryMonth < 1 || c.ExpiryMonth > 12 || len(c.Number) < 12 || len(c.Number) > 19 {
				t.Fatalf("accepted an impossible card: %+v", c)
			}
		}
	})
}
