package httpapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/ledger"
)

// The store-and-forward queue for operators: list, read one, retry a parked item, park one.
//
//	GET  /v1/saf?issuer=alpha&state=queued,parked&limit=100
//	GET  /v1/saf/{id}
//	POST /v1/saf/{id}/retry   a parked item: queued again, due now, its age counted from now
//	POST /v1/saf/{id}/park    a queued item: parked until retried
func safRoutes(d Deps, mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/saf", func(w http.ResponseWriter, r *http.Request) {
		if d.SAF == nil {
			http.NotFound(w, r)
			return
		}
		f, msg := safFilter(r)
		if msg != "" {
			writeError(w, http.StatusBadRequest, msg)
			return
		}
		snap, err := d.SAF(r.Context(), f)
		if err != nil {
			d.Log.Error("http saf", zap.Error(err))
			writeError(w, http.StatusServiceUnavailable, "ledger unavailable")
			return
		}
		writeJSON(w, http.StatusOK, snap)
	})
	mux.HandleFunc("GET /v1/saf/{id}", func(w http.ResponseWriter, r *http.Request) {
		it, ok := safItem(d, w, r)
		if ok {
			writeJSON(w, http.StatusOK, it)
		}
	})
	change := func(op ledger.SAFOp, from ledger.SAFState, verb string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			it, ok := safItem(d, w, r)
			if !ok {
				return
			}
			if it.State != from || d.ChangeSAF == nil {
				writeError(w, http.StatusConflict, "item "+strconv.FormatInt(it.Seq, 10)+" is "+it.State.String()+
					": only a "+from.String()+" item can be "+verb)
				return
			}
			if err := d.ChangeSAF(r.Context(), ledger.SAFChange{Op: op, Seq: it.Seq, Error: "parked by an operator"}, d.Actor(r)); err != nil {
				d.Log.Error("http saf change", zap.Error(err))
				writeError(w, http.StatusServiceUnavailable, "ledger unavailable")
				return
			}
			d.Log.Info("store-and-forward item changed by an operator", zap.Int64("id", it.Seq), zap.String("action", verb),
				zap.String("issuer", it.Issuer), zap.String("rrn", it.RRN))
			if it, ok = safItem(d, w, r); ok {
				writeJSON(w, http.StatusOK, it)
			}
		}
	}
	mux.HandleFunc("POST /v1/saf/{id}/retry", change(ledger.SAFRetry, ledger.SAFParked, "retried"))
	mux.HandleFunc("POST /v1/saf/{id}/park", change(ledger.SAFPark, ledger.SAFQueued, "parked"))
}

// safItem reads the item the path names, answering 400/404/503 itself when it cannot.
func safItem(d Deps, w http.ResponseWriter, r *http.Request) (*ledger.SAFItem, bool) {
	seq, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || seq <= 0 {
		writeError(w, http.StatusBadRequest, "id: must be a store-and-forward item id (a positive integer)")
		return nil, false
	}
	if d.SAFItem == nil {
		writeError(w, http.StatusNotFound, "no such item")
		return nil, false
	}
	it, err := d.SAFItem(r.Context(), seq)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "no such item")
		return nil, false
	case err != nil:
		d.Log.Error("http saf item", zap.Error(err))
		writeError(w, http.StatusServiceUnavailable, "ledger unavailable")
		return nil, false
	}
	return it, true
}

// safFilter reads the listing's query: issuer, state (comma-separated: intent, queued, delivered,
// parked; default queued,parked) and limit (at most ledger.MaxSAFList).
func safFilter(r *http.Request) (ledger.SAFFilter, string) {
	q := r.URL.Query()
	f := ledger.SAFFilter{Issuer: q.Get("issuer"), EventID: q.Get("transaction")}
	if s := q.Get("state"); s != "" {
		for _, name := range strings.Split(s, ",") {
			st, ok := map[string]ledger.SAFState{"intent": ledger.SAFIntent, "queued": ledger.SAFQueued,
				"delivered": ledger.SAFDelivered, "parked": ledger.SAFParked}[strings.TrimSpace(name)]
			if !ok {
				return f, "state: " + strconv.Quote(name) + " must be intent, queued, delivered or parked"
			}
			f.States = append(f.States, st)
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > ledger.MaxSAFList {
			return f, "limit: must be 1 to " + strconv.Itoa(ledger.MaxSAFList)
		}
		f.Limit = n
	}
	return f, ""
}
