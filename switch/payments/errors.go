package payments

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/carddata"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// Error is an API error: the HTTP status and the contract's error body
// {"error": {"code", "message", "param"}}. Handlers and middleware return it; writeError is the
// one place that turns any error into a response.
type Error struct {
	Status  int
	Code    string
	Message string
	Param   string
	// PaymentStatus is the payment's current status (409 invalid_state).
	PaymentStatus string
	// AmountRefundable accompanies 422 refund_exceeds_refundable.
	AmountRefundable *int64
	// RetryAfter, in seconds, is sent as Retry-After (429, 503).
	RetryAfter int
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes.
const (
	CodeInvalidRequest       = "invalid_request"
	CodeInvalidJSON          = "invalid_json"
	CodeBodyTooLarge         = "body_too_large"
	CodeUnauthorized         = "unauthorized"
	CodeForbidden            = "forbidden"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeInvalidState         = "invalid_state"
	CodeIdempotencyReused    = "idempotency_key_reused"
	CodeIdempotencyInUse     = "idempotency_key_in_use"
	CodeRefundExceeds        = "refund_exceeds_refundable"
	CodeCaptureExceeds       = "capture_exceeds_authorised"
	CodeCurrencyNotAccepted  = "currency_not_accepted"
	CodeURLNotAllowed        = "url_not_allowed"
	CodeRateLimited          = "rate_limited"
	CodeUnavailable          = "service_unavailable"
	CodeInternal             = "internal_error"
	CodeUnsupportedMediaType = "unsupported_media_type"
)

func errInvalid(param, msg string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: msg, Param: param}
}

func errNotFound(what string) *Error {
	return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: "no such " + what}
}

func errState(status, msg string) *Error {
	return &Error{Status: http.StatusConflict, Code: CodeInvalidState, Message: msg, PaymentStatus: status}
}

var errUnavailable = &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
	Message: "the switch is not ready or is draining; retry later with the same Idempotency-Key", RetryAfter: 1}

// toError maps any error to an API error. Unknown errors are 500 and logged (their text never
// reaches the client).
func toError(err error, log *zap.Logger) *Error {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrNotFound):
		return errNotFound("resource")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled), errors.Is(err, store.ErrWriterStopped):
		return errUnavailable
	}
	if log != nil {
		log.Error("payments api internal error", zap.Error(err))
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error; retry with the same Idempotency-Key"}
}

// errorBody is the JSON of an API error.
func errorBody(e *Error) []byte {
	type inner struct {
		Code             string `json:"code"`
		Message          string `json:"message"`
		Param            string `json:"param,omitempty"`
		Status           string `json:"status,omitempty"`
		AmountRefundable *int64 `json:"amount_refundable,omitempty"`
	}
	// A message is built by this package, but may quote a value from a request: card numbers are
	// masked on the way out whatever happens.
	b, _ := json.Marshal(struct {
		Error inner `json:"error"`
	}{inner{e.Code, maskCards(e.Message), maskCards(e.Param), e.PaymentStatus, e.AmountRefundable}})
	return append(b, '\n')
}

// writeError writes err in the contract's error shape: the one error path of the API.
func writeError(w http.ResponseWriter, err error, log *zap.Logger) {
	e := toError(err, log)
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, errorBody(e))
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// maskCards masks anything in s that looks like a card number (6+4).
func maskCards(s string) string {
	b := []byte(s)
	if f := carddata.Scan(b); len(f) > 0 {
		return string(carddata.Mask(b, f))
	}
	return s
}
