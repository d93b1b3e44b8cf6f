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
		SAF: func() any { return map[string]any{"depth": 0, "oldest_age_seconds": 0, "items": []any{}} },
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
		SAF:      func() any { return map[string]int{"depth": 0} },
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
