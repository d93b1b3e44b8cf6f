package reconcile

import (
	"sort"
	"strings"

	"github.com/cardswitch/cardswitch/iso8583"
)

// IssuerPosition is what an issuer holds for one RRN, from its records (see docs/ledger.md,
// "Reconciliation", for the rules).
type IssuerPosition struct {
	RRN      string `json:"rrn"`
	Currency string `json:"currency,omitempty"`
	// Kind of the original: authorization (0100), purchase or refund (0200), advice (0120, or a
	// 0220 without an authorization: a stand-in approval the issuer was told of).
	Kind string `json:"kind,omitempty"`
	// Approved counts the distinct originals answered 00 (more than one: approved twice).
	Approved int `json:"approved"`
	// Declined counts the originals answered otherwise, or not answered.
	Declined int `json:"declined,omitempty"`
	// Amount is the approved amount, signed (a refund is negative); a completion's amount
	// replaces an authorization's.
	Amount    int64 `json:"amount"`
	Completed bool  `json:"completed,omitempty"`
	// Reversals counts the reversals received for the RRN (repeats included): any number of
	// them reverses the transaction once.
	Reversals int `json:"reversals,omitempty"`
	// Replacement is the amount left by a partial reversal (field 95), signed.
	Replacement *int64 `json:"replacement_amount,omitempty"`
	// Holds is what the issuer holds now: Approved × Amount when not reversed, the replacement
	// amount or 0 when reversed.
	Holds int64 `json:"holds"`
	// MaskedPAN, Terminal and STAN of the first original, for people.
	MaskedPAN string `json:"pan,omitempty"`
	Terminal  string `json:"terminal,omitempty"`
	STAN      string `json:"stan,omitempty"`

	fullyReversed bool
}

// authorizationOnly reports whether the position is an authorization hold never completed: what
// an expired hold in the ledger corresponds to.
func (p *IssuerPosition) authorizationOnly() bool { return p.Kind == kindAuthorization && !p.Completed }

// Original kinds.
const (
	kindAuthorization = "authorization"
	kindPurchase      = "purchase"
	kindRefund        = "refund"
	kindAdvice        = "advice"
)

// UnmatchedReversal is a reversal that names no RRN and whose field 90 matches no original the
// issuer received: it reverses nothing.
type UnmatchedReversal struct {
	MTI          string `json:"mti"`
	STAN         string `json:"stan"`
	OriginalData string `json:"original_data"`
	Amount       int64  `json:"amount"`
}

// IssuerBook is an issuer's positions by RRN.
type IssuerBook struct {
	Positions map[string]*IssuerPosition
	// Unmatched are the reversals that matched nothing.
	Unmatched []UnmatchedReversal
}

// originalKey identifies a request as the issuer received it: its MTI class, STAN and
// transmission time, what field 90 of its reversal names, with the terminal (41) and the card
// (masked PAN) a reversal must share with it. A repeat (0101, 0201) has the same.
type originalKey struct{ class, stan, transmitted, terminal, pan string }

// NewIssuerBook computes an issuer's positions from its records, in any order: the records are
// taken as a set, so a reversal that arrived before its (late) original still reverses it.
func NewIssuerBook(recs []Record) *IssuerBook {
	sorted := make([]Record, len(recs))
	copy(sorted, recs)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	b := &IssuerBook{Positions: map[string]*IssuerPosition{}}
	byOriginal := map[originalKey]string{} // → RRN
	seen := map[originalKey]bool{}
	// Originals first, then completions, then reversals: each step needs the previous ones whole.
	for i := range sorted {
		r := &sorted[i]
		class := iso8583.MTIClass(r.MTI)
		if class != iso8583.MTIAuthorization && class != iso8583.MTIFinancial && class != mtiAuthorizationAdvice {
			continue
		}
		key := originalKey{class, r.STAN, r.Transmitted, r.Terminal, r.PAN}
		if r.STAN != "" && r.Transmitted != "" {
			byOriginal[key] = r.RRN
			if seen[key] { // a repeat of a request already counted
				continue
			}
			seen[key] = true
		}
		p := b.position(r)
		if r.ResponseCode != iso8583.RCApproved {
			p.Declined++
			continue
		}
		p.Approved++
		p.Kind, p.Amount = originalKind(r), signed(r)
		p.Currency = r.Currency
	}
	for i := range sorted {
		r := &sorted[i]
		if iso8583.MTIClass(r.MTI) != iso8583.MTICompletion {
			continue
		}
		p := b.position(r)
		if p.Approved == 0 {
			// A financial advice of a transaction the issuer never authorized (a stand-in
			// purchase): the issuer is told to post it.
			p.Approved, p.Kind = 1, kindAdvice
		}
		if p.Kind == kindAuthorization || p.Kind == kindAdvice {
			p.Amount, p.Completed, p.Currency = r.Amount, true, r.Currency
		}
	}
	for i := range sorted {
		r := &sorted[i]
		class := iso8583.MTIClass(r.MTI)
		if class != iso8583.MTIReversal && class != iso8583.MTIReversalAdvice {
			continue
		}
		rrn := r.RRN
		if rrn == "" {
			od, err := iso8583.ParseOriginalData(r.OriginalData)
			if err == nil {
				rrn = byOriginal[originalKey{iso8583.MTIClass(od.MTI), od.STAN, od.TransmissionDateTime, r.Terminal, r.PAN}]
			}
		}
		if rrn == "" {
			b.Unmatched = append(b.Unmatched, UnmatchedReversal{MTI: r.MTI, STAN: r.STAN, OriginalData: r.OriginalData, Amount: r.Amount})
			continue
		}
		p := b.positionRRN(rrn, r)
		p.Reversals++
		if r.Replacement == nil || *r.Replacement == 0 {
			p.fullyReversed = true // final, whatever partial reversals came before or after
			continue
		}
		v := *r.Replacement
		if p.Kind == kindRefund {
			v = -v
		}
		p.Replacement = &v // the latest partial reversal sets the amount left
	}
	for _, p := range b.Positions {
		if p.fullyReversed {
			p.Replacement = nil
		}
		switch {
		case p.Approved == 0 || p.fullyReversed:
			p.Holds = 0
		case p.Reversals > 0:
			p.Holds = *p.Replacement
		default:
			p.Holds = int64(p.Approved) * p.Amount
		}
	}
	return b
}

// mtiAuthorizationAdvice is an 0120: the advice of an authorization the acquirer stood in for.
const mtiAuthorizationAdvice = "0120"

func (b *IssuerBook) position(r *Record) *IssuerPosition { return b.positionRRN(r.RRN, r) }

func (b *IssuerBook) positionRRN(rrn string, r *Record) *IssuerPosition {
	p := b.Positions[rrn]
	if p == nil {
		p = &IssuerPosition{RRN: rrn, Currency: r.Currency, MaskedPAN: r.PAN, Terminal: r.Terminal, STAN: r.STAN}
		b.Positions[rrn] = p
	}
	return p
}

func originalKind(r *Record) string {
	switch {
	case iso8583.MTIClass(r.MTI) == mtiAuthorizationAdvice:
		return kindAdvice
	case strings.HasPrefix(r.ProcessingCode, iso8583.ProcessingRefund):
		return kindRefund
	case iso8583.MTIClass(r.MTI) == iso8583.MTIAuthorization:
		return kindAuthorization
	}
	return kindPurchase
}

// signed is a record's amount as it moves the cardholder's debt: a refund is negative.
func signed(r *Record) int64 {
	if strings.HasPrefix(r.ProcessingCode, iso8583.ProcessingRefund) {
		return -r.Amount
	}
	return r.Amount
}
