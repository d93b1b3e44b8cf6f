package payments

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// The strict server's handlers of bills and settlements (the rest are in handlers.go).

func (r raw) VisitCreateBillResponse(w http.ResponseWriter) error        { return r.write(w) }
func (r raw) VisitCancelBillResponse(w http.ResponseWriter) error        { return r.write(w) }
func (r raw) VisitCreateBillPaymentResponse(w http.ResponseWriter) error { return r.write(w) }

func (b jsonOK) VisitListBillsResponse(w http.ResponseWriter) error       { return b.write(w) }
func (b jsonOK) VisitGetBillResponse(w http.ResponseWriter) error         { return b.write(w) }
func (b jsonOK) VisitListSettlementsResponse(w http.ResponseWriter) error { return b.write(w) }
func (b jsonOK) VisitGetSettlementResponse(w http.ResponseWriter) error   { return b.write(w) }
func (b jsonOK) VisitListSettlementTransactionsResponse(w http.ResponseWriter) error {
	return b.write(w)
}

func (h handlers) CreateBill(ctx context.Context, req apigen.CreateBillRequestObject) (apigen.CreateBillResponseObject, error) {
	if req.Body == nil {
		return nil, errInvalid("", "a JSON request body is required")
	}
	a, err := h.a.svc.CreateBill(ctx, principalFrom(ctx), *req.Body)
	return answer(a, err)
}

func (h handlers) ListBills(ctx context.Context, req apigen.ListBillsRequestObject) (apigen.ListBillsResponseObject, error) {
	p := req.Params
	f := store.BillFilter{Limit: 20}
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
	b, err := h.a.svc.ListBills(ctx, principalFrom(ctx), f)
	if err != nil {
		return nil, err
	}
	return jsonOK(b), nil
}

func (h handlers) GetBill(ctx context.Context, req apigen.GetBillRequestObject) (apigen.GetBillResponseObject, error) {
	b, err := h.a.svc.GetBill(ctx, principalFrom(ctx), req.Reference)
	if err != nil {
		return nil, err
	}
	return jsonOK(b), nil
}

func (h handlers) CancelBill(ctx context.Context, req apigen.CancelBillRequestObject) (apigen.CancelBillResponseObject, error) {
	a, err := h.a.svc.CancelBill(ctx, principalFrom(ctx), req.Reference)
	return answer(a, err)
}

func (h handlers) CreateBillPayment(ctx context.Context, req apigen.CreateBillPaymentRequestObject) (apigen.CreateBillPaymentResponseObject, error) {
	var body apigen.BillPaymentCreate
	if req.Body != nil {
		body = *req.Body
	}
	a, err := h.a.svc.CreateBillPayment(ctx, principalFrom(ctx), req.Reference, body)
	return answer(a, err)
}

func (h handlers) ListSettlements(ctx context.Context, req apigen.ListSettlementsRequestObject) (apigen.ListSettlementsResponseObject, error) {
	var from, to string
	if req.Params.From != nil {
		from = req.Params.From.Format(time.DateOnly)
	}
	if req.Params.To != nil {
		to = req.Params.To.Format(time.DateOnly)
	}
	l, err := h.a.svc.ListSettlements(ctx, principalFrom(ctx), from, to)
	if err != nil {
		return nil, err
	}
	return jsonOK(encode(l)), nil
}

func (h handlers) GetSettlement(ctx context.Context, req apigen.GetSettlementRequestObject) (apigen.GetSettlementResponseObject, error) {
	r, err := h.a.svc.SettlementReport(ctx, principalFrom(ctx), req.SettlementId)
	if err != nil {
		return nil, err
	}
	return jsonOK(encode(r.Settlement)), nil
}

func (h handlers) ListSettlementTransactions(ctx context.Context, req apigen.ListSettlementTransactionsRequestObject) (apigen.ListSettlementTransactionsResponseObject, error) {
	r, err := h.a.svc.SettlementReport(ctx, principalFrom(ctx), req.SettlementId)
	if err != nil {
		return nil, err
	}
	wantCSV := req.Params.Format != nil && *req.Params.Format == apigen.Csv
	if req.Params.Format == nil {
		wantCSV = acceptsCSV(ctx)
	}
	if !wantCSV {
		return jsonOK(encode(r.SettlementTransactionList)), nil
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		return nil, err
	}
	return csvFile{name: r.Settlement.Id, body: buf.Bytes()}, nil
}

// acceptsCSV reports whether the request asked for text/csv before JSON.
func acceptsCSV(ctx context.Context) bool {
	accept, _ := ctx.Value(acceptKey{}).(string)
	for _, part := range strings.Split(accept, ",") {
		switch strings.TrimSpace(strings.SplitN(part, ";", 2)[0]) {
		case "text/csv":
			return true
		case "application/json":
			return false
		}
	}
	return false
}

// csvFile is a text/csv answer, offered as a download.
type csvFile struct {
	name string
	body []byte
}

func (c csvFile) VisitListSettlementTransactionsResponse(w http.ResponseWriter) error {
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="settlement-`+c.name+`.csv"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(c.body)
	return err
}
