package ledger

import (
	"errors"
	"fmt"
)

// Reason is a rejection the ledger remembers: a rejected transfer or event is stored with the
// reason's stable Code, so that its retry gets the same answer. Compare with errors.Is against the
// ErrX values below.
type Reason struct {
	Code string // stable, snake_case, stored in the database and shown in JSON
	msg  string
}

func (r *Reason) Error() string { return r.msg }

// Transfer-level reasons (TigerBeetle's result codes, where one applies).
var (
	// ErrLinkedEventFailed: another transfer of the same linked chain failed, so this one was not applied.
	ErrLinkedEventFailed = &Reason{"linked_event_failed", "a linked transfer failed"}
	// ErrAccountsMustBeDifferent: a transfer debits and credits the same account.
	ErrAccountsMustBeDifferent = &Reason{"accounts_must_be_different", "debit and credit accounts must be different"}
	// ErrAmountMustBePositive: a transfer moves zero or a negative amount.
	ErrAmountMustBePositive = &Reason{"amount_must_be_positive", "amount must be positive"}
	// ErrCurrencyMismatch: the accounts or the pending transfer are in another currency.
	ErrCurrencyMismatch = &Reason{"currency_mismatch", "accounts and transfer must share one currency"}
	// ErrFlagsAreMutuallyExclusive: more than one of pending, post-pending and void-pending is set.
	ErrFlagsAreMutuallyExclusive = &Reason{"flags_are_mutually_exclusive", "pending, post-pending and void-pending are mutually exclusive"}
	// ErrPendingIDRequired: a post or void names no pending transfer.
	ErrPendingIDRequired = &Reason{"pending_id_required", "post and void must name a pending transfer"}
	// ErrPendingTransferNotFound: the pending transfer to post or void does not exist.
	ErrPendingTransferNotFound = &Reason{"pending_transfer_not_found", "pending transfer not found"}
	// ErrPendingTransferNotPending: the transfer to post or void is not a two-phase pending transfer.
	ErrPendingTransferNotPending = &Reason{"pending_transfer_not_pending", "transfer is not a pending transfer"}
	// ErrPendingTransferHasDifferentAccounts: a post or void names other accounts than its pending transfer.
	ErrPendingTransferHasDifferentAccounts = &Reason{"pending_transfer_has_different_accounts", "post or void names other accounts than the pending transfer"}
	// ErrPendingTransferAlreadyPosted: the pending transfer was posted already (no double post).
	ErrPendingTransferAlreadyPosted = &Reason{"pending_transfer_already_posted", "pending transfer already posted"}
	// ErrPendingTransferAlreadyVoided: the pending transfer was voided already.
	ErrPendingTransferAlreadyVoided = &Reason{"pending_transfer_already_voided", "pending transfer already voided"}
	// ErrPendingTransferExpired: the pending transfer's timeout passed; its amount was released.
	ErrPendingTransferExpired = &Reason{"pending_transfer_expired", "pending transfer expired"}
	// ErrExceedsPendingTransferAmount: a post asks for more than the pending amount.
	ErrExceedsPendingTransferAmount = &Reason{"exceeds_pending_transfer_amount", "post amount exceeds the pending amount"}
	// ErrExceedsCredits: an account flagged "debits must not exceed credits" (a payable) would go negative.
	ErrExceedsCredits = &Reason{"exceeds_credits", "debits would exceed credits on an account that forbids it"}
	// ErrExceedsDebits: an account flagged "credits must not exceed debits" would go negative.
	ErrExceedsDebits = &Reason{"exceeds_debits", "credits would exceed debits on an account that forbids it"}
	// ErrInvalidTransfer: a transfer names an unknown account or a malformed field.
	ErrInvalidTransfer = &Reason{"invalid_transfer", "invalid transfer"}
)

// Event-level reasons: the card event cannot be posted. The engine maps them to response codes.
var (
	// ErrOriginalNotFound: a Capture or Reverse names an original the ledger does not hold.
	ErrOriginalNotFound = &Reason{"original_not_found", "original transaction not found"}
	// ErrNotAnAuthorization: a Capture names an original that is not an authorization.
	ErrNotAnAuthorization = &Reason{"not_an_authorization", "original transaction is not an authorization"}
	// ErrHoldVoided: a Capture names an authorization whose hold was voided by a reversal.
	ErrHoldVoided = &Reason{"hold_voided", "authorization hold was voided"}
	// ErrHoldExpired: a Capture or Reverse names an authorization whose hold expired.
	ErrHoldExpired = &Reason{"hold_expired", "authorization hold expired"}
	// ErrAlreadyCaptured: a second Capture of the same authorization (a double post).
	ErrAlreadyCaptured = &Reason{"already_captured", "authorization already captured"}
	// ErrCaptureExceedsHold: the captured amount is larger than the authorized amount.
	ErrCaptureExceedsHold = &Reason{"capture_exceeds_hold", "capture amount exceeds the authorized amount"}
	// ErrAlreadyReversed: the original was reversed already.
	ErrAlreadyReversed = &Reason{"already_reversed", "original transaction already reversed"}
	// ErrNothingToReverse: the original moved no money (a decline, a rejected event, a reversal).
	ErrNothingToReverse = &Reason{"nothing_to_reverse", "original transaction moved no money"}
	// ErrAmountNotAboveFee: the amount does not exceed the convenience fee it must include.
	ErrAmountNotAboveFee = &Reason{"amount_not_above_fee", "amount must exceed the convenience fee"}
	// ErrRefunded: a Reverse names a purchase or capture that refunds name as their original:
	// part of it was given back already, so it can no longer be undone whole (refund the rest).
	ErrRefunded = &Reason{"refunded", "original transaction was refunded: refund the rest instead of reversing it"}
	// ErrRefundExceedsOriginal: a Refund naming its original would take the refunds of that
	// original over its amount.
	ErrRefundExceedsOriginal = &Reason{"refund_exceeds_original", "refunds would exceed the original's amount"}
	// ErrNotASale: a Refund names an original that is not a purchase or a capture.
	ErrNotASale = &Reason{"not_a_sale", "original transaction is not a purchase or a capture"}
)

// reasonByCode returns the Reason stored under code, or nil for an unknown code.
func reasonByCode(code string) *Reason {
	for _, r := range []*Reason{
		ErrLinkedEventFailed, ErrAccountsMustBeDifferent, ErrAmountMustBePositive, ErrCurrencyMismatch,
		ErrFlagsAreMutuallyExclusive, ErrPendingIDRequired, ErrPendingTransferNotFound,
		ErrPendingTransferNotPending, ErrPendingTransferHasDifferentAccounts,
		ErrPendingTransferAlreadyPosted, ErrPendingTransferAlreadyVoided, ErrPendingTransferExpired,
		ErrExceedsPendingTransferAmount, ErrExceedsCredits, ErrExceedsDebits, ErrInvalidTransfer,
		ErrOriginalNotFound, ErrNotAnAuthorization, ErrHoldVoided, ErrHoldExpired, ErrAlreadyCaptured,
		ErrCaptureExceedsHold, ErrAlreadyReversed, ErrNothingToReverse, ErrAmountNotAboveFee,
		ErrRefunded, ErrRefundExceedsOriginal, ErrNotASale,
	} {
		if r.Code == code {
			return r
		}
	}
	return nil
}

// ReasonFromCode returns the Reason stored under code; an unknown code (written by a newer
// version) becomes a Reason carrying that code.
func ReasonFromCode(code string) *Reason {
	if r := reasonByCode(code); r != nil {
		return r
	}
	return &Reason{Code: code, msg: "rejected: " + code}
}

// Errors that are not remembered rejections.
var (
	// ErrEventConflict: an event reuses the ID of a committed event with different content (the
	// engine answers 94). The committed event is unchanged.
	ErrEventConflict = errors.New("event id already committed with different content")
	// ErrInvalidEvent: an event is malformed (a programming error in the caller); see EventError.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrUnknownCurrency: a currency code is not in the ISO 4217 table.
	ErrUnknownCurrency = errors.New("unknown ISO 4217 currency")
	// ErrUnavailable: the store failed; nothing of the batch was committed (the engine answers 96).
	ErrUnavailable = errors.New("ledger unavailable")
	// ErrWriterClosed: the Writer has stopped and accepts no more events.
	ErrWriterClosed = errors.New("ledger writer closed")
	// ErrNotFound: a lookup found no transaction.
	ErrNotFound = errors.New("not found")
	// ErrTransient marks a store error worth retrying (deadlock, serialization failure, lost
	// connection); stores wrap such errors with it.
	ErrTransient = errors.New("transient store error")
	// ErrBusinessDayClosed: a cutover names a business day that is not the open one.
	ErrBusinessDayClosed = errors.New("business day is not open")
)

// RejectionError is the ledger's refusal of a card event. It is remembered: a retry of the same
// event gets the same RejectionError. errors.Is(err, ErrHoldExpired) and the like work on it.
type RejectionError struct {
	EventID string
	Reason  *Reason
}

func (e *RejectionError) Error() string {
	return fmt.Sprintf("ledger rejected event %s: %s", e.EventID, e.Reason.Error())
}

func (e *RejectionError) Unwrap() error { return e.Reason }

// EventError names the malformed field of an event. It wraps ErrInvalidEvent.
type EventError struct {
	Field   string // Go field name, e.g. "Amount", "Payee.ID"
	Problem string
}

func (e *EventError) Error() string { return fmt.Sprintf("event field %s: %s", e.Field, e.Problem) }

func (e *EventError) Unwrap() error { return ErrInvalidEvent }

// ConstraintKind says which database constraint a batch violated.
type ConstraintKind uint8

const (
	// ConstraintUnique: a primary key or unique index (a duplicate written concurrently).
	ConstraintUnique ConstraintKind = iota + 1
	// ConstraintDebitsMustNotExceedCredits: an account flagged so would go negative.
	ConstraintDebitsMustNotExceedCredits
	// ConstraintCreditsMustNotExceedDebits: an account flagged so would go negative.
	ConstraintCreditsMustNotExceedDebits
)

// ConstraintError is how a store reports that a batch violated a constraint. The Writer then
// retries the batch in parts so that only the offending event is rejected.
type ConstraintError struct {
	Kind       ConstraintKind
	Constraint string // the constraint's name in the schema
	Err        error
}

func (e *ConstraintError) Error() string { return "constraint " + e.Constraint + ": " + e.Err.Error() }

func (e *ConstraintError) Unwrap() error { return e.Err }
