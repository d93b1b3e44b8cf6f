// Package carddata finds card data where it must never be: a full card number (PAN), track data,
// a card verification value or a PIN block in a log line, a metric, an HTTP response, a report
// or a database row (CONTRACT §11). Scan is the detector; Guard wraps a log destination so that a
// line that would leak card data is masked before it is written and counted
// (cardswitch_card_data_detections_total, which an alert watches).
//
// What counts as a finding:
//   - pan: a run of 13 to 19 digits, not part of a longer run of digits or a decimal number, that
//     passes the Luhn check, does not start with 0 (amounts and counters are zero-padded; no card
//     scheme issues a PAN starting with 0) and is not a Unix time in milliseconds, microseconds or
//     nanoseconds between 2000 and 2100 (a date), and is not inside a hexadecimal token of 32 or
//     more characters (a 128-bit transfer id or a hash such as "2b8ce30cb16fb1812661234563129edd35",
//     whose digits form Luhn-valid runs by chance about once in a hundred);
//   - track: track 2 (a PAN, "=" or "D", then at least seven digits of expiry and service code) or
//     track 1 ("%B", a PAN, "^");
//   - cvv and pin_block: a value after a name that says what it is (cvv, cvv2, cvc, cvc2, csc,
//     pin_block, pinblock, field 52), since a bare 3-digit or 16-hex value is everywhere.
//
// The scan decodes nothing: an encrypted payload is opaque bytes and is not reported.
package carddata

import (
	"regexp"
	"strconv"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Kind is what kind of card data a finding is.
type Kind string

// Kinds of findings (label values of cardswitch_card_data_detections_total).
const (
	KindPAN      Kind = "pan"
	KindTrack    Kind = "track"
	KindCVV      Kind = "cvv"
	KindPINBlock Kind = "pin_block"
)

// Kinds lists every kind, for metrics that pre-create their series.
var Kinds = []Kind{KindPAN, KindTrack, KindCVV, KindPINBlock}

// Finding is one piece of card data in a scanned text: its kind and its byte range.
type Finding struct {
	Kind       Kind
	Start, End int
}

var (
	track2 = regexp.MustCompile(`[0-9]{12,19}[=D][0-9]{7,}`)
	track1 = regexp.MustCompile(`%B[0-9]{12,19}\^`)
	// named values: "cvv":"123", cvv2=123, "pin_block": "0123456789ABCDEF", field 52 …
	cvv      = regexp.MustCompile(`(?i)\b(?:cvv2?|cvc2?|csc|card_?verification(?:_?value)?)["']?\s*[:=]\s*["']?([0-9]{3,4})\b`)
	pinBlock = regexp.MustCompile(`(?i)\b(?:pin_?block|field_?52|f52|de52)["']?\s*[:=]\s*["']?([0-9A-F]{16}|[0-9A-F]{32})\b`)
)

// Scan returns the card data found in b, in order of kind then position.
func Scan(b []byte) []Finding {
	var out []Finding
	for _, loc := range track2.FindAllIndex(b, -1) {
		out = append(out, Finding{KindTrack, loc[0], loc[1]})
	}
	for _, loc := range track1.FindAllIndex(b, -1) {
		out = append(out, Finding{KindTrack, loc[0], loc[1]})
	}
	out = appendPANs(out, b)
	for _, loc := range cvv.FindAllSubmatchIndex(b, -1) {
		out = append(out, Finding{KindCVV, loc[2], loc[3]})
	}
	for _, loc := range pinBlock.FindAllSubmatchIndex(b, -1) {
		out = append(out, Finding{KindPINBlock, loc[2], loc[3]})
	}
	return out
}

// appendPANs appends every digit run that is a card number.
func appendPANs(out []Finding, b []byte) []Finding {
	for i := 0; i < len(b); {
		if !isDigit(b[i]) {
			i++
			continue
		}
		j := i
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if isPAN(b, i, j) {
			out = append(out, Finding{KindPAN, i, j})
		}
		i = j
	}
	return out
}

func isPAN(b []byte, i, j int) bool {
	n := j - i
	if n < 13 || n > 19 || b[i] == '0' {
		return false
	}
	// part of a decimal number (12.3456789012345 or 1712345678901.5): a measurement, not a card
	if (i > 0 && b[i-1] == '.' && i > 1 && isDigit(b[i-2])) || (j+1 < len(b) && b[j] == '.' && isDigit(b[j+1])) {
		return false
	}
	s := string(b[i:j])
	if !iso8583.LuhnValid(s) {
		return false
	}
	return !isUnixTime(s) && !inHexToken(b, i, j)
}

// hexTokenMin is the length from which a hexadecimal token is an id or a hash (128 bits and
// more), not a card number with letters beside it.
const hexTokenMin = 32

// inHexToken reports whether the digits b[i:j] are part of a token of hexadecimal characters,
// with at least one letter a-f, of hexTokenMin or more characters, standing alone (not glued to
// other letters or digits: "pan4111111111111111" is a card number after a word).
func inHexToken(b []byte, i, j int) bool {
	lo, hi := i, j
	for lo > 0 && isHex(b[lo-1]) {
		lo--
	}
	for hi < len(b) && isHex(b[hi]) {
		hi++
	}
	if hi-lo < hexTokenMin || (lo == i && hi == j) {
		return false
	}
	glued := func(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }
	return !(lo > 0 && glued(b[lo-1])) && !(hi < len(b) && glued(b[hi]))
}

func isHex(c byte) bool { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// isUnixTime reports whether s read as milliseconds, microseconds or nanoseconds since 1970 is a
// time between 2000 and 2100.
func isUnixTime(s string) bool {
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return false
	}
	const from, to = 946684800, 4102444800 // 2000-01-01, 2100-01-01 in seconds
	for _, div := range []uint64{1e3, 1e6, 1e9} {
		if sec := v / div; sec >= from && sec < to {
			return true
		}
	}
	return false
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Mask returns a copy of b with every finding masked: digits of a PAN or track (other than a
// PAN's first 6 and last 4) become '*'; a CVV or PIN block becomes all '*'.
func Mask(b []byte, findings []Finding) []byte {
	out := append([]byte(nil), b...)
	for _, f := range findings {
		keepHead, keepTail := 0, 0
		if f.Kind == KindPAN {
			keepHead, keepTail = 6, 4
		}
		for k := f.Start + keepHead; k < f.End-keepTail; k++ {
			if out[k] != '=' && out[k] != '^' && out[k] != '%' {
				out[k] = '*'
			}
		}
	}
	return out
}
