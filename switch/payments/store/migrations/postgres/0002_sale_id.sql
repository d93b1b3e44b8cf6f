-- The engine transaction id of a payment's sale: its 0200 purchase, or the 0220 that captured its
-- hold. A refund names it in field 90, so that the ledger bounds the refunds by what it sold.
ALTER TABLE payapi_payments ADD COLUMN sale_id TEXT NOT NULL DEFAULT '';
