package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/ledger"
	"go.uber.org/zap/zaptest"
)

func TestEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "cardswitch_test_total", Help: "x"})
	reg.MustRegister(c)
	c.Inc()
	ready := errors.New("starting")
	h := Handler(Deps{
		Gatherer:     reg,
		Ready:        func() error { return ready },
		Issuers:      func() any { return []map[string]any{{"name": "alpha", "up": true}} },
		TrialBalance: func(context.Context) (any, error) { return map[string]any{"currencies": []any{}}, nil },
		Transaction: func(_ context.Context, rrn string) (any, error) {
			if rrn == "633000000001" {
				return map[string]string{"rrn": rrn, "masked_pan": "411111******1111"}, nil
			}
			return nil, ErrNotFound
		},
		SAF: func(context.Context, ledger.SAFFilter) (any, error) {
			return map[string]any{"depth": 0, "oldest_age_seconds": 0, "items": []any{}}, nil
		},
		Log: zaptest.NewLogger(t),
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	require.Equal(t, 200, code)
	require.Contains(t, body, "cardswitch_test_total 1")
	code, _ = get("/livez")
	require.Equal(t, 200, code)
	code, body = get("/readyz")
	require.Equal(t, 503, code)
	require.Contains(t, body, "starting")
	ready = nil
	code, _ = get("/readyz")
	require.Equal(t, 200, code)
	code, body = get("/v1/issuers")
	require.Equal(t, 200, code)
	require.Contains(t, body, "alpha")
	code, body = get("/v1/transactions/633000000001")
	require.Equal(t, 200, code)
	var tx map[string]string
	require.NoError(t, json.Unmarshal([]byte(body), &tx))
	require.Equal(t, "411111******1111", tx["masked_pan"])
	code, _ = get("/v1/transactions/999999999999")
	require.Equal(t, 404, code)
	code, body = get("/v1/saf")
	require.Equal(t, 200, code)
	require.True(t, strings.Contains(body, `"depth"`))
	code, _ = get("/v1/ledger/trial-balance")
	require.Equal(t, 200, code)
}

func TestAdminToken(t *testing.T) {
	const token = "s3cret-admin-token-0123456789"
	h := Handler(Deps{
		Gatherer: prometheus.NewRegistry(),
		Ready:    func() error { return nil },
		Issuers:  func() any { return []string{"alpha"} },
		SAF:      func(context.Context, ledger.SAFFilter) (any, error) { return map[string]int{"depth": 0}, nil },
		Pprof:    true,
		Token:    token,
		Log:      zaptest.NewLogger(t),
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(path, auth string) int {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, path := range []string{"/v1/issuers", "/v1/saf", "/v1/transactions/1", "/v1/nothing", "/debug/pprof/"} {
		for _, auth := range []string{"", "Bearer wrong-token-0123456789", "Basic " + token, "Bearer " + token + "x", "Bearer"} {
			require.Equal(t, http.StatusUnauthorized, do(path, auth), "%s with %q", path, auth)
		}
	}
	require.Equal(t, http.StatusOK, do("/v1/issuers", "Bearer "+token))
	require.Equal(t, http.StatusOK, do("/debug/pprof/", "Bearer "+token))
	for _, path := range []string{"/metrics", "/livez", "/readyz"} {
		require.Equal(t, http.StatusOK, do(path, ""), path)
	}
}

func TestSAFAndTerminalLookups(t *testing.T) {
	items := map[int64]*ledger.SAFItem{
		1: {Seq: 1, Issuer: "alpha", State: ledger.SAFParked, MTI: "0400", RRN: "633000000001"},
		2: {Seq: 2, Issuer: "alpha", State: ledger.SAFQueued, MTI: "0220", RRN: "633000000002"},
	}
	var gotFilter ledger.SAFFilter
	var changes []ledger.SAFChange
	h := Handler(Deps{
		Gatherer: prometheus.NewRegistry(),
		Ready:    func() error { return nil },
		SAF: func(_ context.Context, f ledger.SAFFilter) (any, error) {
			gotFilter = f
			return map[string]any{"depth": len(items)}, nil
		},
		SAFItem: func(_ context.Context, seq int64) (*ledger.SAFItem, error) {
			if it, ok := items[seq]; ok {
				cp := *it
				return &cp, nil
			}
			return nil, ErrNotFound
		},
		ChangeSAF: func(_ context.Context, c ledger.SAFChange, actor string) error {
			if actor == "" {
				return errors.New("no actor")
			}
			changes = append(changes, c)
			it := items[c.Seq]
			it.State = map[ledger.SAFOp]ledger.SAFState{ledger.SAFRetry: ledger.SAFQueued, ledger.SAFPark: ledger.SAFParked}[c.Op]
			return nil
		},
		TransactionByTerminal: func(_ context.Context, terminal, stan, transmitted string) (any, error) {
			if terminal == "TERM0001" && stan == "000123" && transmitted == "1206120000" {
				return map[string]string{"id": "0100/TERM0001/000123/1206120000"}, nil
			}
			return nil, ErrNotFound
		},
		Log: zaptest.NewLogger(t),
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	do := func(method, path string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := do("GET", "/v1/saf?issuer=alpha&state=parked,queued&limit=10")
	require.Equal(t, 200, code)
	require.Equal(t, ledger.SAFFilter{Issuer: "alpha", States: []ledger.SAFState{ledger.SAFParked, ledger.SAFQueued}, Limit: 10}, gotFilter)
	for _, bad := range []string{"/v1/saf?state=lost", "/v1/saf?limit=0", "/v1/saf?limit=100000"} {
		code, body := do("GET", bad)
		require.Equal(t, 400, code, bad)
		require.Contains(t, body, "error")
	}
	code, body := do("POST", "/v1/saf/2/retry")
	require.Equal(t, 409, code, "a queued item is not retried")
	require.Contains(t, body, "is queued")
	code, body = do("POST", "/v1/saf/1/retry")
	require.Equal(t, 200, code)
	require.Contains(t, body, `"state": "queued"`)
	code, _ = do("POST", "/v1/saf/2/park")
	require.Equal(t, 200, code)
	require.Len(t, changes, 2)
	require.Equal(t, ledger.SAFRetry, changes[0].Op)
	require.Equal(t, ledger.SAFPark, changes[1].Op)
	for path, want := range map[string]int{"/v1/saf/9": 404, "/v1/saf/x": 400, "/v1/saf/-1": 400, "/v1/saf/1": 200} {
		code, _ := do("GET", path)
		require.Equal(t, want, code, path)
	}

	code, body = do("GET", "/v1/transactions?terminal=TERM0001&stan=000123&transmitted=1206120000")
	require.Equal(t, 200, code)
	require.Contains(t, body, "0100/TERM0001/000123/1206120000")
	code, _ = do("GET", "/v1/transactions?terminal=TERM0001&stan=000124&transmitted=1206120000")
	require.Equal(t, 404, code)
	for _, bad := range []string{"?stan=000123&transmitted=1206120000", "?terminal=TERM0001&stan=12&transmitted=1206120000",
		"?terminal=TERM0001&stan=000123&transmitted=12061200", "?terminal=TOOLONGTERMINAL&stan=000123&transmitted=1206120000"} {
		code, body := do("GET", "/v1/transactions"+bad)
		require.Equal(t, 400, code, bad)
		require.Contains(t, body, "error")
	}
}
