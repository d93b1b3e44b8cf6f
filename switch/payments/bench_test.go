package payments

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// BenchmarkCreatePayment is the API's own cost per card payment, over HTTP on loopback, with an
// engine that answers at once: decoding, validation against the document, authentication,
// idempotency, two durable writes (intent and outcome) and the answer.
func BenchmarkCreatePayment(b *testing.B) {
	st, err := store.Open(context.Background(), store.Config{Path: filepath.Join(b.TempDir(), "ledger.db")})
	if err != nil {
		b.Fatal(err)
	}
	h := newHarnessOn(&testing.T{}, st, newFakeEngine())
	defer st.Close()
	defer h.stop()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	client := &http.Client{Transport: tr}
	var n atomic.Int64
	body := []byte(`{"amount":1234,"currency":"USD","reference":"order-1","description":"bench","card":{"number":"4111111111111111","expiry_month":12,"expiry_year":2030,"cvc":"123"}}`)
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	const clients = 64
	per := b.N/clients + 1
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				req, _ := http.NewRequest("POST", h.srv.URL+"/v1/payments", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+merchantKey)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", fmt.Sprintf("k%d", n.Add(1)))
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				buf := make([]byte, 4096)
				for {
					if _, err := resp.Body.Read(buf); err != nil {
						break
					}
				}
				resp.Body.Close()
				if resp.StatusCode != 201 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "payments/s")
}
