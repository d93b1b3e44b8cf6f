-- The payments API's tables, beside the ledger's in the same database. Times are Unix
-- microseconds (UTC); amounts minor units.
CREATE TABLE payapi_api_keys (
    id          TEXT PRIMARY KEY,
    merchant    TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the key
    prefix      TEXT NOT NULL,         -- the key's first characters, to tell keys apart in lists
    scopes      TEXT NOT NULL,         -- comma-separated
    test        INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);

CREATE TABLE payapi_payments (
    id              TEXT PRIMARY KEY,
    merchant        TEXT NOT NULL,
    status          TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    fee             BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    reference       TEXT NOT NULL,
    description     TEXT NOT NULL,
    return_url      TEXT NOT NULL,
    metadata        TEXT NOT NULL,
    capture         TEXT NOT NULL,
    card_masked     TEXT NOT NULL,
    card_exp_month  INTEGER NOT NULL,
    card_exp_year   INTEGER NOT NULL,
    card_holder     TEXT NOT NULL,
    response_code   TEXT NOT NULL,
    decline_reason  TEXT NOT NULL,
    auth_code       TEXT NOT NULL,
    rrn             TEXT NOT NULL,
    terminal        TEXT NOT NULL,
    engine_id       TEXT NOT NULL,  -- the authorization's engine transaction id
    amount_captured BIGINT NOT NULL,
    amount_refunded BIGINT NOT NULL,
    pending_op      TEXT NOT NULL,  -- an engine request sent whose outcome is not recorded yet
    pending_id      TEXT NOT NULL,
    pending_amount  BIGINT NOT NULL,
    card_sealed     TEXT NOT NULL,  -- the card number under AES-256-GCM (refunds need it), never in clear
    page_token      TEXT NOT NULL,  -- hash of the hosted page token (issue 10)
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    version         BIGINT NOT NULL
);
CREATE INDEX payapi_payments_merchant ON payapi_payments (merchant, id);
CREATE INDEX payapi_payments_reference ON payapi_payments (merchant, reference);
CREATE INDEX payapi_payments_pending ON payapi_payments (pending_op) WHERE pending_op <> '';

CREATE TABLE payapi_refunds (
    id            TEXT PRIMARY KEY,
    payment_id    TEXT NOT NULL,
    merchant      TEXT NOT NULL,
    status        TEXT NOT NULL,  -- processing, succeeded, failed
    amount        BIGINT NOT NULL,
    currency      TEXT NOT NULL,
    reference     TEXT NOT NULL,
    response_code TEXT NOT NULL,
    rrn           TEXT NOT NULL,
    engine_id     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX payapi_refunds_payment ON payapi_refunds (payment_id, id);
CREATE INDEX payapi_refunds_processing ON payapi_refunds (status) WHERE status = 'processing';

CREATE TABLE payapi_events (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    payment_id    TEXT NOT NULL,
    merchant      TEXT NOT NULL,
    type          TEXT NOT NULL,
    status        TEXT NOT NULL,
    amount        BIGINT NOT NULL,
    refund_id     TEXT NOT NULL,
    response_code TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX payapi_events_payment ON payapi_events (payment_id, seq);

CREATE TABLE payapi_idempotency (
    api_key_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       INTEGER NOT NULL,  -- 0 while the first request is in flight
    body         TEXT NOT NULL,
    op           TEXT NOT NULL,     -- what the request does: create_payment, capture, cancel, refund, ...
    resource_id  TEXT NOT NULL,     -- the payment (or refund) it acts on, to answer after a crash
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, key)
);
CREATE INDEX payapi_idempotency_created ON payapi_idempotency (created_at);

CREATE TABLE payapi_webhook_endpoints (
    id          TEXT PRIMARY KEY,
    merchant    TEXT NOT NULL,
    url         TEXT NOT NULL,
    description TEXT NOT NULL,
    events      TEXT NOT NULL,  -- comma-separated; empty: all
    secret      TEXT NOT NULL,  -- whsec_<base64>: needed in clear to sign
    enabled     INTEGER NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX payapi_webhook_endpoints_merchant ON payapi_webhook_endpoints (merchant, id);

CREATE TABLE payapi_webhook_outbox (
    id              TEXT PRIMARY KEY,  -- one message to one endpoint
    event_id        TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,     -- pending, delivered, failed
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX payapi_webhook_outbox_due ON payapi_webhook_outbox (next_attempt_at) WHERE state = 'pending';

CREATE TABLE payapi_webhook_deliveries (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    outbox_id       TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    attempt         INTEGER NOT NULL,
    status_code     INTEGER NOT NULL,  -- 0: no answer
    error           TEXT NOT NULL,
    duration_ms     INTEGER NOT NULL,
    attempted_at    BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL    -- 0: none
);
CREATE INDEX payapi_webhook_deliveries_endpoint ON payapi_webhook_deliveries (endpoint_id, seq);

-- The latest second used for an engine request's identity (field 7): after a restart, identities
-- start past it, so that none is reused.
CREATE TABLE payapi_clock (
    id          INTEGER PRIMARY KEY,
    last_second BIGINT NOT NULL
);
