package paycrypto

import "errors"

// Sentinel errors. Callers map them to protocol error codes with errors.Is;
// their messages never contain key material, PINs, PIN blocks or PANs.
var (
	// ErrKeyLength means a key has a length the algorithm does not accept.
	ErrKeyLength = errors.New("paycrypto: invalid key length")
	// ErrKeyParity means a DES key byte does not have odd parity.
	ErrKeyParity = errors.New("paycrypto: key parity error")
	// ErrDataLength means input data is empty, too long, or not a whole
	// number of cipher blocks where whole blocks are required.
	ErrDataLength = errors.New("paycrypto: invalid data length")
	// ErrHex means a hexadecimal string has an odd length or a non-hex
	// character.
	ErrHex = errors.New("paycrypto: invalid hexadecimal")
	// ErrPINLength means a PIN, or the length field of a PIN block, is not
	// 4 to 12 digits.
	ErrPINLength = errors.New("paycrypto: PIN length must be 4 to 12 digits")
	// ErrPINDigit means a PIN, or the PIN digits of a PIN block, contain a
	// character that is not a decimal digit.
	ErrPINDigit = errors.New("paycrypto: PIN must be decimal digits")
	// ErrPINBlockFormat means the PIN block format is unsupported, the block
	// has the wrong size for its format, or its control field does not match
	// the format.
	ErrPINBlockFormat = errors.New("paycrypto: PIN block format error")
	// ErrPINBlockFill means the fill digits of a PIN block are not those its
	// format prescribes.
	ErrPINBlockFill = errors.New("paycrypto: PIN block fill error")
	// ErrPAN means a PAN is not 8 to 19 decimal digits, or is too short for
	// the operation.
	ErrPAN = errors.New("paycrypto: invalid PAN")
	// ErrRandom means the random source failed.
	ErrRandom = errors.New("paycrypto: random source failed")
	// ErrKSN means a DUKPT key serial number has the wrong length.
	ErrKSN = errors.New("paycrypto: invalid key serial number")
	// ErrKSNCounter means a DUKPT transaction counter is zero or has more
	// one bits than the standard allows.
	ErrKSNCounter = errors.New("paycrypto: invalid DUKPT transaction counter")
	// ErrKSNExhausted means a DUKPT device has used all its transaction
	// counters.
	ErrKSNExhausted = errors.New("paycrypto: DUKPT transaction counter exhausted")
	// ErrKeyUsage means a DUKPT key usage or key type is unknown, or the
	// working key asked for is stronger than the key it derives from.
	ErrKeyUsage = errors.New("paycrypto: invalid DUKPT key usage or type")
	// ErrMACLength means a requested MAC length is outside what the
	// algorithm produces or the standard permits.
	ErrMACLength = errors.New("paycrypto: invalid MAC length")
	// ErrPadding means an unknown ISO/IEC 9797-1 padding method.
	ErrPadding = errors.New("paycrypto: invalid padding method")
	// ErrDecimalizationTable means a decimalization table is not 16 decimal
	// digits.
	ErrDecimalizationTable = errors.New("paycrypto: invalid decimalization table")
	// ErrValidationData means IBM 3624 PIN validation data or its pad
	// character is not hexadecimal or has the wrong length.
	ErrValidationData = errors.New("paycrypto: invalid PIN validation data")
	// ErrCheckLength means an IBM 3624 PIN check length (offset length) is
	// outside 4..PIN length.
	ErrCheckLength = errors.New("paycrypto: invalid PIN check length")
	// ErrOffset means a PIN offset is not decimal digits.
	ErrOffset = errors.New("paycrypto: invalid PIN offset")
	// ErrPVKI means a PIN verification key indicator is not a single digit.
	ErrPVKI = errors.New("paycrypto: invalid PVKI")
	// ErrExpiry means a card expiry date is not 4 decimal digits.
	ErrExpiry = errors.New("paycrypto: invalid expiry date")
	// ErrServiceCode means a service code is not 3 decimal digits.
	ErrServiceCode = errors.New("paycrypto: invalid service code")
	// ErrCardVerificationValue means a CVV or PVV to verify is malformed.
	ErrCardVerificationValue = errors.New("paycrypto: invalid verification value")
	// ErrPSN means a PAN sequence number is not 2 decimal digits.
	ErrPSN = errors.New("paycrypto: invalid PAN sequence number")
	// ErrCryptogram means an EMV cryptogram, response code or diversification
	// value has the wrong length.
	ErrCryptogram = errors.New("paycrypto: invalid cryptogram input")
)
