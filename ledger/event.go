package ledger

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

// EventKind is what a card event asks of the ledger.
type EventKind uint8

const (
	// Authorize: an approved pre-authorization (0100) holds the amount as a pending transfer.
	Authorize EventKind = iota + 1
	// Capture: a completion (0220) posts the hold of OriginalID, fully or partly, and charges the fee.
	Capture
	// Purchase: an approved financial request (0200) posts the amount and charges the fee.
	Purchase
	// Refund: a refund (0200, processing code 20) moves the amount back from the payee to the issuer.
	Refund
	// Reverse: a reversal (0400/0420) voids the hold of OriginalID, or compensates its postings.
	Reverse
	// Decline: a declined or failed request; journaled, moves no money.
	Decline
	// Recovered: a request that may have reached its issuer but whose outcome the ledger never
	// held (the switch crashed, or the database failed at the commit). The recovery sweep journals
	// it, moving no money, and queues its reversal; the same transaction arriving later is a
	// duplicate of it (answered 96). Never submitted by callers.
	Recovered
)

func (k EventKind) String() string {
	switch k {
	case Authorize:
		return "authorize"
	case Capture:
		return "capture"
	case Purchase:
		return "purchase"
	case Refund:
		return "refund"
	case Reverse:
		return "reverse"
	case Decline:
		return "decline"
	case Recovered:
		return "recovered"
	}
	return fmt.Sprintf("kind_%d", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k EventKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// PayeeKind says who is paid: a merchant or a government agency.
type PayeeKind uint8

const (
	Merchant PayeeKind = iota + 1
	Agency
)

func (k PayeeKind) String() string {
	switch k {
	case Merchant:
		return "merchant"
	case Agency:
		return "agency"
	}
	return fmt.Sprintf("payee_%d", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k PayeeKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// FeeSchedule is the acquirer's fee on a payee: Percent of the amount (1.5 means 1.5 %), rounded
// half-up to the currency's minor unit, plus Fixed minor units.
type FeeSchedule struct {
	Percent decimal.Decimal
	Fixed   int64
}

// Payee is the merchant or agency credited by a sale.
type Payee struct {
	Kind PayeeKind
	ID   string // ISO 8583 field 42, e.g. "MERCHANT0000001"
	Fee  FeeSchedule
	// ConvenienceFee is included in the amount the payer pays and credited to
	// acquirer:convenience-fees:income; the payee gets the amount minus it (e-government).
	ConvenienceFee int64
}

// Event is one decision of the switch that the ledger must hold before the answer leaves.
type Event struct {
	// ID is the transaction's deterministic identity, e.g. "0100/TERM0001/000123/1126143015".
	ID         string
	Kind       EventKind
	OriginalID string // for Capture and Reverse (optional for Refund): the original event's ID
	Currency   string // ISO 4217 numeric, e.g. "840"
	Amount     int64  // minor units; for Capture the final amount (≤ the hold: partial capture)
	Payee      Payee
	Issuer     string // issuer name, e.g. "alpha"
	PaymentRef string // ISO 8583 field 48 (bill or order number), kept on the transfers
	// HoldTimeout is how long an Authorize hold lives if never captured; 0 takes the Writer's default.
	HoldTimeout time.Duration

	// The decision, journaled atomically with the transfers. RRN is the switch's (unique per
	// issuer request); AcquirerRRN is field 37 as the terminal sent it, when it did.
	RRN, AcquirerRRN, STAN, Terminal, MTI, MaskedPAN, ResponseCode, ApprovalCode string
	At                                                                           time.Time

	// Intent names the intent of the issuer request that decided this event, resolved in the
	// event's batch (see IntentRef).
	Intent IntentRef
	// FollowUps are the messages the event owes issuers, queued in the event's batch.
	FollowUps []FollowUp
}

// Outcome is the Writer's answer to a committed event.
type Outcome struct {
	// Duplicate: this event ID was committed before; Original is that first decision.
	Duplicate bool
	Original  *Transaction
	// Transfers created by this event (none for a Decline or a duplicate).
	Transfers []TransferID
}

// TransactionStatus is where a journaled transaction stands, derived from its transfers.
type TransactionStatus uint8

const (
	// StatusHeld: an authorization whose hold is pending.
	StatusHeld TransactionStatus = iota + 1
	// StatusCaptured: an authorization whose hold was posted by a Capture.
	StatusCaptured
	// StatusVoided: an authorization whose hold was voided by a Reverse.
	StatusVoided
	// StatusExpired: an authorization whose hold expired.
	StatusExpired
	// StatusPosted: a purchase, capture, refund or reversal whose transfers are posted.
	StatusPosted
	// StatusReversed: postings compensated by a later Reverse (for an authorization: its capture's).
	StatusReversed
	// StatusDeclined: a Decline (journal only).
	StatusDeclined
	// StatusRejected: the ledger refused the event; Rejection says why.
	StatusRejected
	// StatusRecovered: a request whose outcome the ledger never held, reversed after a crash.
	StatusRecovered
)

func (s TransactionStatus) String() string {
	switch s {
	case StatusHeld:
		return "held"
	case StatusCaptured:
		return "captured"
	case StatusVoided:
		return "voided"
	case StatusExpired:
		return "expired"
	case StatusPosted:
		return "posted"
	case StatusReversed:
		return "reversed"
	case StatusDeclined:
		return "declined"
	case StatusRejected:
		return "rejected"
	case StatusRecovered:
		return "recovered"
	}
	return "unknown"
}

// MarshalText implements encoding.TextMarshaler.
func (s TransactionStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Transaction is a journaled decision (one card event) with what the ledger did about it. The
// JSON form is what /v1/transactions/{rrn} serves.
type Transaction struct {
	ID             string            `json:"id"`
	Kind           EventKind         `json:"kind"`
	Status         TransactionStatus `json:"status"`
	OriginalID     string            `json:"original_id,omitempty"`
	TargetID       string            `json:"target_id,omitempty"` // Reverse: the transaction voided or compensated
	Currency       string            `json:"currency"`
	Exponent       int32             `json:"exponent"`
	Amount         int64             `json:"amount"`
	Fee            int64             `json:"fee"`
	ConvenienceFee int64             `json:"convenience_fee"`
	PayeeKind      PayeeKind         `json:"payee_kind,omitempty"`
	PayeeID        string            `json:"payee_id,omitempty"`
	Issuer         string            `json:"issuer,omitempty"`
	PaymentRef     string            `json:"payment_ref,omitempty"`
	RRN            string            `json:"rrn"`
	AcquirerRRN    string            `json:"acquirer_rrn,omitempty"`
	STAN           string            `json:"stan"`
	Terminal       string            `json:"terminal"`
	MTI            string            `json:"mti"`
	MaskedPAN      string            `json:"masked_pan"`
	ResponseCode   string            `json:"response_code"`
	ApprovalCode   string            `json:"approval_code,omitempty"`
	At             time.Time         `json:"at"`
	BusinessDay    string            `json:"business_day"`
	HoldExpiresAt  *time.Time        `json:"hold_expires_at,omitempty"`
	Rejection      string            `json:"ledger_rejection,omitempty"`
	Transfers      []TransferView    `json:"transfers"`
	// Related are the later events that name this one as their original (captures, reversals).
	Related []Transaction `json:"related,omitempty"`
	// SAF are the store-and-forward items of this transaction (intents, reversals, advices).
	SAF []SAFItem `json:"saf_items,omitempty"`
}

// TransferView is a stored transfer with its account names, as shown to people.
type TransferView struct {
	ID            TransferID    `json:"id"`
	Phase         string        `json:"phase"` // single_phase, pending, post_pending, void_pending
	State         TransferState `json:"state"`
	Code          TransferCode  `json:"code"`
	DebitAccount  string        `json:"debit_account"`
	CreditAccount string        `json:"credit_account"`
	Currency      string        `json:"currency"`
	Amount        int64         `json:"amount"`
	PendingID     *TransferID   `json:"pending_id,omitempty"`
	TimeoutAt     *time.Time    `json:"timeout_at,omitempty"`
	PaymentRef    string        `json:"payment_ref,omitempty"`
	BusinessDay   string        `json:"business_day"`
	CreatedAt     time.Time     `json:"created_at"`
}

// NewTransferView builds the view of a stored transfer given its account names.
func NewTransferView(r *TransferRecord, debit, credit string) TransferView {
	v := TransferView{
		ID: r.ID, Phase: r.phase(), State: r.State, Code: r.Code, DebitAccount: debit, CreditAccount: credit,
		Currency: r.Currency, Amount: r.Amount, PaymentRef: r.PaymentRef, BusinessDay: r.BusinessDay,
		CreatedAt: r.CreatedAt,
	}
	if !r.PendingID.IsZero() {
		id := r.PendingID
		v.PendingID = &id
	}
	if !r.TimeoutAt.IsZero() {
		at := r.TimeoutAt
		v.TimeoutAt = &at
	}
	return v
}
