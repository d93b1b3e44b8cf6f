package main

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// copyChunk is the rows per transaction of the baseline: large, so that the commit cost vanishes.
const copyChunk = 10000

// copyBaseline COPYs transfer rows of the same shape (a table LIKE ledger_transfers, with its
// indexes) for c.baseline on one connection, one COMMIT per copyChunk rows, and returns rows/s.
func copyBaseline(ctx context.Context, url string, g *generator, c config) (float64, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `CREATE TABLE bench_copy (LIKE ledger_transfers INCLUDING ALL)`); err != nil {
		return 0, err
	}
	columns := []string{"id", "debit_account_id", "credit_account_id", "amount", "currency", "flags", "pending_id",
		"timeout_at", "state", "code", "event_id", "payment_ref", "business_day", "reason", "created_at"}
	day := pgtype.Date{Time: time.Now().UTC().Truncate(24 * time.Hour), Valid: true}
	rows := make([][]any, copyChunk)
	var copied int64
	start := time.Now()
	for time.Since(start) < c.baseline && ctx.Err() == nil {
		now := time.Now()
		for i := range rows {
			t := g.transfer()
			credit := int64(1)
			if t.CreditAccount != hotAccount {
				credit = 2 + int64(i%c.accounts)
			}
			rows[i] = []any{pgtype.UUID{Bytes: t.ID, Valid: true}, int64(2 + i%c.accounts), credit, t.Amount, "840",
				int16(0), pgtype.UUID{}, pgtype.Timestamptz{}, int16(1), int16(0), "", "", day, "", now}
		}
		if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{"bench_copy"}, columns, pgx.CopyFromRows(rows))
			return err
		}); err != nil {
			return 0, err
		}
		copied += copyChunk
	}
	return float64(copied) / time.Since(start).Seconds(), nil
}

// checkpoint asks the server for a CHECKPOINT.
func checkpoint(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CHECKPOINT")
	return err
}
