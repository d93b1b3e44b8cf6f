package paycrypto

import "fmt"

// ParseHex decodes a hexadecimal string of either case. Errors report the
// offset of the bad character, never the string, because the string is
// often a clear key component.
func ParseHex(s string) ([]byte, error) {
	if len(s)%2 != 0 {
		return nil, fmt.Errorf("%w: odd length %d", ErrHex, len(s))
	}
	out := make([]byte, len(s)/2)
	for i := range out {
		hi, okHi := hexNibble(s[2*i])
		lo, okLo := hexNibble(s[2*i+1])
		if !okHi || !okLo {
			clear(out)
			return nil, fmt.Errorf("%w: non-hex character near offset %d", ErrHex, 2*i)
		}
		out[i] = hi<<4 | lo
	}
	return out, nil
}

// FormatHex encodes b as upper-case hexadecimal, the form payment HSMs and
// the standards' examples use.
func FormatHex(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, v := range b {
		out[2*i] = digits[v>>4]
		out[2*i+1] = digits[v&0x0F]
	}
	return string(out)
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isDigitBytes(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// packNibbles packs a string of hex digits (already validated, even length)
// into bytes.
func packNibbles(dst []byte, s string) {
	for i := range dst {
		hi, _ := hexNibble(s[2*i])
		lo, _ := hexNibble(s[2*i+1])
		dst[i] = hi<<4 | lo
	}
}

// nibble returns the i-th 4-bit digit of b, most significant first.
func nibble(b []byte, i int) byte {
	if i%2 == 0 {
		return b[i/2] >> 4
	}
	return b[i/2] & 0x0F
}

func setNibble(b []byte, i int, v byte) {
	if i%2 == 0 {
		b[i/2] = b[i/2]&0x0F | v<<4
		return
	}
	b[i/2] = b[i/2]&0xF0 | v&0x0F
}
