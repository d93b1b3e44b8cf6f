package ledger

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SettlementReport is what a closed business day owes: per merchant, per agency (with its payment
// references) and per issuer, the count, gross, fees and net, and the settlement transfer that
// moved the net position to the party's settlement account.
type SettlementReport struct {
	BusinessDay string           `json:"business_day"`
	Merchants   []SettlementLine `json:"merchants"`
	Agencies    []SettlementLine `json:"agencies"`
	Issuers     []SettlementLine `json:"issuers"`
}

// SettlementLine is one party's day in one currency. Gross = sales − refunds − reversals; Net =
// Gross − Fees, which is exactly how much the party's payable (or receivable) moved that day.
type SettlementLine struct {
	ID        string   `json:"id"`
	Currency  string   `json:"currency"`
	Exponent  int32    `json:"exponent"`
	Count     int64    `json:"count"` // sales + refunds + reversals
	Gross     int64    `json:"gross"`
	Fees      int64    `json:"fees"` // merchant fees and convenience fees, net of reversed ones; 0 for issuers
	Net       int64    `json:"net"`
	Sales     Movement `json:"sales"`     // purchases and captures, as paid by cardholders
	Refunds   Movement `json:"refunds"`   // net of reversed refunds
	Reversals Movement `json:"reversals"` // reversed sales
	// Settlement is the transfer that moved Net to the settlement account (absent when Net is 0).
	Settlement *SettlementTransfer `json:"settlement,omitempty"`
	Payments   []SettlementPayment `json:"payments,omitempty"` // agencies: every payment reference
}

// Movement is a count and an amount in minor units.
type Movement struct {
	Count  int64 `json:"count"`
	Amount int64 `json:"amount"`
}

// SettlementTransfer is a line's settlement transfer and where it stands.
type SettlementTransfer struct {
	ID            TransferID `json:"id"`
	DebitAccount  string     `json:"debit_account"`
	CreditAccount string     `json:"credit_account"`
	Amount        int64      `json:"amount"`
	Status        string     `json:"status"` // created, exists, rejected: <reason>, pending (report only)
}

// Party owners in account names.
const (
	ownerMerchant = "merchant"
	ownerAgency   = "agency"
	ownerIssuer   = "issuer"
)

type lineKey struct{ owner, id, currency string }

type reportBuilder struct {
	lines map[lineKey]*SettlementLine
}

func (b *reportBuilder) line(owner, id, currency string) *SettlementLine {
	k := lineKey{owner, id, currency}
	l := b.lines[k]
	if l == nil {
		exp, _ := Exponent(currency)
		l = &SettlementLine{ID: id, Currency: currency, Exponent: exp}
		b.lines[k] = l
	}
	return l
}

func splitAccount(name string) (owner, id, kind string) {
	parts := strings.SplitN(name, ":", 3)
	if len(parts) != 3 {
		return "", "", ""
	}
	return parts[0], parts[1], parts[2]
}

func isPayable(owner, kind string) bool {
	return kind == "payable" && (owner == ownerMerchant || owner == ownerAgency)
}

// BuildSettlementReport assembles a day's report from the store's grouped rows.
func BuildSettlementReport(day string, rows []SettlementRow, payments []SettlementPayment) *SettlementReport {
	b := &reportBuilder{lines: map[lineKey]*SettlementLine{}}
	for _, r := range rows {
		b.add(r)
	}
	for _, p := range payments {
		l := b.line(ownerAgency, p.AgencyID, p.Currency)
		l.Payments = append(l.Payments, p)
	}
	rep := &SettlementReport{BusinessDay: day, Merchants: []SettlementLine{}, Agencies: []SettlementLine{}, Issuers: []SettlementLine{}}
	keys := make([]lineKey, 0, len(b.lines))
	for k := range b.lines {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(x, y lineKey) int {
		return strings.Compare(x.owner+"\x00"+x.id+"\x00"+x.currency, y.owner+"\x00"+y.id+"\x00"+y.currency)
	})
	for _, k := range keys {
		l := b.lines[k]
		l.Count = l.Sales.Count + l.Refunds.Count + l.Reversals.Count
		l.Gross = l.Sales.Amount - l.Refunds.Amount - l.Reversals.Amount
		l.Net = l.Gross - l.Fees
		switch k.owner {
		case ownerMerchant:
			rep.Merchants = append(rep.Merchants, *l)
		case ownerAgency:
			rep.Agencies = append(rep.Agencies, *l)
		case ownerIssuer:
			rep.Issuers = append(rep.Issuers, *l)
		}
	}
	return rep
}

// add books one group of transfers on the parties it concerns.
func (b *reportBuilder) add(r SettlementRow) {
	dOwner, dID, dKind := splitAccount(r.DebitAccount)
	cOwner, cID, cKind := splitAccount(r.CreditAccount)
	cur := r.Currency
	journalPayee := func() *SettlementLine { return b.line(r.PayeeKind.String(), r.PayeeID, cur) }
	switch r.Code {
	case CodePrincipal: // Dr issuer receivable / Cr payee payable
		b.line(cOwner, cID, cur).Sales.add(r.Count, r.Amount)
		b.line(dOwner, dID, cur).Sales.add(r.Count, r.Amount)
	case CodeConvenienceFee: // Dr issuer receivable / Cr convenience income, for the journal's payee
		p := journalPayee()
		p.Sales.Amount += r.Amount
		p.Fees += r.Amount
		b.line(dOwner, dID, cur).Sales.Amount += r.Amount
	case CodeMerchantFee: // Dr payee payable / Cr fees income
		b.line(dOwner, dID, cur).Fees += r.Amount
	case CodeRefund: // Dr payee payable / Cr issuer receivable
		b.line(dOwner, dID, cur).Refunds.add(r.Count, r.Amount)
		b.line(cOwner, cID, cur).Refunds.add(r.Count, r.Amount)
	case CodeReversal:
		switch {
		case isPayable(dOwner, dKind) && cOwner == ownerIssuer: // a principal reversed
			b.line(dOwner, dID, cur).Reversals.add(r.Count, r.Amount)
			b.line(cOwner, cID, cur).Reversals.add(r.Count, r.Amount)
		case r.DebitAccount == ConvenienceFeesIncome && cOwner == ownerIssuer: // a convenience fee reversed
			p := journalPayee()
			p.Reversals.Amount += r.Amount
			p.Fees -= r.Amount
			b.line(cOwner, cID, cur).Reversals.Amount += r.Amount
		case r.DebitAccount == FeesIncome && isPayable(cOwner, cKind): // a merchant fee reversed
			b.line(cOwner, cID, cur).Fees -= r.Amount
		case dOwner == ownerIssuer && isPayable(cOwner, cKind): // a refund reversed
			b.line(cOwner, cID, cur).Refunds.Amount -= r.Amount
			b.line(dOwner, dID, cur).Refunds.Amount -= r.Amount
		}
	}
}

func (m *Movement) add(count, amount int64) {
	m.Count += count
	m.Amount += amount
}

// settlementScope is the id scope of a day's settlement transfers (and their EventID).
func settlementScope(day string) string { return "settlement/" + day }

// settlementTransfer is the transfer moving a line's net to the party's settlement account.
func settlementTransfer(day, owner string, l *SettlementLine) *Transfer {
	if l.Net == 0 {
		return nil
	}
	party, settlement := PayeePayableName(owner, l.ID), SettlementAccount(owner, l.ID)
	debit, credit, amount := party, settlement, l.Net // the acquirer owes the payee: payable → settlement
	if owner == ownerIssuer {
		party = IssuerReceivable(l.ID)
		debit, credit = settlement, party // the issuer owes the acquirer: receivable → settlement
	}
	if amount < 0 {
		debit, credit, amount = credit, debit, -amount
	}
	return &Transfer{
		ID: DeriveTransferID(settlementScope(day), party+"/"+l.Currency), DebitAccount: debit, CreditAccount: credit,
		Currency: l.Currency, Amount: amount, Code: CodeSettlement, EventID: settlementScope(day),
	}
}

// ownedLine is a report line with the owner part of its accounts.
type ownedLine struct {
	owner string
	line  *SettlementLine
}

// lines lists every line of the report with its owner: merchants, agencies, issuers.
func (r *SettlementReport) lines() []ownedLine {
	var out []ownedLine
	for _, g := range []struct {
		owner string
		ls    []SettlementLine
	}{{ownerMerchant, r.Merchants}, {ownerAgency, r.Agencies}, {ownerIssuer, r.Issuers}} {
		for i := range g.ls {
			out = append(out, ownedLine{g.owner, &g.ls[i]})
		}
	}
	return out
}

// Cutover closes the open business day if it is at or before through (any open day when through
// is empty), opens the next one, and settles the closed day (Settle). Closing takes an exclusive
// lock for a moment only: batches of every process wait for it, then write into the new day. Run
// again for a day already closed, it only settles (which moves no money twice). It returns the
// closed day's report.
func Cutover(ctx context.Context, b Backend, now time.Time, through string) (*SettlementReport, error) {
	tx, err := b.BeginBatch(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("cutover: %w", err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	open, err := tx.BusinessDay(ctx)
	if err != nil {
		return nil, fmt.Errorf("cutover: %w", err)
	}
	day := open
	if through != "" && open > through {
		day = through // closed before: settle it (again)
		if err := tx.Rollback(ctx); err != nil {
			return nil, fmt.Errorf("cutover: %w", err)
		}
	} else {
		if err := tx.CloseBusinessDay(ctx, open, nextDay(open, now), now); err != nil {
			return nil, fmt.Errorf("cutover: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("cutover: %w", err)
		}
	}
	return Settle(ctx, b, day, now) // the exclusive lock is released: batches go on meanwhile
}

// nextDay is the business day after day: the next calendar date, or today (UTC) if later.
func nextDay(day string, now time.Time) string {
	d, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return now.UTC().Format(time.DateOnly)
	}
	next := d.AddDate(0, 0, 1).Format(time.DateOnly)
	if today := now.UTC().Format(time.DateOnly); today > next {
		return today
	}
	return next
}

// Settle computes a closed day's report and moves each party's net position to its settlement
// account, with transfer ids derived from the day: running it again finds them ("exists").
func Settle(ctx context.Context, b Backend, day string, now time.Time) (*SettlementReport, error) {
	return settle(ctx, b, day, now, true)
}

// Report computes a day's settlement report without moving money; Settlement shows whether each
// settlement transfer exists ("exists") or not yet ("pending").
func Report(ctx context.Context, b Backend, day string, now time.Time) (*SettlementReport, error) {
	return settle(ctx, b, day, now, false)
}

func settle(ctx context.Context, b Backend, day string, now time.Time, write bool) (*SettlementReport, error) {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return nil, fmt.Errorf("business day %q: want YYYY-MM-DD", day)
	}
	tx, err := b.BeginBatch(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("settle %s: %w", day, err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	open, err := tx.BusinessDay(ctx)
	if err != nil {
		return nil, fmt.Errorf("settle %s: %w", day, err)
	}
	if write && day >= open {
		return nil, fmt.Errorf("settle %s: %w (the open day is %s: cut over first)", day, ErrBusinessDayClosed, open)
	}
	rows, err := tx.SettlementRows(ctx, day)
	if err != nil {
		return nil, fmt.Errorf("settle %s: %w", day, err)
	}
	payments, err := tx.SettlementPayments(ctx, day)
	if err != nil {
		return nil, fmt.Errorf("settle %s: %w", day, err)
	}
	rep := BuildSettlementReport(day, rows, payments)
	if err := applySettlement(ctx, tx, rep, day, now, write); err != nil {
		return nil, fmt.Errorf("settle %s: %w", day, err)
	}
	if write {
		if err := tx.Commit(ctx); err != nil {
			return nil, fmt.Errorf("settle %s: %w", day, err)
		}
	}
	return rep, nil
}

// applySettlement plans the report's settlement transfers (each on its own: one party's failure
// does not hold back the others) and records their status on the lines.
func applySettlement(ctx context.Context, tx BatchTx, rep *SettlementReport, day string, now time.Time, write bool) error {
	var items []*item
	var targets []*SettlementLine
	for _, ol := range rep.lines() {
		t := settlementTransfer(day, ol.owner, ol.line)
		if t == nil {
			continue
		}
		ol.line.Settlement = &SettlementTransfer{ID: t.ID, DebitAccount: t.DebitAccount, CreditAccount: t.CreditAccount, Amount: t.Amount}
		items = append(items, &item{chain: []Transfer{*t}})
		targets = append(targets, ol.line)
	}
	if len(items) == 0 {
		return nil
	}
	p := newPlanner(now, day, DefaultHoldTimeout, nil)
	if err := resolveAccounts(ctx, tx, p, items, p.shared); err != nil {
		return err
	}
	if err := load(ctx, tx, p, items, true); err != nil {
		return err
	}
	for i, it := range items {
		if !write {
			targets[i].Settlement.Status = "pending"
			if p.transfers[it.chain[0].ID] != nil {
				targets[i].Settlement.Status = "exists"
			}
			continue
		}
		p.planChain(it)
		targets[i].Settlement.Status = it.results[0].status()
	}
	if !write {
		return nil
	}
	return tx.Write(ctx, p.finish())
}

func (r TransferResult) status() string {
	switch r.Status {
	case TransferCreated:
		return "created"
	case TransferExists:
		return "exists"
	case TransferConflict:
		return "conflict"
	}
	if r.Reason != nil {
		return "rejected: " + r.Reason.Code
	}
	return "rejected"
}

// csvHeader is the settlement CSV's first line; amounts are minor units of the line's currency.
func csvHeader() []string {
	return []string{"business_day", "party", "id", "currency", "exponent", "count", "gross", "fees", "net",
		"sales_count", "sales_amount", "refunds_count", "refunds_amount", "reversals_count", "reversals_amount",
		"settlement_transfer", "settlement_status", "payment_refs"}
}

// WriteCSV writes the report as CSV: one line per party and currency; agencies list their
// payment references, separated by ';', in the last column.
func (r *SettlementReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader()); err != nil {
		return err
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, ol := range r.lines() {
		l := ol.line
		id, status := "", ""
		if l.Settlement != nil {
			id, status = l.Settlement.ID.String(), l.Settlement.Status
		}
		refs := make([]string, 0, len(l.Payments))
		for _, p := range l.Payments {
			refs = append(refs, p.PaymentRef)
		}
		rec := []string{r.BusinessDay, ol.owner, l.ID, l.Currency, strconv.Itoa(int(l.Exponent)), i64(l.Count),
			i64(l.Gross), i64(l.Fees), i64(l.Net), i64(l.Sales.Count), i64(l.Sales.Amount), i64(l.Refunds.Count),
			i64(l.Refunds.Amount), i64(l.Reversals.Count), i64(l.Reversals.Amount), id, status, strings.Join(refs, ";")}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
