package e2e

// The hosted payment page in a real browser (issue 10): Debian's chromium, headless, driven by
// chromedp, against `cardswitch serve` with the default topology's merchants and test keys, as a
// citizen meets it: a bill created by the agency's portal, its page opened, the form filled in by
// keyboard, the return to the portal, the receipt read there. Each page is saved as a screenshot
// under a temporary folder whose path the test logs.

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
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

const agencyKey = "sk_test_GOVAGENCY000001"

// chromiumPath finds Debian's chromium; outside CI a machine without it skips the browser tests,
// in CI (.ci/run installs it) its absence fails them.
func chromiumPath(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: .ci/run installs Debian's chromium package for the browser tests")
	}
	t.Skip("chromium is not installed (apt-get install chromium): the browser tests need Debian's chromium")
	return ""
}

// govSystem is the switch with a government portal beside it: the portal's return URL shows the
// payment's receipt, read from the payments API with the agency's key (never from the browser).
type govSystem struct {
	*system
	portal *httptest.Server
	shots  string
	alloc  context.Context // the browser; each tab has a browser context of its own
}

func startGov(t *testing.T) *govSystem {
	t.Helper()
	exe := chromiumPath(t)
	s := startSystem(t, systemOpts{})
	g := &govSystem{system: s}
	g.portal = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("payment_id")
		req, _ := http.NewRequest("GET", "http://"+s.api+"/v1/payments/"+id+"/receipt", nil)
		req.Header.Set("Authorization", "Bearer "+agencyKey)
		req.Header.Set("Accept", "text/html")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(resp.StatusCode)
		fmt.Fprintf(w, "<!-- portal: payment %s -->", id)
		w.Write(body)
	}))
	t.Cleanup(g.portal.Close)
	dir, err := os.MkdirTemp("", "cardswitch-browser-"+t.Name()+"-")
	require.NoError(t, err)
	g.shots = dir
	t.Logf("screenshots of %s: %s", t.Name(), dir)
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(412, 915)}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(cancelRoot)
	require.NoError(t, chromedp.Do(root), "start chromium")
	g.alloc = root
	return g
}

// tab is a browser tab of its own (its own cookies), bounded in time.
func (g *govSystem) tab(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(g.alloc, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelT)
	require.NoError(t, chromedp.Do(ctx))
	return ctx
}

func (g *govSystem) shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(g.shots, name+".png"), png, 0o644))
}

// api calls the payments API with the agency's key.
func (g *govSystem) api(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+g.system.api+path, rd)
	req.Header.Set("Authorization", "Bearer "+agencyKey)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var m map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m
}

func (g *govSystem) bill(t *testing.T, ref string, amount int64, description string) string {
	t.Helper()
	code, b := g.api(t, "POST", "/v1/bills", map[string]any{"reference": ref, "amount": amount, "currency": "USD",
		"description": description, "payer_name": "Ada Lovelace", "return_url": g.portal.URL + "/done",
		"items": []map[string]any{{"revenue_code": "14220101", "description": "Licence fee", "amount": amount - 1000},
			{"revenue_code": "14220199", "description": "Card", "amount": 1000}}})
	require.Equal(t, http.StatusCreated, code, "%v", b)
	return b["links"].(map[string]any)["pay_url"].(string)
}

// fill types a card into the form with the keyboard, field after field by Tab, as a person
// without a mouse does; submit presses Enter.
func fill(number string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.WaitVisible(chromedp.CSS("#card_number")),
		chromedp.Focus(chromedp.CSS("#card_number")),
		chromedp.KeyEvent(number), chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("12"), chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("2030"), chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("123"), chromedp.KeyEvent("\t"),
		chromedp.KeyEvent("Ada Lovelace"),
	)
}

// submit presses Enter in the form and waits for the page that answers it to load.
func submit() chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.KeyEvent("\r"))(ctx, tg)
		return err
	})
}

func nav(url string) chromedp.Action[chromedp.Void] { return chromedp.Navigate(url) }

// do runs steps in the tab.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, steps...))
}

// text is the visible text of the first element sel selects, once it is there.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	require.NoError(t, err, "the page has no visible %s", sel)
	return v
}

// location is the tab's URL once its page has a main element (from the navigation history,
// which needs no script: the page may run with JavaScript off).
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	do(t, ctx, chromedp.WaitVisible(chromedp.CSS("main")))
	h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
	require.NoError(t, err)
	return h.Entries[h.CurrentIndex].URL
}

func TestBrowserCitizenPaysABillAndReadsTheReceipt(t *testing.T) {
	g := startGov(t)
	ctx := g.tab(t)
	pay := g.bill(t, "CN-2026-0001", 5000, "Driving licence renewal")

	do(t, ctx, nav(pay))
	title, total := text(t, ctx, "h1"), text(t, ctx, "#total")
	require.Contains(t, title, "CN-2026-0001")
	require.Equal(t, "51.00\u00a0USD", total, "amount 50.00 and the agency's convenience fee 1.00")
	g.shot(t, ctx, "1-bill-page")

	// A declined card first: the reason in words, and the form again.
	do(t, ctx, fill("6011000990139424"), submit())
	decline := text(t, ctx, "#decline")
	require.Contains(t, decline, "Cards of this kind are not accepted.")
	require.Contains(t, decline, "You have not been charged")
	g.shot(t, ctx, "2-declined")

	do(t, ctx, fill("4111111111111111"), submit())
	url := location(t, ctx)
	receipt := text(t, ctx, "main")
	require.True(t, strings.HasPrefix(url, g.portal.URL+"/done?payment_id=pay_"), url)
	g.shot(t, ctx, "3-receipt-on-the-portal")
	require.Contains(t, receipt, "Receipt R-")
	require.Contains(t, receipt, "CN-2026-0001")
	require.Contains(t, receipt, "411111******1111")

	code, b := g.api(t, "GET", "/v1/bills/CN-2026-0001", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "paid", b["status"])

	// The same page again, or the payment's own page: paid, nothing charged twice.
	do(t, ctx, nav(pay))
	require.Contains(t, text(t, ctx, "#message"), "already been paid")
	g.shot(t, ctx, "4-bill-already-paid")

	// The agency's report of the day, matched to the ledger's agency payable.
	g.reconcile(t, 1)
}

// reconcile checks the day's settlement report of the agency against the ledger's trial balance.
func (g *govSystem) reconcile(t *testing.T, billsPaid int) {
	t.Helper()
	var tb struct {
		Currencies []struct {
			Accounts []struct {
				Account       string `json:"account"`
				DebitsPosted  int64  `json:"debits_posted"`
				CreditsPosted int64  `json:"credits_posted"`
			} `json:"accounts"`
		} `json:"currencies"`
	}
	require.Equal(t, http.StatusOK, getJSON(t, "http://"+g.http+"/v1/ledger/trial-balance", &tb))
	var payable int64
	for _, c := range tb.Currencies {
		for _, a := range c.Accounts {
			if a.Account == "agency:GOVAGENCY000001:payable" {
				payable = a.CreditsPosted - a.DebitsPosted
			}
		}
	}
	code, list := g.api(t, "GET", "/v1/settlements", nil)
	require.Equal(t, http.StatusOK, code)
	data := list["data"].([]any)
	require.Len(t, data, 1, "one business day so far")
	st := data[0].(map[string]any)
	code, rep := g.api(t, "GET", st["links"].(map[string]any)["transactions"].(string), nil)
	require.Equal(t, http.StatusOK, code)
	var sum int64
	for _, tx := range rep["data"].([]any) {
		sum += int64(tx.(map[string]any)["amount"].(float64))
	}
	require.Equal(t, payable, sum, "the report's transactions add up to the ledger's agency payable, to the cent")
	require.EqualValues(t, payable, st["net"])
	require.EqualValues(t, billsPaid, st["bills_paid"])

	// The same report from the CLI, on the running switch's database.
	out, err := exec.Command(binary, "ledger", "settlement", "--data-dir", g.dataDir, "--business-day", st["business_day"].(string),
		"--agency", "GOVAGENCY000001", "--json").CombinedOutput()
	require.NoError(t, err, "%s", out)
	var cli map[string]any
	require.NoError(t, json.Unmarshal(out, &cli), "%s", out)
	require.Equal(t, rep["data"], cli["data"], "the CLI prints the API's report")
	require.EqualValues(t, payable, cli["settlement"].(map[string]any)["net"])
}

func TestBrowserWorksWithJavaScriptOff(t *testing.T) {
	g := startGov(t)
	ctx := g.tab(t)
	_, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)
	pay := g.bill(t, "CN-NOJS-1", 2500, "Fishing permit")
	do(t, ctx, nav(pay))
	g.shot(t, ctx, "1-no-javascript")
	// A wrong card number is caught by the server and the error is shown next to the field.
	do(t, ctx, fill("4111111111111112"), submit())
	require.Contains(t, text(t, ctx, "#card_number-error"), "Enter a valid card number")
	g.shot(t, ctx, "2-no-javascript-error-next-to-the-field")
	do(t, ctx, fill("4111111111111111"), submit())
	url := location(t, ctx)
	receipt := text(t, ctx, "main")
	require.True(t, strings.HasPrefix(url, g.portal.URL+"/done"), "%s: %s", url, receipt)
	require.Contains(t, receipt, "CN-NOJS-1")
	g.shot(t, ctx, "3-no-javascript-receipt")
}

func TestBrowserScriptInADescriptionIsText(t *testing.T) {
	g := startGov(t)
	ctx := g.tab(t)
	evil := `Fine <script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">`
	pay := g.bill(t, "CN-XSS-1", 3000, evil)
	do(t, ctx, nav(pay))
	shown := text(t, ctx, "dl.summary")
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.__pwned !== undefined`))
	require.NoError(t, err)
	require.False(t, pwned, "the description's script must not run")
	require.Contains(t, shown, "<script>window.__pwned=1</script>", "it is shown as text")
	g.shot(t, ctx, "1-script-as-text")
}

func TestBrowserReplayedTamperedAndExpiredTokens(t *testing.T) {
	g := startGov(t)
	ctx := g.tab(t)
	code, p := g.api(t, "POST", "/v1/payments", map[string]any{"amount": 1500, "currency": "USD", "reference": "fee-77",
		"description": "Certificate copy", "return_url": g.portal.URL + "/done"})
	require.Equal(t, http.StatusCreated, code)
	next := p["links"].(map[string]any)["next_url"].(string)
	do(t, ctx, nav(next), fill("5555555555554444"), submit())
	location(t, ctx)
	code, got := g.api(t, "GET", "/v1/payments/"+p["id"].(string), nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "succeeded", got["status"])

	do(t, ctx, nav(next))
	require.Contains(t, text(t, ctx, "#message"), "already been made", "a used token is refused")
	g.shot(t, ctx, "1-replayed-token")

	tampered := next[:len(next)-1] + map[bool]string{true: "b", false: "a"}[strings.HasSuffix(next, "a")]
	do(t, ctx, nav(tampered))
	require.Contains(t, text(t, ctx, "h1"), "not valid")
	g.shot(t, ctx, "2-tampered-token")

	// A bill that expires while its page is open.
	code, b := g.api(t, "POST", "/v1/bills", map[string]any{"reference": "CN-EXP-1", "amount": 2000, "currency": "USD",
		"description": "Late fee", "expires_at": time.Now().Add(2 * time.Second).UTC().Format(time.RFC3339Nano)})
	require.Equal(t, http.StatusCreated, code, "%v", b)
	do(t, ctx, nav(b["links"].(map[string]any)["pay_url"].(string)), fill("4111111111111111"))
	time.Sleep(2500 * time.Millisecond) // the bill's own expiry, not a wait for the switch
	do(t, ctx, submit())
	require.Contains(t, text(t, ctx, "h1"), "expired")
	g.shot(t, ctx, "3-expired-bill")
}

func TestBrowserIssuerTimeoutChargesNothing(t *testing.T) {
	g := startGov(t)
	ctx := g.tab(t)
	// The issuer simulator never answers amounts ending in 99 (the fee 1.00 keeps the cents).
	pay := g.bill(t, "CN-SLOW-1", 4099, "Building permit")
	do(t, ctx, nav(pay), fill("4111111111111111"), submit())
	decline := text(t, ctx, "#decline")
	require.Contains(t, decline, "did not answer in time")
	require.Contains(t, decline, "You have not been charged")
	g.shot(t, ctx, "1-issuer-timeout")
	code, b := g.api(t, "GET", "/v1/bills/CN-SLOW-1", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "open", b["status"])
	ps := b["payments"].([]any)
	require.Len(t, ps, 1)
	require.Equal(t, "91", ps[0].(map[string]any)["response_code"])
	require.Equal(t, "created", ps[0].(map[string]any)["status"], "the payer may try again")
	g.reconcileNothing(t)
}

// reconcileNothing checks that the agency's payable holds nothing: no payer was charged.
func (g *govSystem) reconcileNothing(t *testing.T) {
	t.Helper()
	code, list := g.api(t, "GET", "/v1/settlements", nil)
	require.Equal(t, http.StatusOK, code)
	for _, s := range list["data"].([]any) {
		require.EqualValues(t, 0, s.(map[string]any)["net"])
	}
}

func TestBrowserTwoPayersOneBill(t *testing.T) {
	g := startGov(t)
	pay := g.bill(t, "CN-RACE-1", 6000, "Property tax")
	tabs := []context.Context{g.tab(t), g.tab(t)}
	for _, ctx := range tabs {
		do(t, ctx, nav(pay), fill("4111111111111111"))
	}
	var wg sync.WaitGroup
	urls := make([]string, 2)
	errs := make([]error, 2)
	for i, ctx := range tabs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = chromedp.Do(ctx, submit(), chromedp.WaitVisible(chromedp.CSS("main"))); errs[i] == nil {
				h, err := chromedp.Run(ctx, chromedp.NavigationEntries())
				if errs[i] = err; err == nil {
					urls[i] = h.Entries[h.CurrentIndex].URL
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	landed := 0
	for i, ctx := range tabs {
		g.shot(t, ctx, fmt.Sprintf("payer-%d", i+1))
		if strings.HasPrefix(urls[i], g.portal.URL) {
			landed++
			continue
		}
		require.Contains(t, text(t, ctx, "#message"), "already been paid")
	}
	require.Equal(t, 1, landed, "one payer pays, the other is told the bill is paid")
	code, b := g.api(t, "GET", "/v1/bills/CN-RACE-1", nil)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "paid", b["status"])
	require.Len(t, b["payments"], 1, "the second payer's authorisation was never sent")
	g.reconcile(t, 1)
}
