package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

func TestGuardRefusesPrivateAddresses(t *testing.T) {
	g := &Guard{}
	ctx := context.Background()
	for _, u := range []string{"http://127.0.0.1/hook", "http://localhost:8080/x", "http://[::1]/", "http://10.1.2.3/",
		"http://192.168.0.1/", "http://172.16.5.5/", "http://169.254.169.254/latest/meta-data", "http://100.64.0.1/",
		"http://0.0.0.0/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://api.localhost/"} {
		require.ErrorIs(t, g.CheckURL(ctx, u), ErrPrivateAddress, u)
	}
	for _, u := range []string{"ftp://example.org/", "http://user:pw@93.184.216.34/", "not a url", "http:///nohost"} {
		err := g.CheckURL(ctx, u)
		require.Error(t, err, u)
		require.NotErrorIs(t, err, ErrPrivateAddress, u)
	}
	require.NoError(t, g.CheckURL(ctx, "https://93.184.216.34/hooks"))
	open := &Guard{AllowPrivate: true}
	require.NoError(t, open.CheckURL(ctx, "http://127.0.0.1:9/hook"))
	require.ErrorIs(t, open.CheckURL(ctx, "http://0.0.0.0/"), ErrPrivateAddress, "the unspecified address is never callable")
}

// A URL accepted at creation that resolves to a private address later (DNS rebinding) is refused
// when delivering: the dialled address is checked.
func TestDispatcherRefusesPrivateAddressAtDelivery(t *testing.T) {
	var hit atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hit.Store(true) }))
	defer srv.Close()
	fs := &fakeStore{
		endpoints: []*store.Endpoint{{ID: "we_1", URL: srv.URL, Secret: NewSecret(), Enabled: true}},
		outbox: []*store.Outbox{{ID: "msg_1", EventID: "evt_1", EndpointID: "we_1", EventType: "payment.failed", Payload: "{}",
			State: store.OutboxPending, NextAttemptAt: time.Now()}},
	}
	d := NewDispatcher(Config{Poll: 5 * time.Millisecond, Guard: &Guard{}}, fs, zaptest.NewLogger(t), time.Now, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	require.Eventually(t, func() bool { _, ds := fs.snapshot(); return len(ds) > 0 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	<-done
	_, ds := fs.snapshot()
	require.False(t, hit.Load(), "the private endpoint was called")
	require.Zero(t, ds[0].StatusCode)
	require.True(t, strings.Contains(ds[0].Error, "private") || strings.Contains(ds[0].Error, "loopback"), ds[0].Error)
}
