-- The ledger: business days, accounts with four running totals, transfers, and the journal of
-- card-event decisions. Amounts are minor units of the ISO 4217 currency; states and codes are the
-- numeric values of ledger.TransferState, ledger.TransferCode, ledger.EventKind, ledger.PayeeKind.

CREATE TABLE ledger_business_days (
    day       date PRIMARY KEY,
    opened_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz
);
-- Exactly one business day is open at a time.
CREATE UNIQUE INDEX ledger_business_days_one_open ON ledger_business_days ((true)) WHERE closed_at IS NULL;
INSERT INTO ledger_business_days (day) VALUES ((now() AT TIME ZONE 'UTC')::date);

CREATE TABLE ledger_accounts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text     NOT NULL,
    currency        text     NOT NULL,
    flags           smallint NOT NULL,
    debits_pending  bigint   NOT NULL DEFAULT 0,
    debits_posted   bigint   NOT NULL DEFAULT 0,
    credits_pending bigint   NOT NULL DEFAULT 0,
    credits_posted  bigint   NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ledger_accounts_name_currency UNIQUE (name, currency),
    -- Account flags, enforced at posting time (the batch writer isolates the offending event).
    CONSTRAINT ledger_accounts_debits_must_not_exceed_credits
        CHECK (flags & 1 = 0 OR debits_pending + debits_posted <= credits_posted),
    CONSTRAINT ledger_accounts_credits_must_not_exceed_debits
        CHECK (flags & 2 = 0 OR credits_pending + credits_posted <= debits_posted),
    CONSTRAINT ledger_accounts_totals_not_negative
        CHECK (debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 AND credits_posted >= 0)
) WITH (fillfactor = 50); -- room for HOT updates: hot accounts are updated once per batch

CREATE TABLE ledger_transfers (
    id                uuid     PRIMARY KEY,
    debit_account_id  bigint   NOT NULL,
    credit_account_id bigint   NOT NULL,
    amount            bigint   NOT NULL,
    currency          text     NOT NULL,
    flags             smallint NOT NULL,
    pending_id        uuid,
    timeout_at        timestamptz,
    state             smallint NOT NULL,
    code              smallint NOT NULL,
    event_id          text     NOT NULL,
    payment_ref       text     NOT NULL,
    business_day      date     NOT NULL,
    reason            text     NOT NULL,
    created_at        timestamptz NOT NULL,
    CONSTRAINT ledger_transfers_amount_positive CHECK (state = 6 OR amount > 0)
);
-- A pending transfer is posted or voided at most once, whatever any process does.
CREATE UNIQUE INDEX ledger_transfers_one_post_or_void ON ledger_transfers (pending_id)
    WHERE pending_id IS NOT NULL AND state <> 6;
-- The expiry sweep finds due pending transfers here.
CREATE INDEX ledger_transfers_due ON ledger_transfers (timeout_at) WHERE state = 2;
-- Settlement reads one business day; rows arrive in day order, so a BRIN index costs nearly nothing.
CREATE INDEX ledger_transfers_business_day ON ledger_transfers USING brin (business_day);

CREATE TABLE ledger_transactions (
    id              text     PRIMARY KEY,
    kind            smallint NOT NULL,
    original_id     text     NOT NULL,
    target_id       text     NOT NULL,
    currency        text     NOT NULL,
    amount          bigint   NOT NULL,
    fee             bigint   NOT NULL,
    convenience_fee bigint   NOT NULL,
    payee_kind      smallint NOT NULL,
    payee_id        text     NOT NULL,
    issuer          text     NOT NULL,
    payment_ref     text     NOT NULL,
    rrn             text     NOT NULL,
    stan            text     NOT NULL,
    terminal        text     NOT NULL,
    mti             text     NOT NULL,
    masked_pan      text     NOT NULL,
    response_code   text     NOT NULL,
    approval_code   text     NOT NULL,
    at              timestamptz NOT NULL,
    business_day    date     NOT NULL,
    hold_expires_at timestamptz,
    rejection       text     NOT NULL
);
CREATE INDEX ledger_transactions_rrn ON ledger_transactions (rrn) WHERE rrn <> '';
CREATE INDEX ledger_transactions_terminal_stan ON ledger_transactions (terminal, stan) WHERE terminal <> '';
CREATE INDEX ledger_transactions_original ON ledger_transactions (original_id) WHERE original_id <> '';
