package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Bill statuses (CONTRACT §12).
const (
	BillOpen      = "open"
	BillPaid      = "paid"
	BillExpired   = "expired"
	BillCancelled = "cancelled"
)

// Bill is a government bill: what an agency is owed under a control number (Reference, unique
// per agency), paid at most once. While a payment's authorisation is in flight the bill is
// claimed by it (ClaimPayment): no other payment of the bill can start until that one's outcome
// is written, in the same transaction that releases the claim or marks the bill paid.
type Bill struct {
	ID, Agency, Reference, Status string
	Amount, Fee                   int64 // Fee: the convenience fee paid on top
	Currency                      string
	Description                   string
	Items                         []BillItem
	PayerName, ReturnURL          string
	Language                      string
	Metadata                      string // JSON object, "" when none
	ClaimPayment, PaidPayment     string
	ExpiresAt, PaidAt             time.Time // zero: never, not paid
	CreatedAt, UpdatedAt          time.Time
	Version                       int64
}

// Total is what the payer pays: the amount and the convenience fee.
func (b *Bill) Total() int64 { return b.Amount + b.Fee }

// BillItem is one line of a bill: a revenue code (the agency's account for it) and its amount.
type BillItem struct {
	RevenueCode string `json:"revenue_code"`
	Description string `json:"description"`
	Amount      int64  `json:"amount"`
}

// BillChange is a bill written by a Write: inserted when Prev is 0 (ErrBillExists when the
// agency has a bill with its reference), otherwise updated only if the stored row is still at
// version Prev (ErrBillChanged when another change came first).
type BillChange struct {
	Bill *Bill
	Prev int64
}

// PaymentGuard makes a Write apply only if a payment is still at Version with no engine request
// in flight: two instances (or two tabs) authorising one page payment cannot both send it.
type PaymentGuard struct {
	ID      string
	Version int64
}

// BillWrite is the bills' part of a Write, applied in its transaction before the payments.
type BillWrite struct {
	Bills         []BillChange
	PaymentGuards []PaymentGuard
}

func (b *BillWrite) empty() bool { return len(b.Bills)+len(b.PaymentGuards) == 0 }

func (b *BillWrite) add(o *BillWrite) {
	b.Bills = append(b.Bills, o.Bills...)
	b.PaymentGuards = append(b.PaymentGuards, o.PaymentGuards...)
}

// Refusals of a Write's guards. The Writer then fails that write alone (a batch it was part of
// is retried one write at a time).
var (
	ErrBillExists   = errors.New("a bill with this reference exists")
	ErrBillChanged  = errors.New("the bill changed meanwhile")
	ErrPaymentBusy  = errors.New("the payment changed meanwhile")
	errNoBillToKeep = errors.New("payments store: bill change without a bill")
)

// billExecer runs a statement of a batch.
type billExecer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) writeBillsStep(ctx context.Context, x batchExec, w *Write) error {
	ex := billExecer(x.ex)
	if x.lane != nil {
		ex = preparedBills{x.lane}
	}
	return s.writeBills(ctx, ex, &w.BillWrite)
}

// The bills' statements, prepared on every writer lane's connection (prepareBills) like the payments'.
var (
	billGuardSQL  = `UPDATE payapi_payments SET version = version WHERE id = ? AND version = ? AND pending_op = ''`
	billInsertSQL = "INSERT INTO payapi_bills (" + strings.Join(billCols, ", ") + ") VALUES (" +
		strings.TrimSuffix(strings.Repeat("?, ", len(billCols)), ", ") + ") ON CONFLICT (agency, reference) DO NOTHING"
	billUpdateSQL = func() string {
		set := make([]string, 0, len(billCols))
		for _, col := range billCols[1:] {
			set = append(set, col+" = ?")
		}
		return "UPDATE payapi_bills SET " + strings.Join(set, ", ") + " WHERE id = ? AND version = ?"
	}()
)

func (s *Store) prepareBills(ctx context.Context, l *lane) error {
	for _, q := range []string{billGuardSQL, billInsertSQL, billUpdateSQL} {
		st, err := l.conn.PrepareContext(ctx, s.q(q))
		if err != nil {
			return fmt.Errorf("payments store: prepare bills: %w", err)
		}
		l.stmts[stmtKey{q, 0}] = st
	}
	return nil
}

// preparedBills runs the bills' statements prepared on a writer lane's connection.
type preparedBills struct{ l *lane }

func (p preparedBills) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.l.stmts[stmtKey{query, 0}].ExecContext(ctx, args...)
}

// writeBills checks the guards and writes the bills (queries as written: ex rewrites them for
// PostgreSQL when it prepares them; s.q otherwise).
func (s *Store) writeBills(ctx context.Context, ex billExecer, w *BillWrite) error {
	if _, ok := ex.(preparedBills); !ok {
		ex = rewriting{s, ex}
	}
	for _, g := range w.PaymentGuards {
		n, err := s.affected(ex.ExecContext(ctx, billGuardSQL, g.ID, g.Version))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrPaymentBusy
		}
	}
	for _, c := range w.Bills {
		if c.Bill == nil {
			return errNoBillToKeep
		}
		if err := s.writeBill(ctx, ex, c); err != nil {
			return err
		}
	}
	return nil
}

var billCols = []string{"id", "agency", "reference", "status", "amount", "fee", "currency", "description", "items",
	"payer_name", "return_url", "language", "metadata", "claim_payment", "paid_payment", "expires_at", "paid_at",
	"created_at", "updated_at", "version"}

func billRow(b *Bill) []any {
	items, _ := json.Marshal(b.Items) // plain strings and integers: it always marshals
	if b.Items == nil {
		items = []byte("[]")
	}
	return []any{b.ID, b.Agency, b.Reference, b.Status, b.Amount, b.Fee, b.Currency, b.Description, string(items),
		b.PayerName, b.ReturnURL, b.Language, b.Metadata, b.ClaimPayment, b.PaidPayment, micros(b.ExpiresAt),
		micros(b.PaidAt), micros(b.CreatedAt), micros(b.UpdatedAt), b.Version}
}

func (s *Store) writeBill(ctx context.Context, ex billExecer, c BillChange) error {
	row := billRow(c.Bill)
	if c.Prev == 0 {
		n, err := s.affected(ex.ExecContext(ctx, billInsertSQL, row...))
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrBillExists
		}
		return nil
	}
	args := append(row[1:], c.Bill.ID, c.Prev)
	n, err := s.affected(ex.ExecContext(ctx, billUpdateSQL, args...))
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrBillChanged
	}
	return nil
}

// rewriting rewrites placeholders for the dialect before running a statement.
type rewriting struct {
	s  *Store
	ex billExecer
}

func (r rewriting) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return r.ex.ExecContext(ctx, r.s.q(query), args...)
}

func (s *Store) affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, fmt.Errorf("bills: %w", err)
	}
	return res.RowsAffected()
}

const billSelect = `SELECT id, agency, reference, status, amount, fee, currency, description, items, payer_name,
	return_url, language, metadata, claim_payment, paid_payment, expires_at, paid_at, created_at, updated_at, version
	FROM payapi_bills`

func scanBill(r scanner) (*Bill, error) {
	var b Bill
	var items string
	var expires, paid, created, updated int64
	if err := r.Scan(&b.ID, &b.Agency, &b.Reference, &b.Status, &b.Amount, &b.Fee, &b.Currency, &b.Description, &items,
		&b.PayerName, &b.ReturnURL, &b.Language, &b.Metadata, &b.ClaimPayment, &b.PaidPayment, &expires, &paid,
		&created, &updated, &b.Version); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(items), &b.Items); err != nil {
		return nil, fmt.Errorf("bill %s: items: %w", b.ID, err)
	}
	b.ExpiresAt, b.PaidAt, b.CreatedAt, b.UpdatedAt = fromMicros(expires), fromMicros(paid), fromMicros(created), fromMicros(updated)
	return &b, nil
}

func (s *Store) bills(ctx context.Context, where string, args ...any) ([]*Bill, error) {
	rows, err := s.read.QueryContext(ctx, s.q(billSelect+where), args...)
	if err != nil {
		return nil, fmt.Errorf("payments store: %w", err)
	}
	defer rows.Close()
	var out []*Bill
	for rows.Next() {
		b, err := scanBill(rows)
		if err != nil {
			return nil, fmt.Errorf("payments store: %w", err)
		}
		out = append(out, b)
	}
	return out, notFound(rows.Err())
}

// oneBill is the bill a hot read selects, by a statement prepared once.
func (s *Store) oneBill(ctx context.Context, where string, args ...any) (*Bill, error) {
	b, err := scanBill(s.readStmt(ctx, billSelect+where).QueryRowContext(ctx, args...))
	return b, notFound(err)
}

// BillByReference returns an agency's bill by its control number.
func (s *Store) BillByReference(ctx context.Context, agency, reference string) (*Bill, error) {
	return s.oneBill(ctx, ` WHERE agency = ? AND reference = ?`, agency, reference)
}

// BillByID returns a bill whoever its agency is.
func (s *Store) BillByID(ctx context.Context, id string) (*Bill, error) {
	return s.oneBill(ctx, ` WHERE id = ?`, id)
}

// BillsWithReference returns every agency's bill with this control number (at most limit).
func (s *Store) BillsWithReference(ctx context.Context, reference string, limit int) ([]*Bill, error) {
	return s.bills(ctx, ` WHERE reference = ? ORDER BY agency LIMIT ?`, reference, limit)
}

// BillFilter selects an agency's bills for a list.
type BillFilter struct {
	Agency, Status         string
	CreatedFrom, CreatedTo time.Time
	Before                 string // cursor: ids below it (newest first)
	Limit                  int
}

// Bills lists an agency's bills, newest first, up to Limit+1 (so that the caller knows whether
// there are more).
func (s *Store) Bills(ctx context.Context, f BillFilter) ([]*Bill, error) {
	where := []string{"agency = ?"}
	args := []any{f.Agency}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if !f.CreatedFrom.IsZero() {
		add("created_at >= ?", micros(f.CreatedFrom))
	}
	if !f.CreatedTo.IsZero() {
		add("created_at < ?", micros(f.CreatedTo))
	}
	if f.Before != "" {
		add("id < ?", f.Before)
	}
	args = append(args, f.Limit+1)
	return s.bills(ctx, " WHERE "+strings.Join(where, " AND ")+" ORDER BY id DESC LIMIT ?", args...)
}

// BillsExpiring returns open bills whose expiry is at or before now, up to limit.
func (s *Store) BillsExpiring(ctx context.Context, now time.Time, limit int) ([]*Bill, error) {
	return s.bills(ctx, ` WHERE status = 'open' AND expires_at > 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?`, micros(now), limit)
}

// BillsClaimed returns the bills claimed by a payment, up to limit (recovery).
func (s *Store) BillsClaimed(ctx context.Context, limit int) ([]*Bill, error) {
	return s.bills(ctx, ` WHERE claim_payment <> '' ORDER BY id LIMIT ?`, limit)
}

// BillsPaidByCancelled returns paid bills whose payment was cancelled (reversed) since, up to limit.
func (s *Store) BillsPaidByCancelled(ctx context.Context, limit int) ([]*Bill, error) {
	return s.bills(ctx, ` WHERE status = 'paid' AND paid_payment IN (SELECT id FROM payapi_payments
		WHERE bill_id <> '' AND status = 'cancelled') ORDER BY id LIMIT ?`, limit)
}

// BillPayments lists a bill's payments, oldest first.
func (s *Store) BillPayments(ctx context.Context, billID string) ([]*Payment, error) {
	return s.paymentsWhere(ctx, ` WHERE bill_id = ? ORDER BY id`, billID)
}

// PaymentByPageToken returns the payment whose hosted page token hashes to hash.
func (s *Store) PaymentByPageToken(ctx context.Context, hash string) (*Payment, error) {
	p, err := scanPayment(s.readStmt(ctx, paymentSelect+` WHERE page_token = ?`).QueryRowContext(ctx, hash))
	return p, notFound(err)
}

// PaymentsByEngineID returns the payments whose authorisation has one of these engine ids.
func (s *Store) PaymentsByEngineID(ctx context.Context, ids []string) ([]*Payment, error) {
	var out []*Payment
	for len(ids) > 0 {
		n := min(len(ids), 256)
		args := make([]any, n)
		for i := range n {
			args[i] = ids[i]
		}
		ps, err := s.paymentsWhere(ctx, ` WHERE engine_id IN (`+strings.TrimSuffix(strings.Repeat("?, ", n), ", ")+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
		ids = ids[n:]
	}
	return out, nil
}

// RefundsByEngineID returns the refunds with one of these engine ids.
func (s *Store) RefundsByEngineID(ctx context.Context, ids []string) ([]*Refund, error) {
	var out []*Refund
	for len(ids) > 0 {
		n := min(len(ids), 256)
		args := make([]any, n)
		for i := range n {
			args[i] = ids[i]
		}
		rs, err := s.refunds(ctx, ` WHERE engine_id IN (`+strings.TrimSuffix(strings.Repeat("?, ", n), ", ")+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		ids = ids[n:]
	}
	return out, nil
}

func (s *Store) paymentsWhere(ctx context.Context, where string, args ...any) ([]*Payment, error) {
	rows, err := s.read.QueryContext(ctx, s.q(paymentSelect+where), args...)
	if err != nil {
		return nil, fmt.Errorf("payments store: %w", err)
	}
	defer rows.Close()
	var out []*Payment
	for rows.Next() {
		p, err := scanPayment(rows)
		if err != nil {
			return nil, fmt.Errorf("payments store: %w", err)
		}
		out = append(out, p)
	}
	return out, notFound(rows.Err())
}

// PageKey returns the hosted page's HMAC key, made (32 random bytes) by the first instance that
// asks: every instance signs and checks the page's anti-forgery tokens with the same key.
func (s *Store) PageKey(ctx context.Context, now time.Time) ([]byte, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	if _, err := s.exec(ctx, `INSERT INTO payapi_page_keys (id, key, created_at) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING`,
		hex.EncodeToString(b[:]), micros(now)); err != nil {
		return nil, err
	}
	var k string
	if err := s.read.QueryRowContext(ctx, `SELECT key FROM payapi_page_keys WHERE id = 1`).Scan(&k); err != nil {
		return nil, notFound(err)
	}
	return hex.DecodeString(k)
}
