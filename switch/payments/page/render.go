package page

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

//go:embed templates/page.html static/style.css static/page.js
var files embed.FS

// assets are the page's embedded files, parsed once.
type assets struct {
	pages    map[string]*template.Template // by body: form, message, choose, receipt
	css      template.CSS
	cssHash  string // the CSP source of the inline style: 'sha256-…'
	script   []byte
	scriptAt string // the script's URL (its hash in the name: cached for ever)
}

func loadAssets(prefix string) (*assets, error) {
	base, err := template.ParseFS(files, "templates/page.html")
	if err != nil {
		return nil, err
	}
	css, err := files.ReadFile("static/style.css")
	if err != nil {
		return nil, err
	}
	js, err := files.ReadFile("static/page.js")
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(css)
	jsSum := sha256.Sum256(js)
	a := &assets{pages: map[string]*template.Template{}, css: template.CSS(css), script: js,
		cssHash:  "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
		scriptAt: prefix + "/assets/page-" + fmt.Sprintf("%x", jsSum[:6]) + ".js"}
	for _, body := range []string{"form", "message", "choose", "receipt"} {
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.New("body").Parse(`{{template "` + body + `" .}}`); err != nil {
			return nil, err
		}
		a.pages[body] = t
	}
	return a, nil
}

// view is what a template renders.
type view struct {
	Lang   string
	L      map[string]string
	Title  string
	Who    string
	Langs  []langLink
	CSS    template.CSS
	Script string

	S                       *Session
	Items                   []itemView
	Amount, Fee, Total      string
	HasFee                  bool
	Expires                 string
	Action, CSRF, PayButton string
	Form                    *Form
	Errors                  []fieldError
	FieldErrors             map[string]string
	Decline, DeclineNext    string
	Body, Link, LinkText    string
	Bad                     bool
	Agencies                []agencyView
	R                       *receiptView
	Refunded                string
}

type langLink struct {
	Code, Name, URL string
	Current         bool
}

type itemView struct{ Code, Description, Amount string }

type fieldError struct{ Field, Message string }

type agencyView struct{ Name, URL string }

type receiptView struct {
	*Receipt
	PaidAt string
}

// newView starts a view in a language, with the links to the page in the other languages.
func (h *Handler) newView(r *http.Request, lang, title string) *view {
	v := &view{Lang: lang, L: messages[lang], Title: title, CSS: h.assets.css, Script: h.assets.scriptAt, Who: "cardswitch"}
	for _, l := range Languages {
		q := url.Values{"lang": {l}}
		v.Langs = append(v.Langs, langLink{Code: l, Name: messages[l]["lang_name"], URL: r.URL.Path + "?" + q.Encode(), Current: l == lang})
	}
	return v
}

// withSession fills the payment's details, amounts formatted for the language.
func (v *view) withSession(s *Session) *view {
	v.S = s
	v.Who = s.MerchantName
	v.Amount, v.Fee, v.Total = money(s.Amount, s.Exponent, s.Currency, v.Lang), money(s.Fee, s.Exponent, s.Currency, v.Lang),
		money(s.Total(), s.Exponent, s.Currency, v.Lang)
	v.HasFee = s.Fee != 0
	v.Items = items(s.Items, s.Exponent, s.Currency, v.Lang)
	return v
}

func items(its []Item, exp int32, cur, lang string) []itemView {
	out := make([]itemView, 0, len(its))
	for _, it := range its {
		out = append(out, itemView{Code: it.RevenueCode, Description: it.Description, Amount: money(it.Amount, exp, cur, lang)})
	}
	return out
}

// money formats minor units in the currency's major unit, with the language's decimal sign:
// "1,234.56 USD" in English, "1 234,56 USD" in French.
func money(v int64, exp int32, currency, lang string) string {
	neg := v < 0
	if neg {
		v = -v
	}
	div := int64(1)
	for range exp {
		div *= 10
	}
	whole, frac := v/div, v%div
	sep, dec := ",", "."
	if lang == "fr" {
		sep, dec = "\u202f", ","
	}
	digits := fmt.Sprint(whole)
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteString(sep)
		}
		b.WriteRune(c)
	}
	s := b.String()
	if exp > 0 {
		s += dec + fmt.Sprintf("%0*d", int(exp), frac)
	}
	if neg {
		s = "-" + s
	}
	return s + "\u00a0" + currency
}

func formatTime(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if lang == "fr" {
		return t.Format("02/01/2006 15:04") + " UTC"
	}
	return t.Format("2 Jan 2006 15:04") + " UTC"
}

// headers are every page's: nothing cached, nothing framed, no referrer (the token is in the
// URL), and a Content-Security-Policy that allows only the inline style by its hash, the page's
// own script, and forms sent to this origin or to the return URL's (a redirect after a form
// submission is checked against form-action).
func (h *Handler) headers(w http.ResponseWriter, returnURL string) {
	formAction := "'self'"
	if u, err := url.Parse(returnURL); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src "+h.assets.cssHash+
		"; img-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// render writes a page with its status.
func (h *Handler) render(w http.ResponseWriter, status int, body string, v *view, returnURL string) {
	var buf bytes.Buffer
	if err := h.assets.pages[body].ExecuteTemplate(&buf, "layout", v); err != nil {
		h.log.Error("page: template failed")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h.headers(w, returnURL)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
