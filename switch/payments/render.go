package payments

import (
	"encoding/json"

	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// refundable is what may still be refunded: captured, less refunded.
func refundable(p *store.Payment) int64 {
	if p.Status != store.StatusSucceeded {
		return 0
	}
	return max(p.AmountCaptured-p.AmountRefunded, 0)
}

// paymentView is a payment as the API shows it. pageURL is the hosted page (only known when the
// token was just made: the store keeps its hash).
func (s *Service) paymentView(p *store.Payment, pageURL string) apigen.Payment {
	self := "/v1/payments/" + p.ID
	v := apigen.Payment{
		Id: p.ID, Status: apigen.PaymentStatus(p.Status), Amount: p.Amount, Fee: p.Fee, Total: p.Total(),
		Currency: alphaCurrency(p.Currency), Reference: p.Reference, Description: p.Description,
		ReturnUrl: strPtr(p.ReturnURL), Capture: apigen.CaptureMode(p.Capture),
		ResponseCode: strPtr(p.ResponseCode), DeclineReason: strPtr(p.DeclineReason),
		AuthorizationCode: strPtr(p.AuthCode), Rrn: strPtr(p.RRN),
		AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded, AmountRefundable: refundable(p),
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		Links: apigen.PaymentLinks{Self: self, Events: self + "/events", Refunds: self + "/refunds", Receipt: self + "/receipt"},
	}
	if p.Metadata != "" {
		var md apigen.Metadata
		if json.Unmarshal([]byte(p.Metadata), &md) == nil {
			v.Metadata = &md
		}
	}
	if p.CardMasked != "" {
		v.Card = &apigen.Card{Number: p.CardMasked, ExpiryMonth: p.CardExpMonth, ExpiryYear: p.CardExpYear, HolderName: strPtr(p.CardHolder)}
	}
	if p.BillID != "" {
		v.BillReference = strPtr(p.Reference) // a bill's payment carries its control number
	}
	switch p.Status {
	case store.StatusCreated:
		v.Links.NextUrl = strPtr(pageURL)
		v.Links.Cancel = strPtr(self + "/cancel")
	case store.StatusAuthorised:
		v.Links.Capture = strPtr(self + "/capture")
		v.Links.Cancel = strPtr(self + "/cancel")
	}
	return v
}

func refundView(r *store.Refund) apigen.Refund {
	return apigen.Refund{Id: r.ID, PaymentId: r.PaymentID, Status: apigen.RefundStatus(r.Status), Amount: r.Amount,
		Currency: alphaCurrency(r.Currency), Reference: strPtr(r.Reference), ResponseCode: strPtr(r.ResponseCode),
		Rrn: strPtr(r.RRN), CreatedAt: r.CreatedAt}
}

func eventView(e store.Event) apigen.PaymentEvent {
	v := apigen.PaymentEvent{Type: e.Type, Status: apigen.PaymentStatus(e.Status), CreatedAt: e.CreatedAt,
		RefundId: strPtr(e.RefundID), ResponseCode: strPtr(e.ResponseCode)}
	if e.Amount != 0 {
		a := e.Amount
		v.Amount = &a
	}
	return v
}

// encode is the JSON body of a response, byte for byte what a replay returns.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("payments: a response does not marshal: " + err.Error()) // our own types always do
	}
	return append(b, '\n')
}
