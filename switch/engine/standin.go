package engine

import (
	"slices"
	"sync"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
)

// StandIn lets the switch approve in an issuer's stead when the issuer cannot be reached (no link
// up, every link at its limit, the circuit open) — never on a timeout (the request reached the
// issuer) and never with a PIN, which the switch cannot verify. Each approval is advised to the
// issuer (0120 for a 0100, 0220 for a 0200) through the store-and-forward queue.
type StandIn struct {
	Enabled bool
	// MaxAmount is the largest amount approved per transaction, minor units.
	MaxAmount int64
	// MaxPerCardDay bounds the stand-in approvals of one card per UTC day (0: no daily bound).
	MaxPerCardDay int64
	// ProcessingCodes are the transaction types (the first two digits of field 3) allowed; empty:
	// purchases and authorizations ("00").
	ProcessingCodes []string
	// MCCs are the merchant category codes allowed; empty: any.
	MCCs []string
}

// standInApprovalPrefix starts every stand-in approval code (field 38), so that the terminal,
// the issuer's advice and the ledger all show that the switch, not the issuer, approved.
const standInApprovalPrefix = "SI"

// standInDecision decides a request whose issuer cannot be reached: a stand-in approval where the
// issuer's rules allow it, else 91.
func (e *Engine) standInDecision(is *Issuer, m *Merchant, fwd *iso8583.Message, amount int64, now time.Time) decision {
	unavailable := decision{code: iso8583.RCIssuerUnavailable}
	r := is.StandIn
	if !r.Enabled || fwd.PINBlock != nil || amount > r.MaxAmount || len(fwd.ProcessingCode) < 2 {
		return unavailable
	}
	codes := r.ProcessingCodes
	if len(codes) == 0 {
		codes = []string{iso8583.ProcessingPurchase}
	}
	if !slices.Contains(codes, fwd.ProcessingCode[:2]) || len(r.MCCs) > 0 && !slices.Contains(r.MCCs, m.MCC) {
		return unavailable
	}
	key := iso8583.MaskPAN(fwd.PAN)
	if e.protector != nil {
		key = e.protector.Hash(fwd.PAN)
	}
	if r.MaxPerCardDay > 0 && e.standIn.total(is.Name, key, now)+amount > r.MaxPerCardDay {
		return unavailable
	}
	code := standInApprovalPrefix + "000000"
	if n := len(fwd.RRN); n >= 4 {
		code = standInApprovalPrefix + fwd.RRN[n-4:]
	}
	return decision{code: iso8583.RCApproved, approval: code[:6], standIn: true, cardKey: key}
}

// standInAdvice is the advice of a stand-in approval to its issuer, queued when the ledger holds
// the approval.
func (e *Engine) standInAdvice(is *Issuer, fwd *iso8583.Message, d decision) (ledger.FollowUp, error) {
	adv := *fwd
	adv.MTI = "0120"
	if iso8583.MTIClass(fwd.MTI) == iso8583.MTIFinancial {
		adv.MTI = iso8583.MTICompletion
	}
	adv.PINBlock, adv.Track1, adv.Track2, adv.ICC = nil, "", "", ""
	adv.ResponseCode, adv.ApprovalCode = d.code, d.approval
	return e.followUp(is.Name, ledger.SAFStandInAdvice, ledger.FollowIfHeld, &adv)
}

// standInTotals counts each card's stand-in approvals per issuer and UTC day, in memory: a
// restart forgets them (the day's bound then starts again). Bounded: past standInCardsMax cards
// in a day, new cards are refused stand-in (a cautious answer, 91).
type standInTotals struct {
	mu     sync.Mutex
	day    int64 // yyyymmdd of the totals
	totals map[standInKey]int64
}

type standInKey struct{ issuer, card string }

// standInCardsMax bounds the cards remembered per day.
const standInCardsMax = 1 << 20

func dayOf(t time.Time) int64 {
	y, m, d := t.UTC().Date()
	return int64(y)*10000 + int64(m)*100 + int64(d)
}

func (s *standInTotals) total(issuer, card string, now time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.day != dayOf(now) {
		return 0
	}
	if v, ok := s.totals[standInKey{issuer, card}]; ok {
		return v
	}
	if len(s.totals) >= standInCardsMax {
		return 1 << 62
	}
	return 0
}

func (s *standInTotals) record(issuer, card string, now time.Time, amount int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := dayOf(now); s.day != d || s.totals == nil {
		s.day, s.totals = d, map[standInKey]int64{}
	}
	if k := (standInKey{issuer, card}); len(s.totals) < standInCardsMax || s.totals[k] > 0 {
		s.totals[k] += amount
	}
}
