package store

import (
	"context"
	"strings"
	"time"
)

// CreateEndpoint stores a webhook endpoint, with the idempotency record of its request.
func (s *Store) CreateEndpoint(ctx context.Context, e *Endpoint, idem *Idempotency) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return notFound(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO payapi_webhook_endpoints (id, merchant, url, description, events, secret, enabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), e.ID, e.Merchant, e.URL, e.Description, strings.Join(e.Events, ","), e.Secret,
		boolInt(e.Enabled), micros(e.CreatedAt)); err != nil {
		return notFound(err)
	}
	if err := s.writeIdempotency(ctx, batchExec{s: s, ex: tx}, &Write{Idempotency: idemSlice(idem)}); err != nil {
		return notFound(err)
	}
	return notFound(tx.Commit())
}

// UpdateEndpoint stores an endpoint's secret and enabled flag, with an idempotency record.
func (s *Store) UpdateEndpoint(ctx context.Context, e *Endpoint, idem *Idempotency) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return notFound(err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, s.q(`UPDATE payapi_webhook_endpoints SET secret = ?, enabled = ? WHERE id = ? AND merchant = ?`),
		e.Secret, boolInt(e.Enabled), e.ID, e.Merchant)
	if err != nil {
		return notFound(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	if err := s.writeIdempotency(ctx, batchExec{s: s, ex: tx}, &Write{Idempotency: idemSlice(idem)}); err != nil {
		return notFound(err)
	}
	return notFound(tx.Commit())
}

func idemSlice(r *Idempotency) []Idempotency {
	if r == nil {
		return nil
	}
	return []Idempotency{*r}
}

// Endpoints lists endpoints: a merchant's, or every one when merchant is "".
func (s *Store) Endpoints(ctx context.Context, merchant string) ([]*Endpoint, error) {
	q, args := `SELECT id, merchant, url, description, events, secret, enabled, created_at FROM payapi_webhook_endpoints`, []any{}
	if merchant != "" {
		q, args = q+` WHERE merchant = ?`, append(args, merchant)
	}
	rows, err := s.read.QueryContext(ctx, s.q(q+` ORDER BY id`), args...)
	if err != nil {
		return nil, notFound(err)
	}
	defer rows.Close()
	var out []*Endpoint
	for rows.Next() {
		var e Endpoint
		var events string
		var enabled int
		var created int64
		if err := rows.Scan(&e.ID, &e.Merchant, &e.URL, &e.Description, &events, &e.Secret, &enabled, &created); err != nil {
			return nil, notFound(err)
		}
		if events != "" {
			e.Events = strings.Split(events, ",")
		}
		e.Enabled, e.CreatedAt = enabled != 0, fromMicros(created)
		out = append(out, &e)
	}
	return out, notFound(rows.Err())
}

// DueOutbox returns pending messages due at now, oldest first, up to limit.
func (s *Store) DueOutbox(ctx context.Context, now time.Time, limit int) ([]*Outbox, error) {
	rows, err := s.read.QueryContext(ctx, s.q(`SELECT id, event_id, endpoint_id, event_type, payload, state, attempts, next_attempt_at,
		created_at FROM payapi_webhook_outbox WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`),
		micros(now), limit)
	if err != nil {
		return nil, notFound(err)
	}
	defer rows.Close()
	var out []*Outbox
	for rows.Next() {
		var o Outbox
		var next, created int64
		if err := rows.Scan(&o.ID, &o.EventID, &o.EndpointID, &o.EventType, &o.Payload, &o.State, &o.Attempts, &next, &created); err != nil {
			return nil, notFound(err)
		}
		o.NextAttemptAt, o.CreatedAt = fromMicros(next), fromMicros(created)
		out = append(out, &o)
	}
	return out, notFound(rows.Err())
}

// RecordDelivery stores an attempt and the message's new state in one transaction.
func (s *Store) RecordDelivery(ctx context.Context, o *Outbox, d *Delivery) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return notFound(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`UPDATE payapi_webhook_outbox SET state = ?, attempts = ?, next_attempt_at = ? WHERE id = ?`),
		o.State, o.Attempts, micros(o.NextAttemptAt), o.ID); err != nil {
		return notFound(err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO payapi_webhook_deliveries (id, outbox_id, endpoint_id, event_id, event_type, attempt,
		status_code, error, duration_ms, attempted_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		d.ID, d.OutboxID, d.EndpointID, d.EventID, d.EventType, d.Attempt, d.StatusCode, d.Error, d.Duration.Milliseconds(),
		micros(d.AttemptedAt), micros(d.NextAttemptAt)); err != nil {
		return notFound(err)
	}
	return notFound(tx.Commit())
}

// Deliveries lists an endpoint's attempts, newest first, below the cursor seq (0: from the newest),
// up to limit+1.
func (s *Store) Deliveries(ctx context.Context, endpointID string, beforeSeq int64, limit int) ([]*Delivery, []int64, error) {
	q, args := `SELECT seq, id, outbox_id, endpoint_id, event_id, event_type, attempt, status_code, error, duration_ms, attempted_at,
		next_attempt_at FROM payapi_webhook_deliveries WHERE endpoint_id = ?`, []any{endpointID}
	if beforeSeq > 0 {
		q, args = q+` AND seq < ?`, append(args, beforeSeq)
	}
	rows, err := s.read.QueryContext(ctx, s.q(q+` ORDER BY seq DESC LIMIT ?`), append(args, limit+1)...)
	if err != nil {
		return nil, nil, notFound(err)
	}
	defer rows.Close()
	var out []*Delivery
	var seqs []int64
	for rows.Next() {
		var d Delivery
		var seq, ms, at, next int64
		if err := rows.Scan(&seq, &d.ID, &d.OutboxID, &d.EndpointID, &d.EventID, &d.EventType, &d.Attempt, &d.StatusCode, &d.Error,
			&ms, &at, &next); err != nil {
			return nil, nil, notFound(err)
		}
		d.Duration, d.AttemptedAt, d.NextAttemptAt = time.Duration(ms)*time.Millisecond, fromMicros(at), fromMicros(next)
		out = append(out, &d)
		seqs = append(seqs, seq)
	}
	return out, seqs, notFound(rows.Err())
}
