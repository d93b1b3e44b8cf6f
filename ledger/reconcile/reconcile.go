// Package reconcile compares what an issuer holds with what the ledger holds, transaction by
// transaction (by RRN), and what terminals were told with what the ledger holds (by the
// terminal's own identity). It is the operator's `cardswitch ledger reconcile` and the oracle of
// the fault suite (e2e/faults). The rules are in docs/ledger.md, "Reconciliation".
package reconcile

import (
	"fmt"
	"sort"

	"github.com/cardswitch/cardswitch/ledger"
)

// DiffKind is how an issuer and the ledger disagree on one RRN.
type DiffKind string

// Kinds of disagreement, in the order a report lists them.
const (
	// IssuerOnly: the issuer holds an amount the ledger does not hold at all: a cardholder
	// charged (or credited) for a sale the merchant is not paid for.
	IssuerOnly DiffKind = "issuer_only"
	// LedgerOnly: the ledger holds an amount the issuer does not: a merchant paid for a sale the
	// issuer will not pay.
	LedgerOnly DiffKind = "ledger_only"
	// AmountDiffers: both hold the RRN, with different amounts (or currencies).
	AmountDiffers DiffKind = "amount_differs"
	// IssuerDoubled: the issuer approved the RRN more than once and holds more than the ledger.
	IssuerDoubled DiffKind = "issuer_doubled"
	// LedgerDoubled: more than one ledger transaction carrying the RRN holds money.
	LedgerDoubled DiffKind = "ledger_doubled"
)

// DiffKinds lists every kind, in report order.
var DiffKinds = []DiffKind{IssuerOnly, LedgerOnly, AmountDiffers, IssuerDoubled, LedgerDoubled}

// Difference is one RRN on which the issuer and the ledger disagree, with both sides' view.
type Difference struct {
	Kind   DiffKind        `json:"kind"`
	RRN    string          `json:"rrn"`
	Issuer *IssuerPosition `json:"issuer"`
	Ledger *LedgerPosition `json:"ledger"`
}

// Summary says what the issuer holds in the difference and what the ledger holds, in a line.
func (d Difference) Summary() string {
	var iss, led int64
	if d.Issuer != nil {
		iss = d.Issuer.Holds
	}
	if d.Ledger != nil {
		led = d.Ledger.Holds
	}
	return fmt.Sprintf("%s rrn %s: issuer holds %d, ledger holds %d (%s)", d.Kind, d.RRN, iss, led, d.describe())
}

func (d Difference) describe() string {
	s := "issuer: none"
	if p := d.Issuer; p != nil {
		s = fmt.Sprintf("issuer: %s approved %d declined %d reversals %d", p.Kind, p.Approved, p.Declined, p.Reversals)
	}
	if p := d.Ledger; p != nil {
		s += "; ledger:"
		for _, o := range p.Originals {
			s += fmt.Sprintf(" %s %s %s holds %d", o.ID, o.Kind, o.Status, o.Holds)
		}
		if len(p.Originals) == 0 {
			s += fmt.Sprintf(" follow-ups only, holding %d", p.Holds)
		}
	} else {
		s += "; ledger: none"
	}
	return s
}

// Report is the reconciliation of one issuer.
type Report struct {
	Issuer string `json:"issuer"`
	// IssuerRecords and LedgerEntries are the inputs' sizes; Torn says the issuer file's last
	// line was incomplete and left out.
	IssuerRecords int  `json:"issuer_records"`
	Torn          bool `json:"torn_last_line,omitempty"`
	LedgerEntries int  `json:"ledger_entries"`
	// RRNs compared, and those on which both sides agree (holding money or not).
	Compared int `json:"compared"`
	Agreed   int `json:"agreed"`
	// Held counts the agreed RRNs that hold money on both sides.
	Held int `json:"held"`
	// Expired counts authorizations the issuer still holds whose ledger hold expired: not a
	// difference (docs/ledger.md says why).
	Expired     int                 `json:"expired"`
	Counts      map[DiffKind]int    `json:"counts"`
	Differences []Difference        `json:"differences"`
	Unmatched   []UnmatchedReversal `json:"unmatched_reversals,omitempty"`
}

// OK reports whether the issuer and the ledger agree on every RRN.
func (r *Report) OK() bool { return len(r.Differences) == 0 }

// Issuer reconciles an issuer's records with the ledger's entries of that issuer (entries of
// other issuers are ignored).
func Issuer(name string, recs []Record, entries []ledger.JournalEntry) *Report {
	mine := entries[:0:0]
	for _, e := range entries {
		if e.Issuer == name {
			mine = append(mine, e)
		}
	}
	ib := NewIssuerBook(recs)
	lb := NewLedgerBook(mine)
	rep := &Report{Issuer: name, IssuerRecords: len(recs), LedgerEntries: len(mine), Counts: map[DiffKind]int{},
		Differences: []Difference{}, Unmatched: ib.Unmatched}
	for _, k := range DiffKinds {
		rep.Counts[k] = 0
	}
	keys := map[string]bool{}
	for k := range ib.Positions {
		keys[k] = true
	}
	for k := range lb.Positions {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		rep.Compared++
		ip, lp := ib.Positions[k], lb.Positions[k]
		kind, expired := compare(ip, lp)
		switch {
		case expired:
			rep.Expired++
		case kind == "":
			rep.Agreed++
			if lp != nil && lp.Holds != 0 {
				rep.Held++
			}
		default:
			rep.Counts[kind]++
			d := Difference{Kind: kind, RRN: k, Issuer: ip, Ledger: lp}
			if lp != nil {
				d.RRN = lp.RRN
			}
			rep.Differences = append(rep.Differences, d)
		}
	}
	return rep
}

// compare decides one RRN: "" when both sides agree; expired when the only difference is a
// ledger hold that expired while the issuer still holds the authorization.
func compare(ip *IssuerPosition, lp *LedgerPosition) (kind DiffKind, expired bool) {
	var iss, led int64
	if ip != nil {
		iss = ip.Holds
	}
	if lp != nil {
		led = lp.Holds
	}
	switch {
	case lp != nil && lp.Holding > 1:
		return LedgerDoubled, false
	case ip != nil && ip.Approved > 1 && iss != led:
		return IssuerDoubled, false
	case iss == led && (iss == 0 || ip.Currency == lp.Currency || ip.Currency == "" || lp.Currency == ""):
		return "", false
	case led == 0 && lp != nil && lp.Expired && ip.authorizationOnly():
		return "", true
	case led == 0:
		return IssuerOnly, false
	case iss == 0:
		return LedgerOnly, false
	}
	return AmountDiffers, false
}
