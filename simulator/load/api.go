package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"go.uber.org/zap"
)

// APIConfig is a run of simulated shops against the payments API (CONTRACT §12): each creates
// payments with test cards, captures holds, cancels and refunds, every POST with an
// Idempotency-Key and retried with the same key on a transient answer, and every answer checked.
type APIConfig struct {
	Target      string   // the API's base URL, e.g. http://127.0.0.1:8081
	Keys        []string // API keys with every scope; shops take them in turn
	Rate        int      // open model: payments per second (follow-ups take slots of their own)
	Concurrency int      // closed model: operations outstanding
	Duration    time.Duration
	Mix         Mix // purchase, preauth, refund, reversal (a cancel), decline, timeout
	Shops       int // concurrent clients; default 128 (open model), Concurrency (closed)
	// CompletionShare is the percentage of authorised holds captured (the rest are cancelled
	// when the mix asks for reversals, or left to expire); PartialShare of captures are partial.
	CompletionShare, PartialShare int
	Timeout                       time.Duration // one operation, retries included; default 10s
	RetriesMax                    int           // retries of one operation; default 5
	Seed                          uint64
	ProgressInterval              time.Duration
	Progress                      func(Progress)
	// LedgerLog, when set, receives one JSON line per payment or refund the API said succeeded:
	// what a crash test holds the ledger to.
	LedgerLog io.Writer
	Log       *zap.Logger
}

func (c APIConfig) withDefaults() APIConfig {
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.Mix == (Mix{}) {
		c.Mix = Mix{60, 20, 10, 5, 5, 0}
	}
	if c.Shops <= 0 {
		c.Shops = 128
		if c.Concurrency > 0 {
			c.Shops = c.Concurrency
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.RetriesMax <= 0 {
		c.RetriesMax = 5
	}
	if c.CompletionShare == 0 {
		c.CompletionShare = 80
	}
	if c.PartialShare == 0 {
		c.PartialShare = 20
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = time.Second
	}
	if len(c.Keys) == 0 {
		c.Keys = []string{"sk_test_MERCHANT0000001", "sk_test_GOVAGENCY000001"}
	}
	if c.Log == nil {
		c.Log = zap.NewNop()
	}
	return c
}

func (c APIConfig) validate() error {
	switch {
	case !strings.HasPrefix(c.Target, "http://") && !strings.HasPrefix(c.Target, "https://"):
		return fmt.Errorf("%w: the API target %q must be an http(s) URL", ErrConfig, c.Target)
	case (c.Rate > 0) == (c.Concurrency > 0):
		return fmt.Errorf("%w: one of rate and concurrency", ErrConfig)
	case c.Mix.total() == 0:
		return fmt.Errorf("%w: the mix is empty", ErrConfig)
	}
	return nil
}

// apiRun is one run of RunAPI.
type apiRun struct {
	cfg        APIConfig
	client     *http.Client
	start, end time.Time
	shops      []*shop
	skipped    atomic.Int64
	repeats    atomic.Int64
	log        struct {
		sync.Mutex
		w   io.Writer
		buf bytes.Buffer
	}
	examples struct {
		sync.Mutex
		list []string
	}
}

// shop is one simulated merchant site: its key, its random source, its recent payments, its stats.
type shop struct {
	r      *apiRun
	key    string
	rng    *rand.Rand
	seq    int
	paid   []apiPayment // succeeded, not yet refunded (refund candidates)
	holds  []apiPayment // authorised, neither captured nor cancelled
	mu     sync.Mutex   // guards stats (read by the progress ticker)
	stats  apiStats
	pcards []string
}

type apiStats struct {
	counters
	kinds    [kindCount]kindCounts
	codes    map[string]int64
	hist     *hdrhistogram.Histogram
	inflight int64
}

type apiPayment struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Amount   int64  `json:"amount"`
	Captured int64  `json:"amount_captured"`
	Refunded int64  `json:"amount_refunded"`
	Code     string `json:"response_code"`
	RRN      string `json:"rrn"`
	Error    *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// apiCards are test cards the default routes accept (4: alpha, 5: beta), Luhn-valid.
var apiCards = []string{"4111111111111111", "4012888888881881", "5105105105105100", "5555555555554444"}

// RunAPI runs the shops until the duration is over (or ctx ends) and reports like Run.
func RunAPI(ctx context.Context, cfg APIConfig) (Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Report{}, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	tr := &http.Transport{MaxIdleConns: cfg.Shops * 2, MaxIdleConnsPerHost: cfg.Shops * 2, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	r := &apiRun{cfg: cfg, client: &http.Client{Transport: tr, Timeout: cfg.Timeout}}
	r.log.w = cfg.LedgerLog
	for i := 0; i < cfg.Shops; i++ {
		s := &shop{r: r, key: cfg.Keys[i%len(cfg.Keys)], rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1)), pcards: apiCards}
		s.stats.codes = map[string]int64{}
		s.stats.hist = newHistogram(2 * cfg.Timeout)
		r.shops = append(r.shops, s)
	}
	if err := r.probe(ctx); err != nil {
		return Report{}, err
	}
	cfg.Log.Info("api load started", zap.String("target", cfg.Target), zap.Int("shops", cfg.Shops), zap.Int("rate", cfg.Rate),
		zap.Int("concurrency", cfg.Concurrency), zap.Duration("duration", cfg.Duration), zap.String("mix", cfg.Mix.String()))
	r.start = time.Now()
	r.end = r.start.Add(cfg.Duration)
	stop := make(chan struct{})
	var ticker sync.WaitGroup
	ticker.Go(func() { r.tick(stop) })
	if cfg.Rate > 0 {
		r.runOpen(ctx)
	} else {
		r.runClosed(ctx)
	}
	finished := time.Now()
	close(stop)
	ticker.Wait()
	var logErr error
	if r.log.w != nil {
		logErr = r.flushLog()
	}
	rep := r.report(finished, ctx.Err() != nil)
	if logErr != nil {
		return rep, fmt.Errorf("ledger log: %w", logErr)
	}
	return rep, nil
}

// probe checks that the API answers before the run starts.
func (r *apiRun) probe(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.cfg.Target+"/v1/openapi.json", nil)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDial, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

// runOpen hands a slot every 1/Rate to a free shop; a slot no shop takes within the timeout is
// skipped. Latency counts from the slot's time.
func (r *apiRun) runOpen(ctx context.Context) {
	slots := make(chan time.Time, 4*r.cfg.Shops)
	var wg sync.WaitGroup
	for _, s := range r.shops {
		wg.Go(func() {
			for at := range slots {
				if time.Since(at) > r.cfg.Timeout {
					r.skipped.Add(1)
					continue
				}
				s.operate(ctx, at)
			}
		})
	}
	interval := float64(time.Second) / float64(r.cfg.Rate)
	n := int64(float64(r.cfg.Rate) * r.cfg.Duration.Seconds())
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := int64(0); i < n && ctx.Err() == nil; i++ {
		at := r.start.Add(time.Duration(float64(i) * interval))
		if d := time.Until(at); d > 0 {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
		}
		select {
		case slots <- at:
		default:
			r.skipped.Add(1)
		}
	}
	close(slots)
	wg.Wait()
}

func (r *apiRun) runClosed(ctx context.Context) {
	var wg sync.WaitGroup
	for _, s := range r.shops {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(r.end) {
				s.operate(ctx, time.Now())
			}
		})
	}
	wg.Wait()
}

// operate draws a kind from the mix and carries it out (with what it needs first: a refund needs
// a succeeded payment, a cancel a hold).
func (s *shop) operate(ctx context.Context, at time.Time) {
	kind := s.r.cfg.Mix.draw(s.rng.IntN(s.r.cfg.Mix.total()))
	switch kind {
	case KindRefund:
		if len(s.paid) == 0 {
			kind = KindPurchase
		}
	case KindReversal:
		if len(s.holds) == 0 {
			kind = KindPreauth
		}
	}
	switch kind {
	case KindPurchase:
		s.pay(ctx, at, KindPurchase, "automatic", s.amount(false))
	case KindPreauth:
		p, ok := s.pay(ctx, at, KindPreauth, "manual", s.amount(false))
		if ok && s.rng.IntN(100) < s.r.cfg.CompletionShare {
			s.capture(ctx, time.Now(), p)
		} else if ok {
			s.holds = append(s.holds, p)
			if len(s.holds) > 64 {
				s.holds = s.holds[1:]
			}
		}
	case KindDecline:
		s.pay(ctx, at, KindDecline, "automatic", s.amount(true))
	case KindTimeout, KindSlow:
		// The issuer never answers (99), or answers after the issuer link's timeout (98): failed, 91.
		end := int64(99)
		if kind == KindSlow {
			end = 98
		}
		s.pay(ctx, at, kind, "automatic", int64(100+s.rng.IntN(9000))*100+end)
	case KindRefund:
		i := s.rng.IntN(len(s.paid))
		p := s.paid[i]
		s.paid = append(s.paid[:i], s.paid[i+1:]...)
		s.refund(ctx, at, p)
	case KindReversal:
		p := s.holds[0]
		s.holds = s.holds[1:]
		s.cancel(ctx, at, p)
	}
}

// amount is an amount the issuer simulator approves (declined: one it declines, ending 05 or 51).
func (s *shop) amount(declined bool) int64 {
	base := int64(200+s.rng.IntN(20000)) * 100
	if declined {
		return base + []int64{5, 51}[s.rng.IntN(2)]
	}
	for {
		end := int64(s.rng.IntN(100))
		switch end {
		case 5, 14, 51, 54, 55, 57, 61, 62, 65, 98, 99:
			continue
		}
		return base + end
	}
}

// pay creates a payment with a card and checks its outcome.
func (s *shop) pay(ctx context.Context, at time.Time, kind Kind, capture string, amount int64) (apiPayment, bool) {
	card := s.pcards[s.rng.IntN(len(s.pcards))]
	body := fmt.Sprintf(`{"amount":%d,"currency":"USD","reference":"order-%d-%d","description":"load test order","capture":%q,`+
		`"card":{"number":%q,"expiry_month":12,"expiry_year":2031,"cvc":"123"}}`, amount, s.rng.Uint32(), s.seq, capture, card)
	s.seq++
	var p apiPayment
	status, err := s.post(ctx, "/v1/payments", body, &p)
	want, wantCode := "succeeded", "00"
	switch kind {
	case KindPreauth:
		want = "authorised"
	case KindDecline:
		want, wantCode = "declined", fmt.Sprintf("%02d", amount%100)
	case KindTimeout, KindSlow:
		want, wantCode = "failed", "91"
	}
	bad := ""
	switch {
	case err != nil:
	case status != http.StatusCreated:
		bad = fmt.Sprintf("create %s: HTTP %d %s", kind, status, errCode(p))
	case p.Status != want || p.Code != wantCode:
		bad = fmt.Sprintf("create %s of %d: status %s code %s (expected %s %s)", kind, amount, p.Status, p.Code, want, wantCode)
	case want == "succeeded" && (p.Captured != amount || p.RRN == ""):
		bad = fmt.Sprintf("payment %s succeeded with amount_captured %d of %d, rrn %q", p.ID, p.Captured, amount, p.RRN)
	}
	s.done(kind, at, p.Code, err, bad, want == "succeeded" || want == "authorised")
	ok := err == nil && bad == ""
	if ok && want == "succeeded" {
		s.r.logLine(map[string]any{"payment_id": p.ID, "rrn": p.RRN, "amount": p.Amount, "captured": p.Captured, "kind": kind.String()})
		s.remember(p)
	}
	return p, ok
}

func (s *shop) remember(p apiPayment) {
	s.paid = append(s.paid, p)
	if len(s.paid) > 64 {
		s.paid = s.paid[1:]
	}
}

func (s *shop) capture(ctx context.Context, at time.Time, p apiPayment) {
	amount := p.Amount
	if s.rng.IntN(100) < s.r.cfg.PartialShare && amount > 1 {
		amount = 1 + s.rng.Int64N(amount-1)
	}
	var got apiPayment
	status, err := s.post(ctx, "/v1/payments/"+p.ID+"/capture", fmt.Sprintf(`{"amount":%d}`, amount), &got)
	bad := ""
	if err == nil && (status != http.StatusOK || got.Status != "succeeded" || got.Captured != amount) {
		bad = fmt.Sprintf("capture %d of %s: HTTP %d status %s captured %d %s", amount, p.ID, status, got.Status, got.Captured, errCode(got))
	}
	s.done(KindCompletion, at, got.Code, err, bad, true)
	if err == nil && bad == "" {
		s.r.logLine(map[string]any{"payment_id": got.ID, "rrn": got.RRN, "amount": got.Amount, "captured": got.Captured, "kind": "completion"})
		s.remember(got)
	}
}

func (s *shop) cancel(ctx context.Context, at time.Time, p apiPayment) {
	var got apiPayment
	status, err := s.post(ctx, "/v1/payments/"+p.ID+"/cancel", "", &got)
	bad := ""
	if err == nil && (status != http.StatusOK || got.Status != "cancelled") {
		bad = fmt.Sprintf("cancel of %s: HTTP %d status %s %s", p.ID, status, got.Status, errCode(got))
	}
	s.done(KindReversal, at, "00", err, bad, true)
}

func (s *shop) refund(ctx context.Context, at time.Time, p apiPayment) {
	amount := p.Captured
	if amount > 1 && s.rng.IntN(2) == 0 {
		amount = 1 + s.rng.Int64N(amount-1)
	}
	var got struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Code   string `json:"response_code"`
		Amount int64  `json:"amount"`
		Error  *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	status, err := s.post(ctx, "/v1/payments/"+p.ID+"/refunds", fmt.Sprintf(`{"amount":%d}`, amount), &got)
	bad := ""
	if err == nil && (status != http.StatusCreated || got.Status != "succeeded" || got.Amount != amount) {
		code := ""
		if got.Error != nil {
			code = got.Error.Code
		}
		bad = fmt.Sprintf("refund %d of %s: HTTP %d status %s %s", amount, p.ID, status, got.Status, code)
	}
	s.done(KindRefund, at, got.Code, err, bad, true)
	if err == nil && bad == "" {
		s.r.logLine(map[string]any{"refund_id": got.ID, "payment_id": p.ID, "amount": got.Amount, "kind": "refund"})
	}
}

func errCode(p apiPayment) string {
	if p.Error != nil {
		return p.Error.Code
	}
	return ""
}

// post sends a POST with a fresh Idempotency-Key, retrying transient answers (network errors,
// 409 idempotency_key_in_use, 429, 5xx) with the same key and a growing pause, until an answer
// that is not transient or the operation's timeout. It returns the final status.
func (s *shop) post(ctx context.Context, path, body string, out any) (int, error) {
	key := fmt.Sprintf("load-%x-%x", s.rng.Uint64(), s.rng.Uint64())
	deadline := time.Now().Add(s.r.cfg.Timeout)
	s.mu.Lock()
	s.stats.inflight++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.stats.inflight--
		s.mu.Unlock()
	}()
	pause := 10 * time.Millisecond
	var lastErr error
	for attempt := 0; attempt <= s.r.cfg.RetriesMax; attempt++ {
		if attempt > 0 {
			s.r.repeats.Add(1)
			if time.Now().Add(pause).After(deadline) {
				break
			}
			time.Sleep(pause)
			pause *= 3
		}
		status, raw, err := s.do(ctx, path, body, key)
		if err == nil && !transientStatus(status, raw) {
			if len(raw) > 0 {
				if jerr := json.Unmarshal(raw, out); jerr != nil {
					return status, fmt.Errorf("answer is not JSON: %w", jerr)
				}
			}
			return status, nil
		}
		lastErr = err
		if err == nil {
			lastErr = fmt.Errorf("HTTP %d", status)
		}
		if ctx.Err() != nil {
			break
		}
	}
	return 0, fmt.Errorf("%w: %w", errAPITimeout, lastErr)
}

var errAPITimeout = errors.New("no final answer in time")

func transientStatus(status int, body []byte) bool {
	switch {
	case status == http.StatusTooManyRequests, status >= 500:
		return true
	case status == http.StatusConflict:
		return bytes.Contains(body, []byte(`"idempotency_key_in_use"`))
	}
	return false
}

func (s *shop) do(ctx context.Context, path, body, key string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, s.r.cfg.Target+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Idempotency-Key", key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, raw, err
}

// done records one operation: its latency from at, its response code, and whether it was what it
// should be.
func (s *shop) done(kind Kind, at time.Time, code string, err error, bad string, approvable bool) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &s.stats
	st.sent++
	st.kinds[kind].Sent++
	if err != nil {
		st.timeouts++
		st.kinds[kind].Timeouts++
		s.r.example(fmt.Sprintf("%s: %v", kind, err))
		return
	}
	st.answered++
	st.kinds[kind].Answered++
	if d := now.Sub(at); d > 0 {
		_ = st.hist.RecordValue(min(d.Microseconds(), st.hist.HighestTrackableValue()))
	}
	if code == "" {
		code = "none"
	}
	st.codes[code]++
	if bad != "" {
		st.unexpected++
		st.kinds[kind].Unexpected++
		s.r.example(bad)
		return
	}
	if approvable && (code == "00") {
		st.kinds[kind].Approved++
	}
}

func (r *apiRun) example(s string) {
	r.examples.Lock()
	defer r.examples.Unlock()
	if len(r.examples.list) < examplesMax {
		r.examples.list = append(r.examples.list, s)
		r.cfg.Log.Warn("unexpected answer", zap.String("what", s))
	}
}

func (r *apiRun) logLine(v map[string]any) {
	if r.log.w == nil {
		return
	}
	b, _ := json.Marshal(v)
	r.log.Lock()
	r.log.buf.Write(b)
	r.log.buf.WriteByte('\n')
	r.log.Unlock()
}

func (r *apiRun) flushLog() error {
	r.log.Lock()
	defer r.log.Unlock()
	_, err := r.log.w.Write(r.log.buf.Bytes())
	r.log.buf.Reset()
	return err
}

// tick reports progress and flushes the ledger log every interval.
func (r *apiRun) tick(stop <-chan struct{}) {
	t := time.NewTicker(r.cfg.ProgressInterval)
	defer t.Stop()
	agg := newHistogram(2 * r.cfg.Timeout)
	var lastAnswered int64
	last := r.start
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if r.log.w != nil {
			if err := r.flushLog(); err != nil {
				r.cfg.Log.Warn("ledger log write failed", zap.Error(err))
			}
		}
		if r.cfg.Progress == nil {
			continue
		}
		now := time.Now()
		var sum counters
		var inflight int64
		agg.Reset()
		for _, s := range r.shops {
			s.mu.Lock()
			sum.add(&s.stats.counters)
			agg.Merge(s.stats.hist)
			inflight += s.stats.inflight
			s.mu.Unlock()
		}
		r.cfg.Progress(Progress{Elapsed: now.Sub(r.start), Duration: r.cfg.Duration, Sent: sum.sent, Answered: sum.answered,
			Timeouts: sum.timeouts, Unexpected: sum.unexpected, InFlight: inflight,
			Rate: float64(sum.answered-lastAnswered) / now.Sub(last).Seconds(), P99: time.Duration(agg.ValueAtQuantile(99)) * time.Microsecond})
		lastAnswered, last = sum.answered, now
	}
}

func (r *apiRun) report(finished time.Time, interrupted bool) Report {
	cfg := r.cfg
	rep := Report{Target: cfg.Target, Model: "open", Rate: cfg.Rate, Concurrency: cfg.Concurrency, Terminals: cfg.Shops,
		Connections: cfg.Shops, Mix: cfg.Mix.String(), Interrupted: interrupted, ElapsedSeconds: finished.Sub(r.start).Seconds(),
		ResponseCodes: map[string]int64{}, Kinds: map[string]kindCounts{}}
	if cfg.Concurrency > 0 {
		rep.Model = "closed"
	}
	sendEnd := r.end
	if finished.Before(sendEnd) {
		sendEnd = finished
	}
	rep.DurationSeconds = sendEnd.Sub(r.start).Seconds()
	hist := newHistogram(2 * cfg.Timeout)
	var sum counters
	var kinds [kindCount]kindCounts
	for _, s := range r.shops {
		s.mu.Lock()
		sum.add(&s.stats.counters)
		hist.Merge(s.stats.hist)
		for code, n := range s.stats.codes {
			rep.ResponseCodes[code] += n
		}
		for k := range kinds {
			kc := s.stats.kinds[k]
			kinds[k].Sent += kc.Sent
			kinds[k].Answered += kc.Answered
			kinds[k].Approved += kc.Approved
			kinds[k].Unexpected += kc.Unexpected
			kinds[k].Timeouts += kc.Timeouts
		}
		s.mu.Unlock()
	}
	for k, kc := range kinds {
		if kc.Sent > 0 {
			rep.Kinds[Kind(k).String()] = kc
		}
	}
	rep.Sent, rep.Answered, rep.Timeouts, rep.Unexpected = sum.sent, sum.answered, sum.timeouts, sum.unexpected
	rep.Skipped, rep.Repeats = r.skipped.Load(), r.repeats.Load()
	if rep.DurationSeconds > 0 {
		rep.AchievedRate = float64(rep.Answered) / rep.DurationSeconds
	}
	rep.Latency = latencyOf(hist)
	r.examples.Lock()
	rep.Examples = append([]string(nil), r.examples.list...)
	r.examples.Unlock()
	return rep
}
