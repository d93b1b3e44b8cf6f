package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The store-and-forward queue lives in the ledger's database, beside the journal, so that a
// message the switch owes an issuer (a reversal, a completion, an advice) is written in the same
// transaction as the decision that causes it: no answer leaves before its follow-up is durable.
//
// An intent is the same row written before a request goes to an issuer, holding the reversal
// that undoes it. The request's event resolves it in the event's own batch: deleted when the
// ledger holds the issuer's answer, activated (queued for delivery) when the issuer's approval
// must not stand (a timeout, an approval the ledger refused). An intent that nothing resolved
// (the switch crashed, or the database failed at the commit) is activated by the recovery sweep,
// which also journals the request as Recovered: whatever may have reached the issuer without a
// durable outcome is reversed there.

// SAFState is where a store-and-forward item stands.
type SAFState uint8

const (
	// SAFIntent: written before its request went to the issuer; not delivered unless activated.
	SAFIntent SAFState = iota + 1
	// SAFQueued: waiting for delivery (or for its next attempt).
	SAFQueued
	// SAFDelivered: the issuer answered it.
	SAFDelivered
	// SAFParked: older than its maximum age, or parked by an operator: waits for `saf retry`.
	SAFParked
)

func (s SAFState) String() string {
	switch s {
	case SAFIntent:
		return "intent"
	case SAFQueued:
		return "queued"
	case SAFDelivered:
		return "delivered"
	case SAFParked:
		return "parked"
	}
	return fmt.Sprintf("state_%d", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s SAFState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SAFKind says why an item is owed to its issuer.
type SAFKind uint8

const (
	// SAFReversal undoes a request the issuer may hold without a durable outcome here: a timeout,
	// an approval the ledger refused, a request in flight at a crash (the intent's reversal).
	SAFReversal SAFKind = iota + 1
	// SAFCompletion forwards a terminal's completion (0220) of an authorization.
	SAFCompletion
	// SAFTerminalReversal forwards a terminal's reversal (0400/0420) of a transaction.
	SAFTerminalReversal
	// SAFStandInAdvice advises the issuer of an approval the switch gave in its stead (0120/0220).
	SAFStandInAdvice
)

func (k SAFKind) String() string {
	switch k {
	case SAFReversal:
		return "reversal"
	case SAFCompletion:
		return "completion"
	case SAFTerminalReversal:
		return "terminal_reversal"
	case SAFStandInAdvice:
		return "stand_in_advice"
	}
	return fmt.Sprintf("kind_%d", uint8(k))
}

// MarshalText implements encoding.TextMarshaler.
func (k SAFKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// SAFMessage is what an item delivers: the packed ISO 8583 message (acquirer spec) without the
// PAN, and the PAN sealed by the HSM. Nothing else of the card travels in a follow-up.
type SAFMessage struct {
	MTI       string
	RRN       string // the switch's RRN of the transaction it concerns
	MaskedPAN string
	Currency  string // ISO 4217 numeric
	Amount    int64  // minor units
	Packed    []byte // the message, field 2 removed
	PANSealed []byte // field 2 under the HSM's data key; nil when the message has no PAN
}

// FollowUp is a message an event owes its issuer, stored with the event.
type FollowUp struct {
	Issuer  string
	Kind    SAFKind
	When    FollowWhen
	Message SAFMessage
}

// FollowWhen says on which outcome of its event a follow-up is queued.
type FollowWhen uint8

const (
	// FollowAlways: whatever the ledger decides (a timeout's reversal, an unknown original's).
	FollowAlways FollowWhen = iota + 1
	// FollowIfHeld: only when the ledger holds the event (a completion it posted, a stand-in it held).
	FollowIfHeld
)

// Intent is written (Writer.Intend) and durable before a request leaves for its issuer. Key is
// the request's own unique key (the switch's RRN: unique per issuer request), EventID the
// transaction the request decides; Message is the reversal that undoes the request.
type Intent struct {
	Key     string
	EventID string
	Issuer  string
	Node    string // the switch instance sending the request (config node_id)
	Payee   string // the merchant or agency, for the journal row of a recovered request
	Message SAFMessage
}

// IntentRef ties an event to the intent of the issuer request that decided it.
type IntentRef struct {
	Key string
	// Reverse: the issuer's answer is unknown (a timeout, a failed send) or must not stand; the
	// intent's reversal is queued whatever the ledger decides.
	Reverse bool
	// Approved: the issuer approved the request. When the ledger does not hold the approval (it
	// refused the event, or holds an earlier decision of the same transaction), the intent's
	// reversal is queued; otherwise the intent is deleted.
	Approved bool
}

// SAFItem is one stored item, as /v1/saf, `cardswitch saf list` and the delivery loop see it.
type SAFItem struct {
	Seq           int64     `json:"id"`
	Key           string    `json:"key"`
	EventID       string    `json:"transaction_id"`
	Issuer        string    `json:"issuer"`
	Node          string    `json:"node,omitempty"`
	Payee         string    `json:"payee,omitempty"`
	Kind          SAFKind   `json:"kind"`
	State         SAFState  `json:"state"`
	MTI           string    `json:"mti"`
	RRN           string    `json:"rrn"`
	MaskedPAN     string    `json:"masked_pan"`
	Currency      string    `json:"currency"`
	Amount        int64     `json:"amount"`
	Attempts      int       `json:"attempts"`
	CreatedAt     time.Time `json:"created_at"`
	QueuedAt      time.Time `json:"queued_at"` // when it last became due from scratch (ages count from here)
	NextAttemptAt time.Time `json:"next_attempt_at"`
	UpdatedAt     time.Time `json:"updated_at"`
	LastError     string    `json:"last_error,omitempty"`
	ResponseCode  string    `json:"response_code,omitempty"` // the issuer's answer, once delivered
	Packed        []byte    `json:"-"`
	PANSealed     []byte    `json:"-"`
}

// SAFOp is a change of stored items.
type SAFOp uint8

const (
	// SAFActivate queues an intent (by key; an item past the intent state is left alone).
	SAFActivate SAFOp = iota + 1
	// SAFResolve deletes an intent whose request the ledger now holds (by key; intents only).
	SAFResolve
	// SAFFailed records a failed attempt (by seq): attempts, next attempt, last error.
	SAFFailed
	// SAFDeliver marks an item delivered with the issuer's response code (by seq).
	SAFDeliver
	// SAFPark parks a queued item (by seq): too old, or an operator's decision.
	SAFPark
	// SAFRetry queues a parked item again, due now, its age counted from now (by seq).
	SAFRetry
)

// SAFChange is one change; Key or Seq names the item as the op says.
type SAFChange struct {
	Op            SAFOp
	Key           string
	Seq           int64
	At            time.Time // when it happened (updated_at; the activation's queued_at)
	NextAttemptAt time.Time // SAFFailed
	Error         string    // SAFFailed, SAFPark (why)
	ResponseCode  string    // SAFDeliver
}

// SAFStats is the queue's shape per issuer, for metrics and /v1/saf.
type SAFStats struct {
	Issuer       string
	Queued       int
	Parked       int
	Intents      int
	OldestQueued time.Time // zero when none is queued
}

// SAFFilter selects items to list.
type SAFFilter struct {
	Issuer  string
	States  []SAFState // default: queued and parked
	EventID string     // the items of one transaction
	Limit   int        // default and maximum 1000
}

// MaxSAFList bounds the items one listing returns.
const MaxSAFList = 1000

func (k SAFKind) valid() bool { return k >= SAFReversal && k <= SAFStandInAdvice }

func validateSAFMessage(field string, m *SAFMessage) error {
	switch {
	case len(m.Packed) == 0:
		return &EventError{Field: field + ".Packed", Problem: "is empty"}
	case len(m.Packed) > maxSAFMessageLen:
		return &EventError{Field: field + ".Packed", Problem: fmt.Sprintf("longer than %d bytes", maxSAFMessageLen)}
	case len(m.MTI) != 4:
		return &EventError{Field: field + ".MTI", Problem: "must be 4 digits"}
	case len(m.RRN) > maxDecisionLen || len(m.MaskedPAN) > maxDecisionLen:
		return &EventError{Field: field, Problem: "RRN or masked PAN too long"}
	}
	return nil
}

// maxSAFMessageLen bounds a stored message (the acceptor's largest frame is 8 KiB).
const maxSAFMessageLen = 8192

// ValidateIntent checks an intent before it is queued.
func ValidateIntent(in *Intent) error {
	if err := validateID("Key", in.Key); err != nil {
		return err
	}
	if err := validateID("EventID", in.EventID); err != nil {
		return err
	}
	if err := validateNamePart(in.Issuer); err != nil {
		return &EventError{Field: "Issuer", Problem: err.Error()}
	}
	return validateSAFMessage("Message", &in.Message)
}

func validateFollowUps(ev *Event) error {
	for i := range ev.FollowUps {
		f := &ev.FollowUps[i]
		field := fmt.Sprintf("FollowUps[%d]", i)
		if !f.Kind.valid() {
			return &EventError{Field: field + ".Kind", Problem: "unknown"}
		}
		if f.When != FollowAlways && f.When != FollowIfHeld {
			return &EventError{Field: field + ".When", Problem: "unknown"}
		}
		if err := validateNamePart(f.Issuer); err != nil {
			return &EventError{Field: field + ".Issuer", Problem: err.Error()}
		}
		if err := validateSAFMessage(field+".Message", &f.Message); err != nil {
			return err
		}
		for j := range i {
			if ev.FollowUps[j].Kind == f.Kind {
				return &EventError{Field: field + ".Kind", Problem: "twice in one event"}
			}
		}
	}
	if ev.Intent.Key != "" {
		return validateID("Intent.Key", ev.Intent.Key)
	}
	return nil
}

// followUpKey is the stored key of an event's follow-up: one per kind and event, so that a
// retried event cannot queue it twice.
func followUpKey(eventID string, kind SAFKind) string { return eventID + "#" + kind.String() }

// ErrIntentExists: an intent's key is stored already (a request key used twice); the request
// must not be sent.
var ErrIntentExists = errors.New("intent key already stored")

// ErrCommitUnknown: the database connection failed during COMMIT and the writer could not find
// out, within its wait, whether the batch took effect. Callers must treat the event as possibly
// held (it wraps ErrUnavailable).
var ErrCommitUnknown = fmt.Errorf("%w: outcome of the commit unknown", ErrUnavailable)

// ChangeSAFDirect applies changes in a database transaction of its own, outside any Writer: for
// an operator's command run beside the switch (a running switch's delivery loops see the change
// at their next poll).
func ChangeSAFDirect(ctx context.Context, b Backend, changes []SAFChange) error {
	tx, err := b.BeginBatch(ctx, false)
	if err != nil {
		return err
	}
	day, err := tx.BusinessDay(ctx)
	if err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	if err := tx.Write(ctx, &Plan{BusinessDay: day, SAFChanges: changes}); err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	return tx.Commit(ctx)
}
