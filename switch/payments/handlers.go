package payments

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// handlers implements the generated strict server: each method decodes nothing itself (the
// generated code did), calls the service and returns a typed response or an error, which
// writeError maps.
type handlers struct{ a *API }

var _ apigen.StrictServerInterface = handlers{}

// raw is an answer already encoded (what an Idempotency-Key replay returns byte for byte).
type raw Answer

func (r raw) write(w http.ResponseWriter) error {
	writeJSON(w, r.Status, r.Body)
	return nil
}

func (r raw) VisitCreatePaymentResponse(w http.ResponseWriter) error         { return r.write(w) }
func (r raw) VisitCapturePaymentResponse(w http.ResponseWriter) error        { return r.write(w) }
func (r raw) VisitCancelPaymentResponse(w http.ResponseWriter) error         { return r.write(w) }
func (r raw) VisitCreateRefundResponse(w http.ResponseWriter) error          { return r.write(w) }
func (r raw) VisitCreateWebhookEndpointResponse(w http.ResponseWriter) error { return r.write(w) }
func (r raw) VisitRotateWebhookSecretResponse(w http.ResponseWriter) error   { return r.write(w) }

// jsonOK is a 200 JSON answer of any GET.
type jsonOK []byte

func (b jsonOK) write(w http.ResponseWriter) error {
	writeJSON(w, http.StatusOK, b)
	return nil
}

func (b jsonOK) VisitGetOpenAPIResponse(w http.ResponseWriter) error            { return b.write(w) }
func (b jsonOK) VisitListPaymentsResponse(w http.ResponseWriter) error          { return b.write(w) }
func (b jsonOK) VisitGetPaymentResponse(w http.ResponseWriter) error            { return b.write(w) }
func (b jsonOK) VisitListPaymentEventsResponse(w http.ResponseWriter) error     { return b.write(w) }
func (b jsonOK) VisitListRefundsResponse(w http.ResponseWriter) error           { return b.write(w) }
func (b jsonOK) VisitGetRefundResponse(w http.ResponseWriter) error             { return b.write(w) }
func (b jsonOK) VisitGetReceiptResponse(w http.ResponseWriter) error            { return b.write(w) }
func (b jsonOK) VisitListWebhookEndpointsResponse(w http.ResponseWriter) error  { return b.write(w) }
func (b jsonOK) VisitGetWebhookEndpointResponse(w http.ResponseWriter) error    { return b.write(w) }
func (b jsonOK) VisitDeleteWebhookEndpointResponse(w http.ResponseWriter) error { return b.write(w) }
func (b jsonOK) VisitListWebhookDeliveriesResponse(w http.ResponseWriter) error { return b.write(w) }

func (h handlers) GetOpenAPI(context.Context, apigen.GetOpenAPIRequestObject) (apigen.GetOpenAPIResponseObject, error) {
	return jsonOK(h.a.docJSON), nil
}

func (h handlers) CreatePayment(ctx context.Context, req apigen.CreatePaymentRequestObject) (apigen.CreatePaymentResponseObject, error) {
	if req.Body == nil {
		return nil, errInvalid("", "a JSON request body is required")
	}
	a, err := h.a.svc.CreatePayment(ctx, principalFrom(ctx), *req.Body)
	return answer(a, err)
}

// answer returns an operation's answer, or its error when it has no answer body.
func answer(a Answer, err error) (raw, error) {
	if err != nil {
		return raw{}, err
	}
	return raw(a), nil
}

func (h handlers) ListPayments(ctx context.Context, req apigen.ListPaymentsRequestObject) (apigen.ListPaymentsResponseObject, error) {
	who := principalFrom(ctx)
	if err := who.require(ScopePayments); err != nil {
		return nil, err
	}
	p := req.Params
	f := store.PaymentFilter{Merchant: who.Merchant.ID, Limit: 20}
	if p.Reference != nil {
		f.Reference = *p.Reference
	}
	if p.Status != nil {
		f.Status = string(*p.Status)
	}
	if p.CreatedFrom != nil {
		f.CreatedFrom = *p.CreatedFrom
	}
	if p.CreatedTo != nil {
		f.CreatedTo = *p.CreatedTo
	}
	if p.Limit != nil {
		f.Limit = *p.Limit
	}
	if p.Cursor != nil {
		f.Before = *p.Cursor
	}
	rows, err := h.a.store.Payments(ctx, f)
	if err != nil {
		return nil, err
	}
	out := apigen.PaymentList{Data: []apigen.Payment{}}
	if len(rows) > f.Limit {
		rows = rows[:f.Limit]
		out.HasMore = true
		next := rows[len(rows)-1].ID
		out.NextCursor = &next
	}
	for _, r := range rows {
		out.Data = append(out.Data, h.a.svc.paymentView(r, ""))
	}
	return jsonOK(encode(out)), nil
}

func (h handlers) payment(ctx context.Context, id string) (*store.Payment, error) {
	who := principalFrom(ctx)
	if err := who.require(ScopePayments); err != nil {
		return nil, err
	}
	p, err := h.a.store.Payment(ctx, who.Merchant.ID, id)
	if err != nil {
		return nil, notFoundAs(err, "payment")
	}
	return p, nil
}

func (h handlers) GetPayment(ctx context.Context, req apigen.GetPaymentRequestObject) (apigen.GetPaymentResponseObject, error) {
	p, err := h.payment(ctx, req.PaymentId)
	if err != nil {
		return nil, err
	}
	return jsonOK(encode(h.a.svc.paymentView(p, ""))), nil
}

func (h handlers) CancelPayment(ctx context.Context, req apigen.CancelPaymentRequestObject) (apigen.CancelPaymentResponseObject, error) {
	a, err := h.a.svc.Cancel(ctx, principalFrom(ctx), req.PaymentId)
	return answer(a, err)
}

func (h handlers) CapturePayment(ctx context.Context, req apigen.CapturePaymentRequestObject) (apigen.CapturePaymentResponseObject, error) {
	var amount *int64
	if req.Body != nil {
		amount = req.Body.Amount
	}
	a, err := h.a.svc.Capture(ctx, principalFrom(ctx), req.PaymentId, amount)
	return answer(a, err)
}

func (h handlers) ListPaymentEvents(ctx context.Context, req apigen.ListPaymentEventsRequestObject) (apigen.ListPaymentEventsResponseObject, error) {
	p, err := h.payment(ctx, req.PaymentId)
	if err != nil {
		return nil, err
	}
	evs, err := h.a.store.Events(ctx, p.Merchant, p.ID)
	if err != nil {
		return nil, err
	}
	out := apigen.PaymentEventList{Data: make([]apigen.PaymentEvent, 0, len(evs))}
	for _, e := range evs {
		out.Data = append(out.Data, eventView(e))
	}
	return jsonOK(encode(out)), nil
}

func (h handlers) GetReceipt(ctx context.Context, req apigen.GetReceiptRequestObject) (apigen.GetReceiptResponseObject, error) {
	p, err := h.payment(ctx, req.PaymentId)
	if err != nil {
		return nil, err
	}
	if p.Status != store.StatusSucceeded {
		return nil, errState(p.Status, "a receipt exists once the payment has succeeded; this one is "+p.Status)
	}
	rc := h.a.svc.receipt(p)
	if err := h.a.svc.completeReceipt(ctx, p, &rc); err != nil {
		return nil, err
	}
	if wantsHTML(ctx) {
		var buf bytes.Buffer
		if err := receiptPage.Execute(&buf, receiptData(rc)); err != nil {
			return nil, err
		}
		return htmlPage(buf.Bytes()), nil
	}
	return jsonOK(encode(rc)), nil
}

func (h handlers) refundsAllowed(ctx context.Context, id string) (*store.Payment, error) {
	who := principalFrom(ctx)
	if !who.Scopes[ScopeRefunds] && !who.Scopes[ScopePayments] {
		return nil, who.require(ScopeRefunds)
	}
	p, err := h.a.store.Payment(ctx, who.Merchant.ID, id)
	return p, notFoundAs(err, "payment")
}

func (h handlers) ListRefunds(ctx context.Context, req apigen.ListRefundsRequestObject) (apigen.ListRefundsResponseObject, error) {
	p, err := h.refundsAllowed(ctx, req.PaymentId)
	if err != nil {
		return nil, err
	}
	rs, err := h.a.store.Refunds(ctx, p.Merchant, p.ID)
	if err != nil {
		return nil, err
	}
	out := apigen.RefundList{Data: make([]apigen.Refund, 0, len(rs))}
	for _, r := range rs {
		out.Data = append(out.Data, refundView(r))
	}
	return jsonOK(encode(out)), nil
}

func (h handlers) CreateRefund(ctx context.Context, req apigen.CreateRefundRequestObject) (apigen.CreateRefundResponseObject, error) {
	if req.Body == nil {
		return nil, errInvalid("", "a JSON request body is required")
	}
	a, err := h.a.svc.CreateRefund(ctx, principalFrom(ctx), req.PaymentId, *req.Body)
	return answer(a, err)
}

func (h handlers) GetRefund(ctx context.Context, req apigen.GetRefundRequestObject) (apigen.GetRefundResponseObject, error) {
	p, err := h.refundsAllowed(ctx, req.PaymentId)
	if err != nil {
		return nil, err
	}
	r, err := h.a.store.Refund(ctx, p.Merchant, p.ID, req.RefundId)
	if err != nil {
		return nil, notFoundAs(err, "refund")
	}
	return jsonOK(encode(refundView(r))), nil
}

// htmlPage is a text/html answer.
type htmlPage []byte

func (p htmlPage) VisitGetReceiptResponse(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(p)
	return err
}

type acceptKey struct{}

// wantsHTML reports whether the request asked for text/html before JSON.
func wantsHTML(ctx context.Context) bool {
	accept, _ := ctx.Value(acceptKey{}).(string)
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		switch mt {
		case "text/html":
			return true
		case "application/json":
			return false
		}
	}
	return false
}
