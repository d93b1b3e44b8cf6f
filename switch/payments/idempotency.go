package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// idemKey is the Idempotency-Key of the request being served.
type idemKey struct {
	apiKeyID, key, hash string
	// recorded: the operation wrote the key (in flight, or with its answer) in its own
	// transaction; the middleware then leaves it alone, except to release an in-flight record of
	// an operation that failed without an answer worth keeping.
	recorded bool
	// releasable: the operation failed without an effect (its intent was undone durably), so a
	// retry with the key may run it again.
	releasable bool
}

type idemCtxKey struct{}

func idemFrom(ctx context.Context) *idemKey {
	k, _ := ctx.Value(idemCtxKey{}).(*idemKey)
	return k
}

// inFlight holds the Idempotency-Keys whose first request this process is serving: a second
// request with the same key gets 409 at once.
type inFlight struct {
	mu   sync.Mutex
	keys map[string]struct{}
}

func (f *inFlight) claim(k string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.keys[k]; busy {
		return false
	}
	f.keys[k] = struct{}{}
	return true
}

func (f *inFlight) release(k string) {
	f.mu.Lock()
	delete(f.keys, k)
	f.mu.Unlock()
}

// requestHash identifies a request's content: method, path and the body in a canonical JSON form
// (keys sorted, no insignificant space), so that a retry that re-encodes the same object matches.
func requestHash(r *http.Request, body []byte) string {
	canon := body
	if len(bytes.TrimSpace(body)) > 0 {
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&v) == nil {
			if b, err := json.Marshal(v); err == nil {
				canon = b
			}
		}
	}
	return sha256Hex(r.Method + " " + r.URL.Path + "\n" + string(canon))
}

// idempotency applies CONTRACT §12's Idempotency-Key rules to a POST: a replay of a completed
// request gets its first answer (same status and body); the same key with another request is 422;
// while the first is in flight, 409. Operations record the key in the transaction of their effect;
// an answer without an effect (a 4xx) is recorded here, and a failure with no answer to keep
// (5xx) releases the key so that a retry runs again.
func (a *API) idempotency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		who := principalFrom(r.Context())
		if r.Method != http.MethodPost || key == "" || who == nil {
			next.ServeHTTP(w, r)
			return
		}
		hash := requestHash(r, bodyFrom(r.Context()))
		slot := who.KeyID + "\x00" + key
		if !a.inflight.claim(slot) {
			writeError(w, &Error{Status: http.StatusConflict, Code: CodeIdempotencyInUse, Param: "Idempotency-Key",
				Message: "a request with this Idempotency-Key is still being processed; retry later"}, a.log)
			return
		}
		defer a.inflight.release(slot)
		rec, err := a.store.Idempotency(r.Context(), who.KeyID, key)
		switch {
		case err == store.ErrNotFound:
		case err != nil:
			writeError(w, err, a.log)
			return
		case rec.RequestHash != hash:
			writeError(w, &Error{Status: http.StatusUnprocessableEntity, Code: CodeIdempotencyReused, Param: "Idempotency-Key",
				Message: "this Idempotency-Key was used with another request; use a new key for a new request"}, a.log)
			return
		case rec.Status == 0:
			writeError(w, &Error{Status: http.StatusConflict, Code: CodeIdempotencyInUse, Param: "Idempotency-Key",
				Message: "a request with this Idempotency-Key is still being processed; retry later"}, a.log)
			return
		default:
			w.Header().Set("Idempotent-Replayed", "true")
			writeJSON(w, rec.Status, []byte(rec.Body))
			return
		}
		ik := &idemKey{apiKeyID: who.KeyID, key: key, hash: hash}
		cw := &capturingWriter{ResponseWriter: w}
		next.ServeHTTP(cw, r.WithContext(context.WithValue(r.Context(), idemCtxKey{}, ik)))
		a.settleKey(r.Context(), ik, cw)
	})
}

// settleKey keeps the answer of a request that recorded nothing when the answer is one a retry
// must get again (a 4xx from the operation), and releases an in-flight record after a 5xx.
func (a *API) settleKey(ctx context.Context, ik *idemKey, cw *capturingWriter) {
	ctx = context.WithoutCancel(ctx)
	status := cw.status
	keep := status >= 400 && status < 500 && status != http.StatusTooManyRequests && status != http.StatusUnauthorized
	switch {
	case keep:
		// Upsert: completes an in-flight record of this request, or writes a new one.
		err := a.svc.commit(ctx, &store.Write{Idempotency: []store.Idempotency{{APIKeyID: ik.apiKeyID, Key: ik.key,
			RequestHash: ik.hash, Status: status, Body: cw.body.String(), Op: "error", CreatedAt: a.svc.d.Now().UTC()}}})
		if err != nil {
			a.log.Warn("idempotency answer not kept")
		}
	case status >= 500 && ik.releasable:
		_ = a.store.DeleteIdempotency(ctx, ik.apiKeyID, ik.key)
	}
}

// capturingWriter passes a response through and keeps a copy of its status and body.
type capturingWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capturingWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *capturingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len() < maxBodyBytesDefault*4 {
		c.body.Write(b)
	}
	return c.ResponseWriter.Write(b)
}
