package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

const paymentSelect = `SELECT id, merchant, status, amount, fee, currency, reference, description, return_url, metadata,
	capture, card_masked, card_exp_month, card_exp_year, card_holder, response_code, decline_reason, auth_code, rrn,
	terminal, engine_id, amount_captured, amount_refunded, pending_op, pending_id, pending_amount, card_sealed, page_token,
	created_at, updated_at, version, sale_id, bill_id, page_attempts FROM payapi_payments`

type scanner interface{ Scan(dest ...any) error }

func scanPayment(r scanner) (*Payment, error) {
	var p Payment
	var created, updated int64
	err := r.Scan(&p.ID, &p.Merchant, &p.Status, &p.Amount, &p.Fee, &p.Currency, &p.Reference, &p.Description,
		&p.ReturnURL, &p.Metadata, &p.Capture, &p.CardMasked, &p.CardExpMonth, &p.CardExpYear, &p.CardHolder,
		&p.ResponseCode, &p.DeclineReason, &p.AuthCode, &p.RRN, &p.Terminal, &p.EngineID, &p.AmountCaptured,
		&p.AmountRefunded, &p.PendingOp, &p.PendingID, &p.PendingAmount, &p.CardSealed, &p.PageToken, &created, &updated, &p.Version, &p.SaleID,
		&p.BillID, &p.PageAttempts)
	if err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &p, nil
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("payments store: %w", err)
	}
	return nil
}

// Payment returns a payment of merchant (ErrNotFound when it is another merchant's).
func (s *Store) Payment(ctx context.Context, merchant, id string) (*Payment, error) {
	p, err := scanPayment(s.readStmt(ctx, paymentSelect+` WHERE id = ? AND merchant = ?`).QueryRowContext(ctx, id, merchant))
	return p, notFound(err)
}

// PaymentFilter selects payments for a list.
type PaymentFilter struct {
	Merchant               string
	Reference, Status      string
	CreatedFrom, CreatedTo time.Time
	Before                 string // cursor: ids below it (newest first)
	Limit                  int
}

// Payments lists a merchant's payments, newest first; it returns up to Limit+1 so that the caller
// knows whether there are more.
func (s *Store) Payments(ctx context.Context, f PaymentFilter) ([]*Payment, error) {
	where := []string{"merchant = ?"}
	args := []any{f.Merchant}
	add := func(cond string, v any) {
		where = append(where, cond)
		args = append(args, v)
	}
	if f.Reference != "" {
		add("reference = ?", f.Reference)
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
	rows, err := s.read.QueryContext(ctx, s.q(paymentSelect+" WHERE "+strings.Join(where, " AND ")+" ORDER BY id DESC LIMIT ?"), args...)
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

// Unresolved returns every payment with an engine request whose outcome is not recorded.
func (s *Store) Unresolved(ctx context.Context) ([]*Payment, error) {
	rows, err := s.read.QueryContext(ctx, paymentSelect+` WHERE pending_op <> ''`)
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

// ExpiredCandidates returns payments in status with updated_at before cutoff (created never paid,
// or authorised never captured), up to limit.
func (s *Store) ExpiredCandidates(ctx context.Context, status string, cutoff time.Time, limit int) ([]*Payment, error) {
	rows, err := s.read.QueryContext(ctx, s.q(paymentSelect+` WHERE status = ? AND pending_op = '' AND updated_at < ? LIMIT ?`),
		status, micros(cutoff), limit)
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

const refundSelect = `SELECT id, payment_id, merchant, status, amount, currency, reference, response_code, rrn, engine_id,
	created_at, updated_at FROM payapi_refunds`

func scanRefund(r scanner) (*Refund, error) {
	var x Refund
	var created, updated int64
	if err := r.Scan(&x.ID, &x.PaymentID, &x.Merchant, &x.Status, &x.Amount, &x.Currency, &x.Reference, &x.ResponseCode,
		&x.RRN, &x.EngineID, &created, &updated); err != nil {
		return nil, err
	}
	x.CreatedAt, x.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &x, nil
}

func (s *Store) refunds(ctx context.Context, query string, args ...any) ([]*Refund, error) {
	rows, err := s.read.QueryContext(ctx, s.q(refundSelect+query), args...)
	if err != nil {
		return nil, fmt.Errorf("payments store: %w", err)
	}
	defer rows.Close()
	var out []*Refund
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, fmt.Errorf("payments store: %w", err)
		}
		out = append(out, r)
	}
	return out, notFound(rows.Err())
}

// Refunds lists a payment's refunds, oldest first.
func (s *Store) Refunds(ctx context.Context, merchant, paymentID string) ([]*Refund, error) {
	return s.refunds(ctx, ` WHERE payment_id = ? AND merchant = ? ORDER BY id`, paymentID, merchant)
}

// ProcessingRefunds lists refunds whose outcome is not recorded (sent to the engine before a crash).
func (s *Store) ProcessingRefunds(ctx context.Context) ([]*Refund, error) {
	return s.refunds(ctx, ` WHERE status = 'processing'`)
}

// Events lists a payment's events, oldest first.
func (s *Store) Events(ctx context.Context, merchant, paymentID string) ([]Event, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT id, payment_id, merchant, type, status, amount, refund_id, response_code,
		created_at FROM payapi_events WHERE payment_id = ? AND merchant = ? ORDER BY seq`), paymentID, merchant)
	if err != nil {
		return nil, fmt.Errorf("payments store: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var created int64
		if err := rows.Scan(&e.ID, &e.PaymentID, &e.Merchant, &e.Type, &e.Status, &e.Amount, &e.RefundID, &e.ResponseCode, &created); err != nil {
			return nil, fmt.Errorf("payments store: %w", err)
		}
		e.CreatedAt = fromMicros(created)
		out = append(out, e)
	}
	return out, notFound(rows.Err())
}

// Idempotency returns an Idempotency-Key's record.
func (s *Store) Idempotency(ctx context.Context, apiKeyID, key string) (*Idempotency, error) {
	var r Idempotency
	var created int64
	err := s.readStmt(ctx, `SELECT api_key_id, key, request_hash, status, body, op, resource_id, created_at FROM payapi_idempotency
		WHERE api_key_id = ? AND key = ?`).QueryRowContext(ctx, apiKeyID, key).Scan(&r.APIKeyID, &r.Key, &r.RequestHash, &r.Status, &r.Body, &r.Op, &r.ResourceID, &created)
	if err != nil {
		return nil, notFound(err)
	}
	r.CreatedAt = fromMicros(created)
	return &r, nil
}

// PurgeIdempotency deletes completed records created before cutoff.
func (s *Store) PurgeIdempotency(ctx context.Context, cutoff time.Time) (int64, error) {
	return s.exec(ctx, `DELETE FROM payapi_idempotency WHERE status <> 0 AND created_at < ?`, micros(cutoff))
}

// ClockSecond returns the latest second used for an engine identity (0 when none).
func (s *Store) ClockSecond(ctx context.Context) (int64, error) {
	var v int64
	err := s.read.QueryRowContext(ctx, `SELECT last_second FROM payapi_clock WHERE id = 1`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, notFound(err)
}

// Totals are the API's own sums over a merchant's payments, to tie out with the ledger.
type Totals struct {
	Captured, Refunded, Fees int64
	Payments                 int64
}

// MerchantTotals sums a merchant's payments in a currency.
func (s *Store) MerchantTotals(ctx context.Context, merchant, currency string) (Totals, error) {
	var t Totals
	err := s.read.QueryRowContext(ctx, s.q(`SELECT count(*), coalesce(sum(amount_captured), 0), coalesce(sum(amount_refunded), 0),
		coalesce(sum(CASE WHEN amount_captured > 0 THEN fee ELSE 0 END), 0) FROM payapi_payments WHERE merchant = ? AND currency = ?`),
		merchant, currency).Scan(&t.Payments, &t.Captured, &t.Refunded, &t.Fees)
	return t, notFound(err)
}

// InFlightIdempotency lists the records whose first request never completed (a crash), so that
// they are given the answer of the effect they guard.
func (s *Store) InFlightIdempotency(ctx context.Context) ([]*Idempotency, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT api_key_id, key, request_hash, status, body, op, resource_id, created_at
		FROM payapi_idempotency WHERE status = 0`)
	if err != nil {
		return nil, notFound(err)
	}
	defer rows.Close()
	var out []*Idempotency
	for rows.Next() {
		var r Idempotency
		var created int64
		if err := rows.Scan(&r.APIKeyID, &r.Key, &r.RequestHash, &r.Status, &r.Body, &r.Op, &r.ResourceID, &created); err != nil {
			return nil, notFound(err)
		}
		r.CreatedAt = fromMicros(created)
		out = append(out, &r)
	}
	return out, notFound(rows.Err())
}

// DeleteIdempotency removes a record (an in-flight one whose effect never started).
func (s *Store) DeleteIdempotency(ctx context.Context, apiKeyID, key string) error {
	_, err := s.exec(ctx, `DELETE FROM payapi_idempotency WHERE api_key_id = ? AND key = ? AND status = 0`, apiKeyID, key)
	return err
}

// Refund returns one refund of a merchant's payment.
func (s *Store) Refund(ctx context.Context, merchant, paymentID, id string) (*Refund, error) {
	rs, err := s.refunds(ctx, ` WHERE id = ? AND payment_id = ? AND merchant = ?`, id, paymentID, merchant)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, ErrNotFound
	}
	return rs[0], nil
}

// PaymentByID returns a payment whoever its merchant is (recovery, the hosted page).
func (s *Store) PaymentByID(ctx context.Context, id string) (*Payment, error) {
	p, err := scanPayment(s.read.QueryRowContext(ctx, s.q(paymentSelect+` WHERE id = ?`), id))
	return p, notFound(err)
}

// RefundByID returns a refund whoever its merchant is (recovery).
func (s *Store) RefundByID(ctx context.Context, id string) (*Refund, error) {
	rs, err := s.refunds(ctx, ` WHERE id = ?`, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, ErrNotFound
	}
	return rs[0], nil
}

// readStmt returns a read statement prepared once (for the reads every request makes), or, if it
// cannot be prepared, one that fails when used.
func (s *Store) readStmt(ctx context.Context, query string) *sql.Stmt {
	s.reads.Lock()
	defer s.reads.Unlock()
	if st, ok := s.reads.m[query]; ok {
		return st
	}
	st, err := s.read.PrepareContext(ctx, s.q(query))
	if err != nil {
		// Not cached: the next call tries again. A nil *sql.Stmt would panic, so return a closed one.
		st, _ = s.read.PrepareContext(context.Background(), "SELECT 1")
		if st != nil {
			st.Close()
		}
		return st
	}
	s.reads.m[query] = st
	return st
}
