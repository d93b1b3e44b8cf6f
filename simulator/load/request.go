package load

import (
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Processing codes (field 3) the generator sends.
const (
	pcPurchase = "000000"
	pcRefund   = "200000"
)

// Response codes the timeout kinds accept besides a missing answer.
const (
	rcLate = iso8583.RCLateResponse
)

// original is an earlier transaction of the same terminal that a completion or reversal refers to.
type original struct {
	kind     Kind
	mti      string // as sent (0100 or 0200)
	pc       string
	stan     uint32
	f7       [10]byte
	rrn      string // "" when it was never answered
	amount   int64
	card     *card
	merchant int
}

// pendingCompletion is an approved hold waiting for its capture.
type pendingCompletion struct {
	hold   original
	amount int64 // the amount to capture (the hold, or less)
	due    time.Time
}

// followUp says what to send about a request that got no answer.
type followUp uint8

const (
	followReverse followUp = iota + 1 // a 0400 for a timed-out 0100/0200
	followRepeat                      // the request again as a repeat (0401, 0221)
)

// request is one request in flight, with what is needed to check its answer and to follow up.
type request struct {
	kind     Kind
	mti      string
	pc       string
	stan     uint32
	f7       [10]byte
	f12      [6]byte
	f13      [4]byte
	card     *card
	merchant int
	amount   int64
	expect   string // the response code expected (for KindDecline the decline code); see expected
	intended time.Time
	sent     time.Time
	hasOrig  bool
	orig     original
	capture  int64 // preauth: the amount a completion will capture once approved (0: none)
	repeats  int
	follow   followUp
	pin      bool // sent with a PIN block (keys.go)
}

// expected reports whether code is the right answer to r.
func (r *request) expected(code string) bool {
	switch r.kind {
	case KindTimeout:
		// The issuer never answers: the switch times out (91) or relays a late answer (68).
		return code == iso8583.RCIssuerUnavailable || code == rcLate
	case KindSlow:
		// The issuer approves after its slow delay: 91 or 68 when the switch's issuer timeout is
		// shorter, 00 when it waits longer.
		return code == iso8583.RCIssuerUnavailable || code == rcLate || code == iso8583.RCApproved
	case KindTimeoutReversal:
		// The original may never have reached the switch, or not been decided: 25 is as right as 00.
		return code == iso8583.RCApproved || code == iso8583.RCOriginalNotFound
	}
	return code == r.expect
}

// expectText describes the expected answer for an unexpected-answer example.
func (r *request) expectText() string {
	switch r.kind {
	case KindTimeout:
		return "91 or 68"
	case KindSlow:
		return "91, 68 or 00"
	case KindTimeoutReversal:
		return "00 or 25"
	}
	return r.expect
}

// needsApprovalCode reports whether an approval of r must carry field 38: authorizations and
// financial requests do; advices and reversals are acknowledgements.
func (r *request) needsApprovalCode() bool {
	switch iso8583.MTIClass(r.mti) {
	case iso8583.MTIAuthorization, iso8583.MTIFinancial:
		return true
	}
	return false
}

// asOriginal is r as the original of a later completion or reversal.
func (r *request) asOriginal(rrn string) original {
	return original{kind: r.kind, mti: r.mti, pc: r.pc, stan: r.stan, f7: r.f7, rrn: rrn, amount: r.amount,
		card: r.card, merchant: r.merchant}
}

// repeatMTI is the retransmission MTI of mti (0400 → 0401).
func repeatMTI(mti string) string {
	switch mti {
	case iso8583.MTIReversal:
		return "0401"
	case iso8583.MTICompletion:
		return "0221"
	}
	return mti
}

// responseMTI is the response MTI expected for a request MTI (0401 → 0410).
func responseMTI(mti string) string {
	switch mti {
	case iso8583.MTIAuthorization:
		return iso8583.MTIAuthorizationResponse
	case iso8583.MTIFinancial:
		return iso8583.MTIFinancialResponse
	case iso8583.MTICompletion, "0221":
		return iso8583.MTICompletionResponse
	case iso8583.MTIReversal, "0401":
		return iso8583.MTIReversalResponse
	}
	return iso8583.ResponseMTI(mti)
}
