package load

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Kind is what one request is for. The first six are drawn from the mix; the others are
// follow-ups the generator sends because of an earlier answer (or the lack of one).
type Kind uint8

// Kinds of request.
const (
	KindPurchase        Kind = iota // 0200, processing code 00: approved by the amount's ending
	KindPreauth                     // 0100: a hold, approved by the amount's ending
	KindRefund                      // 0200, processing code 20, against an earlier approved purchase
	KindReversal                    // 0400 of an earlier approved 0100/0200 of the same terminal (field 90)
	KindDecline                     // 0200 whose amount ends in a decline code: that code is expected
	KindTimeout                     // 0200 whose amount ends in 99 (the issuer never answers): 91 expected
	KindSlow                        // 0200 whose amount ends in 98 (the issuer approves after its slow delay): 91 expected
	KindCompletion                  // 0220 capture (full or partial) of an approved 0100
	KindTimeoutReversal             // 0400 sent because a 0100/0200 got no answer in time
	kindCount
)

// mixKinds is the number of kinds drawn from the mix (purchase … slow).
const mixKinds = int(KindSlow) + 1

var kindNames = [kindCount]string{"purchase", "preauth", "refund", "reversal", "decline", "timeout", "slow", "completion", "timeout_reversal"}

func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "kind_" + strconv.Itoa(int(k))
}

// Mix is the relative weight of each kind drawn for a send slot (purchase, preauth, refund,
// reversal, decline, timeout, slow). Follow-ups (completions, reversals of timed-out requests) are sent
// in addition and take slots of their own.
type Mix [mixKinds]int

// DefaultMix is purchase=70,preauth=15,refund=5,reversal=5,decline=5.
var DefaultMix = Mix{KindPurchase: 70, KindPreauth: 15, KindRefund: 5, KindReversal: 5, KindDecline: 5}

// ErrMix is wrapped by every mix parsing error.
var ErrMix = errors.New("mix")

// ParseMix reads "purchase=70,preauth=15,…". Kinds not named get weight 0; at least one weight
// must be positive.
func ParseMix(s string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			return Mix{}, fmt.Errorf("%w: %q is not kind=weight", ErrMix, part)
		}
		k := -1
		for i := 0; i < mixKinds; i++ {
			if kindNames[i] == name {
				k = i
			}
		}
		if k < 0 {
			return Mix{}, fmt.Errorf("%w: unknown kind %q (want purchase, preauth, refund, reversal, decline, timeout or slow)", ErrMix, name)
		}
		if seen[name] {
			return Mix{}, fmt.Errorf("%w: %s given twice", ErrMix, name)
		}
		seen[name] = true
		w, err := strconv.Atoi(val)
		if err != nil || w < 0 || w > 1_000_000 {
			return Mix{}, fmt.Errorf("%w: %s weight %q must be a whole number 0..1000000", ErrMix, name, val)
		}
		m[k] = w
	}
	if m.total() == 0 {
		return Mix{}, fmt.Errorf("%w: every weight is 0", ErrMix)
	}
	return m, nil
}

func (m Mix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// String renders the mix as ParseMix reads it, leaving out kinds of weight 0.
func (m Mix) String() string {
	var b strings.Builder
	for k, w := range m {
		if w == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%d", kindNames[k], w)
	}
	return b.String()
}

// draw maps r in [0, total) to a kind.
func (m *Mix) draw(r int) Kind {
	for k, w := range m {
		if r < w {
			return Kind(k)
		}
		r -= w
	}
	return KindPurchase
}

// MerchantShare is one merchant (field 42) and its relative weight among the requests.
type MerchantShare struct {
	ID     string
	Weight int
}

// ParseMerchants reads "MERCHANT0000001=90,GOVAGENCY000001=10" (a single ID without a weight
// gets everything).
func ParseMerchants(s string) ([]MerchantShare, error) {
	var out []MerchantShare
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		id, val, hasWeight := strings.Cut(part, "=")
		w := 1
		if hasWeight {
			var err error
			if w, err = strconv.Atoi(val); err != nil || w < 0 || w > 1_000_000 {
				return nil, fmt.Errorf("merchants: %s weight %q must be a whole number 0..1000000", id, val)
			}
		}
		if err := checkMerchantID(id); err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, fmt.Errorf("merchants: %s given twice", id)
		}
		seen[id] = true
		out = append(out, MerchantShare{ID: id, Weight: w})
	}
	return out, nil
}

// merchantIDLen is the width of field 42 (ans15).
const merchantIDLen = 15

func checkMerchantID(id string) error {
	if len(id) != merchantIDLen || !printableASCII(id) {
		return fmt.Errorf("merchants: %q must be 15 printable characters (field 42)", id)
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}
