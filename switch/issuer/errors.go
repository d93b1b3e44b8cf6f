package issuer

import (
	"errors"
	"fmt"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Errors of Send. Only ErrTimeout means that the request may have reached the issuer.
var (
	// ErrUnavailable means that no connection to the issuer is signed on (also before Run and
	// after it returns): the request was not sent.
	ErrUnavailable = errors.New("issuer unavailable")
	// ErrCircuitOpen means that the circuit breaker of every endpoint that has a connection in
	// service is open (or half-open with its probe out): the request was not sent. It wraps
	// ErrUnavailable, so that a caller that stands in or answers 91 for one does for the other.
	ErrCircuitOpen = fmt.Errorf("circuit open: %w", ErrUnavailable)
	// ErrBusy means that every signed-on connection is at its in-flight limit: the request was not
	// sent.
	ErrBusy = errors.New("issuer link at its in-flight limit")
	// ErrTimeout means that the request was sent (or may have been) and no answer came in time, so
	// the outcome at the issuer is unknown. Errors wrapping it are *TimeoutError.
	ErrTimeout = errors.New("issuer did not answer in time")
)

// TimeoutError is a request whose outcome at the issuer is unknown: it timed out, or its
// connection was lost while it was in flight. Sent identifies the request as the issuer saw it
// (link STAN, field 7, acquirer ID), which is what a reversal's field 90 must carry.
type TimeoutError struct {
	Issuer string
	Sent   iso8583.OriginalData
	Reason string // "no answer", "connection lost" or "unreadable answer"
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("issuer %s: request %s stan %s: %s: %v", e.Issuer, e.Sent.MTI, e.Sent.STAN, e.Reason, ErrTimeout)
}

func (e *TimeoutError) Unwrap() error { return ErrTimeout }
