package page

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// The anti-forgery token is a signed double-submit cookie: a random value in an HttpOnly,
// SameSite=Strict cookie, and in the form its HMAC under the page key. A forged form from another
// site carries neither the cookie (SameSite) nor a token that matches it (the key), and the
// Sec-Fetch-Site / Origin check in front (net/http's CrossOriginProtection) refuses it first.
const (
	csrfCookie       = "cardswitch_page"
	csrfCookieSecure = "__Host-cardswitch_page" // with TLS: bound to the host, Secure, Path=/
	csrfCookieBytes  = 16
	csrfMaxAge       = 2 * 60 * 60 // seconds: longer than any page token lives
)

type csrf struct {
	key    []byte
	secure bool
}

func (c csrf) cookieName() string {
	if c.secure {
		return csrfCookieSecure
	}
	return csrfCookie
}

// token returns the form token for the request's cookie, setting a new cookie when it has none.
func (c csrf) token(w http.ResponseWriter, r *http.Request) string {
	v := ""
	if ck, err := r.Cookie(c.cookieName()); err == nil && len(ck.Value) >= 16 && len(ck.Value) <= 64 {
		v = ck.Value
	}
	if v == "" {
		b := make([]byte, csrfCookieBytes)
		if _, err := rand.Read(b); err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		v = base64.RawURLEncoding.EncodeToString(b)
		path := "/pay"
		if c.secure {
			path = "/"
		}
		http.SetCookie(w, &http.Cookie{Name: c.cookieName(), Value: v, Path: path, MaxAge: csrfMaxAge, HttpOnly: true,
			Secure: c.secure, SameSite: http.SameSiteStrictMode})
	}
	return c.sign(v)
}

func (c csrf) sign(v string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte("cardswitch page csrf\x00"))
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// valid reports whether a form's token matches the request's cookie.
func (c csrf) valid(r *http.Request) bool {
	ck, err := r.Cookie(c.cookieName())
	if err != nil || ck.Value == "" {
		return false
	}
	got := r.PostFormValue(fieldCSRF)
	return hmac.Equal([]byte(got), []byte(c.sign(ck.Value)))
}
