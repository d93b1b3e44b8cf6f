package hsm

import "errors"

// Sentinel errors. Their messages never carry key, PIN or PIN-block material, so they may be
// logged and returned to a caller as they are.
var (
	// ErrKeyParity means a key decrypted from its cryptogram does not have odd parity in every
	// byte: the cryptogram is corrupt or was made under another LMK (payShield error 10/11/12).
	ErrKeyParity = errors.New("key parity error")
	// ErrKCV means a key's check value does not match the key its cryptogram decrypts to.
	ErrKCV = errors.New("key check value mismatch")
	// ErrKeyFormat means a cryptogram is not one of the accepted shapes (16H, Z+16H, U/X+32H,
	// T/Y+48H, or 32H/48H without a scheme letter) or has a non-hex character.
	ErrKeyFormat = errors.New("malformed key cryptogram")
	// ErrKeyType means a key type code is unknown or not allowed for the operation.
	ErrKeyType = errors.New("key type not allowed")
	// ErrKeyLength means a key has the wrong length for the operation (e.g. a single-length CVK).
	ErrKeyLength = errors.New("key length not allowed")
	// ErrPINBlock means a PIN block does not decode in its declared format (bad control field,
	// PIN length outside 4..12, non-decimal PIN digit, or bad padding).
	ErrPINBlock = errors.New("PIN block error")
	// ErrPINFormat means a PIN block format code is unknown or not supported.
	ErrPINFormat = errors.New("PIN block format not supported")
	// ErrMACMismatch means a MAC does not verify.
	ErrMACMismatch = errors.New("MAC verification failed")
	// ErrCVVMismatch means a card verification value does not verify.
	ErrCVVMismatch = errors.New("CVV verification failed")
	// ErrPINMismatch means a PIN does not verify against its PIN verification value.
	ErrPINMismatch = errors.New("PIN verification failed")
	// ErrCryptogramMismatch means an EMV application cryptogram (ARQC/TC/AAC) does not verify.
	ErrCryptogramMismatch = errors.New("application cryptogram verification failed")
	// ErrInvalidInput means a request field is missing or malformed (payShield error 15).
	ErrInvalidInput = errors.New("invalid input")
	// ErrUnavailable means the HSM could not be reached or did not answer in time: a transport
	// failure, not a cryptographic verdict. The operation may be retried.
	ErrUnavailable = errors.New("HSM unavailable")
	// ErrHSM means a remote HSM answered with an error code this package does not map to one of
	// the sentinels above; the wrapping error carries the code.
	ErrHSM = errors.New("HSM error")
)

// FieldError reports which request field an error concerns, e.g. {Field: "destination ZPK",
// Err: ErrKeyParity}. It never carries the field's value.
type FieldError struct {
	Field string // the field's name, e.g. "source TPK"
	Index int    // the key's position in the request: 0 first key, 1 second, 2 third
	Err   error  // one of the sentinels
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// fieldErr wraps err with the field name and key position.
func fieldErr(field string, index int, err error) error {
	return &FieldError{Field: field, Index: index, Err: err}
}
