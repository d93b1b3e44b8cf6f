-- The store-and-forward queue and the intents of requests in flight to issuers (ledger/saf.go),
-- written in the same transactions as the journal rows that cause them. States and kinds are the
-- numeric values of ledger.SAFState and ledger.SAFKind.
CREATE TABLE saf_items (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key             text        NOT NULL,
    event_id        text        NOT NULL,
    issuer          text        NOT NULL,
    node            text        NOT NULL,
    payee           text        NOT NULL,
    kind            smallint    NOT NULL,
    state           smallint    NOT NULL,
    mti             text        NOT NULL,
    rrn             text        NOT NULL,
    masked_pan      text        NOT NULL,
    currency        text        NOT NULL,
    amount          bigint      NOT NULL,
    message         bytea       NOT NULL,
    pan_sealed      bytea,
    attempts        integer     NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL,
    queued_at       timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_error      text        NOT NULL DEFAULT '',
    response_code   text        NOT NULL DEFAULT '',
    CONSTRAINT saf_items_key UNIQUE (key)
) WITH (fillfactor = 70); -- intents are updated or deleted once, delivered items twice
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

-- Field 37 as the terminal sent it, when it did (the switch assigns every issuer request an RRN
-- of its own, kept in rrn).
ALTER TABLE ledger_transactions ADD COLUMN acquirer_rrn text NOT NULL DEFAULT '';
CREATE INDEX ledger_transactions_acquirer_rrn ON ledger_transactions (acquirer_rrn) WHERE acquirer_rrn <> '';
