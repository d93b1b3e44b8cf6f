package payments

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments/page"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

const agencyKey = "sk_test_GOVAGENCY000001"

// routedEngine answers 15 (no such issuer) for cards the default topology does not route (not
// 4 or 5), like the real engine, and otherwise decides as the fake engine does.
type routedEngine struct {
	*fakeEngine
	auths atomic.Int64 // authorisations that reached the "issuer"
}

func (e *routedEngine) Handle(ctx context.Context, req *iso8583.Message) *iso8583.Message {
	if req.PAN != "" && req.PAN[0] != '4' && req.PAN[0] != '5' {
		return &iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), ResponseCode: iso8583.RCNoSuchIssuer, RRN: "NOROUTE00001"}
	}
	if req.ProcessingCode[:2] == iso8583.ProcessingPurchase && (req.MTI == iso8583.MTIFinancial || req.MTI == iso8583.MTIAuthorization) {
		e.auths.Add(1)
	}
	return e.fakeEngine.Handle(ctx, req)
}

// clock is a test clock that tests move forward.
type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.at = c.at.Add(d)
	c.mu.Unlock()
}

// govHarness is the API and the hosted page over one service, with a test clock.
type govHarness struct {
	*harness
	page   *httptest.Server
	clock  *clock
	engine *routedEngine
}

func newGovHarness(t *testing.T) *govHarness {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	require.NoError(t, err)
	return newGovHarnessOn(t, st)
}

func newGovHarnessOn(t *testing.T, st *store.Store) *govHarness {
	t.Helper()
	ctx := context.Background()
	eng := &routedEngine{fakeEngine: newFakeEngine()}
	clk := &clock{at: time.Now().UTC()}
	wr := store.NewWriter(st, store.WriterConfig{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = wr.Run(runCtx) }()
	key, err := NewCardKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	svc, err := NewService(Config{Merchants: testMerchants, Bills: BillsConfig{ClaimWait: 2 * time.Second}},
		Deps{Store: st, Writer: wr, Engine: eng, Ledger: eng, CardKey: key, Log: zaptest.NewLogger(t), Now: clk.now}, 0)
	require.NoError(t, err)
	require.NoError(t, EnsureTestKeys(ctx, st, []string{"MERCHANT0000001", "GOVAGENCY000001", "OTHERMERCHANT01"}, clk.now()))
	api, err := NewAPI(svc, HTTPConfig{}, nil)
	require.NoError(t, err)
	pk, err := st.PageKey(ctx, clk.now())
	require.NoError(t, err)
	hosted, err := page.New(page.Config{Backend: svc.PageBackend(), Key: pk, RateLimit: -1, Log: zaptest.NewLogger(t), Now: clk.now})
	require.NoError(t, err)
	root := chi.NewRouter()
	root.Mount("/pay", hosted.Routes())
	root.Mount("/", api.Handler())
	srv := httptest.NewServer(root)
	h := &govHarness{harness: &harness{t: t, srv: srv, svc: svc, api: api, store: st, engine: eng.fakeEngine}, clock: clk, engine: eng}
	h.page = srv
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return h
}

func testBill(ref string, amount int64) map[string]any {
	return map[string]any{"reference": ref, "amount": amount, "currency": "USD", "description": "Trade licence",
		"items": []map[string]any{{"revenue_code": "142201", "description": "Licence", "amount": amount - 500},
			{"revenue_code": "142299", "description": "Processing", "amount": 500}},
		"return_url": "https://portal.example.gov/done?lang=en"}
}

func TestBillLifecycle(t *testing.T) {
	h := newGovHarness(t)
	r := h.do("POST", "/v1/bills", agencyKey, testBill("CN-0001", 5000))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	b := r.json(t)
	require.Equal(t, "open", b["status"])
	require.EqualValues(t, 5000, b["amount"])
	require.EqualValues(t, 100, b["fee"], "the agency's convenience fee")
	require.EqualValues(t, 5100, b["total"])
	require.Equal(t, h.svc.cfg.PublicURL+"/pay/bill/GOVAGENCY000001/CN-0001", b["links"].(map[string]any)["pay_url"])

	require.Equal(t, CodeBillExists, h.do("POST", "/v1/bills", agencyKey, testBill("CN-0001", 7000)).errCode(t))
	other := h.do("POST", "/v1/bills", "sk_test_MERCHANT0000001", testBill("CN-0001", 7000))
	require.Equal(t, http.StatusCreated, other.Status, "a control number is unique per agency, not across them")

	bad := testBill("CN-0002", 5000)
	bad["items"] = []map[string]any{{"revenue_code": "142201", "amount": 4000}}
	r = h.do("POST", "/v1/bills", agencyKey, bad)
	require.Equal(t, http.StatusUnprocessableEntity, r.Status)
	require.Equal(t, CodeBillItemsMismatch, r.errCode(t))
	require.Equal(t, http.StatusNotFound, h.do("GET", "/v1/bills/CN-0002", agencyKey, nil).Status, "nothing stored")

	gen := testBill("", 1200)
	delete(gen, "reference")
	delete(gen, "items")
	r = h.do("POST", "/v1/bills", agencyKey, gen)
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	ref := r.json(t)["reference"].(string)
	require.Regexp(t, `^[1-9][0-9]{11}$`, ref)
	require.True(t, iso8583.LuhnValid(ref), "a generated control number carries a check digit")

	require.Equal(t, http.StatusNotFound, h.do("GET", "/v1/bills/CN-0001", "sk_test_OTHERMERCHANT01", nil).Status, "another agency's bill")
	r = h.do("POST", "/v1/bills/CN-0001/cancel", agencyKey, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	require.Equal(t, "cancelled", r.json(t)["status"])
	r = h.do("POST", "/v1/bills/CN-0001/payments", agencyKey, map[string]any{"card": testCard("4111111111111111")})
	require.Equal(t, CodeBillNotPayable, r.errCode(t))
	require.Zero(t, h.engine.auths.Load(), "nothing sent for a cancelled bill")

	l := h.do("GET", "/v1/bills?status=open", agencyKey, nil).json(t)
	require.Len(t, l["data"], 1)
}

func testCard(number string) map[string]any {
	return map[string]any{"number": number, "expiry_month": 12, "expiry_year": 2030, "cvc": "123"}
}

func TestBillPaidOnceWhenTwoPayersRace(t *testing.T) {
	h := newGovHarness(t)
	require.Equal(t, http.StatusCreated, h.do("POST", "/v1/bills", agencyKey, testBill("RACE-1", 5000)).Status)
	h.engine.block = make(chan struct{})
	h.engine.entered = make(chan struct{}, 4)
	var wg sync.WaitGroup
	replies := make([]reply, 2)
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = h.do("POST", "/v1/bills/RACE-1/payments", agencyKey, map[string]any{"card": testCard("4111111111111111")})
		}()
	}
	<-h.engine.entered // the first payer's authorisation is at the issuer
	time.Sleep(50 * time.Millisecond)
	require.Len(t, h.engine.entered, 0, "the second payer's authorisation must not reach the issuer while the first is in flight")
	close(h.engine.block)
	wg.Wait()
	statuses := []int{replies[0].Status, replies[1].Status}
	require.ElementsMatch(t, []int{http.StatusCreated, http.StatusConflict}, statuses, "%s / %s", replies[0].Body, replies[1].Body)
	for _, r := range replies {
		if r.Status == http.StatusConflict {
			require.Equal(t, CodeBillAlreadyPaid, r.errCode(t))
		}
	}
	require.EqualValues(t, 1, h.engine.auths.Load(), "one authorisation for one bill")
	b := h.do("GET", "/v1/bills/RACE-1", agencyKey, nil).json(t)
	require.Equal(t, "paid", b["status"])
	require.Len(t, b["payments"], 1)
}

// browser is a cookie-keeping client of the hosted page that does not follow redirects.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
	lang string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type pageReply struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) get(path string) pageReply {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	return b.send(req)
}

func (b *browser) send(req *http.Request) pageReply {
	b.t.Helper()
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return pageReply{resp.StatusCode, resp.Header, string(body)}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)
var langField = regexp.MustCompile(`name="lang" value="([^"]+)"`)
var formAction = regexp.MustCompile(`<form method="post" action="([^"]+)"`)

// submit posts the card form of a page just fetched.
func (b *browser) submit(p pageReply, fields url.Values) pageReply {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(p.Body)
	require.NotNil(b.t, m, "no form on the page: %s", p.Body)
	a := formAction.FindStringSubmatch(p.Body)
	fields.Set("csrf_token", m[1])
	if l := langField.FindStringSubmatch(p.Body); l != nil {
		fields.Set("lang", l[1]) // the form's hidden field, as a browser sends it
	}
	req, _ := http.NewRequest("POST", b.base+a[1], strings.NewReader(fields.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(req)
}

func cardForm(number string) url.Values {
	return url.Values{"card_number": {number}, "expiry_month": {"12"}, "expiry_year": {"2030"}, "cvc": {"123"}, "cardholder_name": {"Ada Lovelace"}}
}

func TestPageBillDeclinedThenPaidThenReplayRefused(t *testing.T) {
	h := newGovHarness(t)
	bill := testBill("CN-7", 5000)
	bill["description"] = `Licence <script>alert("x")</script>`
	require.Equal(t, http.StatusCreated, h.do("POST", "/v1/bills", agencyKey, bill).Status)
	br := newBrowser(t, h.page.URL)

	p := br.get("/pay/bill/GOVAGENCY000001/CN-7")
	require.Equal(t, http.StatusOK, p.Status)
	require.Equal(t, "no-store", p.Header.Get("Cache-Control"))
	csp := p.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "default-src 'none'")
	require.Contains(t, csp, "script-src 'self'")
	require.NotContains(t, csp, "unsafe-inline")
	require.Contains(t, csp, "form-action 'self' https://portal.example.gov")
	require.NotContains(t, p.Body, "<script>alert", "a description is text, never markup")
	require.Contains(t, p.Body, "Licence &lt;script&gt;")
	for _, ac := range []string{"cc-number", "cc-exp-month", "cc-exp-year", "cc-csc", "cc-name"} {
		require.Contains(t, p.Body, `autocomplete="`+ac+`"`)
	}
	require.Contains(t, p.Body, "51.00")
	require.Contains(t, p.Body, "1.00", "the fee")
	require.Contains(t, p.Body, "142201")
	require.Less(t, len(p.Body), 30<<10)

	// A card number that fails Luhn never leaves the page.
	bad := br.submit(p, cardForm("4111111111111112"))
	require.Equal(t, http.StatusUnprocessableEntity, bad.Status)
	require.Contains(t, bad.Body, `id="card_number-error"`)
	require.Contains(t, bad.Body, "Enter a valid card number")
	require.NotContains(t, bad.Body, "4111111111111112", "the card number is not sent back")
	require.Zero(t, h.engine.auths.Load())

	// A forged form (no anti-forgery token) is refused.
	req, _ := http.NewRequest("POST", h.page.URL+"/pay/bill/GOVAGENCY000001/CN-7", strings.NewReader(cardForm("4111111111111111").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusForbidden, br.send(req).Status)

	// A card of no issuer is declined: the reason in words, and the form again for another card.
	dec := br.submit(p, cardForm("6011000990139424"))
	require.Equal(t, http.StatusOK, dec.Status)
	require.Contains(t, dec.Body, "Cards of this kind are not accepted.")
	require.Contains(t, dec.Body, "2 attempts left")
	action := formAction.FindStringSubmatch(dec.Body)[1]
	require.Regexp(t, `^/pay/[0-9a-v]{39}$`, action, "the payer goes on on the payment's own page")
	b := h.do("GET", "/v1/bills/CN-7", agencyKey, nil).json(t)
	require.Equal(t, "open", b["status"])

	ok := br.submit(dec, cardForm("4111 1111 1111 1111"))
	require.Equal(t, http.StatusSeeOther, ok.Status, ok.Body)
	loc, err := url.Parse(ok.Header.Get("Location"))
	require.NoError(t, err)
	require.Equal(t, "portal.example.gov", loc.Host)
	id := loc.Query().Get("payment_id")
	require.Equal(t, "en", loc.Query().Get("lang"), "the return URL's own query is kept")
	require.Len(t, loc.Query(), 2, "only the payment id is added")

	pay := h.do("GET", "/v1/payments/"+id, agencyKey, nil).json(t)
	require.Equal(t, "succeeded", pay["status"])
	require.EqualValues(t, 5100, pay["total"])
	require.Equal(t, "CN-7", pay["bill_reference"])
	b = h.do("GET", "/v1/bills/CN-7", agencyKey, nil).json(t)
	require.Equal(t, "paid", b["status"])
	require.Equal(t, id, b["payment_id"])
	require.EqualValues(t, 1, h.engine.auths.Load())
	var field48 string
	for _, m := range h.engine.seen {
		if m.PAN == "4111111111111111" {
			field48 = m.AdditionalData
		}
	}
	require.Equal(t, "CN-7", field48, "the control number goes to the issuer in field 48")

	// The token is used: the page says so and a replayed form charges nothing.
	again := br.get(action)
	require.Equal(t, http.StatusGone, again.Status)
	require.Contains(t, again.Body, "already been paid")
	replay := br.submit(dec, cardForm("4111111111111111"))
	require.NotEqual(t, http.StatusSeeOther, replay.Status)
	require.EqualValues(t, 1, h.engine.auths.Load(), "nothing charged twice")
	// The bill's own page, and a tampered token.
	require.Equal(t, http.StatusConflict, br.get("/pay/bill/GOVAGENCY000001/CN-7").Status)
	tampered := action[:len(action)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(action, "a")]
	require.Equal(t, http.StatusNotFound, br.get(tampered).Status)

	// The receipt: numbered, with the control number, the items, the card masked, the code.
	rc := br.get(action + "/receipt")
	require.Equal(t, http.StatusOK, rc.Status)
	for _, want := range []string{"R-" + pay["rrn"].(string), "CN-7", "142201", "142299", "411111******1111", "A1B2C3", "51.00", "@media print"} {
		require.Contains(t, rc.Body, want)
	}
	api := h.do("GET", "/v1/payments/"+id+"/receipt", agencyKey, nil).json(t)
	require.Equal(t, "CN-7", api["bill_reference"])
	require.Len(t, api["items"], 2)
	require.NotEmpty(t, api["paid_at"])
}

func TestPageAttemptsBoundedAndTokenExpires(t *testing.T) {
	h := newGovHarness(t)
	r := h.do("POST", "/v1/payments", agencyKey, map[string]any{"amount": 2000, "currency": "USD", "reference": "fine-9",
		"description": "Parking fine", "return_url": "https://portal.example.gov/back"})
	require.Equal(t, http.StatusCreated, r.Status)
	next := r.json(t)["links"].(map[string]any)["next_url"].(string)
	path := strings.TrimPrefix(next, h.svc.cfg.PublicURL)
	br := newBrowser(t, h.page.URL)
	br.lang = "fr-CA,fr;q=0.9,en;q=0.5"
	p := br.get(path)
	require.Equal(t, http.StatusOK, p.Status)
	require.Contains(t, p.Body, `lang="fr"`)
	require.Contains(t, p.Body, "21,00")
	for i := 0; i < 3; i++ {
		p = br.submit(p, cardForm("6011000990139424"))
		require.Equal(t, http.StatusOK, p.Status)
		require.Contains(t, p.Body, `<html lang="fr">`, "attempt %d", i)
	}
	require.Contains(t, p.Body, "Il ne reste aucun essai")
	require.Contains(t, p.Body, "https://portal.example.gov/back?payment_id=")
	id := strings.Split(strings.Split(p.Body, "payment_id=")[1], `"`)[0]
	pay := h.do("GET", "/v1/payments/"+id, agencyKey, nil).json(t)
	require.Equal(t, "declined", pay["status"])
	require.Equal(t, "15", pay["response_code"])
	require.Equal(t, http.StatusGone, br.get(path).Status, "no attempt left")

	// Another page expires with its payment.
	r = h.do("POST", "/v1/payments", agencyKey, map[string]any{"amount": 2000, "currency": "USD", "reference": "fine-10", "description": "Parking fine"})
	path = strings.TrimPrefix(r.json(t)["links"].(map[string]any)["next_url"].(string), h.svc.cfg.PublicURL)
	p = br.get(path)
	require.Equal(t, http.StatusOK, p.Status)
	h.clock.add(h.svc.cfg.CreatedExpiry + time.Second)
	require.Equal(t, http.StatusGone, br.get(path).Status)
	require.Equal(t, http.StatusGone, br.submit(p, cardForm("4111111111111111")).Status)
	require.Zero(t, h.engine.auths.Load())
}

func TestBillWebhooksAndExpiry(t *testing.T) {
	h := newGovHarness(t)
	r := h.do("POST", "/v1/webhook-endpoints", agencyKey, map[string]any{"url": "https://hooks.example.gov/in", "events": []string{"bill.paid", "bill.expired"}})
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	require.NoError(t, h.svc.LoadEndpoints(context.Background()))
	require.Equal(t, http.StatusCreated, h.do("POST", "/v1/bills", agencyKey, testBill("W-1", 3000)).Status)
	late := testBill("W-2", 3000)
	late["expires_at"] = h.clock.now().Add(time.Hour).Format(time.RFC3339)
	require.Equal(t, http.StatusCreated, h.do("POST", "/v1/bills", agencyKey, late).Status)

	require.Equal(t, http.StatusCreated, h.do("POST", "/v1/bills/W-1/payments", agencyKey, map[string]any{"card": testCard("4111111111111111")}).Status)
	h.clock.add(2 * time.Hour)
	n, err := h.svc.ExpireBills(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, "expired", h.do("GET", "/v1/bills/W-2", agencyKey, nil).json(t)["status"])
	r = h.do("POST", "/v1/bills/W-2/payments", agencyKey, map[string]any{"card": testCard("4111111111111111")})
	require.Equal(t, CodeBillNotPayable, r.errCode(t))

	msgs, err := h.store.DueOutbox(context.Background(), h.clock.now().Add(time.Hour), 100)
	require.NoError(t, err)
	types := map[string]string{}
	for _, m := range msgs {
		types[m.EventType] = m.Payload
	}
	require.Contains(t, types, EventBillPaid)
	require.Contains(t, types, EventBillExpired)
	require.Contains(t, types[EventBillPaid], `"reference":"W-1"`)
	require.Contains(t, types[EventBillPaid], `"status":"paid"`)
	require.Contains(t, types[EventBillExpired], `"reference":"W-2"`)
}

// A crash between a bill payment's intent and its outcome: the payments' Recover resolves the
// payment from the ledger, RecoverBills then settles the bill.
func TestRecoverBillsAfterACrash(t *testing.T) {
	h := newGovHarness(t)
	ctx := context.Background()
	require.Equal(t, http.StatusCreated, h.do("POST", "/v1/bills", agencyKey, testBill("CR-1", 3000)).Status)
	b, err := h.store.BillByReference(ctx, "GOVAGENCY000001", "CR-1")
	require.NoError(t, err)
	now := h.clock.now()
	p := h.svc.billPayment(b, now)
	msg, sec, err := h.svc.prepareAuth(p, apiCard(page.Card{Number: "4111111111111111", ExpiryMonth: 12, ExpiryYear: 2030}), now)
	require.NoError(t, err)
	claim, err := h.svc.claimBill(ctx, b.ID, nil, p.ID, now, time.Now().Add(time.Second))
	require.NoError(t, err)
	require.NoError(t, h.svc.commit(ctx, &store.Write{Payments: []*store.Payment{clonePayment(p)}, ClockSecond: sec,
		BillWrite: store.BillWrite{Bills: []store.BillChange{*claim}}}))
	require.Equal(t, iso8583.RCApproved, h.engine.Handle(ctx, msg).ResponseCode) // the issuer approved; then the crash

	r := h.do("POST", "/v1/bills/CR-1/payments", agencyKey, map[string]any{"card": testCard("4111111111111111")})
	require.Equal(t, CodeBillInProgress, r.errCode(t), "the claim holds until its outcome is known")

	_, err = h.svc.Recover(ctx, 0)
	require.NoError(t, err)
	n, err := h.svc.RecoverBills(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got := h.do("GET", "/v1/bills/CR-1", agencyKey, nil).json(t)
	require.Equal(t, "paid", got["status"])
	require.Equal(t, p.ID, got["payment_id"])
	require.Equal(t, CodeBillAlreadyPaid, h.do("POST", "/v1/bills/CR-1/payments", agencyKey, map[string]any{"card": testCard("4111111111111111")}).errCode(t))
	require.EqualValues(t, 1, h.engine.auths.Load())
}

// The reconciliation joins the ledger's movements on the agency's payable with the bills and
// adds up to the ledger's net to the cent.
func TestSettlementJoinsTheLedgersMovements(t *testing.T) {
	h := newGovHarness(t)
	ctx := context.Background()
	for _, ref := range []string{"S-1", "S-2"} {
		require.Equal(t, http.StatusCreated, h.do("POST", "/v1/bills", agencyKey, testBill(ref, 4000)).Status)
		require.Equal(t, http.StatusCreated, h.do("POST", "/v1/bills/"+ref+"/payments", agencyKey, map[string]any{"card": testCard("4111111111111111")}).Status)
	}
	ps, err := h.store.Payments(ctx, store.PaymentFilter{Merchant: "GOVAGENCY000001", Limit: 10})
	require.NoError(t, err)
	require.Len(t, ps, 2)
	day := h.clock.now().Format(time.DateOnly)
	moves := []ledger.SettlementPayment{}
	for _, p := range ps {
		moves = append(moves, ledger.SettlementPayment{AgencyID: "GOVAGENCY000001", Currency: "840", PaymentRef: p.Reference,
			TransactionID: p.EngineID, Code: ledger.CodePrincipal, Amount: p.Amount})
		h.engine.txs[p.EngineID].ConvenienceFee = p.Fee
	}
	rep := &ledger.SettlementReport{BusinessDay: day, Agencies: []ledger.SettlementLine{{ID: "GOVAGENCY000001", Currency: "840",
		Exponent: 2, Count: 2, Gross: 8200, Fees: 200, Net: 8000, Payments: moves}}}
	h.svc.d.Settlements = fixedSettlements{day: day, rep: rep}

	r := h.do("GET", "/v1/settlements/"+day+"_USD/transactions", agencyKey, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	got := r.json(t)
	var sum, fees float64
	for _, tx := range got["data"].([]any) {
		m := tx.(map[string]any)
		sum += m["amount"].(float64)
		fees += m["fee"].(float64)
		require.NotEmpty(t, m["bill_reference"])
		require.Len(t, m["items"], 2)
	}
	require.EqualValues(t, 8000, sum)
	require.EqualValues(t, 200, fees)
	st := got["settlement"].(map[string]any)
	require.EqualValues(t, 2, st["bills_paid"])
	require.Equal(t, "open", st["status"])
	var revenue float64
	for _, rc := range got["revenue_codes"].([]any) {
		revenue += rc.(map[string]any)["amount"].(float64)
	}
	require.EqualValues(t, 8000, revenue, "the revenue codes add up to the net")

	csv := h.do("GET", "/v1/settlements/"+day+"_USD/transactions", agencyKey, nil, "Accept", "text/csv")
	require.Equal(t, "text/csv; charset=utf-8", csv.Header.Get("Content-Type"))
	lines := strings.Split(strings.TrimSpace(string(csv.Body)), "\n")
	require.Len(t, lines, 3)
	require.Contains(t, lines[1], "142201=3500;142299=500")

	l := h.do("GET", "/v1/settlements", agencyKey, nil).json(t)
	require.Len(t, l["data"], 1)
	require.Equal(t, http.StatusNotFound, h.do("GET", "/v1/settlements/2001-01-01_USD", agencyKey, nil).Status)
}

type fixedSettlements struct {
	day string
	rep *ledger.SettlementReport
}

func (f fixedSettlements) BusinessDay(context.Context) (string, error) { return f.day, nil }

func (f fixedSettlements) Report(_ context.Context, day string) (*ledger.SettlementReport, error) {
	if day == f.day {
		return f.rep, nil
	}
	return &ledger.SettlementReport{BusinessDay: day}, nil
}
