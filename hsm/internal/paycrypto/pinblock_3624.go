package paycrypto

import "fmt"

// The IBM 3624 PIN block (payShield format code 03, also called the Diebold format): the PIN
// digits, then the pad character up to 16 digits. It carries no control field and no PAN, so it
// is only as good as the pad character lets a decoder find the PIN's end. IBM's CCA reference
// ("3624 PIN block format") defines it; payShield uses F as the pad character by default.

// PIN3624Pad is the pad character payShield and most hosts use in 3624 PIN blocks.
const PIN3624Pad byte = 0xF

// Encode3624PINBlock builds the clear 8-byte 3624 PIN block: the PIN digits (ASCII, 4 to 12 of
// them), then pad (a hex digit that is not a decimal digit) to 16 digits.
func Encode3624PINBlock(pin []byte, pad byte) ([]byte, error) {
	if err := checkPIN(pin); err != nil {
		return nil, err
	}
	if pad < 0xA || pad > 0xF {
		return nil, fmt.Errorf("%w: 3624 pad must be A to F", ErrPINBlockFill)
	}
	block := make([]byte, DESBlockSize)
	for i := range 16 {
		setNibble(block, i, pad)
	}
	for i, c := range pin {
		setNibble(block, i, c-'0')
	}
	return block, nil
}

// Decode3624PINBlock returns the PIN (ASCII digits) of a clear 3624 PIN block: the decimal
// digits before the first pad digit, every digit after which must be pad.
func Decode3624PINBlock(block []byte, pad byte) ([]byte, error) {
	if len(block) != DESBlockSize {
		return nil, fmt.Errorf("%w: 3624 block of %d bytes, want 8", ErrPINBlockFormat, len(block))
	}
	n := 0
	for n < 16 && nibble(block, n) <= 9 {
		n++
	}
	if n < PINLengthMin || n > PINLengthMax {
		return nil, fmt.Errorf("%w: got %d", ErrPINLength, n)
	}
	for i := n; i < 16; i++ {
		if nibble(block, i) != pad {
			return nil, ErrPINBlockFill
		}
	}
	pin := make([]byte, n)
	for i := range pin {
		pin[i] = '0' + nibble(block, i)
	}
	return pin, nil
}
