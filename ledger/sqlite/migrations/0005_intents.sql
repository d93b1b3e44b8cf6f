-- Intents get a table of their own: each is written before its request leaves for the issuer and
-- deleted by the request's decision a few milliseconds later, so the table holds only the requests
-- in flight — a few pages, one B-tree (keyed by the request's RRN), instead of the queue's table
-- and its five indexes, each touched twice per request. An intent that must be reversed moves to
-- saf_items as a queued reversal.
CREATE TABLE ledger_intents (
    key        TEXT    PRIMARY KEY,
    event_id   TEXT    NOT NULL,
    issuer     TEXT    NOT NULL,
    node       TEXT    NOT NULL,
    payee      TEXT    NOT NULL,
    mti        TEXT    NOT NULL,
    rrn        TEXT    NOT NULL,
    masked_pan TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    amount     INTEGER NOT NULL,
    message    BLOB    NOT NULL,
    pan_sealed BLOB,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO ledger_intents (key, event_id, issuer, node, payee, mti, rrn, masked_pan, currency, amount, message,
        pan_sealed, created_at)
    SELECT key, event_id, issuer, node, payee, mti, rrn, masked_pan, currency, amount, message, pan_sealed, created_at
    FROM saf_items WHERE state = 1;
DELETE FROM saf_items WHERE state = 1;
DROP INDEX saf_items_intents;
