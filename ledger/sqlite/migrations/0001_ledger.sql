-- The ledger in SQLite: the same tables as ledger/postgres (see its migration for the meaning of
-- each column). Ids are 16-byte BLOBs, times are INTEGER Unix nanoseconds (UTC), days are TEXT
-- YYYY-MM-DD.

CREATE TABLE ledger_business_days (
    day       TEXT PRIMARY KEY,
    opened_at INTEGER NOT NULL,
    closed_at INTEGER
);
CREATE UNIQUE INDEX ledger_business_days_one_open ON ledger_business_days ((1)) WHERE closed_at IS NULL;
INSERT INTO ledger_business_days (day, opened_at) VALUES (date('now'), CAST(unixepoch('subsec') * 1000000000 AS INTEGER));

CREATE TABLE ledger_accounts (
    id              INTEGER PRIMARY KEY,
    name            TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    flags           INTEGER NOT NULL,
    debits_pending  INTEGER NOT NULL DEFAULT 0,
    debits_posted   INTEGER NOT NULL DEFAULT 0,
    credits_pending INTEGER NOT NULL DEFAULT 0,
    credits_posted  INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    CONSTRAINT ledger_accounts_name_currency UNIQUE (name, currency),
    CONSTRAINT ledger_accounts_debits_must_not_exceed_credits
        CHECK (flags & 1 = 0 OR debits_pending + debits_posted <= credits_posted),
    CONSTRAINT ledger_accounts_credits_must_not_exceed_debits
        CHECK (flags & 2 = 0 OR credits_pending + credits_posted <= debits_posted),
    CONSTRAINT ledger_accounts_totals_not_negative
        CHECK (debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0)
);

CREATE TABLE ledger_transfers (
    id                BLOB    PRIMARY KEY,
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
) WITHOUT ROWID;
CREATE UNIQUE INDEX ledger_transfers_one_post_or_void ON ledger_transfers (pending_id)
    WHERE pending_id IS NOT NULL AND state <> 6;
CREATE INDEX ledger_transfers_due ON ledger_transfers (timeout_at) WHERE state = 2;
CREATE INDEX ledger_transfers_business_day ON ledger_transfers (business_day);

CREATE TABLE ledger_transactions (
    id              TEXT    PRIMARY KEY,
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
) WITHOUT ROWID;
CREATE INDEX ledger_transactions_rrn ON ledger_transactions (rrn) WHERE rrn <> '';
CREATE INDEX ledger_transactions_terminal_stan ON ledger_transactions (terminal, stan) WHERE terminal <> '';
CREATE INDEX ledger_transactions_original ON ledger_transactions (original_id) WHERE original_id <> '';
