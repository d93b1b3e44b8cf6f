package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// HTTPReader is what the HTTP handlers read.
type HTTPReader interface {
	TrialBalance(ctx context.Context) (TrialBalance, error)
	TransactionByRRN(ctx context.Context, rrn string) (*Transaction, error)
}

// TrialBalanceHandler serves GET /v1/ledger/trial-balance: the trial balance JSON of CONTRACT.md §10.
func TrialBalanceHandler(r HTTPReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		tb, err := r.TrialBalance(req.Context())
		if err != nil {
			http.Error(w, "ledger unavailable", http.StatusServiceUnavailable)
			return
		}
		writeJSON(w, http.StatusOK, tb)
	})
}

// TransactionHandler serves GET /v1/transactions/{rrn}: the original transaction with that RRN,
// its state, masked PAN, amounts, response codes, transfers and related events; 404 when unknown.
// Register it with a pattern that names the wildcard rrn, e.g. "GET /v1/transactions/{rrn}".
func TransactionHandler(r HTTPReader) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rrn := req.PathValue("rrn")
		if rrn == "" || len(rrn) > maxDecisionLen {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown rrn"})
			return
		}
		t, err := r.TransactionByRRN(req.Context(), rrn)
		switch {
		case errors.Is(err, ErrNotFound):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown rrn"})
		case err != nil:
			http.Error(w, "ledger unavailable", http.StatusServiceUnavailable)
		default:
			writeJSON(w, http.StatusOK, t)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
