package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardswitch/cardswitch/ledger"
)

// The store-and-forward queue's rows (migration 0003, ledger/saf.go).

const safInsertColumns = `key, event_id, issuer, node, payee, kind, state, mti, rrn, masked_pan, currency, amount,
	message, pan_sealed, attempts, created_at, queued_at, next_attempt_at, updated_at, last_error, response_code`

const safColumns = `seq, ` + safInsertColumns

const intentColumns = `key, event_id, issuer, node, payee, mti, rrn, masked_pan, currency, amount, message, pan_sealed,
	created_at`

// activateSQL moves an intent to the queue as a reversal due now (kind 1 is ledger.SAFReversal);
// an intent already gone (resolved, or activated by another batch) moves nothing.
const activateSQL = `INSERT OR IGNORE INTO saf_items (` + safInsertColumns + `)
	SELECT key, event_id, issuer, node, payee, 1, 2, mti, rrn, masked_pan, currency, amount, message, pan_sealed, 0,
		created_at, ?1, ?1, ?1, '', '' FROM ledger_intents WHERE key = ?2`

// The batch's single-row changes, by op (prepared once on the write connection).
var safChangeSQL = map[ledger.SAFOp]string{
	ledger.SAFActivate: `DELETE FROM ledger_intents WHERE key = ?2 AND ?1 IS NOT NULL`, // after activateSQL
	ledger.SAFResolve:  `DELETE FROM ledger_intents WHERE key = ?2 AND ?1 IS NOT NULL`,
	ledger.SAFFailed: `UPDATE saf_items SET attempts = attempts + 1, next_attempt_at = ?3, updated_at = ?1,
		last_error = ?4 WHERE seq = ?2 AND state = 2`,
	ledger.SAFDeliver: `UPDATE saf_items SET state = 3, attempts = attempts + 1, updated_at = ?1, response_code = ?3,
		last_error = '' WHERE seq = ?2 AND state IN (2, 4)`,
	ledger.SAFPark: `UPDATE saf_items SET state = 4, updated_at = ?1,
		last_error = CASE WHEN ?3 = '' THEN last_error ELSE ?3 END WHERE seq = ?2 AND state = 2`,
	ledger.SAFRetry: `UPDATE saf_items SET state = 2, queued_at = ?1, next_attempt_at = ?1, updated_at = ?1
		WHERE seq = ?2 AND state = 4`,
}

const safPruneSQL = `DELETE FROM saf_items WHERE seq IN
	(SELECT seq FROM saf_items WHERE state = 3 AND updated_at < ? ORDER BY updated_at LIMIT ?)`

// writeSAF writes a plan's new intents and items, then its changes in order, then its pruning.
func (b *batchTx) writeSAF(ctx context.Context, p *ledger.Plan) error {
	var intents, items []*ledger.SAFItem
	for _, r := range p.SAFInserts {
		if r.State == ledger.SAFIntent {
			intents = append(intents, r)
		} else {
			items = append(items, r)
		}
	}
	if _, err := b.execRows(ctx, intentInsert, len(intents), func(args []any, i int) []any {
		r := intents[i]
		return append(args, r.Key, r.EventID, r.Issuer, r.Node, r.Payee, r.MTI, r.RRN, r.MaskedPAN, r.Currency,
			r.Amount, r.Packed, r.PANSealed, r.CreatedAt.UnixNano())
	}); err != nil {
		return fmt.Errorf("intent insert: %w", err)
	}
	if _, err := b.execRows(ctx, safInsert, len(items), func(args []any, i int) []any {
		r := items[i]
		return append(args, r.Key, r.EventID, r.Issuer, r.Node, r.Payee, int64(r.Kind), int64(r.State), r.MTI, r.RRN,
			r.MaskedPAN, r.Currency, r.Amount, r.Packed, r.PANSealed, int64(r.Attempts), r.CreatedAt.UnixNano(),
			r.QueuedAt.UnixNano(), r.NextAttemptAt.UnixNano(), r.UpdatedAt.UnixNano(), r.LastError, r.ResponseCode)
	}); err != nil {
		return fmt.Errorf("saf insert: %w", err)
	}
	for _, c := range p.SAFChanges {
		q, ok := safChangeSQL[c.Op]
		if !ok {
			return fmt.Errorf("saf change: unknown op %d", c.Op)
		}
		var args []any
		switch c.Op {
		case ledger.SAFActivate, ledger.SAFResolve:
			args = []any{c.At.UnixNano(), c.Key}
			if c.Op == ledger.SAFActivate {
				if _, err := b.w.ExecContext(ctx, activateSQL, args...); err != nil {
					return fmt.Errorf("saf activate: %w", mapErr(err))
				}
			}
		case ledger.SAFFailed:
			args = []any{c.At.UnixNano(), c.Seq, c.NextAttemptAt.UnixNano(), c.Error}
		case ledger.SAFDeliver:
			args = []any{c.At.UnixNano(), c.Seq, c.ResponseCode}
		case ledger.SAFPark:
			args = []any{c.At.UnixNano(), c.Seq, c.Error}
		case ledger.SAFRetry:
			args = []any{c.At.UnixNano(), c.Seq}
		}
		if _, err := b.w.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("saf %v: %w", c.Op, mapErr(err))
		}
	}
	if !p.SAFPruneBefore.IsZero() && p.SAFPruneMax > 0 {
		if _, err := b.w.ExecContext(ctx, safPruneSQL, p.SAFPruneBefore.UnixNano(), int64(p.SAFPruneMax)); err != nil {
			return fmt.Errorf("saf prune: %w", mapErr(err))
		}
	}
	return nil
}

// StaleIntents implements ledger.BatchTx, oldest first.
func (b *batchTx) StaleIntents(ctx context.Context, before time.Time, node string, limit int) ([]*ledger.SAFItem, error) {
	q := `SELECT ` + intentColumns + ` FROM ledger_intents WHERE created_at < ?`
	args := []any{before.UnixNano()}
	if node != "" {
		q += ` AND node = ?`
		args = append(args, node)
	}
	q += ` ORDER BY created_at LIMIT ?`
	return scanIntents(b.w.QueryContext(ctx, q, append(args, int64(limit))...))
}

// SAFKeys implements ledger.BatchTx.
func (b *batchTx) SAFKeys(ctx context.Context, keys []string) ([]string, error) {
	rows, err := b.w.QueryContext(ctx, `SELECT key FROM saf_items WHERE key IN (SELECT value FROM json_each(?1))
		UNION ALL SELECT key FROM ledger_intents WHERE key IN (SELECT value FROM json_each(?1))`, jsonArray(keys))
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, mapErr(err)
		}
		out = append(out, k)
	}
	return out, mapErr(rows.Err())
}

// SAFDue returns up to limit of an issuer's queued items due at now, in order, each only when no
// earlier item of its transaction is still queued.
func (s *Store) SAFDue(ctx context.Context, issuer string, now time.Time, limit int) ([]ledger.SAFItem, error) {
	return scanSAF(s.read.QueryContext(ctx, `SELECT `+safColumns+` FROM saf_items s
		WHERE issuer = ?1 AND state = 2 AND next_attempt_at <= ?2 AND NOT EXISTS (SELECT 1 FROM saf_items e
			WHERE e.issuer = ?1 AND e.rrn = s.rrn AND e.state = 2 AND e.seq < s.seq AND s.rrn <> '')
		ORDER BY seq LIMIT ?3`, issuer, now.UnixNano(), limit))
}

// SAFList returns the items f selects, in order.
func (s *Store) SAFList(ctx context.Context, f ledger.SAFFilter) ([]ledger.SAFItem, error) {
	var where []string
	var args []any
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
		var err error
		if intents, err = s.intents(ctx, f, limit); err != nil {
			return nil, err
		}
		states = slices.DeleteFunc(slices.Clone(states), func(st ledger.SAFState) bool { return st == ledger.SAFIntent })
		if len(states) == 0 || len(intents) >= limit {
			return intents, nil
		}
		limit -= len(intents)
	}
	marks := make([]string, len(states))
	for i, st := range states {
		marks[i] = "?"
		args = append(args, int64(st))
	}
	where = append(where, "state IN ("+strings.Join(marks, ", ")+")")
	if f.Issuer != "" {
		where, args = append(where, "issuer = ?"), append(args, f.Issuer)
	}
	if f.EventID != "" {
		where, args = append(where, "event_id = ?"), append(args, f.EventID)
	}
	q := `SELECT ` + safColumns + ` FROM saf_items WHERE ` + strings.Join(where, " AND ") + ` ORDER BY seq LIMIT ?`
	items, err := scanSAF(s.read.QueryContext(ctx, q, append(args, limit)...))
	return append(intents, items...), err
}

// intents lists the intents f selects (the requests in flight), oldest first.
func (s *Store) intents(ctx context.Context, f ledger.SAFFilter, limit int) ([]ledger.SAFItem, error) {
	q := `SELECT ` + intentColumns + ` FROM ledger_intents WHERE (?1 = '' OR issuer = ?1) AND (?2 = '' OR event_id = ?2)
		ORDER BY created_at LIMIT ?3`
	items, err := scanIntents(s.read.QueryContext(ctx, q, f.Issuer, f.EventID, limit))
	out := make([]ledger.SAFItem, len(items))
	for i, it := range items {
		out[i] = *it
	}
	return out, err
}

// SAFItem returns one item by its id; ledger.ErrNotFound when there is none.
func (s *Store) SAFItem(ctx context.Context, seq int64) (*ledger.SAFItem, error) {
	items, err := scanSAF(s.read.QueryContext(ctx, `SELECT `+safColumns+` FROM saf_items WHERE seq = ?`, seq))
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
	rows, err := s.read.QueryContext(ctx, `SELECT issuer, state, n, oldest FROM (
			SELECT issuer, state, count(*) AS n, min(queued_at) AS oldest FROM saf_items WHERE state IN (2, 4) GROUP BY issuer, state
			UNION ALL
			SELECT issuer, 1, count(*), min(created_at) FROM ledger_intents GROUP BY issuer)
		ORDER BY issuer, state`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	return collectSAFStats(func(dest ...any) error { return rows.Scan(dest...) }, rows.Next, rows.Err)
}

// collectSAFStats folds (issuer, state, count, oldest) rows into per-issuer stats.
func collectSAFStats(scan func(...any) error, next func() bool, rowsErr func() error) ([]ledger.SAFStats, error) {
	var out []ledger.SAFStats
	for next() {
		var (
			issuer       string
			state, count int64
			oldest       sql.NullInt64
		)
		if err := scan(&issuer, &state, &count, &oldest); err != nil {
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
			st.Queued = int(count)
			st.OldestQueued = fromNanos(oldest)
		case ledger.SAFParked:
			st.Parked = int(count)
		}
	}
	return out, mapErr(rowsErr())
}

func scanSAF(rows rowSource, err error) ([]ledger.SAFItem, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []ledger.SAFItem
	for rows.Next() {
		var (
			it                             ledger.SAFItem
			kind, state, attempts          int64
			created, queued, next, updated int64
			message, sealed                []byte
		)
		if err := rows.Scan(&it.Seq, &it.Key, &it.EventID, &it.Issuer, &it.Node, &it.Payee, &kind, &state, &it.MTI,
			&it.RRN, &it.MaskedPAN, &it.Currency, &it.Amount, &message, &sealed, &attempts, &created, &queued, &next,
			&updated, &it.LastError, &it.ResponseCode); err != nil {
			return nil, mapErr(err)
		}
		it.Kind, it.State, it.Attempts = ledger.SAFKind(kind), ledger.SAFState(state), int(attempts)
		it.CreatedAt, it.QueuedAt = time.Unix(0, created).UTC(), time.Unix(0, queued).UTC()
		it.NextAttemptAt, it.UpdatedAt = time.Unix(0, next).UTC(), time.Unix(0, updated).UTC()
		it.Packed, it.PANSealed = append([]byte(nil), message...), append([]byte(nil), sealed...)
		if len(sealed) == 0 {
			it.PANSealed = nil
		}
		out = append(out, it)
	}
	return out, mapErr(rows.Err())
}

// scanIntents reads rows of ledger_intents (intentColumns) as items in the intent state.
func scanIntents(rows rowSource, err error) ([]*ledger.SAFItem, error) {
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []*ledger.SAFItem
	for rows.Next() {
		var (
			it              ledger.SAFItem
			created         int64
			message, sealed []byte
		)
		if err := rows.Scan(&it.Key, &it.EventID, &it.Issuer, &it.Node, &it.Payee, &it.MTI, &it.RRN, &it.MaskedPAN,
			&it.Currency, &it.Amount, &message, &sealed, &created); err != nil {
			return nil, mapErr(err)
		}
		it.Kind, it.State = ledger.SAFReversal, ledger.SAFIntent
		it.CreatedAt = time.Unix(0, created).UTC()
		it.QueuedAt, it.NextAttemptAt, it.UpdatedAt = it.CreatedAt, it.CreatedAt, it.CreatedAt
		it.Packed = append([]byte(nil), message...)
		if len(sealed) > 0 {
			it.PANSealed = append([]byte(nil), sealed...)
		}
		out = append(out, &it)
	}
	return out, mapErr(rows.Err())
}
