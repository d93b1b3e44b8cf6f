package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/engine"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// fakeEngine decides like the issuer simulator (last two digits of field 4) and keeps a ledger of
// what it decided, by transaction id, so that recovery can be tested.
type fakeEngine struct {
	mu      sync.Mutex
	txs     map[string]*ledger.Transaction
	seen    []*iso8583.Message
	block   chan struct{} // when set, Handle waits on it
	entered chan struct{}
	rrn     int
}

func newFakeEngine() *fakeEngine { return &fakeEngine{txs: map[string]*ledger.Transaction{}} }

func (f *fakeEngine) Handle(_ context.Context, req *iso8583.Message) *iso8583.Message {
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *req
	f.seen = append(f.seen, &cp)
	code := iso8583.RCApproved
	if len(req.Amount) == 12 && req.Amount[10:] == "05" {
		code = iso8583.RCDoNotHonor
	}
	if len(req.Amount) == 12 && req.Amount[10:] == "51" {
		code = iso8583.RCInsufficientFunds
	}
	rrn := req.RRN
	if rrn == "" {
		f.rrn++
		rrn = fmt.Sprintf("FAKE%08d", f.rrn)
	}
	id := engine.TransactionID(req.MTI, req.TerminalID, req.STAN, req.TransmissionDateTime)
	st := ledger.StatusPosted
	if code != iso8583.RCApproved {
		st = ledger.StatusDeclined
	} else if req.MTI == iso8583.MTIAuthorization {
		st = ledger.StatusHeld
	}
	f.txs[id] = &ledger.Transaction{ID: id, RRN: rrn, ResponseCode: code, ApprovalCode: "A1B2C3", Status: st}
	resp := &iso8583.Message{MTI: iso8583.ResponseMTI(req.MTI), ResponseCode: code, RRN: rrn}
	if code == iso8583.RCApproved {
		resp.ApprovalCode = "A1B2C3"
	}
	return resp
}

func (f *fakeEngine) Transaction(_ context.Context, id string) (*ledger.Transaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tx, ok := f.txs[id]; ok {
		return tx, nil
	}
	return nil, ledger.ErrNotFound
}

type harness struct {
	t      *testing.T
	srv    *httptest.Server
	svc    *Service
	api    *API
	store  *store.Store
	engine *fakeEngine
	stop   func()
}

var testMerchants = []Merchant{
	{ID: "MERCHANT0000001", Name: "Example shop", MCC: "5999", Currencies: []string{"840"}},
	{ID: "GOVAGENCY000001", Name: "Example agency", Agency: true, MCC: "9311", ConvenienceFee: 100, Currencies: []string{"840"}},
	{ID: "OTHERMERCHANT01", Name: "Another shop", MCC: "5999", Currencies: []string{"840", "978"}},
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Config{Path: filepath.Join(t.TempDir(), "ledger.db")})
	require.NoError(t, err)
	return newHarnessOn(t, st, newFakeEngine())
}

func newHarnessOn(t *testing.T, st *store.Store, eng *fakeEngine) *harness {
	t.Helper()
	ctx := context.Background()
	wr := store.NewWriter(st, store.WriterConfig{})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = wr.Run(runCtx) }()
	key, err := NewCardKey(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	floor, err := st.ClockSecond(ctx)
	require.NoError(t, err)
	svc, err := NewService(Config{Merchants: testMerchants}, Deps{Store: st, Writer: wr, Engine: eng, Ledger: eng, CardKey: key,
		Log: zaptest.NewLogger(t), Now: time.Now}, floor)
	require.NoError(t, err)
	require.NoError(t, EnsureTestKeys(ctx, st, []string{"MERCHANT0000001", "GOVAGENCY000001", "OTHERMERCHANT01"}, time.Now()))
	api, err := NewAPI(svc, HTTPConfig{}, nil)
	require.NoError(t, err)
	srv := httptest.NewServer(api.Handler())
	h := &harness{t: t, srv: srv, svc: svc, api: api, store: st, engine: eng}
	h.stop = func() {
		srv.Close()
		cancel()
		<-done
	}
	t.Cleanup(func() {
		h.stop()
		st.Close()
	})
	return h
}

type reply struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

func (r reply) errCode(t *testing.T) string {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	require.True(t, ok, "not an error body: %s", r.Body)
	require.NotEmpty(t, e["message"])
	return e["code"].(string)
}

const merchantKey = "sk_test_MERCHANT0000001"

func (h *harness) do(method, path, key string, body any, headers ...string) reply {
	h.t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(h.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	require.NoError(h.t, err)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
}

func cardPayment(amount int64, capture string) map[string]any {
	return map[string]any{"amount": amount, "currency": "USD", "reference": "order-1", "description": "A test order",
		"capture": capture, "card": map[string]any{"number": "4111111111111111", "expiry_month": 12, "expiry_year": 2030, "cvc": "123"}}
}
