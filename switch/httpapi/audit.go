package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/audit"
)

// AuditLister is what GET /v1/audit needs of the audit log.
type AuditLister interface {
	List(ctx context.Context, f audit.Filter) ([]audit.Entry, error)
}

// auditHandler serves GET /v1/audit?since=RFC3339|DURATION&action=NAME&limit=N: the operators'
// actions, newest first, as {"entries": [...]}.
func auditHandler(l AuditLister, log *zap.Logger) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f, err := auditFilter(r, time.Now())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		entries, err := l.List(r.Context(), f)
		if err != nil {
			log.Error("http audit list", zap.Error(err))
			writeError(w, http.StatusServiceUnavailable, "audit log unavailable")
			return
		}
		if entries == nil {
			entries = []audit.Entry{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	}
}

// auditFilter reads the query: since is a time (RFC 3339) or a duration back from now ("24h").
func auditFilter(r *http.Request, now time.Time) (audit.Filter, error) {
	q := r.URL.Query()
	f := audit.Filter{Action: q.Get("action")}
	if s := q.Get("since"); s != "" {
		since, err := audit.ParseSince(s, now)
		if err != nil {
			return f, err
		}
		f.Since = since
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > audit.ListMax {
			return f, errLimit
		}
		f.Limit = n
	}
	return f, nil
}

var errLimit = errors.New("limit must be a number from 1 to " + strconv.Itoa(audit.ListMax))

// Actor is the audit actor of an admin request (docs/security.md): the admin token's holder when
// the listener requires one, else whoever could reach the loopback listener; the client's
// X-Cardswitch-Actor header is recorded as its claim. Admin handlers that write call it for
// audit.Entry.Actor.
func (d Deps) Actor(r *http.Request) string {
	return audit.ActorHTTP(d.Token != "", r.RemoteAddr, r.Header.Get(audit.ActorHeader))
}
