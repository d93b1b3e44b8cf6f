-- The store-and-forward queue and the intents of requests in flight to issuers (ledger/saf.go),
-- written in the same transactions as the journal rows that cause them. Rows are appended in seq
-- order (a rowid table); an issuer's due items are read in that order through a partial index.
CREATE TABLE saf_items (
    seq             INTEGER PRIMARY KEY,
    key             TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    issuer          TEXT    NOT NULL,
    node            TEXT    NOT NULL,
    payee           TEXT    NOT NULL,
    kind            INTEGER NOT NULL,
    state           INTEGER NOT NULL,
    mti             TEXT    NOT NULL,
    rrn             TEXT    NOT NULL,
    masked_pan      TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    amount          INTEGER NOT NULL,
    message         BLOB    NOT NULL,
    pan_sealed      BLOB,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    queued_at       INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_error      TEXT    NOT NULL DEFAULT '',
    response_code   TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX saf_items_key ON saf_items (key);
-- The delivery loop: an issuer's queued items in order.
CREATE INDEX saf_items_due ON saf_items (issuer, seq) WHERE state = 2;
-- The recovery sweep: intents by age.
CREATE INDEX saf_items_intents ON saf_items (created_at) WHERE state = 1;
-- Operators: parked items.
CREATE INDEX saf_items_parked ON saf_items (issuer, seq) WHERE state = 4;
-- A transaction's items (/v1/transactions).
CREATE INDEX saf_items_event ON saf_items (event_id);
-- Pruning of delivered items.
CREATE INDEX saf_items_delivered ON saf_items (updated_at) WHERE state = 3;

-- Field 37 as the terminal sent it, when it did: the switch assigns every issuer request an RRN
-- of its own (rrn), so that a terminal's reused 37 cannot make two transactions share one, and
-- finds a terminal's later reversal by either.
ALTER TABLE ledger_transactions ADD COLUMN acquirer_rrn TEXT NOT NULL DEFAULT '';
CREATE INDEX ledger_transactions_acquirer_rrn ON ledger_transactions (acquirer_rrn) WHERE acquirer_rrn <> '';
