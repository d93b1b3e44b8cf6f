// Package page is the hosted payment page of CONTRACT §12: the card form a payer reaches from a
// payment's links.next_url (GET /pay/{token}) or a bill's control number
// (GET /pay/bill/{agency}/{reference}), served by the switch itself on the API listener. It is
// server-rendered html/template (embedded), in English or French, with its style inline under a
// hash in a strict Content-Security-Policy, no third-party code, an anti-forgery token on the
// form, and a small same-origin script that only checks what the server checks again: the page
// works with JavaScript off, by keyboard and with a screen reader. It decides nothing about money:
// the payments service (Backend) authorises through the engine and the ledger like every payment.
package page

import (
	"context"
	"errors"
	"time"
)

// Backend is what the page needs of the payments service.
type Backend interface {
	// Session is the payment a page token opens (ErrNotFound for a token that never existed or
	// was tampered with).
	Session(ctx context.Context, token string) (*Session, error)
	// BillSession is an agency's bill, by its control number.
	BillSession(ctx context.Context, agency, reference string) (*Session, error)
	// BillAgencies lists the agencies that have a bill with this control number.
	BillAgencies(ctx context.Context, reference string) ([]AgencyLink, error)
	// Pay authorises the payment of a page token with a card.
	Pay(ctx context.Context, token string, card Card) (*Result, error)
	// PayBill starts a payment of a bill and authorises it with a card; a declined first attempt
	// leaves a payment whose token (Result.Token) the payer goes on with.
	PayBill(ctx context.Context, agency, reference string, card Card) (*Result, error)
	// Receipt is the receipt of a page token's succeeded payment (ErrNotFound otherwise).
	Receipt(ctx context.Context, token string) (*Receipt, error)
}

// Refusals a Backend returns; anything else is a system error (the page says so, nothing is
// charged).
var (
	ErrNotFound    = errors.New("page: no such payment or bill")
	ErrAlreadyPaid = errors.New("page: the bill is already paid")
	ErrInProgress  = errors.New("page: a payment of the bill is being authorised")
	ErrClosed      = errors.New("page: the payment or bill can no longer be paid")
	ErrBusy        = errors.New("page: the payment is being processed")
)

// State is where a page's payment or bill stands.
type State int

const (
	// Payable: the form is shown.
	Payable State = iota + 1
	// Paid: the payment succeeded, or the bill was paid.
	Paid
	// Declined: the payer's attempts are used up (declined or failed).
	Declined
	// Expired: the token or the bill expired.
	Expired
	// Cancelled: the merchant or agency cancelled it.
	Cancelled
)

// Session is what a page shows: who is paid, for what, how much.
type Session struct {
	State         State
	MerchantName  string
	Agency        bool
	Description   string
	Reference     string // the merchant's reference, or the bill's control number
	BillReference string // a bill's control number ("" for other payments)
	PayerName     string
	Items         []Item
	Amount, Fee   int64 // minor units; the payer pays Amount+Fee
	Currency      string
	Exponent      int32
	ReturnURL     string
	Language      string // the merchant's or bill's language ("": the browser's)
	AttemptsLeft  int
	LastCode      string // the response code of the last declined attempt on this page
	PaymentID     string
	ExpiresAt     time.Time
}

// Total is what the payer pays.
func (s *Session) Total() int64 { return s.Amount + s.Fee }

// Item is a bill's line.
type Item struct {
	RevenueCode, Description string
	Amount                   int64
}

// AgencyLink is an agency holding a bill with a control number.
type AgencyLink struct {
	ID, Name string
}

// Card is what the payer typed, checked by the page (Luhn, expiry); never kept by the page.
type Card struct {
	Number                  string
	ExpiryMonth, ExpiryYear int
	CVC                     string
	HolderName              string
}

// Outcome is what became of an authorisation.
type Outcome int

const (
	// Succeeded: paid; the payer goes to the return URL (or the receipt).
	Succeeded Outcome = iota + 1
	// Retry: declined or failed, and the payer may try another card.
	Retry
	// Final: declined or failed, and no attempt is left.
	Final
)

// Result is the outcome of Pay or PayBill.
type Result struct {
	Outcome      Outcome
	Code         string // the ISO 8583 response code
	PaymentID    string
	Token        string // PayBill: the page token of the payment it started
	ReturnURL    string
	AttemptsLeft int
}

// Receipt is a succeeded payment's receipt.
type Receipt struct {
	Number, PaymentID string
	MerchantName      string
	Agency            bool
	Reference         string
	BillReference     string
	Description       string
	PayerName         string
	Items             []Item
	Amount, Fee       int64
	Refunded          int64
	Currency          string
	Exponent          int32
	Card              string // masked 6+4
	CardExpiry        string // MM/YYYY
	AuthorizationCode string
	RRN               string
	PaidAt            time.Time
	Language          string
	ReturnURL         string
}

// Total is what the payer paid.
func (r *Receipt) Total() int64 { return r.Amount + r.Fee }
