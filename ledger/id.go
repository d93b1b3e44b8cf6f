package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// TransferID is a transfer's 128-bit idempotency key. The posting rules derive it from the card
// event's identity, so the same event always produces the same ids and a retry can never post twice.
type TransferID [16]byte

// IsZero reports whether the id is unset.
func (id TransferID) IsZero() bool { return id == TransferID{} }

// String returns the id as 32 lower-case hex digits.
func (id TransferID) String() string { return hex.EncodeToString(id[:]) }

// MarshalText implements encoding.TextMarshaler (JSON shows the hex form).
func (id TransferID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *TransferID) UnmarshalText(b []byte) error {
	parsed, err := ParseTransferID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// ParseTransferID parses 32 hex digits.
func ParseTransferID(s string) (TransferID, error) {
	var id TransferID
	if len(s) != 32 {
		return id, fmt.Errorf("transfer id %q: want 32 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("transfer id %q: %w", s, err)
	}
	return id, nil
}

// idDomain separates the ledger's derived ids from any other use of the same hash.
const idDomain = "cardswitch/ledger/transfer/v1"

// DeriveTransferID derives a transfer id from a scope (an event ID, a business day) and the
// transfer's leg within it: the first 128 bits of SHA-256 over the domain, the scope and the leg,
// each NUL-terminated so that no two (scope, leg) pairs share an input.
func DeriveTransferID(scope, leg string) TransferID {
	h := sha256.New()
	buf := make([]byte, 0, len(idDomain)+len(scope)+len(leg)+3)
	buf = append(buf, idDomain...)
	buf = append(buf, 0)
	buf = append(buf, scope...)
	buf = append(buf, 0)
	buf = append(buf, leg...)
	buf = append(buf, 0)
	h.Write(buf)
	var sum [sha256.Size]byte
	var id TransferID
	copy(id[:], h.Sum(sum[:0]))
	return id
}
