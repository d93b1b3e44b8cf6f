package payments

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCreateAutomaticCardPaymentSucceeds(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/v1/payments", merchantKey, cardPayment(1234, "automatic"))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	p := r.json(t)
	require.Equal(t, "succeeded", p["status"])
	require.EqualValues(t, 1234, p["amount_captured"])
	require.EqualValues(t, 1234, p["amount_refundable"])
	require.Equal(t, "411111******1111", p["card"].(map[string]any)["number"])
	require.NotContains(t, string(r.Body), "4111111111111111")
	require.NotContains(t, string(r.Body), "123\"")

	// The engine saw an ordinary e-commerce 0200 with the CVC in field 63.
	msg := h.engine.seen[0]
	require.Equal(t, "0200", msg.MTI)
	require.Equal(t, "000000001234", msg.Amount)
	require.Equal(t, "810", msg.POSEntryMode)
	require.Equal(t, "59", msg.POSCondition)
	require.Equal(t, VirtualTerminal("MERCHANT0000001", time.Now().UTC().Year()), msg.TerminalID)
	require.Len(t, msg.TerminalID, 8)
	require.Equal(t, "11 123", msg.Private63)

	got := h.do("GET", "/v1/payments/"+p["id"].(string), merchantKey, nil)
	require.Equal(t, http.StatusOK, got.Status)
	require.Equal(t, "succeeded", got.json(t)["status"])
}

func TestAgencyPaymentAddsConvenienceFee(t *testing.T) {
	h := newHarness(t)
	r := h.do("POST", "/v1/payments", "sk_test_GOVAGENCY000001", cardPayment(5000, "automatic"))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	p := r.json(t)
	require.EqualValues(t, 5000, p["amount"])
	require.EqualValues(t, 100, p["fee"])
	require.EqualValues(t, 5100, p["total"])
	require.Equal(t, "000000005100", h.engine.seen[0].Amount)
	require.Equal(t, "order-1", h.engine.seen[0].AdditionalData)
}

func TestDeclineAndManualCaptureAndRefunds(t *testing.T) {
	h := newHarness(t)
	d := h.do("POST", "/v1/payments", merchantKey, cardPayment(1005, "automatic")).json(t)
	require.Equal(t, "declined", d["status"])
	require.Equal(t, "05", d["response_code"])
	require.NotEmpty(t, d["decline_reason"])

	a := h.do("POST", "/v1/payments", merchantKey, cardPayment(2000, "manual")).json(t)
	require.Equal(t, "authorised", a["status"])
	id := a["id"].(string)
	require.Equal(t, "0100", h.engine.seen[1].MTI)

	// Refund before capture: wrong state.
	r := h.do("POST", "/v1/payments/"+id+"/refunds", merchantKey, map[string]any{"amount": 100})
	require.Equal(t, http.StatusConflict, r.Status)
	require.Equal(t, "invalid_state", r.errCode(t))
	require.Equal(t, "authorised", r.json(t)["error"].(map[string]any)["status"])

	over := h.do("POST", "/v1/payments/"+id+"/capture", merchantKey, map[string]any{"amount": 2001})
	require.Equal(t, http.StatusUnprocessableEntity, over.Status)

	c := h.do("POST", "/v1/payments/"+id+"/capture", merchantKey, map[string]any{"amount": 1500})
	require.Equal(t, http.StatusOK, c.Status, "%s", c.Body)
	require.Equal(t, "succeeded", c.json(t)["status"])
	require.EqualValues(t, 1500, c.json(t)["amount_captured"])
	capMsg := h.engine.seen[2]
	require.Equal(t, "0220", capMsg.MTI)
	require.Equal(t, a["rrn"], capMsg.RRN)
	require.Len(t, capMsg.OriginalData, 42)
	require.True(t, strings.HasPrefix(capMsg.OriginalData, "0100"))

	again := h.do("POST", "/v1/payments/"+id+"/capture", merchantKey, nil)
	require.Equal(t, http.StatusConflict, again.Status)

	require.Equal(t, http.StatusCreated, h.do("POST", "/v1/payments/"+id+"/refunds", merchantKey, map[string]any{"amount": 1000}).Status)
	ref := h.engine.seen[3]
	require.Equal(t, "0200", ref.MTI)
	require.Equal(t, "200000", ref.ProcessingCode)
	require.Equal(t, "4111111111111111", ref.PAN)
	require.True(t, strings.HasPrefix(ref.OriginalData, "0220"), "the refund names its sale, the capture: %s", ref.OriginalData)
	require.Equal(t, capMsg.STAN, ref.OriginalData[4:10])
	tooMuch := h.do("POST", "/v1/payments/"+id+"/refunds", merchantKey, map[string]any{"amount": 501})
	require.Equal(t, http.StatusUnprocessableEntity, tooMuch.Status)
	require.Equal(t, "refund_exceeds_refundable", tooMuch.errCode(t))
	require.EqualValues(t, 500, tooMuch.json(t)["error"].(map[string]any)["amount_refundable"])
	require.Equal(t, http.StatusCreated, h.do("POST", "/v1/payments/"+id+"/refunds", merchantKey, map[string]any{"amount": 500}).Status)

	p := h.do("GET", "/v1/payments/"+id, merchantKey, nil).json(t)
	require.EqualValues(t, 1500, p["amount_refunded"])
	require.EqualValues(t, 0, p["amount_refundable"])
	list := h.do("GET", "/v1/payments/"+id+"/refunds", merchantKey, nil).json(t)
	require.Len(t, list["data"], 2)
	evs := h.do("GET", "/v1/payments/"+id+"/events", merchantKey, nil).json(t)["data"].([]any)
	var types []string
	for _, e := range evs {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	require.Equal(t, []string{"payment.created", "payment.authorised", "payment.succeeded", "refund.succeeded", "refund.succeeded"}, types)
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	a := h.do("POST", "/v1/payments", merchantKey, cardPayment(2000, "manual")).json(t)
	c := h.do("POST", "/v1/payments/"+a["id"].(string)+"/cancel", merchantKey, nil)
	require.Equal(t, http.StatusOK, c.Status, "%s", c.Body)
	require.Equal(t, "cancelled", c.json(t)["status"])
	require.Equal(t, "0400", h.engine.seen[1].MTI)
	again := h.do("POST", "/v1/payments/"+a["id"].(string)+"/cancel", merchantKey, nil)
	require.Equal(t, http.StatusConflict, again.Status)

	page := h.do("POST", "/v1/payments", merchantKey, map[string]any{"amount": 300, "currency": "USD", "reference": "r", "description": "d"})
	require.Equal(t, http.StatusCreated, page.Status)
	pp := page.json(t)
	require.Equal(t, "created", pp["status"])
	require.Contains(t, pp["links"].(map[string]any)["next_url"], "/pay/")
	c2 := h.do("POST", "/v1/payments/"+pp["id"].(string)+"/cancel", merchantKey, nil)
	require.Equal(t, "cancelled", c2.json(t)["status"])
}

func TestIdempotency(t *testing.T) {
	h := newHarness(t)
	body := cardPayment(1234, "automatic")
	first := h.do("POST", "/v1/payments", merchantKey, body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, first.Status)
	replay := h.do("POST", "/v1/payments", merchantKey, body, "Idempotency-Key", "key-1")
	require.Equal(t, first.Status, replay.Status)
	require.Equal(t, string(first.Body), string(replay.Body))
	require.Equal(t, "true", replay.Header.Get("Idempotent-Replayed"))
	require.Len(t, h.engine.seen, 1, "a replay is not sent to the engine again")

	other := cardPayment(999, "automatic")
	reused := h.do("POST", "/v1/payments", merchantKey, other, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusUnprocessableEntity, reused.Status)
	require.Equal(t, "idempotency_key_reused", reused.errCode(t))

	// The same key under another API key is another key.
	otherKey := h.do("POST", "/v1/payments", "sk_test_OTHERMERCHANT01", body, "Idempotency-Key", "key-1")
	require.Equal(t, http.StatusCreated, otherKey.Status)

	bad := h.do("POST", "/v1/payments", merchantKey, body, "Idempotency-Key", "bad key!")
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Equal(t, "Idempotency-Key", bad.json(t)["error"].(map[string]any)["param"])
}

func TestIdempotencyConcurrentExactlyOneEffect(t *testing.T) {
	h := newHarness(t)
	h.engine.block = make(chan struct{})
	h.engine.entered = make(chan struct{}, 64)
	body := cardPayment(777, "automatic")
	const n = 8
	replies := make([]reply, n)
	var conflicts atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			replies[i] = h.do("POST", "/v1/payments", merchantKey, body, "Idempotency-Key", "same")
			if replies[i].Status == http.StatusConflict {
				conflicts.Add(1)
			}
		}(i)
	}
	<-h.engine.entered // the first is at the engine; every other one must be refused meanwhile
	// The n-1 others are answered 409 while the first waits at the engine.
	require.Eventually(t, func() bool { return conflicts.Load() == n-1 }, 10*time.Second, 2*time.Millisecond)
	close(h.engine.block)
	wg.Wait()
	created := 0
	for _, r := range replies {
		switch r.Status {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			require.Equal(t, "idempotency_key_in_use", r.errCode(t))
		default:
			t.Fatalf("unexpected %d %s", r.Status, r.Body)
		}
	}
	require.Equal(t, 1, created)
	require.Len(t, h.engine.seen, 1)
	list := h.do("GET", "/v1/payments", merchantKey, nil).json(t)
	require.Len(t, list["data"], 1)
}

func TestBadInputGetsTheErrorShapeAndStoresNothing(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name, body, param string
	}{
		{"bad json", `{"amount": 12`, ""},
		{"wrong type", `{"amount": "12", "currency": "USD", "reference": "r", "description": "d"}`, "amount"},
		{"unknown field", `{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "admin": true}`, ""},
		{"missing field", `{"amount": 12, "currency": "USD", "reference": "r"}`, ""},
		{"negative", `{"amount": -5, "currency": "USD", "reference": "r", "description": "d"}`, "amount"},
		{"float", `{"amount": 1.5, "currency": "USD", "reference": "r", "description": "d"}`, "amount"},
		{"injected reference", `{"amount": 12, "currency": "USD", "reference": "r\u0000'; DROP TABLE payapi_payments;--\n", "description": "d"}`, "reference"},
		{"card number in a bad field", `{"amount": 12, "currency": "USD", "reference": "r", "description": "d", "card": {"number": "4111111111111111x", "expiry_month": 1, "expiry_year": 2030}}`, "card.number"},
		{"array body", `[1,2,3]`, ""},
		{"currency lower", `{"amount": 12, "currency": "usd", "reference": "r", "description": "d"}`, "currency"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.do("POST", "/v1/payments", merchantKey, c.body)
			require.Equal(t, http.StatusBadRequest, r.Status, "%s", r.Body)
			code := r.errCode(t)
			require.Contains(t, []string{"invalid_request", "invalid_json"}, code)
			if c.param != "" {
				require.Equal(t, c.param, r.json(t)["error"].(map[string]any)["param"], "%s", r.Body)
			}
			require.NotContains(t, string(r.Body), "4111111111111111")
		})
	}
	huge := `{"amount": 12, "currency": "USD", "reference": "r", "description": "` + strings.Repeat("x", 100<<10) + `"}`
	r := h.do("POST", "/v1/payments", merchantKey, huge)
	require.Equal(t, http.StatusBadRequest, r.Status)
	require.Equal(t, "body_too_large", r.errCode(t))

	list := h.do("GET", "/v1/payments", merchantKey, nil).json(t)
	require.Empty(t, list["data"])
	require.Empty(t, h.engine.seen)
}

func TestAuthAndOtherMerchants(t *testing.T) {
	h := newHarness(t)
	p := h.do("POST", "/v1/payments", merchantKey, cardPayment(1234, "automatic")).json(t)
	id := p["id"].(string)
	for _, key := range []string{"", "sk_test_nope", "Basic abc"} {
		r := h.do("GET", "/v1/payments/"+id, key, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Equal(t, "unauthorized", r.errCode(t))
	}
	other := "sk_test_OTHERMERCHANT01"
	for _, path := range []string{"/v1/payments/" + id, "/v1/payments/" + id + "/events", "/v1/payments/" + id + "/refunds", "/v1/payments/" + id + "/receipt"} {
		r := h.do("GET", path, other, nil)
		require.Equal(t, http.StatusNotFound, r.Status, path)
		require.NotContains(t, string(r.Body), id)
	}
	for _, path := range []string{"/capture", "/cancel", "/refunds"} {
		r := h.do("POST", "/v1/payments/"+id+path, other, map[string]any{"amount": 1})
		require.Equal(t, http.StatusNotFound, r.Status, path)
	}
	list := h.do("GET", "/v1/payments", other, nil).json(t)
	require.Empty(t, list["data"])
	doc := h.do("GET", "/v1/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, doc.Status)
	require.Contains(t, string(doc.Body), `"openapi":"3.1.0"`)
}

func TestListFiltersAndPagination(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 5; i++ {
		b := cardPayment(int64(1000+i), "automatic")
		b["reference"] = fmt.Sprintf("ref-%d", i%2)
		require.Equal(t, http.StatusCreated, h.do("POST", "/v1/payments", merchantKey, b).Status)
	}
	page1 := h.do("GET", "/v1/payments?limit=2", merchantKey, nil).json(t)
	require.Len(t, page1["data"], 2)
	require.Equal(t, true, page1["has_more"])
	page2 := h.do("GET", "/v1/payments?limit=2&cursor="+page1["next_cursor"].(string), merchantKey, nil).json(t)
	require.Len(t, page2["data"], 2)
	page3 := h.do("GET", "/v1/payments?limit=2&cursor="+page2["next_cursor"].(string), merchantKey, nil).json(t)
	require.Len(t, page3["data"], 1)
	require.Equal(t, false, page3["has_more"])
	seen := map[string]bool{}
	for _, pg := range []map[string]any{page1, page2, page3} {
		for _, p := range pg["data"].([]any) {
			seen[p.(map[string]any)["id"].(string)] = true
		}
	}
	require.Len(t, seen, 5)
	ref := h.do("GET", "/v1/payments?reference=ref-1", merchantKey, nil).json(t)
	require.Len(t, ref["data"], 2)
	bad := h.do("GET", "/v1/payments?status=nope", merchantKey, nil)
	require.Equal(t, http.StatusBadRequest, bad.Status)
	require.Equal(t, "status", bad.json(t)["error"].(map[string]any)["param"])
}

func TestReceipt(t *testing.T) {
	h := newHarness(t)
	b := cardPayment(1234, "automatic")
	b["description"] = `<script>alert(1)</script>`
	p := h.do("POST", "/v1/payments", merchantKey, b).json(t)
	j := h.do("GET", "/v1/payments/"+p["id"].(string)+"/receipt", merchantKey, nil)
	require.Equal(t, http.StatusOK, j.Status)
	require.Equal(t, "R-"+p["rrn"].(string), j.json(t)["receipt_number"])
	html := h.do("GET", "/v1/payments/"+p["id"].(string)+"/receipt", merchantKey, nil, "Accept", "text/html")
	require.Equal(t, http.StatusOK, html.Status)
	require.Contains(t, html.Header.Get("Content-Type"), "text/html")
	require.Contains(t, string(html.Body), "12.34 USD")
	require.NotContains(t, string(html.Body), "<script>")
	require.Contains(t, string(html.Body), "&lt;script&gt;")
}

func TestRateLimitAndReadiness(t *testing.T) {
	h := newHarness(t)
	var notReady atomic.Bool
	api, err := NewAPI(h.svc, HTTPConfig{RateLimit: 2, Ready: func() error {
		if notReady.Load() {
			return errPrivateForTest
		}
		return nil
	}}, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(api.Handler())
	defer srv.Close()
	old := h.srv
	h.srv = srv
	defer func() { h.srv = old }()
	var last reply
	for i := 0; i < 3; i++ {
		last = h.do("GET", "/v1/payments", merchantKey, nil)
	}
	require.Equal(t, http.StatusTooManyRequests, last.Status)
	require.Equal(t, "rate_limited", last.errCode(t))
	require.NotEmpty(t, last.Header.Get("Retry-After"))
	require.Equal(t, http.StatusOK, h.do("GET", "/v1/payments", "sk_test_OTHERMERCHANT01", nil).Status, "the limit is per key")
	notReady.Store(true)
	r := h.do("GET", "/v1/payments", "sk_test_GOVAGENCY000001", nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status)
	require.Equal(t, "service_unavailable", r.errCode(t))
}
