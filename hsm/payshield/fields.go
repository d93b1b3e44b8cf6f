package payshield

import (
	"bytes"
	"errors"
)

// errFormat is a malformed field: payShield error 15 (error in input data).
var errFormat = errors.New("payshield: error in input data")

// Protocol limits.
const (
	// TrailerMax is the longest message trailer payShield accepts after the 0x19 delimiter.
	TrailerMax = 32
	// endDelimiter separates the last field from the optional message trailer.
	endDelimiter = 0x19
)

// fieldReader walks a command's fields positionally. The first error sticks: every later read
// returns zero values, so a handler reads all its fields and checks err once.
type fieldReader struct {
	b   []byte
	off int
	err error
}

func (r *fieldReader) fail() {
	if r.err == nil {
		r.err = errFormat
	}
}

// remaining returns the unread bytes.
func (r *fieldReader) remaining() []byte { return r.b[r.off:] }

// atEnd reports whether only an end-message delimiter (or nothing) is left.
func (r *fieldReader) atEnd() bool {
	rest := r.remaining()
	return len(rest) == 0 || rest[0] == endDelimiter
}

// bytes returns the next n bytes.
func (r *fieldReader) bytes(n int) []byte {
	if r.err != nil || n < 0 || len(r.b)-r.off < n {
		r.fail()
		return nil
	}
	v := r.b[r.off : r.off+n]
	r.off += n
	return v
}

// text returns the next n bytes as a string.
func (r *fieldReader) text(n int) string { return string(r.bytes(n)) }

// hex returns the next n characters, which must be hexadecimal (either case).
func (r *fieldReader) hex(n int) string {
	v := r.bytes(n)
	for _, c := range v {
		if !isHex(c) {
			r.fail()
			return ""
		}
	}
	return string(v)
}

// digits returns the next n characters, which must be decimal digits.
func (r *fieldReader) digits(n int) string {
	v := r.bytes(n)
	for _, c := range v {
		if c < '0' || c > '9' {
			r.fail()
			return ""
		}
	}
	return string(v)
}

// number returns the next n decimal digits as an int.
func (r *fieldReader) number(n int) int {
	v := r.digits(n)
	x := 0
	for _, c := range []byte(v) {
		x = 10*x + int(c-'0')
	}
	return x
}

// hexNumber returns the next n hex characters as an int.
func (r *fieldReader) hexNumber(n int) int {
	v := r.hex(n)
	x := 0
	for _, c := range []byte(v) {
		x = 16*x + hexVal(c)
	}
	return x
}

// key returns the next key cryptogram, its length judged by its scheme letter: U/X + 32H,
// T/Y + 48H, Z + 16H, or noLetterLen hex characters when it starts with a hex digit.
func (r *fieldReader) key(noLetterLen int) string {
	if r.err != nil || r.off >= len(r.b) {
		r.fail()
		return ""
	}
	n := noLetterLen + 1
	hexStart := 1
	switch r.b[r.off] {
	case 'U', 'X':
		n = 33
	case 'T', 'Y':
		n = 49
	case 'Z':
		n = 17
	default:
		n, hexStart = noLetterLen, 0
	}
	v := r.bytes(n)
	for _, c := range v[min(hexStart, len(v)):] {
		if !isHex(c) {
			r.fail()
			return ""
		}
	}
	return string(v)
}

// until returns the bytes up to (not including) delim, at most max of them, and consumes the
// delimiter.
func (r *fieldReader) until(delim byte, max int) string {
	if r.err != nil {
		return ""
	}
	rest := r.remaining()
	i := bytes.IndexByte(rest[:min(len(rest), max+1)], delim)
	if i < 0 {
		r.fail()
		return ""
	}
	r.off += i + 1
	return string(rest[:i])
}

// optional consumes delim and reports true when it is the next byte.
func (r *fieldReader) optional(delim byte) bool {
	if r.err == nil && r.off < len(r.b) && r.b[r.off] == delim {
		r.off++
		return true
	}
	return false
}

// end checks that nothing but an optional end-message delimiter and trailer is left.
func (r *fieldReader) end() {
	rest := r.remaining()
	if len(rest) == 0 {
		return
	}
	if rest[0] != endDelimiter || len(rest)-1 > TrailerMax {
		r.fail()
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

func hexVal(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return 0
}

// splitTrailer returns the trailer (with its 0x19 delimiter) that ends a request, judged after
// the handler has consumed its fields; nil when there is none.
func splitTrailer(rest []byte) []byte {
	if len(rest) > 0 && rest[0] == endDelimiter && len(rest)-1 <= TrailerMax {
		return rest
	}
	return nil
}
