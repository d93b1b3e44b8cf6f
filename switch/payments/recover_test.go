package payments

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// intent writes what the API writes before an authorisation is sent, as a crash would leave it.
func intent(t *testing.T, h *harness, id, engineID, key string, capture string) {
	t.Helper()
	now := time.Now().UTC()
	p := &store.Payment{ID: id, Merchant: "MERCHANT0000001", Status: store.StatusCreated, Amount: 1500, Currency: "840",
		Reference: "r", Description: "d", Capture: capture, CardMasked: "411111******1111", CardExpMonth: 12, CardExpYear: 2030,
		Terminal: "WTEST026", EngineID: engineID, PendingOp: store.OpAuthorize, PendingID: engineID, CreatedAt: now, UpdatedAt: now}
	w := &store.Write{Payments: []*store.Payment{p}, Idempotency: []store.Idempotency{{APIKeyID: "key_test_merchant0000001",
		Key: key, RequestHash: "h", Op: opCreatePayment, ResourceID: id, CreatedAt: now}}}
	require.NoError(t, h.svc.commit(context.Background(), w))
}

// After a crash, a payment whose outcome was not recorded is resolved from the ledger, and the
// Idempotency-Key in flight gets that answer: the shop's retry sees the truth, charged once.
func TestRecoverResolvesFromTheLedger(t *testing.T) {
	h := newHarness(t)
	held := "0200/WTEST026/000001/1206120000"
	h.engine.txs[held] = &ledger.Transaction{ID: held, RRN: "RRN000000001", ResponseCode: iso8583.RCApproved, ApprovalCode: "ABC123", Status: ledger.StatusPosted}
	authHeld := "0100/WTEST026/000002/1206120000"
	h.engine.txs[authHeld] = &ledger.Transaction{ID: authHeld, RRN: "RRN000000002", ResponseCode: iso8583.RCApproved, ApprovalCode: "ABC124", Status: ledger.StatusHeld}
	recovered := "0200/WTEST026/000003/1206120000"
	h.engine.txs[recovered] = &ledger.Transaction{ID: recovered, RRN: "RRN000000003", ResponseCode: iso8583.RCSystemMalfunction, Status: ledger.StatusRecovered}
	intent(t, h, "pay_held", held, "k1", "automatic")
	intent(t, h, "pay_auth", authHeld, "k2", "manual")
	intent(t, h, "pay_recovered", recovered, "k3", "automatic")
	intent(t, h, "pay_absent", "0200/WTEST026/000004/1206120000", "k4", "automatic")

	n, err := h.svc.Recover(context.Background(), 0)
	require.NoError(t, err)
	require.Equal(t, 4, n)
	want := map[string]string{"pay_held": "succeeded", "pay_auth": "authorised", "pay_recovered": "failed", "pay_absent": "failed"}
	for id, status := range want {
		p := h.do("GET", "/v1/payments/"+id, merchantKey, nil).json(t)
		require.Equal(t, status, p["status"], id)
	}
	p := h.do("GET", "/v1/payments/pay_held", merchantKey, nil).json(t)
	require.Equal(t, "RRN000000001", p["rrn"])
	require.EqualValues(t, 1500, p["amount_captured"])
	un, err := h.store.Unresolved(context.Background())
	require.NoError(t, err)
	require.Empty(t, un, "nothing left half-done")

	// The keys in flight answer with the resolved payment.
	rec, err := h.store.Idempotency(context.Background(), "key_test_merchant0000001", "k1")
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, rec.Status)
	require.Contains(t, rec.Body, `"status":"succeeded"`)
	inflight, err := h.store.InFlightIdempotency(context.Background())
	require.NoError(t, err)
	require.Empty(t, inflight)
}

// A payment created without a card expires when nobody pays it; an authorised one when its hold
// is never captured. Each announces it with payment.expired.
func TestExpire(t *testing.T) {
	h := newHarness(t)
	page := h.do("POST", "/v1/payments", merchantKey, map[string]any{"amount": 300, "currency": "USD", "reference": "r", "description": "d"}).json(t)
	hold := h.do("POST", "/v1/payments", merchantKey, cardPayment(2000, "manual")).json(t)
	paid := h.do("POST", "/v1/payments", merchantKey, cardPayment(2000, "automatic")).json(t)

	n, err := h.svc.Expire(context.Background())
	require.NoError(t, err)
	require.Zero(t, n, "nothing is old enough")
	later := time.Now().Add(8 * 24 * time.Hour)
	h.svc.d.Now = func() time.Time { return later }
	n, err = h.svc.Expire(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	for id, status := range map[string]string{page["id"].(string): "expired", hold["id"].(string): "expired", paid["id"].(string): "succeeded"} {
		require.Equal(t, status, h.do("GET", "/v1/payments/"+id, merchantKey, nil).json(t)["status"])
	}
	evs := h.do("GET", "/v1/payments/"+hold["id"].(string)+"/events", merchantKey, nil).json(t)["data"].([]any)
	require.Equal(t, "payment.expired", evs[len(evs)-1].(map[string]any)["type"])
	c := h.do("POST", "/v1/payments/"+hold["id"].(string)+"/capture", merchantKey, nil)
	require.Equal(t, http.StatusConflict, c.Status)
}

// Webhook endpoints over the API: the secret shown once, the guard's refusal, another merchant's
// endpoint not found, and a payment's event queued for the endpoint in the payment's transaction.
func TestWebhookEndpointHandlers(t *testing.T) {
	h := newHarness(t)
	h.api.webhooks = func(_ context.Context, u string) error {
		if u == "http://10.0.0.1/hook" {
			return errPrivateForTest
		}
		return nil
	}
	refused := h.do("POST", "/v1/webhook-endpoints", merchantKey, map[string]any{"url": "http://10.0.0.1/hook"})
	require.Equal(t, http.StatusBadRequest, refused.Status)
	require.Equal(t, "url_not_allowed", refused.errCode(t))
	created := h.do("POST", "/v1/webhook-endpoints", merchantKey, map[string]any{"url": "https://shop.example/hook", "events": []string{"payment.succeeded"}})
	require.Equal(t, http.StatusCreated, created.Status, "%s", created.Body)
	ep := created.json(t)
	require.Regexp(t, `^whsec_[A-Za-z0-9+/]+=*$`, ep["secret"])
	id := ep["id"].(string)
	got := h.do("GET", "/v1/webhook-endpoints/"+id, merchantKey, nil)
	require.NotContains(t, string(got.Body), ep["secret"].(string))
	require.Equal(t, http.StatusNotFound, h.do("GET", "/v1/webhook-endpoints/"+id, "sk_test_OTHERMERCHANT01", nil).Status)

	h.do("POST", "/v1/payments", merchantKey, cardPayment(1234, "automatic"))
	h.do("POST", "/v1/payments", merchantKey, cardPayment(1205, "automatic")) // declined: not subscribed
	due, err := h.store.DueOutbox(context.Background(), time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, "payment.succeeded", due[0].EventType)

	rot := h.do("POST", "/v1/webhook-endpoints/"+id+"/rotate-secret", merchantKey, nil).json(t)
	require.NotEqual(t, ep["secret"], rot["secret"])
	del := h.do("DELETE", "/v1/webhook-endpoints/"+id, merchantKey, nil).json(t)
	require.Equal(t, false, del["enabled"])
	list := h.do("GET", "/v1/webhook-endpoints/"+id+"/deliveries", merchantKey, nil)
	require.Equal(t, http.StatusOK, list.Status)
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errPrivateForTest = testErr("the address is on a private network")
