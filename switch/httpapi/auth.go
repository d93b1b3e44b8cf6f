package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// requireToken wraps h so that a request without "Authorization: Bearer <token>" gets 401. The
// comparison is in constant time over SHA-256 digests, so that neither the token's bytes nor its
// length leak through timing.
func requireToken(token string, h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			if mux, isMux := h.(*http.ServeMux); isMux {
				_, r.Pattern = mux.Handler(r) // the route refused, for the request metrics
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="cardswitch"`)
			writeError(w, http.StatusUnauthorized, "a valid admin token is required (Authorization: Bearer <token>)")
			return
		}
		h.ServeHTTP(w, r)
	})
}
