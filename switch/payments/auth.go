package payments

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// Test keys of the default topology (CONTRACT §6): "sk_test_" and the merchant id.
const testKeyPrefix = "sk_test_"

// TestKey returns the test key of a merchant.
func TestKey(merchantID string) string { return testKeyPrefix + merchantID }

// HashKey is how an API key is stored: the hex SHA-256 of the key. Keys are 256-bit random
// strings (or, for test keys, public), so a salt or a slow hash would add nothing.
func HashKey(key string) string { return sha256Hex(key) }

// NewKey makes an API key for a merchant: "sk_live_" and 52 random base-32 characters (260 bits).
func NewKey() string { return "sk_live_" + randomToken(32) }

// EnsureTestKeys stores the test key of each merchant given, with every scope, if not there.
func EnsureTestKeys(ctx context.Context, s *store.Store, merchants []string, now time.Time) error {
	for _, m := range merchants {
		k := TestKey(m)
		if err := s.CreateAPIKey(ctx, &store.APIKey{ID: "key_test_" + strings.ToLower(m), Merchant: m, Hash: HashKey(k),
			Prefix: k[:min(len(k), 12)], Scopes: AllScopes, Test: true, CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}

// keyCache remembers looked-up keys for keyCacheTTL, so that a request costs no read for its key;
// a revoked key stops working within that time.
type keyCache struct {
	mu      sync.Mutex
	entries map[string]keyEntry
}

type keyEntry struct {
	key     *store.APIKey // nil: no such key (remembered too, briefly)
	expires time.Time
}

const (
	keyCacheTTL = 10 * time.Second
	keyCacheMax = 10000
)

// authenticate returns the principal of a request's bearer key, or a 401/403 error.
func (a *API) authenticate(r *http.Request) (*Principal, error) {
	h := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || key == "" || len(key) > 200 {
		return nil, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "send your API key as Authorization: Bearer <key>"}
	}
	hash := HashKey(key)
	k, err := a.lookupKey(r.Context(), hash)
	if err != nil {
		return nil, err
	}
	if k == nil || subtle.ConstantTimeCompare([]byte(k.Hash), []byte(hash)) != 1 {
		return nil, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Message: "the API key is not valid"}
	}
	m, ok := a.svc.Merchant(k.Merchant)
	if !ok {
		return nil, &Error{Status: http.StatusForbidden, Code: CodeForbidden, Message: "the API key's merchant is not configured on this switch"}
	}
	scopes := make(map[string]bool, len(k.Scopes))
	for _, s := range k.Scopes {
		scopes[s] = true
	}
	return &Principal{KeyID: k.ID, Merchant: m, Scopes: scopes}, nil
}

func (a *API) lookupKey(ctx context.Context, hash string) (*store.APIKey, error) {
	now := time.Now()
	a.keys.mu.Lock()
	e, ok := a.keys.entries[hash]
	a.keys.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.key, nil
	}
	k, err := a.store.APIKeyByHash(ctx, hash)
	if err != nil && err != store.ErrNotFound {
		return nil, err
	}
	a.keys.mu.Lock()
	if len(a.keys.entries) >= keyCacheMax {
		a.keys.entries = map[string]keyEntry{}
	}
	a.keys.entries[hash] = keyEntry{key: k, expires: now.Add(keyCacheTTL)}
	a.keys.mu.Unlock()
	return k, nil
}

type principalKey struct{}

func withPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

func principalFrom(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// NewKeyID returns the public id of a new key (independent of the key itself).
func NewKeyID() string { return "key_" + randomToken(10) }
