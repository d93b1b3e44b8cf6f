-- Government bills (issue 10): a bill with a control number (reference) per agency, paid at most
-- once. Numbered from 0100 so that the payments API's own migrations keep 0002-0099. Times are
-- Unix microseconds (UTC); amounts minor units.
CREATE TABLE payapi_bills (
    id            TEXT PRIMARY KEY,
    agency        TEXT NOT NULL,   -- the merchant or agency (field 42) that issued it
    reference     TEXT NOT NULL,   -- the control number printed on the notice
    status        TEXT NOT NULL,   -- open, paid, expired, cancelled
    amount        BIGINT NOT NULL, -- what the agency is owed (the sum of the items)
    fee           BIGINT NOT NULL, -- the convenience fee the payer pays on top
    currency      TEXT NOT NULL,   -- ISO 4217 numeric
    description   TEXT NOT NULL,
    items         TEXT NOT NULL,   -- JSON: [{"revenue_code", "description", "amount"}]
    payer_name    TEXT NOT NULL,
    return_url    TEXT NOT NULL,
    language      TEXT NOT NULL,   -- the page's language ('' : the agency's, or the browser's)
    metadata      TEXT NOT NULL,   -- JSON object, '' when none
    claim_payment TEXT NOT NULL,   -- the payment whose authorisation is in flight ('' when none)
    paid_payment  TEXT NOT NULL,   -- the payment that paid it
    expires_at    BIGINT NOT NULL, -- 0: never
    paid_at       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    version       BIGINT NOT NULL  -- every change checks and bumps it (optimistic concurrency)
);
CREATE UNIQUE INDEX payapi_bills_reference ON payapi_bills (agency, reference);
CREATE INDEX payapi_bills_by_reference ON payapi_bills (reference);
CREATE INDEX payapi_bills_agency ON payapi_bills (agency, id);
CREATE INDEX payapi_bills_expiring ON payapi_bills (expires_at) WHERE status = 'open' AND expires_at > 0;
CREATE INDEX payapi_bills_claimed ON payapi_bills (claim_payment) WHERE claim_payment <> '';

-- A payment of a bill names it; a page payment counts the payer's attempts.
ALTER TABLE payapi_payments ADD COLUMN bill_id TEXT NOT NULL DEFAULT '';
ALTER TABLE payapi_payments ADD COLUMN page_attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX payapi_payments_bill ON payapi_payments (bill_id, id) WHERE bill_id <> '';
CREATE INDEX payapi_payments_page_token ON payapi_payments (page_token) WHERE page_token <> '';
CREATE INDEX payapi_payments_engine_id ON payapi_payments (engine_id) WHERE engine_id <> '';

-- The hosted page's HMAC key for its anti-forgery tokens, shared by every instance.
CREATE TABLE payapi_page_keys (
    id         INTEGER PRIMARY KEY,
    key        TEXT NOT NULL,  -- hex, 32 bytes
    created_at BIGINT NOT NULL
);
