package paycrypto

import (
	"crypto/subtle"
	"fmt"
)

// PIN verification without storing PINs: the Visa PIN verification value
// (PVV) and the IBM 3624 PIN offset, as described in the IBM CCA Basic
// Services reference, appendix E ("VISA PIN Validation Value", "IBM 3624
// PIN Offset").

// PVVSize is the number of digits of a Visa PVV.
const PVVSize = 4

// VisaPVV returns the 4-digit PVV of a PIN: the transformed security
// parameter (TSP) — the 11 rightmost PAN digits excluding the check digit,
// the PIN verification key indicator pvki (one digit, selecting the PVK
// pair), and the 4 leftmost PIN digits — is TDES-enciphered under the
// PVK and decimalized.
func VisaPVV(pvk []byte, pan string, pvki int, pin []byte) (string, error) {
	if len(pvk) != TDESDoubleKeySize && len(pvk) != TDESTripleKeySize {
		return "", fmt.Errorf("%w: PVK of %d bytes, want 16 or 24", ErrKeyLength, len(pvk))
	}
	if err := checkPAN(pan); err != nil {
		return "", err
	}
	if len(pan) < 12 {
		return "", fmt.Errorf("%w: PVV needs 11 digits besides the check digit", ErrPAN)
	}
	if pvki < 0 || pvki > 9 {
		return "", fmt.Errorf("%w: want one digit", ErrPVKI)
	}
	if err := checkPIN(pin); err != nil {
		return "", err
	}
	var tsp [16]byte
	copy(tsp[:11], pan[len(pan)-12:len(pan)-1])
	tsp[11] = byte('0' + pvki)
	copy(tsp[12:], pin[:4])
	var block [8]byte
	packNibbles(block[:], string(tsp[:]))
	clear(tsp[:])
	pvv, err := pvvFromTSP(pvk, block[:])
	clear(block[:])
	return pvv, err
}

// pvvFromTSP enciphers a packed TSP and decimalizes it.
func pvvFromTSP(pvk, tsp []byte) (string, error) {
	b, err := newTDES(pvk)
	if err != nil {
		return "", err
	}
	var block [8]byte
	b.Encrypt(block[:], tsp)
	d := decimalizeScan(block[:])
	return string(d[:PVVSize]), nil
}

// VerifyVisaPVV reports whether pvv is the PVV of pin, comparing in
// constant time.
func VerifyVisaPVV(pvk []byte, pan string, pvki int, pin []byte, pvv string) (bool, error) {
	if len(pvv) != PVVSize || !isDigits(pvv) {
		return false, fmt.Errorf("%w: PVV must be %d digits", ErrCardVerificationValue, PVVSize)
	}
	want, err := VisaPVV(pvk, pan, pvki, pin)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(pvv)) == 1, nil
}

// IBM3624 holds the issuer parameters of the IBM 3624 PIN method.
type IBM3624 struct {
	// DecimalizationTable maps each hex digit 0..F of the enciphered
	// validation data to a decimal digit: 16 decimal digits, commonly
	// "0123456789012345".
	DecimalizationTable string
	// ValidationData is 1 to 16 hex digits of account data, usually PAN
	// digits, right-padded with Pad to 16 digits.
	ValidationData string
	// Pad is the hex digit that pads ValidationData (e.g. 'F').
	Pad byte
}

// naturalPIN enciphers the padded validation data under the PVK and
// decimalizes all 16 digits with the table (the "intermediate PIN").
func (p IBM3624) naturalPIN(pvk []byte) ([16]byte, error) {
	var out [16]byte
	t := p.DecimalizationTable
	if len(t) != 16 || !isDigits(t) {
		return out, fmt.Errorf("%w: want 16 decimal digits", ErrDecimalizationTable)
	}
	if len(p.ValidationData) < 1 || len(p.ValidationData) > 16 {
		return out, fmt.Errorf("%w: %d digits, want 1 to 16", ErrValidationData, len(p.ValidationData))
	}
	if _, ok := hexNibble(p.Pad); !ok {
		return out, fmt.Errorf("%w: pad character is not hex", ErrValidationData)
	}
	var vd [16]byte
	n := copy(vd[:], p.ValidationData)
	for i := range vd[:n] {
		if _, ok := hexNibble(vd[i]); !ok {
			return out, fmt.Errorf("%w: non-hex digit at position %d", ErrValidationData, i+1)
		}
	}
	for i := n; i < 16; i++ {
		vd[i] = p.Pad
	}
	b, err := newTDES(pvk)
	if err != nil {
		return out, err
	}
	var block [8]byte
	packNibbles(block[:], string(vd[:]))
	b.Encrypt(block[:], block[:])
	return decimalizeTable(block[:], t), nil
}

// decimalizeTable maps each hex digit of a 64-bit block through a 16-digit
// decimalization table.
func decimalizeTable(block []byte, table string) [16]byte {
	var out [16]byte
	for i := range out {
		out[i] = table[nibble(block, i)]
	}
	return out
}

func checkCheckLength(checkLen, pinLen int) error {
	if checkLen < PINLengthMin || checkLen > pinLen {
		return fmt.Errorf("%w: %d for a %d-digit PIN", ErrCheckLength, checkLen, pinLen)
	}
	return nil
}

// Offset returns the IBM 3624 PIN offset of a customer-selected PIN: the
// digit-wise difference modulo 10 of the PIN and the natural PIN of the same
// length, of which the rightmost checkLen digits are kept. pvk is a
// single-, double- or triple-length DES key.
func (p IBM3624) Offset(pvk []byte, pin []byte, checkLen int) (string, error) {
	if err := checkPIN(pin); err != nil {
		return "", err
	}
	if err := checkCheckLength(checkLen, len(pin)); err != nil {
		return "", err
	}
	nat, err := p.naturalPIN(pvk)
	if err != nil {
		return "", err
	}
	defer clear(nat[:])
	offset := make([]byte, checkLen)
	start := len(pin) - checkLen
	for i := range offset {
		offset[i] = '0' + (pin[start+i]-nat[start+i]+10)%10
	}
	return string(offset), nil
}

// Verify reports whether pin matches the natural PIN plus offset on the
// rightmost len(offset) digits (the PIN check length). The comparison is
// constant time.
func (p IBM3624) Verify(pvk []byte, pin []byte, offset string) (bool, error) {
	if err := checkPIN(pin); err != nil {
		return false, err
	}
	if !isDigits(offset) {
		return false, fmt.Errorf("%w: want decimal digits", ErrOffset)
	}
	if err := checkCheckLength(len(offset), len(pin)); err != nil {
		return false, err
	}
	nat, err := p.naturalPIN(pvk)
	if err != nil {
		return false, err
	}
	defer clear(nat[:])
	start := len(pin) - len(offset)
	want := make([]byte, len(offset))
	defer clear(want)
	for i := range want {
		want[i] = '0' + (nat[start+i]-'0'+offset[i]-'0')%10
	}
	return subtle.ConstantTimeCompare(want, pin[start:]) == 1, nil
}

// NaturalPIN returns the leftmost pinLen digits of the natural (intermediate)
// PIN, the PIN the issuer assigns when the customer does not choose one.
func (p IBM3624) NaturalPIN(pvk []byte, pinLen int) ([]byte, error) {
	if pinLen < PINLengthMin || pinLen > PINLengthMax {
		return nil, fmt.Errorf("%w: got %d", ErrPINLength, pinLen)
	}
	nat, err := p.naturalPIN(pvk)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), nat[:pinLen]...)
	clear(nat[:])
	return out, nil
}
