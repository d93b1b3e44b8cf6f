package paycrypto

import (
	"fmt"
	"io"
)

// PIN blocks of ISO 9564-1:2017: formats 0, 1 and 3 (8 bytes, enciphered
// with TDES) and format 4 (16 bytes, enciphered with AES).

// PINBlockFormat is an ISO 9564-1 PIN block format number.
type PINBlockFormat uint8

// Supported formats. Format 2 (ICC offline PIN only) is not used by a switch.
const (
	ISOFormat0 PINBlockFormat = 0 // PIN XOR PAN, fill F (ANSI X9.8, VISA-1)
	ISOFormat1 PINBlockFormat = 1 // PIN with random fill, no PAN
	ISOFormat3 PINBlockFormat = 3 // PIN XOR PAN, random fill A-F
	ISOFormat4 PINBlockFormat = 4 // AES, PIN field and PAN field chained
)

// PIN length limits of ISO 9564-1.
const (
	PINLengthMin = 4
	PINLengthMax = 12
)

// PAN length limits of ISO/IEC 7812-1.
const (
	PANLengthMin = 8
	PANLengthMax = 19
)

// fillRandomAttemptsMax bounds the rejection sampling of format 3 fill
// digits, so a broken random source cannot make encoding loop forever.
const fillRandomAttemptsMax = 8

func (f PINBlockFormat) String() string {
	return fmt.Sprintf("ISO-%d", uint8(f))
}

// BlockSize is the size in bytes of the enciphered PIN block of format f,
// or 0 for an unsupported format.
func (f PINBlockFormat) BlockSize() int {
	switch f {
	case ISOFormat0, ISOFormat1, ISOFormat3:
		return DESBlockSize
	case ISOFormat4:
		return AESBlockSize
	}
	return 0
}

// usesPAN reports whether the format binds the block to the PAN.
func (f PINBlockFormat) usesPAN() bool {
	return f == ISOFormat0 || f == ISOFormat3 || f == ISOFormat4
}

func checkFormat(f PINBlockFormat) error {
	if f.BlockSize() == 0 {
		return fmt.Errorf("%w: unsupported format %d", ErrPINBlockFormat, uint8(f))
	}
	return nil
}

func checkPIN(pin []byte) error {
	if len(pin) < PINLengthMin || len(pin) > PINLengthMax {
		return fmt.Errorf("%w: got %d", ErrPINLength, len(pin))
	}
	if !isDigitBytes(pin) {
		return ErrPINDigit
	}
	return nil
}

func checkPAN(pan string) error {
	if len(pan) < PANLengthMin || len(pan) > PANLengthMax || !isDigits(pan) {
		return fmt.Errorf("%w: want %d to %d decimal digits", ErrPAN, PANLengthMin, PANLengthMax)
	}
	return nil
}

// AccountNumberSize is the length of the account number field of host
// commands such as payShield's: the 12 rightmost PAN digits excluding the
// check digit.
const AccountNumberSize = 12

// PANFromAccountNumber turns a 12-digit account number field into a
// stand-in PAN (the account number and a zero check digit) whose ISO format
// 0/3 PAN field and Visa PVV digits are those of the real PAN. It must not
// be used for format 4, CVV or EMV, which need the whole PAN.
func PANFromAccountNumber(account string) (string, error) {
	if len(account) != AccountNumberSize || !isDigits(account) {
		return "", fmt.Errorf("%w: account number must be %d digits", ErrPAN, AccountNumberSize)
	}
	return account + "0", nil
}

// panField0 is the PAN field of formats 0 and 3: four zero digits and the
// 12 rightmost PAN digits excluding the check digit (left-padded with zeros
// for a shorter PAN).
func panField0(pan string) [8]byte {
	var digits [16]byte
	for i := range digits {
		digits[i] = '0'
	}
	body := pan[:len(pan)-1]
	if len(body) > 12 {
		body = body[len(body)-12:]
	}
	copy(digits[16-len(body):], body)
	var out [8]byte
	packNibbles(out[:], string(digits[:]))
	return out
}

// panField4 is the PAN field of format 4: a digit M = PAN length - 12 (0 for
// PANs of 12 digits or fewer, which are right-justified in 12 digits), the
// PAN, then zeros.
func panField4(pan string) [16]byte {
	var digits [32]byte
	for i := range digits {
		digits[i] = '0'
	}
	if len(pan) > 12 {
		digits[0] = byte('0' + len(pan) - 12)
		copy(digits[1:], pan)
	} else {
		copy(digits[1+12-len(pan):], pan)
	}
	var out [16]byte
	packNibbles(out[:], string(digits[:]))
	return out
}

// EncodePINBlock builds the clear PIN block of format f. For formats 0, 1
// and 3 that is the 8-byte block (PIN field XOR PAN field for 0 and 3); for
// format 4 it is the 16-byte plain-text PIN field, which EncryptPINBlock
// chains with the PAN field. pin is ASCII digits; pan is the full PAN with
// its check digit (ignored for format 1). Random fill is read from rnd.
func EncodePINBlock(f PINBlockFormat, pin []byte, pan string, rnd io.Reader) ([]byte, error) {
	if err := checkFormat(f); err != nil {
		return nil, err
	}
	if err := checkPIN(pin); err != nil {
		return nil, err
	}
	if f.usesPAN() {
		if err := checkPAN(pan); err != nil {
			return nil, err
		}
	}
	field := make([]byte, f.BlockSize())
	setNibble(field, 0, byte(f))
	setNibble(field, 1, byte(len(pin)))
	for i, c := range pin {
		setNibble(field, 2+i, c-'0')
	}
	if err := fillPINField(f, field, 2+len(pin), rnd); err != nil {
		clear(field)
		return nil, err
	}
	if f == ISOFormat0 || f == ISOFormat3 {
		pf := panField0(pan)
		xorInto(field, field, pf[:])
	}
	return field, nil
}

// fillPINField writes the fill digits from nibble position from to the end
// of the PIN field, and for format 4 the 8 random bytes after it.
func fillPINField(f PINBlockFormat, field []byte, from int, rnd io.Reader) error {
	switch f {
	case ISOFormat0:
		for i := from; i < 16; i++ {
			setNibble(field, i, 0xF)
		}
	case ISOFormat1:
		var r [8]byte
		if err := readRandom(rnd, r[:]); err != nil {
			return err
		}
		for i := from; i < 16; i++ {
			setNibble(field, i, nibble(r[:], i))
		}
		clear(r[:])
	case ISOFormat3:
		return fillFormat3(field, from, rnd)
	case ISOFormat4:
		for i := from; i < 16; i++ {
			setNibble(field, i, 0xA)
		}
		if err := readRandom(rnd, field[8:]); err != nil {
			return err
		}
	}
	return nil
}

// fillFormat3 draws fill digits uniformly from A..F by rejection sampling:
// nibbles 0..11 map two-to-one onto the six values, 12..15 are discarded.
func fillFormat3(field []byte, from int, rnd io.Reader) error {
	var r [8]byte
	defer clear(r[:])
	pos := from
	for attempt := 0; attempt < fillRandomAttemptsMax && pos < 16; attempt++ {
		if err := readRandom(rnd, r[:]); err != nil {
			return err
		}
		for i := 0; i < 16 && pos < 16; i++ {
			if v := nibble(r[:], i); v < 12 {
				setNibble(field, pos, 0xA+v%6)
				pos++
			}
		}
	}
	if pos < 16 {
		return fmt.Errorf("%w: too few usable random digits", ErrRandom)
	}
	return nil
}

func readRandom(rnd io.Reader, b []byte) error {
	if rnd == nil {
		return fmt.Errorf("%w: no random source", ErrRandom)
	}
	if _, err := io.ReadFull(rnd, b); err != nil {
		return fmt.Errorf("%w: %w", ErrRandom, err)
	}
	return nil
}

// DecodePINBlock validates a clear PIN block of format f (for format 4, the
// plain-text PIN field) and returns the PIN as ASCII digits. It checks the
// control field, the PIN length (4..12), that the PIN digits are decimal and
// that the fill digits are those the format prescribes. pan is the full PAN
// for formats 0 and 3 and is ignored otherwise. The caller should clear the
// returned PIN when done.
func DecodePINBlock(f PINBlockFormat, block []byte, pan string) ([]byte, error) {
	if err := checkFormat(f); err != nil {
		return nil, err
	}
	if len(block) != f.BlockSize() {
		return nil, fmt.Errorf("%w: %s block of %d bytes, want %d", ErrPINBlockFormat, f, len(block), f.BlockSize())
	}
	field := make([]byte, len(block))
	defer clear(field)
	copy(field, block)
	if f == ISOFormat0 || f == ISOFormat3 {
		if err := checkPAN(pan); err != nil {
			return nil, err
		}
		pf := panField0(pan)
		xorInto(field, field, pf[:])
	}
	if nibble(field, 0) != byte(f) {
		return nil, fmt.Errorf("%w: control field does not match %s", ErrPINBlockFormat, f)
	}
	n := int(nibble(field, 1))
	if n < PINLengthMin || n > PINLengthMax {
		return nil, fmt.Errorf("%w: length field out of range", ErrPINLength)
	}
	pin := make([]byte, n)
	for i := range pin {
		d := nibble(field, 2+i)
		if d > 9 {
			clear(pin)
			return nil, fmt.Errorf("%w: PIN block digit %d", ErrPINDigit, i+1)
		}
		pin[i] = '0' + d
	}
	if err := checkFill(f, field, 2+n); err != nil {
		clear(pin)
		return nil, err
	}
	return pin, nil
}

func checkFill(f PINBlockFormat, field []byte, from int) error {
	for i := from; i < 16; i++ {
		v := nibble(field, i)
		var ok bool
		switch f {
		case ISOFormat0:
			ok = v == 0xF
		case ISOFormat1:
			ok = true
		case ISOFormat3:
			ok = v >= 0xA
		case ISOFormat4:
			ok = v == 0xA
		}
		if !ok {
			return fmt.Errorf("%w: %s fill digit at position %d", ErrPINBlockFill, f, i+1)
		}
	}
	return nil
}

// EncryptPINBlock enciphers a clear PIN block: TDES ECB under a single-,
// double- or triple-length key for formats 0, 1 and 3; for format 4 the
// ISO 9564-1 chain E(K, E(K, PIN field) XOR PAN field) under an AES key.
func EncryptPINBlock(f PINBlockFormat, key, clearBlock []byte, pan string) ([]byte, error) {
	if err := checkFormat(f); err != nil {
		return nil, err
	}
	if len(clearBlock) != f.BlockSize() {
		return nil, fmt.Errorf("%w: %s block of %d bytes, want %d", ErrPINBlockFormat, f, len(clearBlock), f.BlockSize())
	}
	if f != ISOFormat4 {
		return TDESEncryptECB(key, clearBlock)
	}
	b, err := newAES(key)
	if err != nil {
		return nil, err
	}
	if err := checkPAN(pan); err != nil {
		return nil, err
	}
	pf := panField4(pan)
	out := make([]byte, AESBlockSize)
	b.Encrypt(out, clearBlock)
	xorInto(out, out, pf[:])
	b.Encrypt(out, out)
	return out, nil
}

// DecryptPINBlock is the inverse of EncryptPINBlock; it returns the clear
// PIN block (format 4: the plain-text PIN field) without validating it.
func DecryptPINBlock(f PINBlockFormat, key, encBlock []byte, pan string) ([]byte, error) {
	if err := checkFormat(f); err != nil {
		return nil, err
	}
	if len(encBlock) != f.BlockSize() {
		return nil, fmt.Errorf("%w: %s block of %d bytes, want %d", ErrPINBlockFormat, f, len(encBlock), f.BlockSize())
	}
	if f != ISOFormat4 {
		return TDESDecryptECB(key, encBlock)
	}
	b, err := newAES(key)
	if err != nil {
		return nil, err
	}
	if err := checkPAN(pan); err != nil {
		return nil, err
	}
	pf := panField4(pan)
	out := make([]byte, AESBlockSize)
	b.Decrypt(out, encBlock)
	xorInto(out, out, pf[:])
	b.Decrypt(out, out)
	return out, nil
}

// PINBlockKey says how a PIN block is enciphered: its format, the key, and
// the PAN it is bound to (formats 0, 3 and 4).
type PINBlockKey struct {
	Format PINBlockFormat
	Key    []byte
	PAN    string
}

// DecryptPIN deciphers and validates a PIN block and returns the PIN. The
// caller should clear the returned PIN when done.
func DecryptPIN(src PINBlockKey, encBlock []byte) ([]byte, error) {
	clearBlock, err := DecryptPINBlock(src.Format, src.Key, encBlock, src.PAN)
	if err != nil {
		return nil, err
	}
	defer clear(clearBlock)
	return DecodePINBlock(src.Format, clearBlock, src.PAN)
}

// EncryptPIN builds the PIN block for pin and enciphers it.
func EncryptPIN(dst PINBlockKey, pin []byte, rnd io.Reader) ([]byte, error) {
	clearBlock, err := EncodePINBlock(dst.Format, pin, dst.PAN, rnd)
	if err != nil {
		return nil, err
	}
	defer clear(clearBlock)
	return EncryptPINBlock(dst.Format, dst.Key, clearBlock, dst.PAN)
}

// TranslatePINBlock re-enciphers a PIN block from one key and format to
// another (the HSM's "translate PIN from ZPK to ZPK" operation). The clear
// PIN exists only inside this call and is cleared before it returns.
func TranslatePINBlock(src, dst PINBlockKey, encBlock []byte, rnd io.Reader) ([]byte, error) {
	pin, err := DecryptPIN(src, encBlock)
	if err != nil {
		return nil, fmt.Errorf("source PIN block: %w", err)
	}
	defer clear(pin)
	out, err := EncryptPIN(dst, pin, rnd)
	if err != nil {
		return nil, fmt.Errorf("destination PIN block: %w", err)
	}
	return out, nil
}
