package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkHostedPagePayments measures the hosted page without a browser against the built
// switch with its two issuer simulators, everything on this machine: one page payment is the GET
// of a bill's page and the POST of its card form, authorised through the engine, the issuer link
// and the ledger, answered 303 to the portal. The bills are created beforehand. It reports page
// payments per second and the page's size.
//
//	go test ./e2e -run '^$' -bench HostedPagePayments -benchtime 6000x
//
// CARDSWITCH_BENCH_API=host:port measures a switch already running there instead (its
// api.page.rate_limit must be -1), e.g. to profile it.
func BenchmarkHostedPagePayments(b *testing.B) {
	addr := os.Getenv("CARDSWITCH_BENCH_API")
	if addr == "" {
		s := startSystem(b, systemOpts{apiYAML: "  page: {rate_limit: -1}\n  rate_limit: -1\n", logLevel: "info"})
		addr = s.api
	}
	base := "http://" + addr
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	refs := make([]string, b.N)
	create := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				refs[i] = fmt.Sprintf("BENCH-%s-%d", run, i)
				body := fmt.Sprintf(`{"reference":%q,"amount":5000,"currency":"USD","description":"Licence","return_url":"https://portal.example/done"}`, refs[i])
				req, _ := http.NewRequest("POST", base+"/v1/bills", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+agencyKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := create.Do(req)
				if err != nil || resp.StatusCode != http.StatusCreated {
					b.Errorf("create bill: %v %v", err, resp)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if b.Failed() {
		return
	}
	const payers = 64
	var pageBytes atomic.Int64
	var failures atomic.Int64
	next.Store(0)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < payers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, Transport: &http.Transport{MaxIdleConnsPerHost: 2},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for i := int(next.Add(1)) - 1; i < b.N; i = int(next.Add(1)) - 1 {
				if err := payOnPage(c, base+"/pay/bill/GOVAGENCY000001/"+refs[i], &pageBytes); err != nil {
					if failures.Add(1) == 1 {
						b.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "payments/s")
	b.ReportMetric(float64(pageBytes.Load())/float64(b.N), "page-bytes")
	require.Zero(b, failures.Load())
}

var benchCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// payOnPage is one payer: the page, then the card form, which must answer 303 to the portal.
func payOnPage(c *http.Client, pageURL string, pageBytes *atomic.Int64) error {
	resp, err := c.Get(pageURL)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", pageURL, resp.StatusCode)
	}
	pageBytes.Add(int64(len(body)))
	m := benchCSRF.FindSubmatch(body)
	if m == nil {
		return fmt.Errorf("no form on %s", pageURL)
	}
	form := url.Values{"csrf_token": {string(m[1])}, "card_number": {"4111111111111111"}, "expiry_month": {"12"},
		"expiry_year": {"2030"}, "cvc": {"123"}, "cardholder_name": {"Ada Lovelace"}}
	resp, err = c.PostForm(pageURL, form)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://portal.example/done?payment_id=") {
		return fmt.Errorf("POST %s: %d %s", pageURL, resp.StatusCode, resp.Header.Get("Location"))
	}
	return nil
}
