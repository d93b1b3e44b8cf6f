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
		"masked_pan", "response_code", "approval_code", "at", "business_day", "hold_expires_at", "rejection", "acquirer_rrn"}
	transferInsertColumns = []string{"id", "debit_account_id", "credit_account_id", "amount", "currency", "flags",
		"pending_id", "timeout_at", "state", "code", "event_id", "payment_ref", "business_day", "reason", "created_at"}
)

// copyRowsMin is where COPY starts to pay: below it, rows go as one INSERT … SELECT FROM unnest
// in the same round trip as the updates and the COMMIT; from it on, COPY (two round trips, but
// cheaper per row) goes first.
const copyRowsMin = 256

// Write implements ledger.BatchTx. Large row sets are COPYed at once; everything else (small
// inserts, the pending state changes, the balance increments) is queued and sent with the COMMIT,
// so that a batch of a few events costs two round trips: BEGIN with the day lock, then this.
func (b *batchTx) Write(ctx context.Context, p *ledger.Plan) error {
	dayTime, err := time.Parse(time.DateOnly, p.BusinessDay)
	if err != nil {
		return fmt.Errorf("business day %q: %w", p.BusinessDay, err)
	}
	day := pgtype.Date{Time: dayTime, Valid: true}
	if n := len(p.Transactions); n >= copyRowsMin {
		src := &journalSource{rows: p.Transactions, day: day, vals: make([]any, len(journalInsertColumns))}
		if _, err := b.conn.CopyFrom(ctx, pgx.Identifier{"ledger_transactions"}, journalInsertColumns, src); err != nil {
			return mapErr(err)
		}
	} else if n > 0 {
		b.queueJournal(p.Transactions, day)
	}
	if n := len(p.Transfers); n >= copyRowsMin {
		src := &transferSource{rows: p.Transfers, day: day, vals: make([]any, len(transferInsertColumns))}
		if _, err := b.conn.CopyFrom(ctx, pgx.Identifier{"ledger_transfers"}, transferInsertColumns, src); err != nil {
			return mapErr(err)
		}
	} else if n > 0 {
		b.queueTransfers(p.Transfers, day)
	}
	b.queueStatesAndBalances(p)
	b.queueSAF(p)
	return nil
}

// queued returns the statements to send with the COMMIT.
func (b *batchTx) queued() *pgx.Batch {
	if b.pending == nil {
		b.pending = &pgx.Batch{}
	}
	return b.pending
}

func (b *batchTx) queueStatesAndBalances(p *ledger.Plan) {
	if n := len(p.StateChanges); n > 0 {
		ids, states := make([]pgtype.UUID, n), make([]int16, n)
		for i, c := range p.StateChanges {
			ids[i], states[i] = pgtype.UUID{Bytes: c.ID, Valid: true}, int16(c.State)
		}
		b.queued().Queue(`WITH u AS (UPDATE ledger_transfers t SET state = u.state
				FROM unnest($1::uuid[], $2::smallint[]) AS u(id, state) WHERE t.id = u.id RETURNING 1)
			SELECT ledger_expect_rows(count(*), $3, 'pending transfers') FROM u`, ids, states, n)
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
		q := b.queued()
		q.Queue(`SELECT set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true),
			set_config('enable_seqscan', 'off', true)`)
		q.Queue(`WITH u AS (UPDATE ledger_accounts a SET
				debits_pending = a.debits_pending + d.dpe, debits_posted = a.debits_posted + d.dp,
				credits_pending = a.credits_pending + d.cpe, credits_posted = a.credits_posted + d.cp
			FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) AS d(id, dpe, dp, cpe, cp)
			WHERE a.id = d.id RETURNING 1)
			SELECT ledger_expect_rows(count(*), $6, 'accounts') FROM u`, ids, dpe, dp, cpe, cp, n)
	}
}

func (b *batchTx) queueTransfers(rs []*ledger.TransferRecord, day pgtype.Date) {
	n := len(rs)
	ids, pending := make([]pgtype.UUID, n), make([]pgtype.UUID, n)
	debit, credit, amount := make([]int64, n), make([]int64, n), make([]int64, n)
	currency, event, ref, reason := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	flags, state, code := make([]int16, n), make([]int16, n), make([]int16, n)
	timeout, created := make([]pgtype.Timestamptz, n), make([]time.Time, n)
	for i, r := range rs {
		ids[i], pending[i] = pgtype.UUID{Bytes: r.ID, Valid: true}, nullUUID(r.PendingID)
		debit[i], credit[i], amount[i] = r.DebitAccountID, r.CreditAccountID, r.Amount
		currency[i], event[i], ref[i], reason[i] = r.Currency, r.EventID, r.PaymentRef, r.Reason
		flags[i], state[i], code[i] = int16(r.Flags), int16(r.State), int16(r.Code)
		timeout[i], created[i] = nullTime(r.TimeoutAt), r.CreatedAt
	}
	b.queued().Queue(`INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount, currency, flags,
			pending_id, timeout_at, state, code, event_id, payment_ref, business_day, reason, created_at)
		SELECT u.id, u.d, u.c, u.a, u.cur, u.f, u.p, u.t, u.s, u.code, u.e, u.r, $15::date, u.reason, u.created
		FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::smallint[], $7::uuid[],
			$8::timestamptz[], $9::smallint[], $10::smallint[], $11::text[], $12::text[], $13::text[], $14::timestamptz[])
			AS u(id, d, c, a, cur, f, p, t, s, code, e, r, reason, created)`,
		ids, debit, credit, amount, currency, flags, pending, timeout, state, code, event, ref, reason, created, day)
}

func (b *batchTx) queueJournal(ts []*ledger.Transaction, day pgtype.Date) {
	n := len(ts)
	str := func() []string { return make([]string, n) }
	ids, orig, target, cur, payee, issuer, ref := str(), str(), str(), str(), str(), str(), str()
	rrn, stan, term, mti, pan, rc, ac, rej, arrn := str(), str(), str(), str(), str(), str(), str(), str(), str()
	kind, payeeKind := make([]int16, n), make([]int16, n)
	amount, fee, conv := make([]int64, n), make([]int64, n), make([]int64, n)
	at, expires := make([]time.Time, n), make([]pgtype.Timestamptz, n)
	for i, t := range ts {
		ids[i], orig[i], target[i], cur[i], payee[i], issuer[i], ref[i] = t.ID, t.OriginalID, t.TargetID, t.Currency, t.PayeeID, t.Issuer, t.PaymentRef
		rrn[i], stan[i], term[i], mti[i], pan[i], rc[i], ac[i], rej[i] = t.RRN, t.STAN, t.Terminal, t.MTI, t.MaskedPAN, t.ResponseCode, t.ApprovalCode, t.Rejection
		arrn[i] = t.AcquirerRRN
		kind[i], payeeKind[i] = int16(t.Kind), int16(t.PayeeKind)
		amount[i], fee[i], conv[i], at[i] = t.Amount, t.Fee, t.ConvenienceFee, t.At
		if t.HoldExpiresAt != nil {
			expires[i] = pgtype.Timestamptz{Time: *t.HoldExpiresAt, Valid: true}
		}
	}
	b.queued().Queue(`INSERT INTO ledger_transactions (id, kind, original_id, target_id, currency, amount, fee,
			convenience_fee, payee_kind, payee_id, issuer, payment_ref, rrn, stan, terminal, mti, masked_pan,
			response_code, approval_code, at, business_day, hold_expires_at, rejection, acquirer_rrn)
		SELECT u.id, u.kind, u.orig, u.target, u.cur, u.amount, u.fee, u.conv, u.pk, u.payee, u.issuer, u.ref, u.rrn,
			u.stan, u.term, u.mti, u.pan, u.rc, u.ac, u.at, $23::date, u.expires, u.rej, u.arrn
		FROM unnest($1::text[], $2::smallint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
			$8::bigint[], $9::smallint[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[],
			$16::text[], $17::text[], $18::text[], $19::text[], $20::timestamptz[], $21::timestamptz[], $22::text[],
			$24::text[])
			AS u(id, kind, orig, target, cur, amount, fee, conv, pk, payee, issuer, ref, rrn, stan, term, mti, pan, rc,
				ac, at, expires, rej, arrn)`,
		ids, kind, orig, target, cur, amount, fee, conv, payeeKind, payee, issuer, ref, rrn, stan, term, mti, pan, rc,
		ac, at, expires, rej, day, arrn)
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
	v[20], v[21], v[22], v[23] = s.day, expires, t.Rejection, t.AcquirerRRN
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
