package payments

// The agency's reconciliation (issue 10): per business day (the ledger's cutover) and currency,
// every movement of the agency's payable account with the bill it paid (control number, revenue
// codes), the payment and the settlement transfer that moved the day's net. It is built on the
// ledger's own settlement report (ledger.Report), so its totals are the ledger's: the report's net
// is the movement of agency:<id>:payable that day, and the transactions add up to it to the cent.

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/payments/apigen"
	"github.com/cardswitch/cardswitch/switch/payments/store"
)

// Settlements reads the ledger's business days and settlement reports (read only).
type Settlements interface {
	// BusinessDay is the open business day (YYYY-MM-DD).
	BusinessDay(ctx context.Context) (string, error)
	// Report is a day's settlement report (ledger.Report: it moves no money).
	Report(ctx context.Context, day string) (*ledger.SettlementReport, error)
}

// Bounds of a settlement list.
const (
	settlementDaysDefault = 30
	settlementDaysMax     = 92
)

// Settlement statuses.
const (
	settlementOpen    = "open"
	settlementClosed  = "closed"
	settlementSettled = "settled"
)

// Revenue codes of movements that are not a bill's items.
const (
	revenueRefunds = "(refunds)"
	revenueNone    = "(none)"
)

// AgencyReport is one settlement with its transactions.
type AgencyReport struct {
	apigen.SettlementTransactionList
}

func (s *Service) settlements() (Settlements, error) {
	if s.d.Settlements == nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "settlement reports are not available"}
	}
	return s.d.Settlements, nil
}

// ListSettlements lists the caller's settlements from..to (business days), newest first.
func (s *Service) ListSettlements(ctx context.Context, who *Principal, from, to string) (apigen.SettlementList, error) {
	out := apigen.SettlementList{Data: []apigen.Settlement{}}
	if err := who.require(ScopePayments); err != nil {
		return out, err
	}
	src, err := s.settlements()
	if err != nil {
		return out, err
	}
	open, err := src.BusinessDay(ctx)
	if err != nil {
		return out, err
	}
	last, _ := time.Parse(time.DateOnly, open)
	if to != "" {
		last, _ = time.Parse(time.DateOnly, to) // the document validated the format
	}
	first := last.AddDate(0, 0, -settlementDaysDefault)
	if from != "" {
		first, _ = time.Parse(time.DateOnly, from)
	}
	if first.After(last) || last.Sub(first) > settlementDaysMax*24*time.Hour {
		return out, errInvalid("from", fmt.Sprintf("from must be at most %d days before to", settlementDaysMax))
	}
	for d := last; !d.Before(first); d = d.AddDate(0, 0, -1) {
		day := d.Format(time.DateOnly)
		if day > open {
			continue
		}
		rep, err := src.Report(ctx, day)
		if err != nil {
			return out, err
		}
		for _, l := range partyLines(rep, who.Merchant) {
			r, err := s.buildReport(ctx, who.Merchant, rep, l, open)
			if err != nil {
				return out, err
			}
			out.Data = append(out.Data, r.Settlement)
		}
	}
	return out, nil
}

// SettlementReport is one settlement ("YYYY-MM-DD_CUR") of the caller, with its transactions.
func (s *Service) SettlementReport(ctx context.Context, who *Principal, id string) (*AgencyReport, error) {
	if err := who.require(ScopePayments); err != nil {
		return nil, err
	}
	day, alpha, ok := strings.Cut(id, "_")
	cur := numericCurrency(alpha)
	if _, err := time.Parse(time.DateOnly, day); !ok || err != nil || cur == "" {
		return nil, errNotFound("settlement")
	}
	return s.AgencySettlement(ctx, who.Merchant, day, cur)
}

// AgencySettlement is the report of merchant m's business day in a currency (numeric); the CLI
// calls it too.
func (s *Service) AgencySettlement(ctx context.Context, m *Merchant, day, currency string) (*AgencyReport, error) {
	src, err := s.settlements()
	if err != nil {
		return nil, err
	}
	open, err := src.BusinessDay(ctx)
	if err != nil {
		return nil, err
	}
	if day > open {
		return nil, errNotFound("settlement")
	}
	rep, err := src.Report(ctx, day)
	if err != nil {
		return nil, err
	}
	for _, l := range partyLines(rep, m) {
		if l.Currency == currency {
			return s.buildReport(ctx, m, rep, l, open)
		}
	}
	return nil, errNotFound("settlement")
}

// partyLines are m's lines of a report: its agency lines, or its merchant lines.
func partyLines(rep *ledger.SettlementReport, m *Merchant) []*ledger.SettlementLine {
	lines := rep.Merchants
	if m.Agency {
		lines = rep.Agencies
	}
	var out []*ledger.SettlementLine
	for i := range lines {
		if lines[i].ID == m.ID {
			out = append(out, &lines[i])
		}
	}
	return out
}

func (s *Service) buildReport(ctx context.Context, m *Merchant, rep *ledger.SettlementReport, l *ledger.SettlementLine, open string) (*AgencyReport, error) {
	alpha := alphaCurrency(l.Currency)
	id := rep.BusinessDay + "_" + alpha
	day, _ := time.Parse(time.DateOnly, rep.BusinessDay)
	st := apigen.Settlement{Id: id, BusinessDay: openapi_types.Date{Time: day}, Currency: alpha, Count: int(l.Count),
		Gross: l.Gross, Fees: l.Fees, Net: l.Net, Status: settlementStatus(rep.BusinessDay, open, l)}
	st.Links.Self = "/v1/settlements/" + id
	st.Links.Transactions = st.Links.Self + "/transactions"
	if t := l.Settlement; t != nil {
		st.SettlementTransfer = &apigen.SettlementTransfer{Id: t.ID.String(), DebitAccount: t.DebitAccount,
			CreditAccount: t.CreditAccount, Amount: t.Amount, Status: t.Status}
	}
	r := &AgencyReport{}
	txs, revenue, err := s.settlementTransactions(ctx, l.Payments)
	if err != nil {
		return nil, err
	}
	for _, t := range txs {
		if t.Kind == apigen.SettlementTransactionKindPayment && t.BillReference != nil {
			st.BillsPaid++
		}
	}
	r.Settlement, r.Data, r.RevenueCodes = st, txs, revenue
	return r, nil
}

func settlementStatus(day, open string, l *ledger.SettlementLine) apigen.SettlementStatus {
	switch {
	case day >= open:
		return settlementOpen
	case l.Settlement != nil && l.Settlement.Status == "exists":
		return settlementSettled
	case l.Settlement == nil: // nothing to move: settled as it is
		return settlementSettled
	}
	return settlementClosed
}

// settlementTransactions joins the ledger's movements on the agency's payable with the ledger's
// journal (fees, RRN, original of a reversal), the API's payments and refunds, and their bills.
func (s *Service) settlementTransactions(ctx context.Context, moves []ledger.SettlementPayment) ([]apigen.SettlementTransaction, []apigen.RevenueTotal, error) {
	out := make([]apigen.SettlementTransaction, 0, len(moves))
	journal := make(map[string]*ledger.Transaction, len(moves))
	var paymentIDs, refundIDs []string
	for _, mv := range moves {
		tx, err := s.d.Ledger.Transaction(ctx, mv.TransactionID)
		if err != nil && !errors.Is(err, ledger.ErrNotFound) {
			return nil, nil, err
		}
		journal[mv.TransactionID] = tx
		switch {
		case mv.Code == ledger.CodeRefund:
			refundIDs = append(refundIDs, mv.TransactionID)
		case mv.Code == ledger.CodeReversal && tx != nil:
			paymentIDs = append(paymentIDs, originalOf(tx))
		default:
			paymentIDs = append(paymentIDs, mv.TransactionID)
		}
	}
	byEngine, refunds, err := s.joinPayments(ctx, paymentIDs, refundIDs)
	if err != nil {
		return nil, nil, err
	}
	bills := map[string]*store.Bill{}
	revenue := map[string]*apigen.RevenueTotal{}
	addRevenue := func(code string, count int, amount int64) {
		r := revenue[code]
		if r == nil {
			r = &apigen.RevenueTotal{RevenueCode: code}
			revenue[code] = r
		}
		r.Count += count
		r.Amount += amount
	}
	for _, mv := range moves {
		tx := journal[mv.TransactionID]
		t := apigen.SettlementTransaction{TransactionId: mv.TransactionID, Reference: mv.PaymentRef, Amount: mv.Amount}
		var p *store.Payment
		switch mv.Code {
		case ledger.CodeRefund:
			t.Kind = apigen.SettlementTransactionKindRefund
			if r := refunds[mv.TransactionID]; r != nil {
				t.RefundId = strPtr(r.ID)
				p = byEngine[r.PaymentID]
			}
		case ledger.CodeReversal:
			t.Kind = apigen.SettlementTransactionKindReversal
			if tx != nil {
				p = byEngine[originalOf(tx)]
				t.Fee = -tx.ConvenienceFee
				if t.Fee == 0 && p != nil {
					t.Fee = -p.Fee // a reversal compensates the fee with the amount
				}
			}
		default:
			t.Kind = apigen.SettlementTransactionKindPayment
			if tx != nil {
				t.Fee = tx.ConvenienceFee
			}
			p = byEngine[mv.TransactionID]
		}
		total := t.Amount + t.Fee
		t.Total = &total
		if tx != nil {
			t.Rrn, t.AuthorizationCode = strPtr(tx.RRN), strPtr(tx.ApprovalCode)
			at := tx.At.UTC()
			t.PaidAt = &at
		}
		var b *store.Bill
		if p != nil {
			t.PaymentId = strPtr(p.ID)
			if p.CardMasked != "" {
				t.Card = &apigen.Card{Number: p.CardMasked, ExpiryMonth: p.CardExpMonth, ExpiryYear: p.CardExpYear}
			}
			if p.BillID != "" {
				if b, err = s.billOf(ctx, bills, p.BillID); err != nil {
					return nil, nil, err
				}
			}
		}
		s.attributeRevenue(&t, b, addRevenue)
		out = append(out, t)
	}
	totals := make([]apigen.RevenueTotal, 0, len(revenue))
	for _, r := range revenue {
		totals = append(totals, *r)
	}
	slices.SortFunc(totals, func(a, b apigen.RevenueTotal) int { return strings.Compare(a.RevenueCode, b.RevenueCode) })
	return out, totals, nil
}

// attributeRevenue puts a movement on revenue codes: a bill's payment on its items, a reversal
// off them, a refund (which may be partial) under revenueRefunds, anything else under revenueNone.
func (s *Service) attributeRevenue(t *apigen.SettlementTransaction, b *store.Bill, add func(string, int, int64)) {
	if b == nil {
		code := revenueNone
		if t.Kind == apigen.SettlementTransactionKindRefund {
			code = revenueRefunds
		}
		add(code, 1, t.Amount)
		return
	}
	t.BillReference = strPtr(b.Reference)
	items := make([]apigen.BillItem, 0, len(b.Items))
	for _, it := range b.Items {
		items = append(items, apigen.BillItem{RevenueCode: it.RevenueCode, Description: strPtr(it.Description), Amount: it.Amount})
	}
	t.Items = &items
	sign := int64(1)
	switch {
	case t.Kind == apigen.SettlementTransactionKindRefund:
		add(revenueRefunds, 1, t.Amount)
		return
	case t.Kind == apigen.SettlementTransactionKindReversal:
		sign = -1
	}
	if len(b.Items) == 0 || itemsSum(b.Items) != sign*t.Amount {
		add(revenueNone, 1, t.Amount)
		return
	}
	for _, it := range b.Items {
		add(it.RevenueCode, int(sign), sign*it.Amount)
	}
}

func itemsSum(items []store.BillItem) int64 {
	var n int64
	for _, it := range items {
		n += it.Amount
	}
	return n
}

// originalOf is the transaction a reversal undoes.
func originalOf(tx *ledger.Transaction) string {
	if tx.TargetID != "" {
		return tx.TargetID
	}
	return tx.OriginalID
}

// joinPayments finds the API's payments by their authorisation's engine id and refunds by theirs;
// payments are returned by engine id and by payment id.
func (s *Service) joinPayments(ctx context.Context, engineIDs, refundIDs []string) (map[string]*store.Payment, map[string]*store.Refund, error) {
	refunds := map[string]*store.Refund{}
	rs, err := s.d.Store.RefundsByEngineID(ctx, refundIDs)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range rs {
		refunds[r.EngineID] = r
	}
	ps, err := s.d.Store.PaymentsByEngineID(ctx, engineIDs)
	if err != nil {
		return nil, nil, err
	}
	by := map[string]*store.Payment{}
	for _, p := range ps {
		by[p.EngineID], by[p.ID] = p, p
	}
	for _, r := range rs {
		if by[r.PaymentID] == nil {
			p, err := s.d.Store.PaymentByID(ctx, r.PaymentID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, nil, err
			}
			if p != nil {
				by[p.ID] = p
			}
		}
	}
	return by, refunds, nil
}

func (s *Service) billOf(ctx context.Context, cache map[string]*store.Bill, id string) (*store.Bill, error) {
	if b, ok := cache[id]; ok {
		return b, nil
	}
	b, err := s.d.Store.BillByID(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	cache[id] = b
	return b, nil
}

// settlementCSVHeader is the first line of a settlement's CSV; amounts are minor units.
var settlementCSVHeader = []string{"settlement_id", "business_day", "status", "currency", "transaction_id", "kind",
	"reference", "bill_reference", "payment_id", "refund_id", "revenue_codes", "amount", "fee", "total", "rrn",
	"authorization_code", "card", "paid_at", "settlement_transfer"}

// WriteCSV writes the settlement's transactions as CSV, one line each; revenue_codes lists a
// bill's items as CODE=amount separated by ';'.
func (r *AgencyReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(settlementCSVHeader); err != nil {
		return err
	}
	st := r.Settlement
	transfer := ""
	if st.SettlementTransfer != nil {
		transfer = st.SettlementTransfer.Id
	}
	for _, t := range r.Data {
		var codes []string
		if t.Items != nil {
			for _, it := range *t.Items {
				codes = append(codes, it.RevenueCode+"="+strconv.FormatInt(it.Amount, 10))
			}
		}
		card, paid := "", ""
		if t.Card != nil {
			card = t.Card.Number
		}
		if t.PaidAt != nil {
			paid = t.PaidAt.Format(time.RFC3339)
		}
		rec := []string{st.Id, st.BusinessDay.Format(time.DateOnly), string(st.Status), st.Currency, t.TransactionId,
			string(t.Kind), t.Reference, deref(t.BillReference), deref(t.PaymentId), deref(t.RefundId), strings.Join(codes, ";"),
			strconv.FormatInt(t.Amount, 10), strconv.FormatInt(t.Fee, 10), strconv.FormatInt(deref64(t.Total), 10),
			deref(t.Rrn), deref(t.AuthorizationCode), card, paid, transfer}
		if err := cw.Write(csvSafe(rec)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a field as a formula (references come from agencies).
func csvSafe(rec []string) []string {
	for i, v := range rec {
		if v != "" && strings.ContainsRune("=+-@", rune(v[0])) && !isNumber(v) {
			rec[i] = "'" + v
		}
	}
	return rec
}

func isNumber(v string) bool {
	_, err := strconv.ParseInt(v, 10, 64)
	return err == nil
}

func deref64(v *int64) int64 {
	if v == nil {
		return 0
	}
	return *v
}
