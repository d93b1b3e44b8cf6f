-- Intents get a table of their own: each is written before its request leaves for the issuer and
-- deleted by the request's decision a few milliseconds later, so the table holds only the requests
-- in flight — a few pages, one B-tree (keyed by the request's RRN), instead of the queue's table
-- and its five indexes, each touched twice per request. An intent that must be reversed moves to
-- saf_items as a queued reversal.
CREATE TABLE ledger_intents (
    key        text        PRIMARY KEY,
    event_id   text        NOT NULL,
    issuer     text        NOT NULL,
    node       text        NOT NULL,
    payee      text        NOT NULL,
    mti        text        NOT NULL,
    rrn        text        NOT NULL,
    masked_pan text        NOT NULL,
    currency   text        NOT NULL,
    amount     bigint      NOT NULL,
    message    bytea       NOT NULL,
    pan_sealed bytea,
    created_at timestamptz NOT NULL
);

INSERT INTO ledger_intents (key, event_id, issuer, node, payee, mti, rrn, masked_pan, currency, amount, message,
        pan_sealed, created_at)
    SELECT key, event_id, issuer, node, payee, mti, rrn, masked_pan, currency, amount, message, pan_sealed, created_at
    FROM saf_items WHERE state = 1;
DELETE FROM saf_items WHERE state = 1;
DROP INDEX saf_items_intents;
