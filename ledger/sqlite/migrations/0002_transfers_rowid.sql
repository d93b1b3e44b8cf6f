-- Transfers (and, below, the journal) become rowid tables, in the order they are written, with
-- their ids in unique indexes; a business day finds its transfers by their range of row numbers
-- instead of an index.
--
-- Transfer ids are hashes: as the key of a WITHOUT ROWID table they scattered whole rows (about
-- 100 bytes each) across the B-tree, so every batch dirtied, split and wrote back pages all over
-- the table; the business-day index, keyed (business_day, id), scattered the same way. Now rows
-- are appended, and only the id index, whose entries are about 20 bytes, takes random inserts.
-- seq is internal: the id stays the transfer's identity, and its uniqueness is still what makes a
-- resubmission fail.
--
-- Business days are opened in order, and a transfer carries the day open when its transaction
-- wrote it (one writer at a time, the day changed only by a cutover's exclusive transaction), so
-- each day's transfers are the rows from its first_transfer_seq up to the next day's. The one
-- exception, the settlement transfers a cutover writes for the day it just closed, is excluded by
-- the settlement queries, the only readers of this range. Like PostgreSQL's BRIN index on the same
-- column, the range costs nothing per transfer.

CREATE TABLE ledger_transfers_v2 (
    seq               INTEGER PRIMARY KEY,
    id                BLOB    NOT NULL,
    debit_account_id  INTEGER NOT NULL,
    credit_account_id INTEGER NOT NULL,
    amount            INTEGER NOT NULL,
    currency          TEXT    NOT NULL,
    flags             INTEGER NOT NULL,
    pending_id        BLOB,
    timeout_at        INTEGER,
    state             INTEGER NOT NULL,
    code              INTEGER NOT NULL,
    event_id          TEXT    NOT NULL,
    payment_ref       TEXT    NOT NULL,
    business_day      TEXT    NOT NULL,
    reason            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    CONSTRAINT ledger_transfers_amount_positive CHECK (state = 6 OR amount > 0)
);

-- In day order, so that each day's rows are contiguous in the existing data too.
INSERT INTO ledger_transfers_v2 (id, debit_account_id, credit_account_id, amount, currency, flags, pending_id,
        timeout_at, state, code, event_id, payment_ref, business_day, reason, created_at)
    SELECT id, debit_account_id, credit_account_id, amount, currency, flags, pending_id,
        timeout_at, state, code, event_id, payment_ref, business_day, reason, created_at
    FROM ledger_transfers ORDER BY business_day, created_at, id;

DROP TABLE ledger_transfers;
ALTER TABLE ledger_transfers_v2 RENAME TO ledger_transfers;

CREATE UNIQUE INDEX ledger_transfers_id ON ledger_transfers (id);
CREATE UNIQUE INDEX ledger_transfers_one_post_or_void ON ledger_transfers (pending_id)
    WHERE pending_id IS NOT NULL AND state <> 6;
CREATE INDEX ledger_transfers_due ON ledger_transfers (timeout_at) WHERE state = 2;

-- The first transfer row of each day: one past the last row of the days before it.
ALTER TABLE ledger_business_days ADD COLUMN first_transfer_seq INTEGER NOT NULL DEFAULT 1;
WITH last_of_day (day, seq) AS (SELECT business_day, max(seq) FROM ledger_transfers GROUP BY business_day)
UPDATE ledger_business_days SET first_transfer_seq =
    1 + coalesce((SELECT max(l.seq) FROM last_of_day l WHERE l.day < ledger_business_days.day), 0);

-- The journal too becomes a rowid table with its id in a unique index: rows of about 200 bytes
-- appended at the end of the table, instead of inserted into an index B-tree at each terminal's
-- place in the id order (splitting pages as they fill); fewer pages written per batch.
CREATE TABLE ledger_transactions_v2 (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL,
    kind            INTEGER NOT NULL,
    original_id     TEXT    NOT NULL,
    target_id       TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    amount          INTEGER NOT NULL,
    fee             INTEGER NOT NULL,
    convenience_fee INTEGER NOT NULL,
    payee_kind      INTEGER NOT NULL,
    payee_id        TEXT    NOT NULL,
    issuer          TEXT    NOT NULL,
    payment_ref     TEXT    NOT NULL,
    rrn             TEXT    NOT NULL,
    stan            TEXT    NOT NULL,
    terminal        TEXT    NOT NULL,
    mti             TEXT    NOT NULL,
    masked_pan      TEXT    NOT NULL,
    response_code   TEXT    NOT NULL,
    approval_code   TEXT    NOT NULL,
    at              INTEGER NOT NULL,
    business_day    TEXT    NOT NULL,
    hold_expires_at INTEGER,
    rejection       TEXT    NOT NULL
);
INSERT INTO ledger_transactions_v2 (id, kind, original_id, target_id, currency, amount, fee, convenience_fee, payee_kind,
    payee_id, issuer, payment_ref, rrn, stan, terminal, mti, masked_pan, response_code, approval_code, at,
    business_day, hold_expires_at, rejection)
    SELECT id, kind, original_id, target_id, currency, amount, fee, convenience_fee, payee_kind,
    payee_id, issuer, payment_ref, rrn, stan, terminal, mti, masked_pan, response_code, approval_code, at,
    business_day, hold_expires_at, rejection FROM ledger_transactions ORDER BY at, id;
DROP TABLE ledger_transactions;
ALTER TABLE ledger_transactions_v2 RENAME TO ledger_transactions;
CREATE UNIQUE INDEX ledger_transactions_id ON ledger_transactions (id);
CREATE INDEX ledger_transactions_rrn ON ledger_transactions (rrn) WHERE rrn <> '';
CREATE INDEX ledger_transactions_terminal_stan ON ledger_transactions (terminal, stan) WHERE terminal <> '';
CREATE INDEX ledger_transactions_original ON ledger_transactions (original_id) WHERE original_id <> '';
