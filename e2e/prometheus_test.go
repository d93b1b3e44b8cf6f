package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// TestDashboardAndRulesAgainstPrometheus runs a real Prometheus (Debian's prometheus package,
// installed by .ci/run) scraping `cardswitch serve` while `cardswitch load` drives it with
// approvals, declines, refunds, reversals and issuer timeouts, through an outage of issuer beta
// (stand-in approvals, reversals waiting in store-and-forward), with payments API traffic. It then runs every query of the
// Grafana dashboard and every recording and alerting rule's expression through Prometheus' HTTP
// API and fails on any that returns nothing: a panel or alert built on a series the switch does
// not publish is found here, not at 3 a.m.
//
// An alert's expression is run with its comparisons made to return 0 or 1 (the "bool" modifier),
// so that a healthy run, in which no alert fires, still proves that every series the alert reads
// exists. The few series that cannot exist in this run are listed in promAllowMissing, each with
// its reason; one of them that does return data fails the test, so the list stays short.
func TestDashboardAndRulesAgainstPrometheus(t *testing.T) {
	promBin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (.ci/run installs Debian's prometheus package)")
	}
	s := startPromSystem(t)
	prom := startPrometheus(t, promBin, s.http)
	scraped := func(expr string) func() bool {
		return func() bool { r, err := prom.query(expr); return err == nil && r.nonEmpty() }
	}
	require.Eventually(t, scraped(`up{job="cardswitch"} == 1`), 20*time.Second, 100*time.Millisecond, "prometheus scrapes the switch")

	// Load for the whole test; an outage of beta in the middle of it.
	ld := start(t, "load", nil, "load", "--target", s.acquirer, "--rate", loadRate(150), "--duration", "25s", "--timeout", "4s",
		"--mix", "purchase=45,preauth=15,refund=5,reversal=15,decline=12,timeout=8", "--terminals", "8", "--quiet", "--seed", "11")
	metrics := func() string { _, body := httpGet(t, "http://"+s.http+"/metrics"); return body }
	require.Eventually(t, func() bool { return metricSum(metrics(), "cardswitch_transactions_total") > 200 },
		20*time.Second, 100*time.Millisecond, "the load reaches the switch")
	// Payments API traffic, before and after the outage (a histogram's rate needs observations
	// after its first scrape): approvals, a decline, payments read back, a malformed request.
	apiTraffic := func() {
		for i := range 5 {
			code, body := apiDo(t, s.api, http.MethodPost, "/v1/payments", cardPayment(apiPANs.sale, int64(1000+i*100), "automatic"))
			require.Equal(t, http.StatusCreated, code, "%s", body)
			var p struct{ ID string }
			require.NoError(t, json.Unmarshal(body, &p))
			code, _ = apiDo(t, s.api, http.MethodGet, "/v1/payments/"+p.ID, nil)
			require.Equal(t, http.StatusOK, code)
		}
		code, _ := apiDo(t, s.api, http.MethodPost, "/v1/payments", cardPayment(apiPANs.decline, 1051, "automatic"))
		require.Equal(t, http.StatusCreated, code)
		code, _ = apiDo(t, s.api, http.MethodPost, "/v1/payments", map[string]any{"amount": "x"})
		require.Equal(t, http.StatusBadRequest, code)
	}
	apiTraffic()
	require.Eventually(t, scraped(`cardswitch_http_request_duration_seconds_count{listener="api"}`), 20*time.Second, 100*time.Millisecond,
		"prometheus has the API's series before the second batch")
	require.Equal(t, 0, s.beta.stop(10*time.Second))
	require.Eventually(t, func() bool {
		m := metrics()
		return metricSum(m, `cardswitch_stand_in_approvals_total{issuer="beta"}`) > 0 && metricSum(m, "cardswitch_saf_depth") > 0
	}, 15*time.Second, 100*time.Millisecond, "with beta down, its cards are stood in and reversals for it wait in store-and-forward")
	s.beta = start(t, "issuer-sim beta (restarted)", nil, "issuer-sim", "--listen", s.betaAddr, "--name", "beta", "--slow-delay", "3s")
	apiTraffic()
	select {
	case <-ld.done:
	case <-time.After(60 * time.Second):
		t.Fatal("the load did not finish")
	}
	require.Equal(t, 0, ld.cmd.ProcessState.ExitCode(), tail(ld.out.String(), 2000))
	m := metrics()
	for _, series := range []string{`cardswitch_issuer_requests_total{issuer="alpha",result="timeout"}`,
		`cardswitch_transactions_total{response_code="51",type="purchase"}`, `cardswitch_transactions_total{response_code="00",type="reversal"}`,
		`cardswitch_transactions_total{response_code="00",type="refund"}`, "cardswitch_saf_delivered_total"} {
		require.Positive(t, metricSum(m, series), "%s: the run exercises it", series)
	}
	// Prometheus has scraped the end of the run and evaluated the recording rules on it.
	require.Eventually(t, scraped(`cardswitch:approval_ratio:rate5m and on() (time() - timestamp(up{job="cardswitch"}) < 2)`),
		20*time.Second, 200*time.Millisecond, "prometheus scrapes the switch and records the rules")

	queries := dashboardQueries(t)
	require.Greater(t, len(queries), 40)
	queries = append(queries, ruleQueries(t)...)
	used, missing := map[string]bool{}, 0
	for _, q := range queries {
		res, err := prom.query(q.expr)
		require.NoError(t, err, "%s: %s", q.source, q.expr)
		reason, allowed := allowedMissing(q.expr)
		if allowed {
			used[reason] = true
			missing++
		}
		switch {
		case allowed && res.nonEmpty():
			t.Errorf("%s now returns data; remove %q from promAllowMissing: %s", q.source, reason, q.expr)
		case !allowed && !res.nonEmpty():
			t.Errorf("%s returns nothing: %s\n(result: %s)", q.source, q.expr, res.raw)
		}
	}
	for _, a := range promAllowMissing {
		require.True(t, used[a.reason], "promAllowMissing %q matches no query any more: remove it", a.pattern)
	}
	t.Logf("%d dashboard and rule queries return data; %d are allowed to return nothing (%d reasons)", len(queries)-missing, missing, len(promAllowMissing))
}

// promAllowMissing lists the series that cannot exist in this run, by a pattern of the query
// text, with the reason. Keep it short: an entry whose query returns data fails the test.
var promAllowMissing = []struct{ pattern, reason string }{
	{`cardswitch_tls_certificate_expiry_timestamp_seconds`, "no TLS in this run (TestMutualTLSBothSides checks these series)"},
}

func allowedMissing(expr string) (string, bool) {
	for _, a := range promAllowMissing {
		if regexp.MustCompile(a.pattern).MatchString(expr) {
			return a.reason, true
		}
	}
	return "", false
}

// promSystem is a switch with two issuer simulators; beta has stand-in for its outage.
type promSystem struct {
	acquirer, http, api, betaAddr string
	beta                          *proc
}

func startPromSystem(t *testing.T) *promSystem {
	t.Helper()
	s := &promSystem{betaAddr: freePort(t)}
	alpha := freePort(t)
	start(t, "issuer-sim alpha", nil, "issuer-sim", "--listen", alpha, "--name", "alpha", "--slow-delay", "3s")
	s.beta = start(t, "issuer-sim beta", nil, "issuer-sim", "--listen", s.betaAddr, "--name", "beta", "--slow-delay", "3s")
	waitTCP(t, alpha)
	waitTCP(t, s.betaAddr)
	dataDir := t.TempDir()
	startServeOnFreePorts(t, "serve", func() (string, string) {
		s.acquirer, s.http, s.api = freePort(t), freePort(t), freePort(t)
		cfg := fmt.Sprintf(`acceptor: {listen: %q}
http: {listen: %q}
api: {listen: %q}
issuers:
  - {name: alpha, addr: %q, prefixes: ["4"], timeout: 1s, echo_interval: 1s, reconnect_max: 500ms}
  - {name: beta, addr: %q, prefixes: ["5"], timeout: 1s, echo_interval: 1s, reconnect_max: 500ms,
     stand_in: {enabled: true, max_amount: 100000}}
ledger: {data_dir: %q}
`, s.acquirer, s.http, s.api, alpha, s.betaAddr, dataDir)
		path := filepath.Join(t.TempDir(), "cardswitch.yaml")
		require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
		return path, s.http
	})
	return s
}

// promServer is a Prometheus started for the test.
type promServer struct{ addr string }

// startPrometheus runs Prometheus on a free port, scraping target every second as job
// "cardswitch", with the project's rules evaluated every second.
func startPrometheus(t *testing.T, bin, target string) *promServer {
	t.Helper()
	dir := t.TempDir()
	var rules map[string]any
	b, err := os.ReadFile("../deploy/prometheus/cardswitch.rules.yml")
	require.NoError(t, err)
	require.NoError(t, yaml.Unmarshal(b, &rules))
	for _, g := range rules["groups"].([]any) {
		g.(map[string]any)["interval"] = "1s"
	}
	b, err = yaml.Marshal(rules)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "rules.yml"), b, 0o600))
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [rules.yml]
scrape_configs:
  - job_name: cardswitch
    static_configs: [{targets: [%q]}]
`, target)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o600))
	p := &promServer{addr: freePort(t)}
	startExternal(t, "prometheus", bin, nil, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+p.addr, "--log.level=warn")
	require.Eventually(t, func() bool {
		code, _ := httpGet(t, "http://"+p.addr+"/-/ready")
		return code == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "prometheus never became ready")
	return p
}

// promResult is the data of a query's answer.
type promResult struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
	raw        string
}

// nonEmpty reports whether the result holds at least one value that is a number (a vector of
// NaNs, such as a quantile over no observations, is nothing).
func (r promResult) nonEmpty() bool {
	var values [][2]any
	switch r.ResultType {
	case "scalar":
		var v [2]any
		if json.Unmarshal(r.Result, &v) != nil {
			return false
		}
		values = append(values, v)
	case "vector":
		var vec []struct {
			Value [2]any `json:"value"`
		}
		if json.Unmarshal(r.Result, &vec) != nil {
			return false
		}
		for _, s := range vec {
			values = append(values, s.Value)
		}
	}
	for _, v := range values {
		s, _ := v[1].(string)
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(f) {
			return true
		}
	}
	return false
}

func (p *promServer) query(expr string) (promResult, error) {
	resp, err := http.Get("http://" + p.addr + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return promResult{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Status string     `json:"status"`
		Error  string     `json:"error"`
		Data   promResult `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return promResult{}, err
	}
	if body.Status != "success" {
		return promResult{}, fmt.Errorf("prometheus: %s", body.Error)
	}
	body.Data.raw = string(body.Data.Result)
	return body.Data, nil
}

type promQuery struct{ source, expr string }

// dashboardQueries returns every query of the Grafana dashboard (panels, rows' panels and
// template variables) with Grafana's variables replaced as Grafana would for this run.
func dashboardQueries(t *testing.T) []promQuery {
	t.Helper()
	b, err := os.ReadFile("../deploy/grafana/cardswitch.json")
	require.NoError(t, err)
	var dash struct {
		Panels     []dashPanel `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	require.NoError(t, json.Unmarshal(b, &dash))
	vars := strings.NewReplacer("$instance", ".*", "$__rate_interval", "1m", "$__range", "2m", "$__interval", "5s")
	var out []promQuery
	var walk func([]dashPanel)
	walk = func(ps []dashPanel) {
		for _, p := range ps {
			walk(p.Panels)
			for _, tg := range p.Targets {
				out = append(out, promQuery{"panel " + strconv.Quote(p.Title) + " " + tg.RefID, vars.Replace(tg.Expr)})
			}
		}
	}
	walk(dash.Panels)
	labelValues := regexp.MustCompile(`^label_values\((.+), *[a-z_]+\)$`)
	for _, v := range dash.Templating.List {
		if q, ok := v.Query.(string); ok {
			if m := labelValues.FindStringSubmatch(q); m != nil {
				out = append(out, promQuery{"variable $" + v.Name, m[1]})
			}
		}
	}
	return out
}

type dashPanel struct {
	Title   string      `json:"title"`
	Panels  []dashPanel `json:"panels"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

// ruleQueries returns every recording rule's expression and every alert's expression with its
// comparisons turned into 0/1 answers.
func ruleQueries(t *testing.T) []promQuery {
	t.Helper()
	b, err := os.ReadFile("../deploy/prometheus/cardswitch.rules.yml")
	require.NoError(t, err)
	var rules struct {
		Groups []struct {
			Rules []struct{ Record, Alert, Expr string } `yaml:"rules"`
		} `yaml:"groups"`
	}
	require.NoError(t, yaml.Unmarshal(b, &rules))
	var out []promQuery
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				out = append(out, promQuery{"recording rule " + r.Record, r.Expr})
			} else {
				out = append(out, promQuery{"alert " + r.Alert, boolComparisons(r.Expr)})
			}
		}
	}
	return out
}

// boolComparisons adds the bool modifier to every comparison operator outside label matchers
// and strings: "x > 0.02" filters, "x > bool 0.02" answers 0 or 1 for every series of x.
func boolComparisons(expr string) string {
	var b strings.Builder
	braces, quote := 0, byte(0)
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(expr) {
				b.WriteByte(c)
				i++
				c = expr[i]
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			braces++
		case c == '}':
			braces--
		case braces == 0 && (c == '>' || c == '<' || c == '=' || c == '!'):
			op := string(c)
			if i+1 < len(expr) && expr[i+1] == '=' {
				op += "="
			}
			if op == "=" || op == "!" { // not a comparison (no such operator outside matchers)
				break
			}
			b.WriteString(op + " bool")
			i += len(op) - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func TestBoolComparisons(t *testing.T) {
	for in, want := range map[string]string{
		`up{job="cardswitch"} == 0`:                                 `up{job="cardswitch"} == bool 0`,
		`a{x!="y"} > 0.02 and sum by (i) (b{c=~"5.."}) > 1`:         `a{x!="y"} > bool 0.02 and sum by (i) (b{c=~"5.."}) > bool 1`,
		`time() - m > 3 * 3600`:                                     `time() - m > bool 3 * 3600`,
		`m - time() < 14 * 86400`:                                   `m - time() < bool 14 * 86400`,
		`a >= 1 or b <= 2 or c != 3`:                                `a >= bool 1 or b <= bool 2 or c != bool 3`,
		`label_replace(m, "d", "$1", "s", "(.*)>x") > 0`:            `label_replace(m, "d", "$1", "s", "(.*)>x") > bool 0`,
		`max by (issuer) (cardswitch_saf_oldest_age_seconds) > 900`: `max by (issuer) (cardswitch_saf_oldest_age_seconds) > bool 900`,
	} {
		require.Equal(t, want, boolComparisons(in), in)
	}
}

// metricSum adds up every sample of a Prometheus text exposition whose series starts with
// series (a name, or a name and its labels as they are printed).
func metricSum(body, series string) float64 {
	var sum float64
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, series) || strings.HasPrefix(line, "#") {
			continue
		}
		rest := line[len(series):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{' && !strings.HasSuffix(series, "}")) {
			continue // a longer name
		}
		fields := strings.Fields(rest)
		if f, err := strconv.ParseFloat(fields[len(fields)-1], 64); err == nil {
			sum += f
		}
	}
	return sum
}
