package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/switch/payments/webhook"
)

const (
	merchantTestKey = "sk_test_MERCHANT0000001"
	agencyTestKey   = "sk_test_GOVAGENCY000001"
)

// apiClient calls the payments API as a portal would, and validates every answer against the
// OpenAPI document the switch serves at /v1/openapi.json.
type apiClient struct {
	t    *testing.T
	base string
	doc  *openapi3.T
}

// The receipt's HTML is validated as a string (kin-openapi decodes no HTML of its own).
var registerHTMLDecoder sync.Once

func newAPIClient(t *testing.T, s *system) *apiClient {
	t.Helper()
	registerHTMLDecoder.Do(func() {
		openapi3filter.RegisterBodyDecoder("text/html", func(r io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
	})
	base := "http://" + s.api
	code, body := httpGet(t, base+"/v1/openapi.json")
	require.Equal(t, http.StatusOK, code, body)
	doc, err := openapi3.NewLoader().LoadFromData([]byte(body))
	require.NoError(t, err)
	require.Equal(t, "3.1.0", doc.OpenAPI)
	return &apiClient{t: t, base: base, doc: doc}
}

type apiReply struct {
	status int
	header http.Header
	body   []byte
}

func (r apiReply) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), string(r.body))
	return m
}

// call sends a request; route is the document's path template of path.
func (c *apiClient) call(method, route, path, key, body string, headers ...string) apiReply {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	require.NoError(c.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	c.validate(req, route, resp, raw)
	return apiReply{resp.StatusCode, resp.Header, raw}
}

// validate checks a response against the document: a status it lists, its content type, its schema.
func (c *apiClient) validate(req *http.Request, route string, resp *http.Response, body []byte) {
	c.t.Helper()
	item := c.doc.Paths.Value(route)
	require.NotNil(c.t, item, "route %s is not in the document", route)
	op := item.GetOperation(req.Method)
	require.NotNil(c.t, op, "%s %s is not in the document", req.Method, route)
	in := &openapi3filter.RequestValidationInput{Request: req,
		Route:   &routers.Route{Spec: c.doc, Path: route, PathItem: item, Method: req.Method, Operation: op},
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}}
	err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: in.Options})
	require.NoError(c.t, err, "%s %s answered %d %s, not as the document says", req.Method, req.URL.Path, resp.StatusCode, body)
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		require.NoError(c.t, json.Unmarshal(body, &e), string(body))
		require.NotEmpty(c.t, e.Error.Code)
		require.NotEmpty(c.t, e.Error.Message)
	}
}

const apiCard = `"card": {"number": "4111111111111111", "expiry_month": 12, "expiry_year": 2031, "cvc": "123"}`

func paymentBody(amount int64, capture, reference string) string {
	return fmt.Sprintf(`{"amount": %d, "currency": "USD", "reference": %q, "description": "e2e order", "capture": %q, %s}`,
		amount, reference, capture, apiCard)
}

// The payments API as the contract describes it, against the built binary: every transition,
// each answer valid by the served document, and the payment's RRN finding it in the ledger.
func TestPaymentsAPILifecycle(t *testing.T) {
	s := contractSystem(t)
	c := newAPIClient(t, s)

	// Manual capture: authorised, partly captured, partly refunded twice, then over-refunded.
	a := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, paymentBody(2500, "manual", "e2e-life-1"), "Idempotency-Key", "e2e-life-1")
	require.Equal(t, http.StatusCreated, a.status, string(a.body))
	p := a.obj(t)
	require.Equal(t, "authorised", p["status"])
	require.Equal(t, "411111******1111", p["card"].(map[string]any)["number"])
	require.NotContains(t, string(a.body), "4111111111111111")
	id := p["id"].(string)
	pr := "/v1/payments/{payment_id}"

	// The RRN is the ledger's key on the operators' listener.
	var tx map[string]any
	require.Equal(t, http.StatusOK, getJSON(t, "http://"+s.http+"/v1/transactions/"+p["rrn"].(string), &tx))
	require.Equal(t, "held", tx["status"])
	require.EqualValues(t, 2500, tx["amount"])
	require.Equal(t, "e2e-life-1", tx["payment_ref"])

	cap := c.call("POST", pr+"/capture", "/v1/payments/"+id+"/capture", merchantTestKey, `{"amount": 2000}`)
	require.Equal(t, http.StatusOK, cap.status, string(cap.body))
	require.Equal(t, "succeeded", cap.obj(t)["status"])
	require.EqualValues(t, 2000, cap.obj(t)["amount_captured"])
	again := c.call("POST", pr+"/capture", "/v1/payments/"+id+"/capture", merchantTestKey, "")
	require.Equal(t, http.StatusConflict, again.status)
	require.Equal(t, "succeeded", again.obj(t)["error"].(map[string]any)["status"])

	for _, amt := range []int{500, 700} {
		r := c.call("POST", pr+"/refunds", "/v1/payments/"+id+"/refunds", merchantTestKey, fmt.Sprintf(`{"amount": %d}`, amt))
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
		require.Equal(t, "succeeded", r.obj(t)["status"], string(r.body))
	}
	over := c.call("POST", pr+"/refunds", "/v1/payments/"+id+"/refunds", merchantTestKey, `{"amount": 801}`)
	require.Equal(t, http.StatusUnprocessableEntity, over.status)
	require.Equal(t, "refund_exceeds_refundable", over.obj(t)["error"].(map[string]any)["code"])
	require.EqualValues(t, 800, over.obj(t)["error"].(map[string]any)["amount_refundable"])

	got := c.call("GET", pr, "/v1/payments/"+id, merchantTestKey, "").obj(t)
	require.EqualValues(t, 1200, got["amount_refunded"])
	require.EqualValues(t, 800, got["amount_refundable"])
	refunds := c.call("GET", pr+"/refunds", "/v1/payments/"+id+"/refunds", merchantTestKey, "").obj(t)
	require.Len(t, refunds["data"], 2)
	evs := c.call("GET", pr+"/events", "/v1/payments/"+id+"/events", merchantTestKey, "").obj(t)["data"].([]any)
	require.Len(t, evs, 5, "created, authorised, succeeded and two refunds")
	rc := c.call("GET", pr+"/receipt", "/v1/payments/"+id+"/receipt", merchantTestKey, "")
	require.Equal(t, http.StatusOK, rc.status)
	require.Equal(t, "R-"+p["rrn"].(string), rc.obj(t)["receipt_number"])
	html := c.call("GET", pr+"/receipt", "/v1/payments/"+id+"/receipt", merchantTestKey, "", "Accept", "text/html")
	require.Contains(t, html.header.Get("Content-Type"), "text/html")
	require.Contains(t, string(html.body), "20.00 USD")

	// Automatic capture, a decline, a cancelled hold, an agency payment with its fee.
	auto := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, paymentBody(1234, "automatic", "e2e-life-2")).obj(t)
	require.Equal(t, "succeeded", auto["status"])
	declined := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, paymentBody(1051, "automatic", "e2e-life-3")).obj(t)
	require.Equal(t, "declined", declined["status"])
	require.Equal(t, "51", declined["response_code"])
	require.Equal(t, "insufficient funds", declined["decline_reason"])
	hold := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, paymentBody(900, "manual", "e2e-life-4")).obj(t)
	cancelled := c.call("POST", pr+"/cancel", "/v1/payments/"+hold["id"].(string)+"/cancel", merchantTestKey, "")
	require.Equal(t, http.StatusOK, cancelled.status, string(cancelled.body))
	require.Equal(t, "cancelled", cancelled.obj(t)["status"])
	require.Equal(t, http.StatusOK, getJSON(t, "http://"+s.http+"/v1/transactions/"+hold["rrn"].(string), &tx))
	require.Equal(t, "voided", tx["status"])
	gov := c.call("POST", "/v1/payments", "/v1/payments", agencyTestKey, paymentBody(5000, "automatic", "LICENCE-2026-0001")).obj(t)
	require.Equal(t, "succeeded", gov["status"])
	require.EqualValues(t, 100, gov["fee"])
	require.EqualValues(t, 5100, gov["total"])
	require.Equal(t, http.StatusOK, getJSON(t, "http://"+s.http+"/v1/transactions/"+gov["rrn"].(string), &tx))
	require.EqualValues(t, 5100, tx["amount"], "the issuer saw the total")
	require.Equal(t, "LICENCE-2026-0001", tx["payment_ref"])

	// Without a card: waiting for the payer on the hosted page.
	page := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey,
		`{"amount": 300, "currency": "USD", "reference": "e2e-life-5", "description": "pay on the page", "return_url": "https://shop.example/done"}`).obj(t)
	require.Equal(t, "created", page["status"])
	require.Contains(t, page["links"].(map[string]any)["next_url"], "/pay/")

	list := c.call("GET", "/v1/payments", "/v1/payments?reference=e2e-life-2", merchantTestKey, "").obj(t)
	require.Len(t, list["data"], 1)
}

// Idempotency-Key against the built binary: replay, a different body, the same key at once.
func TestPaymentsAPIIdempotency(t *testing.T) {
	s := contractSystem(t)
	c := newAPIClient(t, s)
	body := paymentBody(4321, "automatic", "e2e-idem-1")
	first := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, body, "Idempotency-Key", "e2e-idem-1")
	replay := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, body, "Idempotency-Key", "e2e-idem-1")
	require.Equal(t, first.status, replay.status)
	require.Equal(t, string(first.body), string(replay.body))
	other := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, paymentBody(4322, "automatic", "e2e-idem-1"), "Idempotency-Key", "e2e-idem-1")
	require.Equal(t, http.StatusUnprocessableEntity, other.status)
	require.Equal(t, "idempotency_key_reused", other.obj(t)["error"].(map[string]any)["code"])

	// Twenty at once with one key: one payment, the others its answer or 409.
	var wg sync.WaitGroup
	replies := make([]apiReply, 20)
	slow := paymentBody(2598, "automatic", "e2e-idem-2") // ending 98: the issuer answers after 3 s
	for i := range replies {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			replies[i] = c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, slow, "Idempotency-Key", "e2e-idem-2")
		}(i)
	}
	wg.Wait()
	ids := map[string]bool{}
	for _, r := range replies {
		switch r.status {
		case http.StatusCreated:
			ids[r.obj(t)["id"].(string)] = true
		case http.StatusConflict:
			require.Equal(t, "idempotency_key_in_use", r.obj(t)["error"].(map[string]any)["code"])
		default:
			t.Fatalf("unexpected %d %s", r.status, r.body)
		}
	}
	require.Len(t, ids, 1, "one payment")
	list := c.call("GET", "/v1/payments", "/v1/payments?reference=e2e-idem-2", merchantTestKey, "").obj(t)
	require.Len(t, list["data"], 1)
}

// Bad input gets the contract's error shape and stores nothing; another merchant's key sees nothing.
func TestPaymentsAPIRefusesBadInputAndOtherMerchants(t *testing.T) {
	s := contractSystem(t)
	c := newAPIClient(t, s)
	for _, b := range []string{
		`{"amount": 12`, `{"amount": "12", "currency": "USD", "reference": "e2e-bad", "description": "d"}`,
		`{"amount": 12, "currency": "USD", "reference": "e2e-bad", "description": "d", "unknown": 1}`,
		`{"amount": 12, "currency": "USD", "reference": "e2e-bad'); DROP TABLE payapi_payments; --\u0000", "description": "d"}`,
		`{"amount": 12, "currency": "USD", "reference": "e2e-bad", "description": "` + strings.Repeat("A", 200_000) + `"}`,
	} {
		r := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, b)
		require.Equal(t, http.StatusBadRequest, r.status, string(r.body))
	}
	r := c.call("POST", "/v1/payments", "/v1/payments", "", paymentBody(100, "automatic", "e2e-bad"))
	require.Equal(t, http.StatusUnauthorized, r.status)
	list := c.call("GET", "/v1/payments", "/v1/payments?reference=e2e-bad", merchantTestKey, "").obj(t)
	require.Empty(t, list["data"], "nothing stored")

	p := c.call("POST", "/v1/payments", "/v1/payments", merchantTestKey, paymentBody(777, "automatic", "e2e-mine")).obj(t)
	id := p["id"].(string)
	for _, path := range []string{"/v1/payments/" + id, "/v1/payments/" + id + "/events", "/v1/payments/" + id + "/receipt"} {
		route := strings.Replace(path, id, "{payment_id}", 1)
		o := c.call("GET", route, path, agencyTestKey, "")
		require.Equal(t, http.StatusNotFound, o.status)
		require.NotContains(t, string(o.body), "e2e-mine")
	}
	refund := c.call("POST", "/v1/payments/{payment_id}/refunds", "/v1/payments/"+id+"/refunds", agencyTestKey, `{"amount": 1}`)
	require.Equal(t, http.StatusNotFound, refund.status)
}

// Webhooks: an endpoint registered over the API gets a signed payment.succeeded that a Standard
// Webhooks receiver accepts; the delivery is in the log; a rotated secret signs the next ones.
func TestPaymentsAPIWebhooks(t *testing.T) {
	s := contractSystem(t)
	c := newAPIClient(t, s)
	type got struct {
		h    http.Header
		body []byte
	}
	recv := make(chan got, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		recv <- got{r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	ep := c.call("POST", "/v1/webhook-endpoints", "/v1/webhook-endpoints", agencyTestKey,
		fmt.Sprintf(`{"url": %q, "events": ["payment.succeeded"]}`, srv.URL+"/hooks"))
	require.Equal(t, http.StatusCreated, ep.status, string(ep.body))
	secret := ep.obj(t)["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"))
	epID := ep.obj(t)["id"].(string)
	shown := c.call("GET", "/v1/webhook-endpoints/{endpoint_id}", "/v1/webhook-endpoints/"+epID, agencyTestKey, "")
	require.NotContains(t, string(shown.body), secret, "the secret is shown once")

	p := c.call("POST", "/v1/payments", "/v1/payments", agencyTestKey, paymentBody(2000, "automatic", "e2e-hook-1")).obj(t)
	var w got
	select {
	case w = <-recv:
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook delivered")
	}
	require.NoError(t, webhook.Verify(secret, w.h.Get("webhook-id"), w.h.Get("webhook-timestamp"), w.h.Get("webhook-signature"), w.body, time.Now()))
	var env map[string]any
	require.NoError(t, json.Unmarshal(w.body, &env))
	require.Equal(t, "payment.succeeded", env["type"])
	require.Equal(t, p["id"], env["data"].(map[string]any)["id"])
	require.Error(t, webhook.Verify(secret, w.h.Get("webhook-id"), w.h.Get("webhook-timestamp"), w.h.Get("webhook-signature"),
		bytes.Replace(w.body, []byte("2000"), []byte("9000"), 1), time.Now()), "a tampered body does not verify")

	require.Eventually(t, func() bool {
		d := c.call("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries", "/v1/webhook-endpoints/"+epID+"/deliveries", agencyTestKey, "").obj(t)
		data := d["data"].([]any)
		return len(data) == 1 && data[0].(map[string]any)["status_code"] == float64(204)
	}, 10*time.Second, 50*time.Millisecond)

	rot := c.call("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret", "/v1/webhook-endpoints/"+epID+"/rotate-secret", agencyTestKey, "")
	require.Equal(t, http.StatusOK, rot.status)
	newSecret := rot.obj(t)["secret"].(string)
	require.NotEqual(t, secret, newSecret)
	c.call("POST", "/v1/payments", "/v1/payments", agencyTestKey, paymentBody(2100, "automatic", "e2e-hook-2"))
	select {
	case w = <-recv:
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook after the rotation")
	}
	require.NoError(t, webhook.Verify(newSecret, w.h.Get("webhook-id"), w.h.Get("webhook-timestamp"), w.h.Get("webhook-signature"), w.body, time.Now()))
	require.Error(t, webhook.Verify(secret, w.h.Get("webhook-id"), w.h.Get("webhook-timestamp"), w.h.Get("webhook-signature"), w.body, time.Now()))
	require.Equal(t, http.StatusOK, c.call("DELETE", "/v1/webhook-endpoints/{endpoint_id}", "/v1/webhook-endpoints/"+epID, agencyTestKey, "").status)
}

// A SIGKILL of serve during API load, then a restart: every payment a shop saw succeed is held by
// the ledger once, nothing is left half-done, the ledger verifies, and the trial balance ties out
// with the API's own totals.
func TestPaymentsAPICrashDuringLoad(t *testing.T) {
	s := startSystem(t, systemOpts{})
	log := filepath.Join(t.TempDir(), "paid.jsonl")
	load := start(t, "load --api", nil, "load", "--api", "--target", "http://"+s.api, "--rate", "150", "--duration", "8s",
		"--timeout", "30s", "--repeats", "9", "--mix", "purchase=60,preauth=25,refund=10,reversal=5", "--ledger-log", log, "--quiet")
	waitLines(t, log, 200)
	require.NoError(t, s.sw.cmd.Process.Signal(syscall.SIGKILL))
	<-s.sw.done
	s.sw = start(t, "serve (restarted)", []string{"CARDSWITCH_DATABASE_URL="}, s.serveArgs...)
	s.waitReady(t)
	select {
	case <-load.done:
	case <-time.After(90 * time.Second):
		t.Fatal("the load run did not finish")
	}
	t.Logf("load: %s", tail(load.out.String(), 1500))
	c := newAPIClient(t, s)

	// Every payment and refund a shop was told succeeded is there, as it was told.
	seen := readPaid(t, log)
	require.NotEmpty(t, seen)
	for _, l := range seen {
		if l.RefundID != "" {
			r := c.call("GET", "/v1/payments/{payment_id}/refunds/{refund_id}", "/v1/payments/"+l.PaymentID+"/refunds/"+l.RefundID, merchantKeyFor(t, c, l.PaymentID), "")
			require.Equal(t, http.StatusOK, r.status)
			require.Equal(t, "succeeded", r.obj(t)["status"])
			continue
		}
		var tx map[string]any
		require.Equal(t, http.StatusOK, getJSON(t, "http://"+s.http+"/v1/transactions/"+l.RRN, &tx), "payment %s (rrn %s) is not in the ledger", l.PaymentID, l.RRN)
	}

	// Nothing half-done: no payment with a card is still created, and the API's totals tie out with
	// the ledger's payable accounts.
	all := append(listAll(t, c, merchantTestKey), listAll(t, c, agencyTestKey)...)
	var merchantNet, agencyNet int64
	for _, p := range all {
		require.NotEqual(t, "created", p["status"], "payment %v left created after the restart", p["id"])
		captured, refunded := int64(p["amount_captured"].(float64)), int64(p["amount_refunded"].(float64))
		if p["status"] != "succeeded" {
			require.Zero(t, captured, "payment %v", p["id"])
			continue
		}
		if p["fee"].(float64) > 0 {
			agencyNet += captured - refunded
		} else {
			fee := decimal.NewFromInt(captured).Mul(decimal.RequireFromString("0.015")).Round(0).IntPart() + 10
			merchantNet += captured - fee - refunded
		}
	}
	tb := trialBalance(t, s.dataDir)
	require.Equal(t, merchantNet, tb["merchant:MERCHANT0000001:payable"], "merchant payable against the API's payments")
	require.Equal(t, agencyNet, tb["agency:GOVAGENCY000001:payable"], "agency payable against the API's payments")
	out, err := exec.Command(binary, "ledger", "verify", "--data-dir", s.dataDir).CombinedOutput()
	require.NoError(t, err, "ledger verify: %s", out)
	t.Logf("%d payments and refunds a shop saw succeed, all held; %d payments tie out", len(seen), len(all))
}

type paidLine struct {
	PaymentID string `json:"payment_id"`
	RefundID  string `json:"refund_id"`
	RRN       string `json:"rrn"`
}

func readPaid(t *testing.T, path string) []paidLine {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []paidLine
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var l paidLine
		require.NoError(t, json.Unmarshal([]byte(line), &l), line)
		out = append(out, l)
	}
	return out
}

// merchantKeyFor finds which test key owns a payment.
func merchantKeyFor(t *testing.T, c *apiClient, id string) string {
	t.Helper()
	if c.call("GET", "/v1/payments/{payment_id}", "/v1/payments/"+id, merchantTestKey, "").status == http.StatusOK {
		return merchantTestKey
	}
	return agencyTestKey
}

func listAll(t *testing.T, c *apiClient, key string) []map[string]any {
	t.Helper()
	var out []map[string]any
	path := "/v1/payments?limit=100"
	for {
		page := c.call("GET", "/v1/payments", path, key, "").obj(t)
		for _, p := range page["data"].([]any) {
			out = append(out, p.(map[string]any))
		}
		if page["has_more"] != true {
			return out
		}
		path = "/v1/payments?limit=100&cursor=" + page["next_cursor"].(string)
	}
}

// trialBalance returns each account's posted credits minus posted debits.
func trialBalance(t *testing.T, dataDir string) map[string]int64 {
	t.Helper()
	out, err := exec.Command(binary, "ledger", "trial-balance", "--json", "--data-dir", dataDir).Output()
	require.NoError(t, err)
	var tb struct {
		Currencies []struct {
			Accounts []struct {
				Account       string `json:"account"`
				DebitsPosted  int64  `json:"debits_posted"`
				CreditsPosted int64  `json:"credits_posted"`
			} `json:"accounts"`
		} `json:"currencies"`
	}
	require.NoError(t, json.Unmarshal(out, &tb), string(out))
	net := map[string]int64{}
	for _, c := range tb.Currencies {
		for _, a := range c.Accounts {
			net[a.Account] += a.CreditsPosted - a.DebitsPosted
		}
	}
	return net
}
