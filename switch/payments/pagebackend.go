package payments

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/page"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// The hosted page's view of the service (page.Backend): sessions by token or by bill, card
// authorisations through the same attempt as the API's, receipts.

// receiptWindow is how long a page token still shows its payment's receipt.
const receiptWindow = 24 * time.Hour

// billAgenciesMax bounds the agencies listed for one control number.
const billAgenciesMax = 20

// PageBackend is the service as the hosted page sees it.
func (s *Service) PageBackend() page.Backend { return pageBackend{s} }

type pageBackend struct{ s *Service }

var _ page.Backend = pageBackend{}

func (b pageBackend) byToken(ctx context.Context, token string) (*store.Payment, error) {
	if token == "" || len(token) > 128 {
		return nil, page.ErrNotFound
	}
	p, err := b.s.d.Store.PaymentByPageToken(ctx, sha256Hex(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, page.ErrNotFound
	}
	return p, err
}

func (b pageBackend) Session(ctx context.Context, token string) (*page.Session, error) {
	p, err := b.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	var bill *store.Bill
	if p.BillID != "" {
		if bill, err = b.s.d.Store.BillByID(ctx, p.BillID); err != nil {
			return nil, err
		}
	}
	ses := b.s.paymentSession(p, bill)
	if bill != nil && ses.State == page.Payable && bill.Status == store.BillPaid {
		return ses, page.ErrAlreadyPaid // paid meanwhile by another payer
	}
	return ses, nil
}

func (b pageBackend) BillSession(ctx context.Context, agency, reference string) (*page.Session, error) {
	bill, err := b.s.d.Store.BillByReference(ctx, agency, reference)
	if errors.Is(err, store.ErrNotFound) {
		return nil, page.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return b.s.billSession(bill), nil
}

func (b pageBackend) BillAgencies(ctx context.Context, reference string) ([]page.AgencyLink, error) {
	bs, err := b.s.d.Store.BillsWithReference(ctx, reference, billAgenciesMax)
	if err != nil {
		return nil, err
	}
	out := make([]page.AgencyLink, 0, len(bs))
	for _, bill := range bs {
		out = append(out, page.AgencyLink{ID: bill.Agency, Name: b.s.merchantName(bill.Agency)})
	}
	return out, nil
}

func (b pageBackend) Pay(ctx context.Context, token string, card page.Card) (*page.Result, error) {
	p, err := b.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if p.Status == store.StatusCreated && b.s.pageExpired(p) {
		return nil, page.ErrClosed
	}
	a := &attempt{p: p, card: apiCard(card), page: true, op: opCreatePayment}
	if p.BillID != "" {
		if a.bill, err = b.s.d.Store.BillByID(ctx, p.BillID); err != nil {
			return nil, err
		}
	}
	p, err = b.s.attempt(ctx, a)
	if err != nil {
		return nil, pageError(err)
	}
	return b.s.pageResult(p, token), nil
}

func (b pageBackend) PayBill(ctx context.Context, agency, reference string, card page.Card) (*page.Result, error) {
	bill, err := b.s.d.Store.BillByReference(ctx, agency, reference)
	if errors.Is(err, store.ErrNotFound) {
		return nil, page.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := payable(bill, b.s.d.Now()); err != nil {
		return nil, pageError(err)
	}
	now := b.s.d.Now().UTC()
	p := b.s.billPayment(bill, now)
	token := randomToken(24)
	p.PageToken = sha256Hex(token)
	p, err = b.s.attempt(ctx, &attempt{p: p, isNew: true, bill: bill, card: apiCard(card), page: true, op: opCreateBillPayment})
	if err != nil {
		return nil, pageError(err)
	}
	return b.s.pageResult(p, token), nil
}

func (b pageBackend) Receipt(ctx context.Context, token string) (*page.Receipt, error) {
	p, err := b.byToken(ctx, token)
	if err != nil {
		return nil, err
	}
	if p.Status != store.StatusSucceeded {
		return nil, page.ErrNotFound
	}
	rc := b.s.receipt(p)
	if err := b.s.completeReceipt(ctx, p, &rc); err != nil {
		return nil, err
	}
	if rc.PaidAt != nil && b.s.d.Now().Sub(*rc.PaidAt) > receiptWindow {
		return nil, page.ErrNotFound
	}
	return b.s.pageReceipt(p, rc), nil
}

// pageError maps the service's refusals to the page's.
func pageError(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case CodeBillAlreadyPaid:
		return page.ErrAlreadyPaid
	case CodeBillInProgress:
		return page.ErrInProgress
	case CodeBillNotPayable:
		return page.ErrClosed
	case CodeInvalidState:
		return page.ErrBusy
	case CodeNotFound:
		return page.ErrNotFound
	}
	return err
}

func apiCard(c page.Card) *apigen.CardInput {
	in := &apigen.CardInput{Number: c.Number, ExpiryMonth: c.ExpiryMonth, ExpiryYear: c.ExpiryYear}
	if c.CVC != "" {
		cvc := c.CVC
		in.Cvc = &cvc
	}
	if c.HolderName != "" {
		n := c.HolderName
		in.HolderName = &n
	}
	return in
}

func (s *Service) merchantName(id string) string {
	if m, _ := s.Merchant(id); m != nil && m.Name != "" {
		return m.Name
	}
	return id
}

func (s *Service) pageExpired(p *store.Payment) bool {
	return !s.d.Now().Before(p.CreatedAt.Add(s.cfg.CreatedExpiry))
}

// paymentSession is a page token's payment as the page shows it.
func (s *Service) paymentSession(p *store.Payment, bill *store.Bill) *page.Session {
	m, _ := s.Merchant(p.Merchant)
	exp, _ := ledger.Exponent(p.Currency)
	ses := &page.Session{MerchantName: s.merchantName(p.Merchant), Description: p.Description, Reference: p.Reference,
		Amount: p.Amount, Fee: p.Fee, Currency: alphaCurrency(p.Currency), Exponent: exp, ReturnURL: p.ReturnURL,
		PaymentID: p.ID, AttemptsLeft: max(s.cfg.Bills.PageAttemptsMax-p.PageAttempts, 0), ExpiresAt: p.CreatedAt.Add(s.cfg.CreatedExpiry)}
	if m != nil {
		ses.Agency, ses.Language = m.Agency, m.Language
	}
	if p.PageAttempts > 0 && p.ResponseCode != iso8583.RCApproved {
		ses.LastCode = p.ResponseCode
	}
	if bill != nil {
		fillBill(ses, bill)
	}
	switch p.Status {
	case store.StatusCreated:
		ses.State = page.Payable
		if s.pageExpired(p) {
			ses.State = page.Expired
		}
	case store.StatusSucceeded, store.StatusAuthorised:
		ses.State = page.Paid
	case store.StatusDeclined, store.StatusFailed:
		ses.State = page.Declined
	case store.StatusExpired:
		ses.State = page.Expired
	default:
		ses.State = page.Cancelled
	}
	return ses
}

// billSession is a bill as its page shows it.
func (s *Service) billSession(b *store.Bill) *page.Session {
	m, _ := s.Merchant(b.Agency)
	exp, _ := ledger.Exponent(b.Currency)
	ses := &page.Session{MerchantName: s.merchantName(b.Agency), Description: b.Description, Reference: b.Reference,
		Amount: b.Amount, Fee: b.Fee, Currency: alphaCurrency(b.Currency), Exponent: exp, ReturnURL: b.ReturnURL,
		AttemptsLeft: s.cfg.Bills.PageAttemptsMax, ExpiresAt: b.ExpiresAt}
	if m != nil {
		ses.Agency, ses.Language = m.Agency, m.Language
	}
	fillBill(ses, b)
	switch {
	case b.Status == store.BillPaid:
		ses.State = page.Paid
	case b.Status == store.BillCancelled:
		ses.State = page.Cancelled
	case b.Status == store.BillExpired || !b.ExpiresAt.IsZero() && !s.d.Now().Before(b.ExpiresAt):
		ses.State = page.Expired
	default:
		ses.State = page.Payable
	}
	return ses
}

func fillBill(ses *page.Session, b *store.Bill) {
	ses.BillReference, ses.PayerName = b.Reference, b.PayerName
	if b.Language != "" {
		ses.Language = b.Language
	}
	for _, it := range b.Items {
		ses.Items = append(ses.Items, page.Item{RevenueCode: it.RevenueCode, Description: it.Description, Amount: it.Amount})
	}
	if ses.ExpiresAt.IsZero() || !b.ExpiresAt.IsZero() && b.ExpiresAt.Before(ses.ExpiresAt) {
		ses.ExpiresAt = b.ExpiresAt
	}
}

// pageResult is an attempt's outcome as the page sees it.
func (s *Service) pageResult(p *store.Payment, token string) *page.Result {
	r := &page.Result{Code: p.ResponseCode, PaymentID: p.ID, Token: token, ReturnURL: p.ReturnURL,
		AttemptsLeft: max(s.cfg.Bills.PageAttemptsMax-p.PageAttempts, 0)}
	switch p.Status {
	case store.StatusSucceeded, store.StatusAuthorised:
		r.Outcome = page.Succeeded
	case store.StatusCreated:
		r.Outcome = page.Retry
	default:
		r.Outcome = page.Final
	}
	return r
}

// completeReceipt adds to a receipt when it was paid and, for a bill, its control number and
// items.
func (s *Service) completeReceipt(ctx context.Context, p *store.Payment, rc *apigen.Receipt) error {
	evs, err := s.d.Store.Events(ctx, p.Merchant, p.ID)
	if err != nil {
		return err
	}
	for _, e := range evs {
		if e.Type == EventSucceeded {
			t := e.CreatedAt
			rc.PaidAt = &t
			break
		}
	}
	if p.BillID == "" {
		return nil
	}
	b, err := s.d.Store.BillByID(ctx, p.BillID)
	if err != nil {
		return err
	}
	rc.BillReference = strPtr(b.Reference)
	items := make([]apigen.BillItem, 0, len(b.Items))
	for _, it := range b.Items {
		items = append(items, apigen.BillItem{RevenueCode: it.RevenueCode, Description: strPtr(it.Description), Amount: it.Amount})
	}
	rc.Items = &items
	return nil
}

// pageReceipt is a receipt as the page shows it.
func (s *Service) pageReceipt(p *store.Payment, rc apigen.Receipt) *page.Receipt {
	exp, _ := ledger.Exponent(p.Currency)
	out := &page.Receipt{Number: rc.ReceiptNumber, PaymentID: p.ID, MerchantName: rc.MerchantName, Reference: p.Reference,
		BillReference: deref(rc.BillReference), Description: p.Description, Amount: rc.Amount, Fee: rc.Fee,
		Currency: rc.Currency, Exponent: exp, AuthorizationCode: p.AuthCode, RRN: p.RRN, ReturnURL: p.ReturnURL}
	if m, _ := s.Merchant(p.Merchant); m != nil {
		out.Agency, out.Language = m.Agency, m.Language
	}
	if rc.AmountRefunded != nil {
		out.Refunded = *rc.AmountRefunded
	}
	if rc.Card != nil {
		out.Card, out.CardExpiry = rc.Card.Number, fmt.Sprintf("%02d/%d", rc.Card.ExpiryMonth, rc.Card.ExpiryYear)
	}
	if rc.PaidAt != nil {
		out.PaidAt = *rc.PaidAt
	}
	if rc.Items != nil {
		for _, it := range *rc.Items {
			out.Items = append(out.Items, page.Item{RevenueCode: it.RevenueCode, Description: deref(it.Description), Amount: it.Amount})
		}
	}
	return out
}
