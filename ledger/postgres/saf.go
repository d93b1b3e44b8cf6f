package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardswitch/cardswitch/ledger"
)

// The store-and-forward queue's rows (migration 0003, ledger/saf.go).

const safColumns = `seq, key, event_id, issuer, node, payee, kind, state, mti, rrn, masked_pan, currency, amount,
	message, pan_sealed, attempts, created_at, queued_at, next_attempt_at, updated_at, last_error, response_code`

// queueSAF queues a plan's new items, its changes (consecutive changes of one op as one
// statement over arrays) and its pruning, to go with the COMMIT.
func (b *batchTx) queueSAF(p *ledger.Plan) {
	var intents, items []*ledger.SAFItem
	for _, r := range p.SAFInserts {
		if r.State == ledger.SAFIntent {
			intents = append(intents, r)
		} else {
			items = append(items, r)
		}
	}
	b.queueIntents(intents)
	if n := len(items); n > 0 {
		str := func() []string { return make([]string, n) }
		key, event, issuer, node, payee, mti, rrn, pan, cur, lastErr, rc := str(), str(), str(), str(), str(), str(), str(), str(), str(), str(), str()
		kind, state := make([]int16, n), make([]int16, n)
		amount, attempts := make([]int64, n), make([]int32, n)
		msg, sealed := make([][]byte, n), make([][]byte, n)
		created, queued, next, updated := make([]time.Time, n), make([]time.Time, n), make([]time.Time, n), make([]time.Time, n)
		for i, r := range items {
			key[i], event[i], issuer[i], node[i], payee[i] = r.Key, r.EventID, r.Issuer, r.Node, r.Payee
			mti[i], rrn[i], pan[i], cur[i], lastErr[i], rc[i] = r.MTI, r.RRN, r.MaskedPAN, r.Currency, r.LastError, r.ResponseCode
			kind[i], state[i], amount[i], attempts[i] = int16(r.Kind), int16(r.State), r.Amount, int32(r.Attempts)
			msg[i], sealed[i] = r.Packed, r.PANSealed
			created[i], queued[i], next[i], updated[i] = r.CreatedAt, r.QueuedAt, r.NextAttemptAt, r.UpdatedAt
		}
		b.queued().Queue(`INSERT INTO saf_items (key, event_id, issuer, node, payee, kind, state, mti, rrn, masked_pan,
				currency, amount, message, pan_sealed, attempts, created_at, queued_at, next_attempt_at, updated_at,
				last_error, response_code)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::smallint[],
				$7::smallint[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::bytea[], $14::bytea[],
				$15::integer[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $19::timestamptz[],
				$20::text[], $21::text[])`,
			key, event, issuer, node, payee, kind, state, mti, rrn, pan, cur, amount, msg, sealed, attempts, created,
			queued, next, updated, lastErr, rc)
	}
	for i := 0; i < len(p.SAFChanges); {
		j := i + 1
		for j < len(p.SAFChanges) && p.SAFChanges[j].Op == p.SAFChanges[i].Op {
			j++
		}
		b.queueSAFChanges(p.SAFChanges[i:j])
		i = j
	}
	if !p.SAFPruneBefore.IsZero() && p.SAFPruneMax > 0 {
		b.queued().Queue(`DELETE FROM saf_items WHERE seq IN
			(SELECT seq FROM saf_items WHERE state = 3 AND updated_at < $1 ORDER BY updated_at LIMIT $2)`,
			p.SAFPruneBefore, p.SAFPruneMax)
	}
}

// queueSAFChanges queues changes of one op as one statement.
func (b *batchTx) queueSAFChanges(cs []ledger.SAFChange) {
	n := len(cs)
	keys, errs, codes := make([]string, n), make([]string, n), make([]string, n)
	seqs := make([]int64, n)
	at, next := make([]time.Time, n), make([]time.Time, n)
	for i, c := range cs {
		keys[i], seqs[i], errs[i], codes[i], at[i], next[i] = c.Key, c.Seq, c.Error, c.ResponseCode, c.At, c.NextAttemptAt
	}
	q := b.queued()
	switch cs[0].Op {
	case ledger.SAFActivate: // to the queue as reversals due now (kind 1), then out of the intents
		q.Queue(`INSERT INTO saf_items (key, event_id, issuer, node, payee, kind, state, mti, rrn, masked_pan,
				currency, amount, message, pan_sealed, attempts, created_at, queued_at, next_attempt_at, updated_at)
			SELECT i.key, i.event_id, i.issuer, i.node, i.payee, 1, 2, i.mti, i.rrn, i.masked_pan, i.currency, i.amount,
				i.message, i.pan_sealed, 0, i.created_at, c.at, c.at, c.at
			FROM ledger_intents i JOIN unnest($1::text[], $2::timestamptz[]) AS c(key, at) ON i.key = c.key
			ON CONFLICT (key) DO NOTHING`, keys, at)
		q.Queue(`DELETE FROM ledger_intents WHERE key = ANY($1)`, keys)
	case ledger.SAFResolve:
		q.Queue(`DELETE FROM ledger_intents WHERE key = ANY($1)`, keys)
	case ledger.SAFFailed:
		q.Queue(`UPDATE saf_items s SET attempts = s.attempts + 1, next_attempt_at = c.next, updated_at = c.at,
				last_error = c.err
			FROM unnest($1::bigint[], $2::timestamptz[], $3::timestamptz[], $4::text[]) AS c(seq, at, next, err)
			WHERE s.seq = c.seq AND s.state = 2`, seqs, at, next, errs)
	case ledger.SAFDeliver:
		q.Queue(`UPDATE saf_items s SET state = 3, attempts = s.attempts + 1, updated_at = c.at, response_code = c.rc,
				last_error = ''
			FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS c(seq, at, rc)
			WHERE s.seq = c.seq AND s.state IN (2, 4)`, seqs, at, codes)
	case ledger.SAFPark:
		q.Queue(`UPDATE saf_items s SET state = 4, updated_at = c.at,
				last_error = CASE WHEN c.err = '' THEN s.last_error ELSE c.err END
			FROM unnest($1::bigint[], $2::timestamptz[], $3::text[]) AS c(seq, at, err)
			WHERE s.seq = c.seq AND s.state = 2`, seqs, at, errs)
	case ledger.SAFRetry:
		q.Queue(`UPDATE saf_items s SET state = 2, queued_at = c.at, next_attempt_at = c.at, updated_at = c.at
			FROM unnest($1::bigint[], $2::timestamptz[]) AS c(seq, at) WHERE s.seq = c.seq AND s.state = 4`, seqs, at)
	}
}

// StaleIntents implements ledger.BatchTx, oldest first. The rows are locked (skipping any that
// another transaction holds): two instances recovering at once activate each intent once.
func (b *batchTx) StaleIntents(ctx context.Context, before time.Time, node string, limit int) ([]*ledger.SAFItem, error) {
	rows, err := b.conn.Query(ctx, `SELECT `+intentColumns+` FROM ledger_intents
		WHERE created_at < $1 AND ($2::text = '' OR node = $2)
		ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED`, before, node, limit)
	if err != nil {
		return nil, mapErr(err)
	}
	items, err := pgx.CollectRows(rows, scanIntent)
	if err != nil {
		return nil, mapErr(err)
	}
	out := make([]*ledger.SAFItem, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out, nil
}

const intentColumns = `key, event_id, issuer, node, payee, mti, rrn, masked_pan, currency, amount, message, pan_sealed,
	created_at`

// queueIntents queues the plan's new intents.
func (b *batchTx) queueIntents(intents []*ledger.SAFItem) {
	n := len(intents)
	if n == 0 {
		return
	}
	str := func() []string { return make([]string, n) }
	key, event, issuer, node, payee, mti, rrn, pan, cur := str(), str(), str(), str(), str(), str(), str(), str(), str()
	amount, msg, sealed, created := make([]int64, n), make([][]byte, n), make([][]byte, n), make([]time.Time, n)
	for i, r := range intents {
		key[i], event[i], issuer[i], node[i], payee[i] = r.Key, r.EventID, r.Issuer, r.Node, r.Payee
		mti[i], rrn[i], pan[i], cur[i], amount[i] = r.MTI, r.RRN, r.MaskedPAN, r.Currency, r.Amount
		msg[i], sealed[i], created[i] = r.Packed, r.PANSealed, r.CreatedAt
	}
	b.queued().Queue(`INSERT INTO ledger_intents (`+intentColumns+`)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::text[], $10::bigint[], $11::bytea[], $12::bytea[], $13::timestamptz[])`,
		key, event, issuer, node, payee, mti, rrn, pan, cur, amount, msg, sealed, created)
}

func scanIntent(row pgx.CollectableRow) (ledger.SAFItem, error) {
	var it ledger.SAFItem
	err := row.Scan(&it.Key, &it.EventID, &it.Issuer, &it.Node, &it.Payee, &it.MTI, &it.RRN, &it.MaskedPAN, &it.Currency,
		&it.Amount, &it.Packed, &it.PANSealed, &it.CreatedAt)
	it.Kind, it.State = ledger.SAFReversal, ledger.SAFIntent
	it.CreatedAt = it.CreatedAt.UTC()
	it.QueuedAt, it.NextAttemptAt, it.UpdatedAt = it.CreatedAt, it.CreatedAt, it.CreatedAt
	return it, err
}

// SAFKeys implements ledger.BatchTx.
func (b *batchTx) SAFKeys(ctx context.Context, keys []string) ([]string, error) {
	rows, err := b.conn.Query(ctx, `SELECT key FROM saf_items WHERE key = ANY($1)
		UNION ALL SELECT key FROM ledger_intents WHERE key = ANY($1)`, keys)
	if err != nil {
		return nil, mapErr(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return out, mapErr(err)
}

// SAFDue returns up to limit of an issuer's queued items due at now, in order, each only when no
// earlier item of its transaction is still queued.
func (s *Store) SAFDue(ctx context.Context, issuer string, now time.Time, limit int) ([]ledger.SAFItem, error) {
	return s.safQuery(ctx, `SELECT `+safColumns+` FROM saf_items s
		WHERE issuer = $1 AND state = 2 AND next_attempt_at <= $2 AND NOT EXISTS (SELECT 1 FROM saf_items e
			WHERE e.issuer = $1 AND e.rrn = s.rrn AND e.state = 2 AND e.seq < s.seq AND s.rrn <> '')
		ORDER BY seq LIMIT $3`, issuer, now, limit)
}

// SAFList returns the items f selects, in order.
func (s *Store) SAFList(ctx context.Context, f ledger.SAFFilter) ([]ledger.SAFItem, error) {
	states := f.States
	if len(states) == 0 {
		states = []ledger.SAFState{ledger.SAFQueued, ledger.SAFParked}
	}
	limit := f.Limit
	if limit <= 0 || limit > ledger.MaxSAFList {
		limit = ledger.MaxSAFList
	}
	var intents []ledger.SAFItem
	if slices.Contains(states, ledger.SAFIntent) {
		rows, err := s.pool.Query(ctx, `SELECT `+intentColumns+` FROM ledger_intents
			WHERE ($1::text = '' OR issuer = $1) AND ($2::text = '' OR event_id = $2) ORDER BY created_at LIMIT $3`,
			f.Issuer, f.EventID, limit)
		if err != nil {
			return nil, mapErr(err)
		}
		if intents, err = pgx.CollectRows(rows, scanIntent); err != nil {
			return nil, mapErr(err)
		}
		states = slices.DeleteFunc(slices.Clone(states), func(st ledger.SAFState) bool { return st == ledger.SAFIntent })
		if len(states) == 0 || len(intents) >= limit {
			return intents, nil
		}
		limit -= len(intents)
	}
	st := make([]int16, len(states))
	for i, x := range states {
		st[i] = int16(x)
	}
	items, err := s.safQuery(ctx, `SELECT `+safColumns+` FROM saf_items WHERE state = ANY($1)
		AND ($2::text = '' OR issuer = $2) AND ($3::text = '' OR event_id = $3) ORDER BY seq LIMIT $4`, st, f.Issuer, f.EventID, limit)
	return append(intents, items...), err
}

// SAFItem returns one item by its id; ledger.ErrNotFound when there is none.
func (s *Store) SAFItem(ctx context.Context, seq int64) (*ledger.SAFItem, error) {
	items, err := s.safQuery(ctx, `SELECT `+safColumns+` FROM saf_items WHERE seq = $1`, seq)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, ledger.ErrNotFound
	}
	return &items[0], nil
}

// SAFStats returns the queue's shape per issuer.
func (s *Store) SAFStats(ctx context.Context) ([]ledger.SAFStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT issuer, state, n, oldest FROM (
			SELECT issuer, state, count(*) AS n, min(queued_at) AS oldest FROM saf_items WHERE state IN (2, 4) GROUP BY issuer, state
			UNION ALL
			SELECT issuer, 1::smallint, count(*), min(created_at) FROM ledger_intents GROUP BY issuer) s
		ORDER BY issuer, state`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []ledger.SAFStats
	for rows.Next() {
		var (
			issuer string
			state  int16
			count  int64
			oldest time.Time
		)
		if err := rows.Scan(&issuer, &state, &count, &oldest); err != nil {
			return nil, mapErr(err)
		}
		if len(out) == 0 || out[len(out)-1].Issuer != issuer {
			out = append(out, ledger.SAFStats{Issuer: issuer})
		}
		st := &out[len(out)-1]
		switch ledger.SAFState(state) {
		case ledger.SAFIntent:
			st.Intents = int(count)
		case ledger.SAFQueued:
			st.Queued, st.OldestQueued = int(count), oldest.UTC()
		case ledger.SAFParked:
			st.Parked = int(count)
		}
	}
	return out, mapErr(rows.Err())
}

func (s *Store) safQuery(ctx context.Context, query string, args ...any) ([]ledger.SAFItem, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	items, err := pgx.CollectRows(rows, scanSAF)
	return items, mapErr(err)
}

func scanSAF(row pgx.CollectableRow) (ledger.SAFItem, error) {
	var (
		it          ledger.SAFItem
		kind, state int16
		attempts    int32
	)
	err := row.Scan(&it.Seq, &it.Key, &it.EventID, &it.Issuer, &it.Node, &it.Payee, &kind, &state, &it.MTI, &it.RRN,
		&it.MaskedPAN, &it.Currency, &it.Amount, &it.Packed, &it.PANSealed, &attempts, &it.CreatedAt, &it.QueuedAt,
		&it.NextAttemptAt, &it.UpdatedAt, &it.LastError, &it.ResponseCode)
	it.Kind, it.State, it.Attempts = ledger.SAFKind(kind), ledger.SAFState(state), int(attempts)
	it.CreatedAt, it.QueuedAt, it.NextAttemptAt, it.UpdatedAt = it.CreatedAt.UTC(), it.QueuedAt.UTC(), it.NextAttemptAt.UTC(), it.UpdatedAt.UTC()
	return it, err
}

// safOf lists a transaction's store-and-forward items in every state.
func (s *Store) safOf(ctx context.Context, id string) ([]ledger.SAFItem, error) {
	return s.SAFList(ctx, ledger.SAFFilter{EventID: id, States: []ledger.SAFState{ledger.SAFIntent, ledger.SAFQueued,
		ledger.SAFDelivered, ledger.SAFParked}})
}
