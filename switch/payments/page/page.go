package page

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Config is the page's behaviour and collaborators.
type Config struct {
	Backend Backend
	// Key signs the anti-forgery tokens (32 bytes, the same on every instance).
	Key []byte
	// RateLimit bounds the form submissions per client address per minute (429 beyond): card
	// testing through a public bill page is slowed to a crawl. Default 30; negative: no limit.
	RateLimit int
	// SecureCookies sets the anti-forgery cookie Secure with the __Host- prefix (the listener has
	// TLS, or a TLS proxy is in front).
	SecureCookies bool
	// Prefix is where the page is mounted. Default "/pay".
	Prefix string
	Log    *zap.Logger
	Now    func() time.Time
	// Registerer receives the page's metrics (nil: none).
	Registerer prometheus.Registerer
}

// Handler serves the page.
type Handler struct {
	cfg      Config
	b        Backend
	log      *zap.Logger
	now      func() time.Time
	csrf     csrf
	assets   *assets
	outcomes *prometheus.CounterVec
}

const rateLimitDefault = 30

// New builds the page.
func New(cfg Config) (*Handler, error) {
	if cfg.Backend == nil || cfg.Log == nil || cfg.Now == nil || len(cfg.Key) < 16 {
		return nil, errors.New("page: a backend, a logger, a clock and a key of 16 bytes or more are required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/pay"
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = rateLimitDefault
	}
	a, err := loadAssets(cfg.Prefix)
	if err != nil {
		return nil, fmt.Errorf("page: %w", err)
	}
	h := &Handler{cfg: cfg, b: cfg.Backend, log: cfg.Log, now: cfg.Now, csrf: csrf{key: cfg.Key, secure: cfg.SecureCookies}, assets: a,
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cardswitch_page_payments_total",
			Help: "Card forms submitted on the hosted payment page, by outcome: succeeded, retry (declined or failed, another card may be tried), final (no attempt left), refused (already paid, in progress, closed), invalid (the form's checks), forged (anti-forgery check)."},
			[]string{"outcome"})}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(h.outcomes); err != nil {
			return nil, fmt.Errorf("page: %w", err)
		}
	}
	return h, nil
}

// Routes is the page's surface under Prefix.
func (h *Handler) Routes() http.Handler {
	r := chi.NewRouter()
	r.Use(h.recoverPanics)
	post := h.limit()
	r.Get("/assets/{file}", h.script)
	r.Get("/bill/{reference}", h.chooseAgency)
	r.Get("/bill/{agency}/{reference}", h.billPage)
	r.With(post).Post("/bill/{agency}/{reference}", h.payBill)
	r.Get("/{token}", h.tokenPage)
	r.With(post).Post("/{token}", h.pay)
	r.Get("/{token}/receipt", h.receipt)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		h.message(w, r, http.StatusNotFound, "invalid_title", "invalid_body", nil)
	})
	// Cross-site form posts are refused by their Sec-Fetch-Site or Origin before anything else.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.outcomes.WithLabelValues("forged").Inc()
		h.message(w, r, http.StatusForbidden, "error_title", "err_csrf", nil)
	}))
	return http.MaxBytesHandler(cop.Handler(r), formMaxBytes)
}

func (h *Handler) limit() func(http.Handler) http.Handler {
	if h.cfg.RateLimit < 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return httprate.Limit(h.cfg.RateLimit, time.Minute, httprate.WithKeyFuncs(httprate.KeyByIP),
		httprate.WithLimitHandler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "60")
			h.message(w, r, http.StatusTooManyRequests, "too_many_title", "too_many_body", nil)
		}))
}

func (h *Handler) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				h.log.Error("page handler panicked", zap.String("panic", fmt.Sprint(v)))
				h.message(w, r, http.StatusInternalServerError, "error_title", "error_body", nil)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// script serves the page's script; its name carries its hash, so it is cached for ever.
func (h *Handler) script(w http.ResponseWriter, r *http.Request) {
	if h.cfg.Prefix+"/assets/"+chi.URLParam(r, "file") != h.assets.scriptAt {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	hd.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(h.assets.script)
}

// tokenPage is GET /pay/{token}: the card form of a payment, or why it cannot be paid.
func (h *Handler) tokenPage(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	s, err := h.b.Session(r.Context(), token)
	if err != nil {
		h.refusal(w, r, err, nil)
		return
	}
	if s.State != Payable {
		h.closed(w, r, s, h.cfg.Prefix+"/"+url.PathEscape(token)+"/receipt")
		return
	}
	h.form(w, r, http.StatusOK, s, r.URL.Path, &Form{}, s.LastCode)
}

// billPage is GET /pay/bill/{agency}/{reference}: the card form of a bill.
func (h *Handler) billPage(w http.ResponseWriter, r *http.Request) {
	s, err := h.b.BillSession(r.Context(), chi.URLParam(r, "agency"), chi.URLParam(r, "reference"))
	if err != nil {
		h.billRefusal(w, r, err, chi.URLParam(r, "reference"))
		return
	}
	if s.State != Payable {
		h.closed(w, r, s, "")
		return
	}
	h.form(w, r, http.StatusOK, s, r.URL.Path, &Form{}, "")
}

// chooseAgency is GET /pay/bill/{reference} (CONTRACT §12): a control number is unique per
// agency only, so the page sends the payer to the one agency that has it, or lets them choose.
func (h *Handler) chooseAgency(w http.ResponseWriter, r *http.Request) {
	ref := chi.URLParam(r, "reference")
	as, err := h.b.BillAgencies(r.Context(), ref)
	if err != nil {
		h.billRefusal(w, r, err, ref)
		return
	}
	switch len(as) {
	case 0:
		h.billRefusal(w, r, ErrNotFound, ref)
		return
	case 1:
		http.Redirect(w, r, h.billURL(as[0].ID, ref, r.URL.RawQuery), http.StatusSeeOther)
		return
	}
	lang := negotiate(r, "")
	v := h.newView(r, lang, fmt.Sprintf(messages[lang]["choose_title"], ref))
	for _, a := range as {
		v.Agencies = append(v.Agencies, agencyView{Name: a.Name, URL: h.billURL(a.ID, ref, r.URL.RawQuery)})
	}
	h.render(w, http.StatusOK, "choose", v, "")
}

func (h *Handler) billURL(agency, ref, query string) string {
	u := h.cfg.Prefix + "/bill/" + url.PathEscape(agency) + "/" + url.PathEscape(ref)
	if query != "" {
		u += "?" + query
	}
	return u
}

// pay is POST /pay/{token}: authorise the payment with the card typed.
func (h *Handler) pay(w http.ResponseWriter, r *http.Request) {
	token := chi.URLParam(r, "token")
	load := func(ctx context.Context) (*Session, error) { return h.b.Session(ctx, token) }
	f, ok := h.checkPost(w, r, load)
	if !ok {
		return
	}
	res, err := h.b.Pay(r.Context(), token, f.card())
	h.answer(w, r, load, h.cfg.Prefix+"/"+url.PathEscape(token)+"/receipt", token, res, err)
}

// payBill is POST /pay/bill/{agency}/{reference}: start a payment of the bill with the card.
func (h *Handler) payBill(w http.ResponseWriter, r *http.Request) {
	agency, ref := chi.URLParam(r, "agency"), chi.URLParam(r, "reference")
	load := func(ctx context.Context) (*Session, error) { return h.b.BillSession(ctx, agency, ref) }
	f, ok := h.checkPost(w, r, load)
	if !ok {
		return
	}
	res, err := h.b.PayBill(r.Context(), agency, ref, f.card())
	token := ""
	if res != nil {
		token = res.Token
	}
	h.answer(w, r, load, "", token, res, err)
}

// checkPost checks a form submission: its anti-forgery token, then its fields (the form again,
// with the errors next to the fields, when they fail). It answers the request itself (false)
// when they fail.
func (h *Handler) checkPost(w http.ResponseWriter, r *http.Request, load func(context.Context) (*Session, error)) (*Form, bool) {
	if err := r.ParseForm(); err != nil {
		h.outcomes.WithLabelValues("invalid").Inc()
		h.message(w, r, http.StatusBadRequest, "error_title", "err_csrf", nil)
		return nil, false
	}
	if !h.csrf.valid(r) {
		h.outcomes.WithLabelValues("forged").Inc()
		h.message(w, r, http.StatusForbidden, "error_title", "err_csrf", nil)
		return nil, false
	}
	f := parseForm(r, h.now())
	if len(f.Errors) == 0 {
		return f, true
	}
	s, err := load(r.Context())
	switch {
	case err != nil:
		h.outcomes.WithLabelValues("refused").Inc()
		h.refusal(w, r, err, nil)
	case s.State != Payable:
		h.outcomes.WithLabelValues("refused").Inc()
		h.closed(w, r, s, "")
	default:
		h.outcomes.WithLabelValues("invalid").Inc()
		h.form(w, r, http.StatusUnprocessableEntity, s, r.URL.Path, f, "")
	}
	return nil, false
}

// answer answers an authorisation. Success, the hot path, needs nothing more; anything else is
// explained on the payment's or bill's page as it now stands.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, load func(context.Context) (*Session, error), receiptURL, token string, res *Result, err error) {
	if err == nil && res.Outcome == Succeeded {
		h.outcome(w, r, nil, token, res, nil)
		return
	}
	s, lerr := load(r.Context())
	switch {
	case lerr != nil && err == nil:
		err = lerr
	case lerr == nil && err != nil && s.State != Payable:
		h.outcomes.WithLabelValues("refused").Inc()
		h.closed(w, r, s, receiptURL)
		return
	}
	if s == nil {
		s = &Session{}
	}
	h.outcome(w, r, s, token, res, err)
}

// outcome answers an authorisation: to the return URL with the payment id on success, the form
// again with the reason on a decline the payer may follow with another card, or the reason.
func (h *Handler) outcome(w http.ResponseWriter, r *http.Request, s *Session, token string, res *Result, err error) {
	if err != nil {
		h.outcomes.WithLabelValues("refused").Inc()
		h.refusal(w, r, err, s)
		return
	}
	switch res.Outcome {
	case Succeeded:
		h.outcomes.WithLabelValues("succeeded").Inc()
		next := h.cfg.Prefix + "/" + url.PathEscape(token) + "/receipt"
		if res.ReturnURL != "" {
			next = withPaymentID(res.ReturnURL, res.PaymentID)
		}
		h.headers(w, res.ReturnURL)
		w.Header().Del("Content-Type")
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	lang := negotiate(r, s.Language)
	switch res.Outcome {
	case Retry:
		h.outcomes.WithLabelValues("retry").Inc()
		s.AttemptsLeft = res.AttemptsLeft
		h.form(w, r, http.StatusOK, s, h.cfg.Prefix+"/"+url.PathEscape(token), &Form{}, res.Code)
	default:
		h.outcomes.WithLabelValues("final").Inc()
		v := h.newView(r, lang, messages[lang]["declined_title"]).withSession(s)
		v.Body, v.Bad = declineReason(lang, res.Code)+" "+messages[lang]["declined_final"], true
		if res.ReturnURL != "" {
			v.Link, v.LinkText = withPaymentID(res.ReturnURL, res.PaymentID), fmt.Sprintf(messages[lang]["return"], s.MerchantName)
		}
		h.render(w, http.StatusOK, "message", v, res.ReturnURL)
	}
}

// withPaymentID adds payment_id to a return URL: the only thing the page tells the merchant,
// which reads the payment's status with its API key.
func withPaymentID(returnURL, id string) string {
	u, err := url.Parse(returnURL)
	if err != nil {
		return returnURL
	}
	q := u.Query()
	q.Set("payment_id", id)
	u.RawQuery = q.Encode()
	return u.String()
}

// form renders the card form; code is the response code of a declined attempt to explain.
func (h *Handler) form(w http.ResponseWriter, r *http.Request, status int, s *Session, action string, f *Form, code string) {
	lang := negotiate(r, s.Language)
	L := messages[lang]
	title := fmt.Sprintf(L["title_pay"], s.MerchantName)
	if s.BillReference != "" {
		title = fmt.Sprintf(L["title_bill"], s.BillReference)
	}
	v := h.newView(r, lang, title).withSession(s)
	v.Action, v.CSRF, v.Form = action, h.csrf.token(w, r), f
	v.PayButton = fmt.Sprintf(L["pay_button"], v.Total)
	v.FieldErrors = map[string]string{}
	for _, field := range []string{fieldNumber, fieldMonth, fieldCVC, fieldName} {
		if key, bad := f.Errors[field]; bad {
			v.FieldErrors[field] = L[key]
			v.Errors = append(v.Errors, fieldError{Field: field, Message: L[key]})
		}
	}
	if code != "" {
		v.Decline = declineReason(lang, code)
		v.DeclineNext = fmt.Sprintf(L["declined_retry"], s.AttemptsLeft)
		if s.AttemptsLeft == 1 {
			v.DeclineNext = L["declined_retry_one"]
		}
	}
	if !s.ExpiresAt.IsZero() {
		v.Expires = fmt.Sprintf(L["expires"], formatTime(s.ExpiresAt, lang))
	}
	h.render(w, status, "form", v, s.ReturnURL)
}

// closed explains a payment or bill that cannot be paid (any more).
func (h *Handler) closed(w http.ResponseWriter, r *http.Request, s *Session, receiptURL string) {
	lang := negotiate(r, s.Language)
	L := messages[lang]
	v := h.newView(r, lang, "").withSession(s)
	status := http.StatusGone
	switch {
	case s.State == Paid && s.BillReference != "" && receiptURL == "":
		v.Title, v.Body = L["bill_paid_title"], fmt.Sprintf(L["bill_paid_body"], s.BillReference)
		status = http.StatusConflict
	case s.State == Paid:
		v.Title, v.Body = L["paid_title"], L["paid_body"]
		v.Link, v.LinkText = receiptURL, L["view_receipt"]
	case s.State == Expired && s.BillReference != "" && receiptURL == "":
		v.Title, v.Body = L["expired_title"], fmt.Sprintf(L["bill_expired_body"], s.BillReference)
	case s.State == Expired:
		v.Title, v.Body = L["expired_title"], L["expired_body"]
	case s.State == Declined:
		v.Title, v.Body, v.Bad = L["declined_title"], L["declined_final"], true
		if s.ReturnURL != "" {
			v.Link, v.LinkText = withPaymentID(s.ReturnURL, s.PaymentID), fmt.Sprintf(L["return"], s.MerchantName)
		}
	default:
		v.Title, v.Body = L["cancelled_title"], L["cancelled_body"]
	}
	h.render(w, status, "message", v, s.ReturnURL)
}

// refusal answers a Backend error.
func (h *Handler) refusal(w http.ResponseWriter, r *http.Request, err error, s *Session) {
	switch {
	case errors.Is(err, ErrNotFound):
		h.message(w, r, http.StatusNotFound, "invalid_title", "invalid_body", s)
	case errors.Is(err, ErrAlreadyPaid):
		ref := ""
		if s != nil {
			ref = s.BillReference
		}
		h.messagef(w, r, http.StatusConflict, "bill_paid_title", "bill_paid_body", s, ref)
	case errors.Is(err, ErrInProgress):
		h.message(w, r, http.StatusConflict, "in_progress_title", "in_progress_body", s)
	case errors.Is(err, ErrBusy):
		h.message(w, r, http.StatusConflict, "in_progress_title", "busy_body", s)
	case errors.Is(err, ErrClosed):
		h.message(w, r, http.StatusGone, "expired_title", "expired_body", s)
	default:
		if !errors.Is(err, context.Canceled) {
			h.log.Warn("hosted page: payment service error", zap.Error(err))
		}
		h.message(w, r, http.StatusServiceUnavailable, "error_title", "error_body", s)
	}
}

func (h *Handler) billRefusal(w http.ResponseWriter, r *http.Request, err error, ref string) {
	if errors.Is(err, ErrNotFound) {
		h.messagef(w, r, http.StatusNotFound, "not_found_title", "not_found_body", nil, ref)
		return
	}
	h.refusal(w, r, err, nil)
}

func (h *Handler) message(w http.ResponseWriter, r *http.Request, status int, title, body string, s *Session) {
	h.messagef(w, r, status, title, body, s)
}

func (h *Handler) messagef(w http.ResponseWriter, r *http.Request, status int, title, body string, s *Session, args ...any) {
	pref := ""
	if s != nil {
		pref = s.Language
	}
	lang := negotiate(r, pref)
	L := messages[lang]
	v := h.newView(r, lang, L[title])
	if s != nil {
		v.withSession(s)
	}
	v.Body, v.Bad = L[body], status >= 400
	if len(args) > 0 {
		v.Body = fmt.Sprintf(L[body], args...)
	}
	ret := ""
	if s != nil {
		ret = s.ReturnURL
	}
	h.render(w, status, "message", v, ret)
}

// receipt is GET /pay/{token}/receipt: the payer's receipt of a succeeded payment.
func (h *Handler) receipt(w http.ResponseWriter, r *http.Request) {
	rc, err := h.b.Receipt(r.Context(), chi.URLParam(r, "token"))
	if err != nil {
		h.refusal(w, r, err, nil)
		return
	}
	h.RenderReceipt(w, r, rc)
}

// RenderReceipt writes a receipt page (also the API's text/html receipt), with the page's
// headers, in the receipt's language or the browser's.
func (h *Handler) RenderReceipt(w http.ResponseWriter, r *http.Request, rc *Receipt) {
	lang := negotiate(r, rc.Language)
	L := messages[lang]
	v := h.newView(r, lang, fmt.Sprintf(L["receipt_title"], rc.Number))
	v.Who = rc.MerchantName
	v.R = &receiptView{Receipt: rc, PaidAt: formatTime(rc.PaidAt, lang)}
	v.Amount, v.Fee, v.Total = money(rc.Amount, rc.Exponent, rc.Currency, lang), money(rc.Fee, rc.Exponent, rc.Currency, lang),
		money(rc.Total(), rc.Exponent, rc.Currency, lang)
	v.HasFee = rc.Fee != 0
	v.Items = items(rc.Items, rc.Exponent, rc.Currency, lang)
	if rc.Refunded > 0 {
		v.Refunded = money(rc.Refunded, rc.Exponent, rc.Currency, lang)
	}
	if rc.ReturnURL != "" {
		v.Link, v.LinkText = withPaymentID(rc.ReturnURL, rc.PaymentID), fmt.Sprintf(L["return"], rc.MerchantName)
	}
	h.render(w, http.StatusOK, "receipt", v, rc.ReturnURL)
}
