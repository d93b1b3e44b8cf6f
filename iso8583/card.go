package iso8583

// PAN length limits (ISO/IEC 7812: 8 to 19 digits; card schemes issue 12 to 19).
const (
	PANLengthMin = 12
	PANLengthMax = 19
)

// LuhnValid reports whether s is all digits and passes the Luhn (mod 10) check.
func LuhnValid(s string) bool {
	if len(s) < 2 || !IsDigits(s) {
		return false
	}
	return luhnSum(s, false)%10 == 0
}

// LuhnCheckDigit returns the digit that, appended to the digits of partial, makes it pass Luhn.
// It returns 0 when partial is not all digits.
func LuhnCheckDigit(partial string) byte {
	if !IsDigits(partial) {
		return 0
	}
	return byte('0' + (10-luhnSum(partial, true)%10)%10)
}

// luhnSum doubles every second digit from the right; when the check digit is still to come
// (pending), the rightmost digit of s is doubled.
func luhnSum(s string, pending bool) int {
	sum := 0
	double := pending
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum
}

// MaskPAN shows the first 6 and last 4 digits of a PAN and masks the rest with '*'. A value too
// short to keep 6+4 and still hide something is masked entirely.
func MaskPAN(pan string) string {
	const keepFirst, keepLast = 6, 4
	n := len(pan)
	if n == 0 {
		return ""
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = '*'
	}
	if n >= keepFirst+keepLast+2 {
		copy(b, pan[:keepFirst])
		copy(b[n-keepLast:], pan[n-keepLast:])
	}
	return string(b)
}
