package ledger

import (
	"fmt"
	"time"
)

// TransferFlags select a transfer's phase and chaining.
type TransferFlags uint16

const (
	// Linked chains this transfer to the next one in the submission: the chain succeeds or fails
	// as a whole. The last transfer of a chain does not carry the flag.
	Linked TransferFlags = 1 << iota
	// Pending reserves the amount (pending totals) until it is posted, voided or expires.
	Pending
	// PostPending posts (part of) the pending transfer named by PendingID; the rest is released.
	PostPending
	// VoidPending releases the pending transfer named by PendingID.
	VoidPending
)

// TransferCode says why a transfer exists; reports group by it.
type TransferCode uint16

const (
	CodeUnspecified TransferCode = iota
	// CodePrincipal moves a sale's amount (net of any convenience fee) to the payee.
	CodePrincipal
	// CodeConvenienceFee moves the convenience fee a payer added to an e-government payment.
	CodeConvenienceFee
	// CodeMerchantFee charges the payee the acquirer's fee (percent plus fixed).
	CodeMerchantFee
	// CodeRefund returns an amount from the payee to the cardholder's issuer.
	CodeRefund
	// CodeReversal compensates an earlier transfer (its accounts swapped, same amount).
	CodeReversal
	// CodeSettlement moves a net position to a settlement account at cutover.
	CodeSettlement
)

func (c TransferCode) String() string {
	switch c {
	case CodeUnspecified:
		return "unspecified"
	case CodePrincipal:
		return "principal"
	case CodeConvenienceFee:
		return "convenience_fee"
	case CodeMerchantFee:
		return "merchant_fee"
	case CodeRefund:
		return "refund"
	case CodeReversal:
		return "reversal"
	case CodeSettlement:
		return "settlement"
	}
	return fmt.Sprintf("code_%d", uint16(c))
}

// MarshalText implements encoding.TextMarshaler.
func (c TransferCode) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// TransferState is where a stored transfer stands.
type TransferState uint8

const (
	// StatePosted: a single-phase transfer, or a post or void of a pending one (complete).
	StatePosted TransferState = iota + 1
	// StatePending: a pending transfer holding its amount.
	StatePending
	// StatePendingPosted: a pending transfer that was posted.
	StatePendingPosted
	// StatePendingVoided: a pending transfer that was voided.
	StatePendingVoided
	// StatePendingExpired: a pending transfer whose timeout passed; its amount was released.
	StatePendingExpired
	// StateRejected: a transfer that was refused, remembered with its reason.
	StateRejected
)

func (s TransferState) String() string {
	switch s {
	case StatePosted:
		return "posted"
	case StatePending:
		return "pending"
	case StatePendingPosted:
		return "pending_posted"
	case StatePendingVoided:
		return "pending_voided"
	case StatePendingExpired:
		return "pending_expired"
	case StateRejected:
		return "rejected"
	}
	return fmt.Sprintf("state_%d", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s TransferState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Transfer is a request to move Amount from the debit to the credit account.
type Transfer struct {
	ID            TransferID
	DebitAccount  string // account name; for PostPending/VoidPending may be empty (the pending's)
	CreditAccount string
	Currency      string // ISO 4217 numeric
	Amount        int64  // minor units; for PostPending 0 means the full pending amount; ignored for VoidPending
	Flags         TransferFlags
	PendingID     TransferID    // for PostPending and VoidPending
	Timeout       time.Duration // for Pending: expires this long after it is written; 0 never
	Code          TransferCode
	EventID       string // the card event (or business day) that caused it
	PaymentRef    string // e-government bill or order number (ISO 8583 field 48)
}

// TransferRecord is a stored transfer.
type TransferRecord struct {
	ID              TransferID
	DebitAccountID  int64
	CreditAccountID int64
	Amount          int64
	Currency        string
	Flags           TransferFlags
	PendingID       TransferID
	TimeoutAt       time.Time // zero when none
	State           TransferState
	Code            TransferCode
	EventID         string
	PaymentRef      string
	BusinessDay     string // YYYY-MM-DD
	Reason          string // rejection code for StateRejected
	CreatedAt       time.Time
}

// phase names the kind of a stored transfer for people.
func (r *TransferRecord) phase() string {
	switch {
	case r.Flags&Pending != 0:
		return "pending"
	case r.Flags&PostPending != 0:
		return "post_pending"
	case r.Flags&VoidPending != 0:
		return "void_pending"
	}
	return "single_phase"
}

// TransferStatus is the outcome of one submitted transfer.
type TransferStatus uint8

const (
	// TransferCreated: the transfer was applied now.
	TransferCreated TransferStatus = iota + 1
	// TransferExists: the same transfer was applied before (idempotent retry).
	TransferExists
	// TransferRejected: refused; Reason says why (and a retry gets the same Reason).
	TransferRejected
	// TransferConflict: the id was used before for a transfer with different content.
	TransferConflict
)

// TransferResult is the answer for one submitted transfer.
type TransferResult struct {
	ID     TransferID
	Status TransferStatus
	Reason *Reason // for TransferRejected
}
