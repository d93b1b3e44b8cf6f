package payments

import (
	"fmt"
	"html/template"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// receipt is a succeeded payment's receipt. Its number is derived from the RRN, which the switch
// never assigns twice, so it is unique per merchant or agency without a counter.
func (s *Service) receipt(p *store.Payment) apigen.Receipt {
	m, _ := s.Merchant(p.Merchant)
	name := p.Merchant
	if m != nil && m.Name != "" {
		name = m.Name
	}
	rc := apigen.Receipt{ReceiptNumber: "R-" + p.RRN, PaymentId: p.ID, MerchantId: p.Merchant, MerchantName: name,
		Status: apigen.PaymentStatus(p.Status), Amount: p.AmountCaptured, Fee: p.Fee, Total: p.AmountCaptured + p.Fee,
		Currency: alphaCurrency(p.Currency), Reference: p.Reference, Description: p.Description,
		AuthorizationCode: strPtr(p.AuthCode), Rrn: strPtr(p.RRN), CreatedAt: p.CreatedAt}
	if p.AmountRefunded > 0 {
		r := p.AmountRefunded
		rc.AmountRefunded = &r
	}
	if p.CardMasked != "" {
		rc.Card = &apigen.Card{Number: p.CardMasked, ExpiryMonth: p.CardExpMonth, ExpiryYear: p.CardExpYear}
	}
	return rc
}

// receiptView is what the HTML receipt shows, amounts formatted in the currency's units.
type receiptView struct {
	apigen.Receipt
	AmountText, FeeText, TotalText, RefundedText string
	Date                                         string
}

func receiptData(rc apigen.Receipt) receiptView {
	num := currencies[rc.Currency]
	exp, _ := ledger.Exponent(num)
	f := func(v int64) string { return formatMinor(v, exp) + " " + rc.Currency }
	v := receiptView{Receipt: rc, AmountText: f(rc.Amount), FeeText: f(rc.Fee), TotalText: f(rc.Total),
		Date: rc.CreatedAt.Format("2 January 2006 15:04 MST")}
	if rc.AmountRefunded != nil {
		v.RefundedText = f(*rc.AmountRefunded)
	}
	return v
}

// formatMinor writes minor units in major units with the exponent's decimals ("12.34").
func formatMinor(v int64, exp int32) string {
	if exp == 0 {
		return fmt.Sprint(v)
	}
	neg := v < 0
	if neg {
		v = -v
	}
	div := int64(1)
	for i := int32(0); i < exp; i++ {
		div *= 10
	}
	s := fmt.Sprintf("%d.%0*d", v/div, int(exp), v%div)
	if neg {
		s = "-" + s
	}
	return s
}

// receiptPage is the printable receipt: html/template escapes every value by context.
var receiptPage = template.Must(template.New("receipt").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Receipt {{.ReceiptNumber}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36em;margin:2em auto;padding:0 1em;color:#111}
h1{font-size:1.4em}dl{display:grid;grid-template-columns:max-content 1fr;gap:.3em 1.5em}dt{color:#555}
dd{margin:0}.total{font-weight:bold}@media print{body{margin:0}}</style></head>
<body><main><h1>Receipt {{.ReceiptNumber}}</h1>
<p>{{.MerchantName}}</p>
<dl>
<dt>Description</dt><dd>{{.Description}}</dd>
<dt>Reference</dt><dd>{{.Reference}}</dd>
<dt>Amount</dt><dd>{{.AmountText}}</dd>
<dt>Fee</dt><dd>{{.FeeText}}</dd>
<dt class="total">Total paid</dt><dd class="total">{{.TotalText}}</dd>
{{if .RefundedText}}<dt>Refunded</dt><dd>{{.RefundedText}}</dd>{{end}}
{{with .Card}}<dt>Card</dt><dd>{{.Number}} (expires {{printf "%02d" .ExpiryMonth}}/{{.ExpiryYear}})</dd>{{end}}
{{with .AuthorizationCode}}<dt>Authorisation code</dt><dd>{{.}}</dd>{{end}}
<dt>Date</dt><dd>{{.Date}}</dd>
<dt>Payment</dt><dd>{{.PaymentId}}</dd>
</dl></main></body></html>
`))
