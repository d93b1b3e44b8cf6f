package paycrypto

import (
	"crypto/subtle"
	"fmt"
)

// Visa card verification values (Visa Payment Technology Standards Manual,
// "Card Verification Value"; the same algorithm is Mastercard's CVC): CVV on
// the magnetic stripe, CVV2 printed on the card (service code 000) and iCVV
// in the chip's track 2 equivalent data (service code 999).

// CVVSize is the number of digits of a CVV, CVV2 or iCVV.
const CVVSize = 3

// Service codes that turn the CVV algorithm into CVV2 and iCVV.
const (
	ServiceCodeCVV2 = "000"
	ServiceCodeICVV = "999"
)

// CVV returns the 3-digit card verification value of pan, expiry (YYMM, as
// on the magnetic stripe) and serviceCode under the double-length card
// verification key CVK A || CVK B.
func CVV(cvk []byte, pan, expiry, serviceCode string) (string, error) {
	v, err := cvvDigits(cvk, pan, expiry, serviceCode)
	if err != nil {
		return "", err
	}
	return string(v[:CVVSize]), nil
}

// CVV2 is the CVV with service code 000.
func CVV2(cvk []byte, pan, expiry string) (string, error) {
	return CVV(cvk, pan, expiry, ServiceCodeCVV2)
}

// ICVV is the CVV with service code 999.
func ICVV(cvk []byte, pan, expiry string) (string, error) {
	return CVV(cvk, pan, expiry, ServiceCodeICVV)
}

// VerifyCVV reports whether cvv is the value of pan, expiry and
// serviceCode, comparing in constant time.
func VerifyCVV(cvk []byte, pan, expiry, serviceCode, cvv string) (bool, error) {
	if len(cvv) != CVVSize || !isDigits(cvv) {
		return false, fmt.Errorf("%w: CVV must be %d digits", ErrCardVerificationValue, CVVSize)
	}
	want, err := CVV(cvk, pan, expiry, serviceCode)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(cvv)) == 1, nil
}

// cvvDigits runs the CVV algorithm and returns the decimalized result
// (16 digits): the data PAN||expiry||service code, right-padded with zeros
// to 32 digits, is split into two blocks; block 1 is enciphered under
// CVK A, XORed with block 2, and the result triple-enciphered under
// A, B (encrypt A, decrypt B, encrypt A).
func cvvDigits(cvk []byte, pan, expiry, serviceCode string) ([16]byte, error) {
	var out [16]byte
	if len(cvk) != TDESDoubleKeySize {
		return out, fmt.Errorf("%w: CVK of %d bytes, want 16 (CVK A || CVK B)", ErrKeyLength, len(cvk))
	}
	if err := checkPAN(pan); err != nil {
		return out, err
	}
	if len(expiry) != 4 || !isDigits(expiry) {
		return out, fmt.Errorf("%w: want 4 digits YYMM", ErrExpiry)
	}
	if len(serviceCode) != 3 || !isDigits(serviceCode) {
		return out, fmt.Errorf("%w: want 3 digits", ErrServiceCode)
	}
	var digits [32]byte
	for i := range digits {
		digits[i] = '0'
	}
	n := copy(digits[:], pan)
	n += copy(digits[n:], expiry)
	copy(digits[n:], serviceCode)
	var data [16]byte
	packNibbles(data[:], string(digits[:]))
	keyA, err := newDES(cvk[:8])
	if err != nil {
		return out, err
	}
	ab, err := newTDES(cvk)
	if err != nil {
		return out, err
	}
	var block [8]byte
	keyA.Encrypt(block[:], data[:8])
	xorInto(block[:], block[:], data[8:])
	ab.Encrypt(block[:], block[:])
	return decimalizeScan(block[:]), nil
}

// decimalizeScan is the Visa decimalization of a 64-bit result: its decimal
// digits left to right, then its digits A..F left to right with 10
// subtracted. CVV takes the first 3 digits, PVV the first 4.
func decimalizeScan(block []byte) [16]byte {
	var out [16]byte
	n := 0
	for i := 0; i < 16; i++ {
		if v := nibble(block, i); v <= 9 {
			out[n] = '0' + v
			n++
		}
	}
	for i := 0; i < 16; i++ {
		if v := nibble(block, i); v > 9 {
			out[n] = '0' + v - 10
			n++
		}
	}
	return out
}
