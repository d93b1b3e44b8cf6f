package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cardswitch/cardswitch/ledger"
)

var (
	journalInsertColumns = []string{"id", "kind", "original_id", "target_id", "currency", "amount", "fee",
		"convenience_fee", "payee_kind", "payee_id", "issuer", "payment_ref", "rrn", "stan", "terminal", "mti",
		"masked_pan", "response_code", "approval_code", "at", "business_day", "hold_expires_at", "rejection"}
	transferInsertColumns = []string{"id", "debit_account_id", "credit_account_id", "amount", "currency", "flags",
		"pending_id", "timeout_at", "state", "code", "event_id", "payment_ref", "business_day", "reason", "created_at"}
)

// Write implements ledger.BatchTx: COPY the journal rows and transfers, then in one round trip
// the pending state changes and one set-based increment of the balances, accounts in id order.
func (b *batchTx) Write(ctx context.Context, p *ledger.Plan) error {
	dayTime, err := time.Parse(time.DateOnly, p.BusinessDay)
	if err != nil {
		return fmt.Errorf("business day %q: %w", p.BusinessDay, err)
	}
	day := pgtype.Date{Time: dayTime, Valid: true}
	if len(p.Transactions) > 0 {
		src := &journalSource{rows: p.Transactions, day: day, vals: make([]any, len(journalInsertColumns))}
		if _, err := b.conn.CopyFrom(ctx, pgx.Identifier{"ledger_transactions"}, journalInsertColumns, src); err != nil {
			return mapErr(err)
		}
	}
	if len(p.Transfers) > 0 {
		src := &transferSource{rows: p.Transfers, day: day, vals: make([]any, len(transferInsertColumns))}
		if _, err := b.conn.CopyFrom(ctx, pgx.Identifier{"ledger_transfers"}, transferInsertColumns, src); err != nil {
			return mapErr(err)
		}
	}
	return b.updateStatesAndBalances(ctx, p)
}

func (b *batchTx) updateStatesAndBalances(ctx context.Context, p *ledger.Plan) error {
	batch := &pgx.Batch{}
	if n := len(p.StateChanges); n > 0 {
		ids, states := make([]pgtype.UUID, n), make([]int16, n)
		for i, c := range p.StateChanges {
			ids[i], states[i] = pgtype.UUID{Bytes: c.ID, Valid: true}, int16(c.State)
		}
		batch.Queue(`UPDATE ledger_transfers t SET state = u.state
			FROM unnest($1::uuid[], $2::smallint[]) AS u(id, state) WHERE t.id = u.id`, ids, states)
	}
	if n := len(p.Deltas); n > 0 {
		ids := make([]int64, n)
		dpe, dp, cpe, cp := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		for i, d := range p.Deltas {
			ids[i], dpe[i], dp[i], cpe[i], cp[i] = d.AccountID, d.DebitsPending, d.DebitsPosted, d.CreditsPending, d.CreditsPosted
		}
		// The deltas come sorted by account id. With hash joins, merge joins and sequential scans
		// off for this transaction, the UPDATE can only walk them in that order (a nested loop over
		// the sorted array, probing the primary key) and lock each account row as it goes: every
		// process takes account locks in id order.
		batch.Queue(`SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
			set_config('enable_seqscan', 'off', true)`)
		batch.Queue(`UPDATE ledger_accounts a SET
				debits_pending = a.debits_pending + d.dpe, debits_posted = a.debits_posted + d.dp,
				credits_pending = a.credits_pending + d.cpe, credits_posted = a.credits_posted + d.cp
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(id, dpe, dp, cpe, cp)
			WHERE a.id = d.id`, ids, dpe, dp, cpe, cp)
	}
	if batch.Len() == 0 {
		return nil
	}
	br := b.conn.SendBatch(ctx, batch)
	if n := len(p.StateChanges); n > 0 {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return mapErr(err)
		}
		if tag.RowsAffected() != int64(n) {
			_ = br.Close()
			return fmt.Errorf("pending state change: %d of %d transfers found", tag.RowsAffected(), n)
		}
	}
	if n := len(p.Deltas); n > 0 {
		if _, err := br.Exec(); err != nil { // the planner settings
			_ = br.Close()
			return mapErr(err)
		}
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return mapErr(err)
		}
		if tag.RowsAffected() != int64(n) {
			_ = br.Close()
			return fmt.Errorf("balance update: %d of %d accounts found", tag.RowsAffected(), n)
		}
	}
	return mapErr(br.Close())
}

// journalSource feeds journal rows to COPY without building a [][]any.
type journalSource struct {
	rows []*ledger.Transaction
	i    int
	day  pgtype.Date
	vals []any
}

func (s *journalSource) Next() bool { s.i++; return s.i <= len(s.rows) }
func (s *journalSource) Err() error { return nil }

func (s *journalSource) Values() ([]any, error) {
	t := s.rows[s.i-1]
	var expires pgtype.Timestamptz
	if t.HoldExpiresAt != nil {
		expires = pgtype.Timestamptz{Time: *t.HoldExpiresAt, Valid: true}
	}
	v := s.vals
	v[0], v[1], v[2], v[3], v[4], v[5], v[6] = t.ID, int16(t.Kind), t.OriginalID, t.TargetID, t.Currency, t.Amount, t.Fee
	v[7], v[8], v[9], v[10], v[11], v[12], v[13] = t.ConvenienceFee, int16(t.PayeeKind), t.PayeeID, t.Issuer, t.PaymentRef, t.RRN, t.STAN
	v[14], v[15], v[16], v[17], v[18], v[19] = t.Terminal, t.MTI, t.MaskedPAN, t.ResponseCode, t.ApprovalCode, t.At
	v[20], v[21], v[22] = s.day, expires, t.Rejection
	return v, nil
}

// transferSource feeds transfers to COPY.
type transferSource struct {
	rows []*ledger.TransferRecord
	i    int
	day  pgtype.Date
	vals []any
}

func (s *transferSource) Next() bool { s.i++; return s.i <= len(s.rows) }
func (s *transferSource) Err() error { return nil }

func (s *transferSource) Values() ([]any, error) {
	r := s.rows[s.i-1]
	v := s.vals
	v[0], v[1], v[2], v[3], v[4] = pgtype.UUID{Bytes: r.ID, Valid: true}, r.DebitAccountID, r.CreditAccountID, r.Amount, r.Currency
	v[5], v[6], v[7], v[8], v[9] = int16(r.Flags), nullUUID(r.PendingID), nullTime(r.TimeoutAt), int16(r.State), int16(r.Code)
	v[10], v[11], v[12], v[13], v[14] = r.EventID, r.PaymentRef, s.day, r.Reason, r.CreatedAt
	return v, nil
}

func sortedKeys(keys []ledger.AccountKey) []ledger.AccountKey {
	out := slices.Clone(keys)
	slices.SortFunc(out, func(a, b ledger.AccountKey) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Currency, b.Currency))
	})
	return out
}
