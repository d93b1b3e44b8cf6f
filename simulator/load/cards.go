package load

import (
	"math/rand/v2"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// card is one test card: a PAN in a configured BIN range with a valid Luhn check digit, and an
// expiry (YYMM) between one and five years ahead.
type card struct {
	pan      string
	expiry   [4]byte
	pinBlock [pinBlockChars]byte // field 52 as hex, when PINs are sent (keys.go)
}

// newCards generates n cards spread evenly over the BINs.
func newCards(n, panLength int, bins []string, now time.Time, rng *rand.Rand) []card {
	cards := make([]card, n)
	digits := make([]byte, panLength)
	for i := range cards {
		bin := bins[i%len(bins)]
		copy(digits, bin)
		for j := len(bin); j < panLength-1; j++ {
			digits[j] = byte('0' + rng.IntN(10))
		}
		body := string(digits[:panLength-1])
		cards[i].pan = body + string(iso8583.LuhnCheckDigit(body))
		exp := now.AddDate(0, 12+rng.IntN(49), 0)
		putDigits(cards[i].expiry[:2], uint64(exp.Year()%100))
		putDigits(cards[i].expiry[2:], uint64(exp.Month()))
	}
	return cards
}

// putDigits writes v into b as decimal digits, zero-padded on the left, keeping the lowest
// len(b) digits.
func putDigits(b []byte, v uint64) {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
}
