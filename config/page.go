package config

// The hosted payment page and government bills (CONTRACT §12, issue 10): api.page.

// Page is the hosted payment page served on the API listener (GET /pay/{token},
// GET /pay/bill/{agency}/{reference}).
type Page struct {
	// AttemptsMax bounds the card authorisations a payer may try on one page: a declined or
	// failed attempt leaves the payment open for another card until then. Default 3.
	AttemptsMax int `yaml:"attempts_max"`
	// RateLimit bounds the card forms submitted per client address per minute (429 beyond), so
	// that a public bill page cannot be used to test stolen cards quickly. Default 30; -1: none.
	RateLimit int `yaml:"rate_limit"`
	// SecureCookies marks the page's anti-forgery cookie Secure (with the __Host- prefix).
	// Default: on when the listener has TLS or api.public_url is https.
	SecureCookies *bool `yaml:"secure_cookies"`
}

// Defaults of the hosted page.
const (
	DefaultPageAttemptsMax = 3
	DefaultPageRateLimit   = 30
)

// Languages the hosted page ships, for merchants[].language.
var PageLanguages = []string{"en", "fr"}

func (p *Page) applyDefaults() {
	if p.AttemptsMax == 0 {
		p.AttemptsMax = DefaultPageAttemptsMax
	}
	if p.RateLimit == 0 {
		p.RateLimit = DefaultPageRateLimit
	}
}

// SecureCookiesOn reports whether the page's cookie is Secure.
func (a API) SecureCookiesOn() bool {
	if a.Page.SecureCookies != nil {
		return *a.Page.SecureCookies
	}
	return a.TLSCert != "" || len(a.PublicURL) > 8 && a.PublicURL[:8] == "https://"
}

func (p Page) validate() error {
	if p.AttemptsMax < 1 || p.AttemptsMax > 10 {
		return errf("api.page.attempts_max", "%d must be 1 to 10", p.AttemptsMax)
	}
	if p.RateLimit < -1 || p.RateLimit > 1_000_000 {
		return errf("api.page.rate_limit", "%d must be -1 (no limit) or 1 to 1000000", p.RateLimit)
	}
	return nil
}

func validLanguage(l string) bool {
	if l == "" {
		return true
	}
	for _, x := range PageLanguages {
		if x == l {
			return true
		}
	}
	return false
}
