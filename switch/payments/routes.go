package payments

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/httprate"

	"github.com/cardswitch/cardswitch/switch/payments/apigen"
)

// Handler is the whole API surface. Every request goes through, in order: panic recovery, readiness (503), the body limit, authentication (401), the per-key rate limit (429);
// then routing, parameter binding, validation against the OpenAPI document (400) and, for POSTs,
// the Idempotency-Key rules (409/422/replay), before the operation's handler.
func (a *API) Handler() http.Handler {
	r := chi.NewRouter()
	r.Use(a.recoverPanics, a.ready, a.readBody, a.authenticated, a.rateLimit(), acceptInContext)
	r.NotFound(func(w http.ResponseWriter, _ *http.Request) { writeError(w, errNotFound("route"), a.log) })
	r.MethodNotAllowed(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, &Error{Status: http.StatusMethodNotAllowed, Code: CodeMethodNotAllowed, Message: "method not allowed on this path"}, a.log)
	})

	strict := apigen.NewStrictHandlerWithOptions(handlers{a}, nil, apigen.StrictHTTPServerOptions{
		RequestErrorHandlerFunc:  func(w http.ResponseWriter, _ *http.Request, err error) { writeError(w, bodyError(err), a.log) },
		ResponseErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) { writeError(w, err, a.log) },
	})
	// The generated wrapper binds parameters, then runs its middlewares last-listed first:
	// validation, then idempotency, then the handler.
	op := &apigen.ServerInterfaceWrapper{Handler: strict, HandlerMiddlewares: []apigen.MiddlewareFunc{a.idempotency, a.validate},
		ErrorHandlerFunc: func(w http.ResponseWriter, _ *http.Request, err error) { writeError(w, paramError(err), a.log) }}

	r.Get("/v1/openapi.json", op.GetOpenAPI)

	r.Post("/v1/payments", op.CreatePayment)
	r.Get("/v1/payments", op.ListPayments)
	r.Get("/v1/payments/{payment_id}", op.GetPayment)
	r.Post("/v1/payments/{payment_id}/capture", op.CapturePayment)
	r.Post("/v1/payments/{payment_id}/cancel", op.CancelPayment)
	r.Get("/v1/payments/{payment_id}/events", op.ListPaymentEvents)
	r.Get("/v1/payments/{payment_id}/receipt", op.GetReceipt)

	r.Post("/v1/payments/{payment_id}/refunds", op.CreateRefund)
	r.Get("/v1/payments/{payment_id}/refunds", op.ListRefunds)
	r.Get("/v1/payments/{payment_id}/refunds/{refund_id}", op.GetRefund)

	r.Post("/v1/webhook-endpoints", op.CreateWebhookEndpoint)
	r.Get("/v1/webhook-endpoints", op.ListWebhookEndpoints)
	r.Get("/v1/webhook-endpoints/{endpoint_id}", op.GetWebhookEndpoint)
	r.Delete("/v1/webhook-endpoints/{endpoint_id}", op.DeleteWebhookEndpoint)
	r.Post("/v1/webhook-endpoints/{endpoint_id}/rotate-secret", op.RotateWebhookSecret)
	r.Get("/v1/webhook-endpoints/{endpoint_id}/deliveries", op.ListWebhookDeliveries)

	r.Post("/v1/bills", op.CreateBill)
	r.Get("/v1/bills", op.ListBills)
	r.Get("/v1/bills/{reference}", op.GetBill)
	r.Post("/v1/bills/{reference}/cancel", op.CancelBill)
	r.Post("/v1/bills/{reference}/payments", op.CreateBillPayment)

	r.Get("/v1/settlements", op.ListSettlements)
	r.Get("/v1/settlements/{settlement_id}", op.GetSettlement)
	r.Get("/v1/settlements/{settlement_id}/transactions", op.ListSettlementTransactions)
	return r
}

// rateLimit limits each API key to cfg.RateLimit requests per second.
func (a *API) rateLimit() func(http.Handler) http.Handler {
	if a.cfg.RateLimit < 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	return httprate.LimitBy(a.cfg.RateLimit, time.Second,
		func(r *http.Request) (string, error) {
			if who := principalFrom(r.Context()); who != nil {
				return who.KeyID, nil
			}
			return "anonymous", nil
		},
		httprate.WithLimitHandler(func(w http.ResponseWriter, _ *http.Request) {
			writeError(w, &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited, RetryAfter: 1,
				Message: "too many requests for this API key; retry after the time in Retry-After"}, a.log)
		}))
}

func acceptInContext(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), acceptKey{}, r.Header.Get("Accept"))))
	})
}

// paramError is a parameter the generated code could not bind (validation usually answers first).
func paramError(err error) *Error {
	var inv *apigen.InvalidParamFormatError
	var req *apigen.RequiredParamError
	var many *apigen.TooManyValuesForParamError
	switch {
	case errors.As(err, &inv):
		return errInvalid(inv.ParamName, inv.ParamName+" is not valid")
	case errors.As(err, &req):
		return errInvalid(req.ParamName, req.ParamName+" is required")
	case errors.As(err, &many):
		return errInvalid(many.ParamName, many.ParamName+" is given more than once")
	}
	return errInvalid("", "a parameter is not valid")
}

// bodyError is a body the generated code could not decode (validation usually answers first).
func bodyError(error) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "the request body is not valid JSON for this operation"}
}
