package store

import "time"

// Payment statuses (CONTRACT §12).
const (
	StatusCreated    = "created"
	StatusAuthorised = "authorised"
	StatusSucceeded  = "succeeded"
	StatusDeclined   = "declined"
	StatusFailed     = "failed"
	StatusCancelled  = "cancelled"
	StatusExpired    = "expired"
)

// Pending operations: an engine request written down before it was sent, whose outcome is not
// recorded yet. After a crash they are resolved from the ledger.
const (
	OpNone      = ""
	OpAuthorize = "authorize" // 0100 or 0200
	OpCapture   = "capture"   // 0220
	OpCancel    = "cancel"    // 0400
)

// Payment is one payment of the API.
type Payment struct {
	ID, Merchant, Status                  string
	Amount, Fee                           int64 // Fee: an agency's convenience fee, on top
	Currency                              string
	Reference, Description, ReturnURL     string
	Metadata                              string // JSON object, "" when none
	Capture                               string // automatic or manual
	CardMasked                            string // 6+4; never the full number
	CardExpMonth, CardExpYear             int
	CardHolder                            string
	ResponseCode, DeclineReason, AuthCode string
	RRN, Terminal, EngineID               string
	SaleID                                string // the sale's engine id: the 0200, or the 0220 that captured the hold
	AmountCaptured, AmountRefunded        int64
	PendingOp, PendingID                  string
	PendingAmount                         int64
	CardSealed                            string // the card number under the card-data key (refunds need it); never in clear
	PageToken                             string
	BillID                                string // the bill it pays ("" for other payments)
	PageAttempts                          int    // authorisations the payer tried on the hosted page
	CreatedAt, UpdatedAt                  time.Time
	Version                               int64
}

// Total is what the payer pays: the amount and the convenience fee.
func (p *Payment) Total() int64 { return p.Amount + p.Fee }

// Refund statuses.
const (
	RefundProcessing = "processing"
	RefundSucceeded  = "succeeded"
	RefundFailed     = "failed"
)

// Refund is one refund of a payment.
type Refund struct {
	ID, PaymentID, Merchant, Status string
	Amount                          int64
	Currency, Reference             string
	ResponseCode, RRN, EngineID     string
	CreatedAt, UpdatedAt            time.Time
}

// Event is one state change of a payment (GET /v1/payments/{id}/events).
type Event struct {
	ID, PaymentID, Merchant, Type, Status string
	Amount                                int64
	RefundID, ResponseCode                string
	CreatedAt                             time.Time
}

// Idempotency is an Idempotency-Key's record: Status 0 while the first request is in flight,
// then the first answer's status and body.
type Idempotency struct {
	APIKeyID, Key, RequestHash string
	Status                     int
	Body                       string
	Op, ResourceID             string
	CreatedAt                  time.Time
}

// APIKey is a merchant's or agency's API key, stored as the SHA-256 of the key.
type APIKey struct {
	ID, Merchant, Hash, Prefix string
	Scopes                     []string
	Test                       bool
	CreatedAt                  time.Time
	RevokedAt                  time.Time // zero while valid
}

// Endpoint is a webhook endpoint.
type Endpoint struct {
	ID, Merchant, URL, Description string
	Events                         []string // empty: every event type
	Secret                         string   // whsec_<base64>
	Enabled                        bool
	CreatedAt                      time.Time
}

// Wants reports whether the endpoint subscribes to an event type.
func (e *Endpoint) Wants(eventType string) bool {
	if !e.Enabled {
		return false
	}
	if len(e.Events) == 0 {
		return true
	}
	for _, t := range e.Events {
		if t == eventType {
			return true
		}
	}
	return false
}

// Outbox states.
const (
	OutboxPending   = "pending"
	OutboxDelivered = "delivered"
	OutboxFailed    = "failed" // retried for the whole retry period without a 2xx
)

// Outbox is one webhook message to one endpoint, written with the change it announces.
type Outbox struct {
	ID, EventID, EndpointID, EventType string
	Payload                            string
	State                              string
	Attempts                           int
	NextAttemptAt, CreatedAt           time.Time
}

// Delivery is one attempt to deliver an outbox message.
type Delivery struct {
	ID, OutboxID, EndpointID, EventID, EventType string
	Attempt, StatusCode                          int
	Error                                        string
	Duration                                     time.Duration
	AttemptedAt, NextAttemptAt                   time.Time
}
