package engine

import (
	"context"
	"errors"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// Router picks the issuer for a PAN; an error means no route (response code 15).
type Router interface {
	Route(pan string) (issuer string, err error)
}

// IssuerLink sends one request to an issuer host and waits for its answer. Errors wrap
// ErrIssuerUnavailable, ErrIssuerBusy or ErrIssuerTimeout.
type IssuerLink interface {
	Send(ctx context.Context, req *iso8583.Message) (*iso8583.Message, error)
}

// Issuer link errors, as the engine understands them (the wiring maps a transport's errors).
var (
	// ErrIssuerUnavailable: no connection to the issuer is up (stand-in or 91).
	ErrIssuerUnavailable = errors.New("issuer unavailable")
	// ErrIssuerBusy: every connection to the issuer is at its in-flight limit (stand-in or 91).
	ErrIssuerBusy = errors.New("issuer links at their in-flight limit")
	// ErrIssuerTimeout: the issuer did not answer in time (91).
	ErrIssuerTimeout = errors.New("issuer timed out")
)

// Ledger holds every decision and money movement. Commit returns only once the event (with its
// follow-ups and its intent's resolution) is durable; Intend once the intent is.
type Ledger interface {
	Intend(ctx context.Context, in ledger.Intent) error
	Commit(ctx context.Context, ev ledger.Event) (ledger.Outcome, error)
	Transaction(ctx context.Context, id string) (*ledger.Transaction, error)
	ByTerminalRRN(ctx context.Context, terminal, rrn string) (*ledger.Transaction, error)
	LatestByTerminalSTAN(ctx context.Context, terminal, stan string) (*ledger.Transaction, error)
}

// HSM is the part of the hardware security module the engine uses.
type HSM interface {
	TranslatePIN(ctx context.Context, req hsm.TranslatePINRequest) ([]byte, error)
	VerifyMAC(ctx context.Context, key hsm.Key, alg hsm.MACAlgorithm, data, mac []byte) error
	VerifyARQC(ctx context.Context, req hsm.ARQCRequest) (arpc []byte, err error)
}

// Protector seals the PANs the switch keeps (hsm.DataProtector) and hashes cards for look-ups.
type Protector interface {
	Seal(plain string) ([]byte, error)
	Hash(plain string) string
}
