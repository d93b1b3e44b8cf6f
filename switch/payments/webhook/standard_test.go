package webhook

import (
	"bytes"
	"context"
	"encoding/json"
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

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// standardWebhooksVersion is the npm package the signatures are checked against.
const standardWebhooksVersion = "1.3.0"

// nodeVerifier returns a directory holding testdata/verify.js with the standardwebhooks package
// installed beside it (cached in the user's cache directory). It skips the test when Node or npm
// is missing, or the registry cannot be reached: then nothing independent can check us.
func nodeVerifier(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: the signatures are not checked by an independent implementation", tool)
		}
	}
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	dir := filepath.Join(cache, "cardswitch-standardwebhooks-"+standardWebhooksVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		require.NoError(t, os.MkdirAll(dir, 0o750))
		out, err := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "standardwebhooks@"+standardWebhooksVersion).CombinedOutput()
		if err != nil {
			t.Skipf("npm install standardwebhooks failed (no registry?): %v\n%s", err, out)
		}
	}
	js, err := os.ReadFile("testdata/verify.js")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "verify.js"), js, 0o600))
	return dir
}

type verifyCase struct {
	Secret  string            `json:"secret"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func runNode(t *testing.T, dir string, cases []verifyCase) []string {
	t.Helper()
	in, err := json.Marshal(cases)
	require.NoError(t, err)
	cmd := exec.Command("node", filepath.Join(dir, "verify.js"))
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func signed(t *testing.T, secret, id string, ts time.Time, body string) map[string]string {
	t.Helper()
	sig, err := Sign(secret, id, ts, []byte(body))
	require.NoError(t, err)
	return map[string]string{"webhook-id": id, "webhook-timestamp": itoa(ts.Unix()), "webhook-signature": sig}
}

func itoa(v int64) string { b, _ := json.Marshal(v); return string(b) }

// Our signatures verify with the standardwebhooks package, and every tampering is refused by it.
func TestSignaturesVerifyWithStandardWebhooks(t *testing.T) {
	dir := nodeVerifier(t)
	secret, other := NewSecret(), NewSecret()
	now := time.Now()
	body := `{"id":"evt_1","type":"payment.succeeded","created_at":"2026-12-06T00:00:00Z","data":{"id":"pay_1","amount":1234}}`
	good := signed(t, secret, "evt_1", now, body)
	tamperedID := signed(t, secret, "evt_1", now, body)
	tamperedID["webhook-id"] = "evt_2"
	old := signed(t, secret, "evt_1", now.Add(-time.Hour), body)
	withRotated := signed(t, secret, "evt_1", now, body)
	otherSig, err := Sign(other, "evt_1", now, []byte(body))
	require.NoError(t, err)
	withRotated["webhook-signature"] = otherSig + " " + withRotated["webhook-signature"]
	got := runNode(t, dir, []verifyCase{
		{secret, good, body},
		{secret, good, strings.Replace(body, "1234", "9234", 1)}, // tampered body
		{other, good, body},         // wrong secret
		{secret, tamperedID, body},  // tampered id
		{secret, old, body},         // replayed an hour later
		{secret, withRotated, body}, // several signatures, one good
	})
	require.Equal(t, "ok", got[0])
	for i := 1; i <= 4; i++ {
		require.True(t, strings.HasPrefix(got[i], "fail"), "case %d: %s", i, got[i])
	}
	require.Equal(t, "ok", got[5])

	// Our own verifier agrees.
	require.NoError(t, Verify(secret, "evt_1", good["webhook-timestamp"], good["webhook-signature"], []byte(body), now))
	require.Error(t, Verify(secret, "evt_1", good["webhook-timestamp"], good["webhook-signature"], []byte(body+" "), now))
	require.Error(t, Verify(secret, "evt_1", old["webhook-timestamp"], old["webhook-signature"], []byte(body), now))
}

// fakeStore is the dispatcher's store in memory.
type fakeStore struct {
	mu         sync.Mutex
	outbox     []*store.Outbox
	endpoints  []*store.Endpoint
	deliveries []*store.Delivery
}

func (f *fakeStore) DueOutbox(_ context.Context, now time.Time, limit int) ([]*store.Outbox, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*store.Outbox
	for _, o := range f.outbox {
		if o.State == store.OutboxPending && !o.NextAttemptAt.After(now) && len(out) < limit {
			c := *o
			out = append(out, &c)
		}
	}
	return out, nil
}

func (f *fakeStore) Endpoints(context.Context, string) ([]*store.Endpoint, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*store.Endpoint(nil), f.endpoints...), nil
}

func (f *fakeStore) RecordDelivery(_ context.Context, o *store.Outbox, d *store.Delivery) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.outbox {
		if x.ID == o.ID {
			*x = *o
		}
	}
	f.deliveries = append(f.deliveries, d)
	return nil
}

func (f *fakeStore) snapshot() ([]store.Outbox, []store.Delivery) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var os []store.Outbox
	for _, o := range f.outbox {
		os = append(os, *o)
	}
	var ds []store.Delivery
	for _, d := range f.deliveries {
		ds = append(ds, *d)
	}
	return os, ds
}

// The dispatcher delivers what a Standard Webhooks receiver accepts, retries a failing endpoint
// with backoff until a 2xx, and records every attempt.
func TestDispatcherDeliversAtLeastOnceWithBackoff(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	var mu sync.Mutex
	var received []verifyCase
	fails := 2
	secret := NewSecret()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		received = append(received, verifyCase{secret, map[string]string{"webhook-id": r.Header.Get("webhook-id"),
			"webhook-timestamp": r.Header.Get("webhook-timestamp"), "webhook-signature": r.Header.Get("webhook-signature")}, string(body)})
		if fails > 0 {
			fails--
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	now := time.Now
	fs := &fakeStore{
		endpoints: []*store.Endpoint{{ID: "we_1", Merchant: "M", URL: srv.URL, Secret: secret, Enabled: true}},
		outbox: []*store.Outbox{{ID: "msg_1", EventID: "evt_1", EndpointID: "we_1", EventType: "payment.succeeded",
			Payload: `{"id":"evt_1","type":"payment.succeeded"}`, State: store.OutboxPending, NextAttemptAt: now()}},
	}
	d := NewDispatcher(Config{Poll: 5 * time.Millisecond, Guard: &Guard{AllowPrivate: true},
		Backoff: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, time.Hour}}, fs, zaptest.NewLogger(t), now, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(ctx) }()
	require.Eventually(t, func() bool {
		os, _ := fs.snapshot()
		return os[0].State == store.OutboxDelivered
	}, 10*time.Second, 10*time.Millisecond)
	cancel()
	<-done

	os, ds := fs.snapshot()
	require.Equal(t, 3, os[0].Attempts)
	require.Len(t, ds, 3)
	require.Equal(t, 500, ds[0].StatusCode)
	require.False(t, ds[0].NextAttemptAt.IsZero())
	require.Equal(t, 204, ds[2].StatusCode)
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, received, 3)
	for _, r := range received {
		require.Equal(t, "evt_1", r.Headers["webhook-id"], "the same id on every retry")
	}
	if dir := nodeVerifierIfAvailable(t); dir != "" {
		for i, res := range runNode(t, dir, received) {
			require.Equal(t, "ok", res, "attempt %d", i+1)
		}
	}
}

func nodeVerifierIfAvailable(t *testing.T) string {
	var dir string
	t.Run("standardwebhooks", func(t *testing.T) { dir = nodeVerifier(t) })
	return dir
}

// The backoff retries for at least three days before giving up.
func TestBackoffCoversThreeDays(t *testing.T) {
	var total time.Duration
	for _, d := range DefaultBackoff() {
		total += d
	}
	require.GreaterOrEqual(t, total, 72*time.Hour)
}
