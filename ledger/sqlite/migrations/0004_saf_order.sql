-- An item is due only when no earlier item of the same transaction (issuer and RRN) is still
-- queued: a completion and a reversal of one authorization reach the issuer in that order.
CREATE INDEX saf_items_queued_rrn ON saf_items (issuer, rrn, seq) WHERE state = 2;
