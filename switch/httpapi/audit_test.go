package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/audit"
)

type fakeAudit struct{ got audit.Filter }

func (f *fakeAudit) List(_ context.Context, q audit.Filter) ([]audit.Entry, error) {
	f.got = q
	return []audit.Entry{{ID: 2, Actor: "cli:alice@ops1", Action: audit.ActionCutover, Target: "2026-12-06", Result: audit.ResultOK}}, nil
}

func TestAuditEndpointAndHTTPMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	fa := &fakeAudit{}
	const token = "an-admin-token-of-some-length"
	h := Handler(Deps{Gatherer: reg, Ready: func() error { return nil }, Audit: fa, Token: token, Metrics: m, Log: zaptest.NewLogger(t)})
	srv := httptest.NewServer(h)
	defer srv.Close()
	get := func(path string, auth bool) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, _ := get("/v1/audit", false)
	require.Equal(t, http.StatusUnauthorized, code, "the audit log is an admin endpoint")
	code, body := get("/v1/audit?since=24h&action=ledger.cutover&limit=5", true)
	require.Equal(t, http.StatusOK, code, body)
	var got struct{ Entries []audit.Entry }
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	require.Len(t, got.Entries, 1)
	require.Equal(t, "cli:alice@ops1", got.Entries[0].Actor)
	require.Equal(t, audit.ActionCutover, fa.got.Action)
	require.Equal(t, 5, fa.got.Limit)
	require.WithinDuration(t, time.Now().Add(-24*time.Hour), fa.got.Since, time.Minute)
	for _, bad := range []string{"?since=yesterday", "?limit=0", "?limit=x"} {
		code, body = get("/v1/audit"+bad, true)
		require.Equal(t, http.StatusBadRequest, code, bad)
		require.Contains(t, body, "error")
	}
	get("/metrics", false)
	get("/v1/transactions/411111111111111", true) // a path that carries an identifier

	require.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues("admin", "GET", "/v1/audit", "401")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues("admin", "GET", "/v1/audit", "200")))
	require.Equal(t, 3.0, testutil.ToFloat64(m.requests.WithLabelValues("admin", "GET", "/v1/audit", "400")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues("admin", "GET", "/metrics", "200")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.requests.WithLabelValues("admin", "GET", "/v1/transactions/{rrn}", "404")),
		"the route pattern is the label, never the path")
}

func TestActor(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/v1/reload", nil)
	r.RemoteAddr = "10.1.2.3:50000"
	r.Header.Set(audit.ActorHeader, "cli:alice@ops1")
	require.Equal(t, "token:10.1.2.3 (claims cli:alice@ops1)", Deps{Token: "x"}.Actor(r))
	require.Equal(t, "loopback:10.1.2.3 (claims cli:alice@ops1)", Deps{}.Actor(r))
}
