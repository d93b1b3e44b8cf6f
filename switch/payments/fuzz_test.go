package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// FuzzCreatePayment feeds any body (and Idempotency-Key) to POST /v1/payments: the answer is a
// 201 payment or an error in the contract's shape, never a 500, never a card number echoed, and a
// 400 stores nothing.
func FuzzCreatePayment(f *testing.F) {
	for _, seed := range []string{
		`{"amount": 1234, "currency": "USD", "reference": "r", "description": "d"}`,
		`{"amount": 1234, "currency": "USD", "reference": "r", "description": "d", "card": {"number": "4111111111111111", "expiry_month": 12, "expiry_year": 2030, "cvc": "123"}}`,
		`{"amount": 1234, "currency": "USD", "reference": "r", "description": "d", "capture": "manual", "metadata": {"k": "v"}, "return_url": "https://x.example/"}`,
		`{"amount": 12`, `[]`, `null`, `{"amount": 1e400}`, `{"amount": -1}`, `{"card": {"number": "4111111111111111"}}`,
		`{"amount": 1, "currency": "USD", "reference": "\u0000", "description": "\ud800"}`,
	} {
		f.Add([]byte(seed), "key-1")
	}
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(f.TempDir(), "ledger.db")})
	if err != nil {
		f.Fatal(err)
	}
	h := newHarnessOn(&testing.T{}, st, newFakeEngine())
	defer st.Close()
	defer h.stop()
	handler := h.api.Handler()
	f.Fuzz(func(t *testing.T, body []byte, key string) {
		req := httptest.NewRequest(http.MethodPost, "/v1/payments", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+merchantKey)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		out := rec.Body.Bytes()
		if rec.Code >= 500 {
			t.Fatalf("%d for %q: %s", rec.Code, body, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("not JSON (%d): %q", rec.Code, out)
		}
		if rec.Code >= 400 {
			e, ok := m["error"].(map[string]any)
			if !ok || e["code"] == "" || e["message"] == "" {
				t.Fatalf("not the error shape: %s", out)
			}
		}
		if strings.Contains(string(out), "4111111111111111") {
			t.Fatalf("a card number in the answer: %s", out)
		}
	})
}
