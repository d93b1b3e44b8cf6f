package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Write is one caller's changes, committed atomically (with other callers' in one transaction):
// a payment's new state with the events, refund, webhook messages and idempotency record that go
// with it.
type Write struct {
	Payments    []*Payment
	Refunds     []*Refund
	Events      []Event
	Outbox      []Outbox
	Idempotency []Idempotency
	// BillWrite: bills, and the guards a page payment's authorisation needs (bills.go).
	BillWrite
	// ClockSecond is the latest second (Unix) used for an engine identity by this write's requests.
	ClockSecond int64
}

func (w *Write) empty() bool {
	return len(w.Payments)+len(w.Refunds)+len(w.Events)+len(w.Outbox)+len(w.Idempotency) == 0 && w.ClockSecond == 0 &&
		w.BillWrite.empty()
}

// WriterConfig tunes the group commit.
type WriterConfig struct {
	// QueueMax bounds the writes waiting for a transaction (callers block beyond it). Default 8192.
	QueueMax int
	// BatchMax bounds the writes committed in one transaction. Default 512.
	BatchMax int
}

// Writer commits writes in batches: one goroutine takes every write queued, commits them in one
// transaction and releases their callers after COMMIT. A batch that fails is retried one write at
// a time, so that one bad write fails alone.
type Writer struct {
	s     *Store
	queue chan *pendingWrite
	max   int
}

type pendingWrite struct {
	w    *Write
	done chan error
}

// ErrWriterStopped: the Writer is not running (stopping or stopped).
var ErrWriterStopped = errors.New("payments store: writer stopped")

// NewWriter returns a Writer over s; Run it.
func NewWriter(s *Store, cfg WriterConfig) *Writer {
	if cfg.QueueMax <= 0 {
		cfg.QueueMax = 8192
	}
	if cfg.BatchMax <= 0 {
		cfg.BatchMax = 512
	}
	return &Writer{s: s, queue: make(chan *pendingWrite, cfg.QueueMax), max: cfg.BatchMax}
}

// Commit queues w and returns once it is durable (or failed).
func (wr *Writer) Commit(ctx context.Context, w *Write) error {
	if w.empty() {
		return nil
	}
	p := &pendingWrite{w: w, done: make(chan error, 1)}
	select {
	case wr.queue <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued the write will be committed or failed; wait for it even if ctx ends, so that a
	// caller never reports failure for a write that then commits.
	return <-p.done
}

// Run commits queued writes until ctx ends, then commits what is still queued and returns. It
// runs one batch at a time per lane of the store.
func (wr *Writer) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for i := 1; i < wr.s.nlanes; i++ {
		wg.Go(func() { wr.run(ctx) })
	}
	wr.run(ctx)
	wg.Wait()
	return nil
}

func (wr *Writer) run(ctx context.Context) {
	for {
		select {
		case p := <-wr.queue:
			wr.process(wr.gather(p))
		case <-ctx.Done():
			for {
				select {
				case p := <-wr.queue:
					wr.process(wr.gather(p))
				default:
					return
				}
			}
		}
	}
}

func (wr *Writer) gather(first *pendingWrite) []*pendingWrite {
	batch := []*pendingWrite{first}
	for len(batch) < wr.max {
		select {
		case p := <-wr.queue:
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

func (wr *Writer) process(batch []*pendingWrite) {
	ws := make([]*Write, len(batch))
	for i, p := range batch {
		ws[i] = p.w
	}
	err := wr.s.commit(ws)
	if err == nil || len(batch) == 1 {
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	for _, p := range batch {
		p.done <- wr.s.commit([]*Write{p.w})
	}
}

// commit applies writes in one transaction, retrying a transient busy database.
func (s *Store) commit(ws []*Write) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if err = s.commitOnce(ws); err == nil || !transient(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

func transient(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "database is locked") ||
		strings.Contains(msg, "40001") || strings.Contains(msg, "40P01")
}

func (s *Store) commitOnce(ws []*Write) (err error) {
	l := <-s.lanes
	defer func() { s.lanes <- l }()
	ctx := context.Background()
	begin := "BEGIN"
	if s.dialect == SQLite {
		begin = "BEGIN IMMEDIATE" // the write lock now: no upgrade deadlock with the ledger's writer
	}
	if _, err := l.conn.ExecContext(ctx, begin); err != nil {
		return fmt.Errorf("payments store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = l.conn.ExecContext(ctx, "ROLLBACK")
		}
	}()
	var all Write
	for _, w := range ws {
		all.Payments = append(all.Payments, w.Payments...)
		all.Refunds = append(all.Refunds, w.Refunds...)
		all.Events = append(all.Events, w.Events...)
		all.Outbox = append(all.Outbox, w.Outbox...)
		all.Idempotency = append(all.Idempotency, w.Idempotency...)
		all.BillWrite.add(&w.BillWrite)
		all.ClockSecond = max(all.ClockSecond, w.ClockSecond)
	}
	if all.ClockSecond <= s.clockWritten.Load() {
		all.ClockSecond = 0 // written already: the clock only moves forward, one row for every lane
	}
	x := batchExec{s: s, ex: l.conn, lane: l}
	steps := []func(context.Context, batchExec, *Write) error{s.writeBillsStep, s.writePayments, s.writeRefunds, s.writeEvents,
		s.writeOutbox, s.writeIdempotency, s.writeClock}
	for _, step := range steps {
		if err := step(ctx, x, &all); err != nil {
			return fmt.Errorf("payments store: %w", err)
		}
	}
	if _, err := l.conn.ExecContext(ctx, "COMMIT"); err != nil {
		return fmt.Errorf("payments store: commit: %w", err)
	}
	for {
		cur := s.clockWritten.Load()
		if all.ClockSecond <= cur || s.clockWritten.CompareAndSwap(cur, all.ClockSecond) {
			break
		}
	}
	return nil
}

// execer runs statements: the writer's connection, or a transaction of an administrative write.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// batchExec is where a batch's statements run: a writer lane's connection with its prepared
// statements, or (lane nil) an administrative transaction.
type batchExec struct {
	s    *Store
	ex   execer
	lane *lane
}

// lane is one writer connection and the statements prepared on it.
type lane struct {
	conn  *sql.Conn
	stmts map[stmtKey]*sql.Stmt
}

// rowsPerStmt bounds the rows of one multi-row statement (SQLite allows 32766 parameters). A
// batch's rows go in statements of 256, 64, 16, 4 and 1 rows, each prepared once and kept: parsing
// a statement of hundreds of rows on every batch cost more than running it.
const rowsPerStmt = 256

var stmtRows = [...]int{256, 64, 16, 4, 1}

// insertRows runs "INSERT INTO table (cols) VALUES (...),(...) suffix" for rows of values, in
// statements of the sizes of stmtRows.
func (x batchExec) insertRows(ctx context.Context, table string, rows [][]any) error {
	for len(rows) > 0 {
		n := 1
		for _, k := range stmtRows {
			if len(rows) >= k {
				n = k
				break
			}
		}
		args := make([]any, 0, n*len(rows[0]))
		for i := 0; i < n; i++ {
			args = append(args, rows[i]...)
		}
		var err error
		if x.lane != nil {
			_, err = x.lane.stmts[stmtKey{table, n}].ExecContext(ctx, args...)
		} else {
			_, err = x.ex.ExecContext(ctx, x.s.q(insertSQL(tableByName(table), n)), args...)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", table, err)
		}
		rows = rows[n:]
	}
	return nil
}

func tableByName(name string) batchTable {
	for _, t := range batchTables {
		if t.name == name {
			return t
		}
	}
	panic("payments store: no batch table " + name)
}

// insertSQL is the statement inserting n rows into t.
func insertSQL(t batchTable, n int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(t.cols)), ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + t.name + " (" + strings.Join(t.cols, ", ") + ") VALUES ")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(one)
	}
	b.WriteString(" " + t.suffix)
	return b.String()
}

type stmtKey struct {
	table string
	rows  int
}

// batchTable is a table the writer fills with multi-row statements.
type batchTable struct {
	name   string
	cols   []string
	suffix string
}

var batchTables = []batchTable{
	{"payapi_payments", paymentCols, upsertSuffix("id", paymentMutable)},
	{"payapi_refunds", refundCols, upsertSuffix("id", refundCols)},
	{"payapi_events", eventCols, ""},
	{"payapi_webhook_outbox", outboxCols, ""},
	// A record is completed once: the first answer stays the answer.
	{"payapi_idempotency", idemCols, "ON CONFLICT (api_key_id, key) DO UPDATE SET status = excluded.status, body = excluded.body, " +
		"resource_id = excluded.resource_id WHERE payapi_idempotency.status = 0"},
}

var (
	eventCols  = []string{"id", "payment_id", "merchant", "type", "status", "amount", "refund_id", "response_code", "created_at"}
	outboxCols = []string{"id", "event_id", "endpoint_id", "event_type", "payload", "state", "attempts", "next_attempt_at", "created_at"}
	idemCols   = []string{"api_key_id", "key", "request_hash", "status", "body", "op", "resource_id", "created_at"}
)

// prepareWriter opens the writer's lanes and prepares their statements once: a statement of
// hundreds of rows costs more to parse than to run.
func (s *Store) prepareWriter(ctx context.Context) error {
	s.lanes = make(chan *lane, s.nlanes)
	for i := 0; i < s.nlanes; i++ {
		conn, err := s.write.Conn(ctx)
		if err != nil {
			return err
		}
		l := &lane{conn: conn, stmts: map[stmtKey]*sql.Stmt{}}
		s.lanes <- l
		for _, t := range batchTables {
			for _, n := range stmtRows {
				st, err := conn.PrepareContext(ctx, s.q(insertSQL(t, n)))
				if err != nil {
					return fmt.Errorf("payments store: prepare %s: %w", t.name, err)
				}
				l.stmts[stmtKey{t.name, n}] = st
			}
		}
		if err := s.prepareBills(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

func upsertSuffix(key string, cols []string) string {
	set := make([]string, 0, len(cols))
	for _, c := range cols {
		if c != key {
			set = append(set, c+" = excluded."+c)
		}
	}
	return "ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
}

var paymentCols = []string{"id", "merchant", "status", "amount", "fee", "currency", "reference", "description",
	"return_url", "metadata", "capture", "card_masked", "card_exp_month", "card_exp_year", "card_holder",
	"response_code", "decline_reason", "auth_code", "rrn", "terminal", "engine_id", "amount_captured",
	"amount_refunded", "pending_op", "pending_id", "pending_amount", "card_sealed", "page_token", "created_at", "updated_at", "version", "sale_id",
	"bill_id", "page_attempts"}

func (s *Store) writePayments(ctx context.Context, x batchExec, w *Write) error {
	// One row per payment: the last version written in the batch wins (a multi-row upsert may not
	// touch a row twice).
	last := map[string]int{}
	for i, p := range w.Payments {
		last[p.ID] = i
	}
	rows := make([][]any, 0, len(last))
	for i, p := range w.Payments {
		if last[p.ID] != i {
			continue
		}
		rows = append(rows, []any{p.ID, p.Merchant, p.Status, p.Amount, p.Fee, p.Currency, p.Reference, p.Description,
			p.ReturnURL, p.Metadata, p.Capture, p.CardMasked, p.CardExpMonth, p.CardExpYear, p.CardHolder,
			p.ResponseCode, p.DeclineReason, p.AuthCode, p.RRN, p.Terminal, p.EngineID, p.AmountCaptured,
			p.AmountRefunded, p.PendingOp, p.PendingID, p.PendingAmount, p.CardSealed, p.PageToken, micros(p.CreatedAt),
			micros(p.UpdatedAt), p.Version, p.SaleID, p.BillID, p.PageAttempts})
	}
	return x.insertRows(ctx, "payapi_payments", rows)
}

// paymentMutable are the columns a payment's later writes change; the others are set when it is
// created. Setting only these keeps SQLite from rewriting the entries of the indexes on the
// others (merchant, reference) on every update.
var paymentMutable = []string{"status", "response_code", "decline_reason", "auth_code", "rrn", "terminal", "engine_id",
	"amount_captured", "amount_refunded", "pending_op", "pending_id", "pending_amount", "card_masked", "card_exp_month",
	"card_exp_year", "card_holder", "card_sealed", "page_token", "updated_at", "version", "sale_id", "page_attempts"}

var refundCols = []string{"id", "payment_id", "merchant", "status", "amount", "currency", "reference",
	"response_code", "rrn", "engine_id", "created_at", "updated_at"}

func (s *Store) writeRefunds(ctx context.Context, x batchExec, w *Write) error {
	last := map[string]int{}
	for i, r := range w.Refunds {
		last[r.ID] = i
	}
	rows := make([][]any, 0, len(last))
	for i, r := range w.Refunds {
		if last[r.ID] != i {
			continue
		}
		rows = append(rows, []any{r.ID, r.PaymentID, r.Merchant, r.Status, r.Amount, r.Currency, r.Reference,
			r.ResponseCode, r.RRN, r.EngineID, micros(r.CreatedAt), micros(r.UpdatedAt)})
	}
	return x.insertRows(ctx, "payapi_refunds", rows)
}

func (s *Store) writeEvents(ctx context.Context, x batchExec, w *Write) error {
	rows := make([][]any, len(w.Events))
	for i, e := range w.Events {
		rows[i] = []any{e.ID, e.PaymentID, e.Merchant, e.Type, e.Status, e.Amount, e.RefundID, e.ResponseCode, micros(e.CreatedAt)}
	}
	return x.insertRows(ctx, "payapi_events", rows)
}

func (s *Store) writeOutbox(ctx context.Context, x batchExec, w *Write) error {
	rows := make([][]any, len(w.Outbox))
	for i, o := range w.Outbox {
		rows[i] = []any{o.ID, o.EventID, o.EndpointID, o.EventType, o.Payload, o.State, o.Attempts,
			micros(o.NextAttemptAt), micros(o.CreatedAt)}
	}
	return x.insertRows(ctx, "payapi_webhook_outbox", rows)
}

func (s *Store) writeIdempotency(ctx context.Context, x batchExec, w *Write) error {
	type pk struct{ a, k string }
	last := map[pk]int{}
	for i, r := range w.Idempotency {
		last[pk{r.APIKeyID, r.Key}] = i
	}
	rows := make([][]any, 0, len(last))
	for i, r := range w.Idempotency {
		if last[pk{r.APIKeyID, r.Key}] != i {
			continue
		}
		rows = append(rows, []any{r.APIKeyID, r.Key, r.RequestHash, r.Status, r.Body, r.Op, r.ResourceID, micros(r.CreatedAt)})
	}
	return x.insertRows(ctx, "payapi_idempotency", rows)
}

func (s *Store) writeClock(ctx context.Context, x batchExec, w *Write) error {
	if w.ClockSecond == 0 {
		return nil
	}
	_, err := x.ex.ExecContext(ctx, s.q(`INSERT INTO payapi_clock (id, last_second) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET last_second = excluded.last_second WHERE excluded.last_second > payapi_clock.last_second`), w.ClockSecond)
	return err
}

// exec runs one statement outside the batch path (rare administrative writes).
func (s *Store) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.write.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return 0, fmt.Errorf("payments store: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
