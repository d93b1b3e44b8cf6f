// Package ledger is the switch's double-entry book: accounts with posted and pending debit and
// credit totals per currency, immutable balanced transfers (single-phase, or two-phase: pending,
// then posted, voided or expired), linked transfers that succeed or fail together, and an
// idempotency key on every transfer. It follows TigerBeetle's semantics and stores them in SQL.
//
// The engine never builds transfers: it hands the Writer one card Event per decision, the posting
// rules (posting.go) turn the event into transfers whose ids derive from the event's identity, and
// the Writer commits the decision record (the journal row) and its transfers in one database
// transaction, batched with other events, before it answers. Stores implement Backend
// (ledger/postgres for PostgreSQL, ledger/sqlite for the embedded store); the rules, the batching
// and the invariants live here so that both stores behave the same.
package ledger
