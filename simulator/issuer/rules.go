package issuer

import (
	"github.com/cardswitch/cardswitch/iso8583"
)

// Timing is when a decided answer is sent.
type Timing uint8

// Timings.
const (
	Now   Timing = iota // after the configured latency
	Slow                // after the latency and the slow delay (rule 98)
	Never               // not at all (rule 99)
)

// declineCodes are the amount endings (last two digits of field 4, minor units) answered with the
// response code of the same digits (CONTRACT §5).
var declineCodes = map[string]bool{
	iso8583.RCDoNotHonor: true, iso8583.RCInvalidCard: true, iso8583.RCInsufficientFunds: true,
	iso8583.RCExpiredCard: true, iso8583.RCIncorrectPIN: true, iso8583.RCNotPermitted: true,
	iso8583.RCExceedsLimit: true, iso8583.RCRestrictedCard: true, iso8583.RCExceedsFrequency: true,
}

// The authorization advice (a stand-in approval the acquirer reports) and its response: not among
// the acquirer interface's MTIs, so named here.
const (
	mtiAuthAdvice         = "0120"
	mtiAuthAdviceResponse = "0130"
)

// Amount endings with a timing rule (CONTRACT §5).
const (
	endingSlow  = "98"
	endingNever = "99"
)

// Decide answers one request by the rules of CONTRACT §5. It returns the response (nil when the
// request is itself a response, which is not answered) and when to send it.
//
//   - 0800 (echo, sign-on, sign-off): 0810/00, field 70 echoed.
//   - 0400/0401 and 0420/0421 (reversals), 0220/0221 (advices), 0120/0121 (authorization advices,
//     answered 0130): 00.
//   - 0100/0101 and 0200/0201 with processing code 20xxxx (refund): 00 with an approval code.
//   - other 0100/0101 and 0200/0201, by the last two digits of field 4: 05, 14, 51, 54, 55, 57, 61,
//     62, 65 → that code; 98 → 00 after the slow delay; 99 → no answer; anything else → 00 with a
//     6-character approval code in 38. A missing or non-numeric amount is answered 30.
//   - any other request MTI: 12 (invalid transaction).
//
// Responses echo fields 2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42 and 49 and carry 39; never 14, 35,
// 45, 52, 55, 64 or 128.
func Decide(req *iso8583.Message) (*iso8583.Message, Timing) {
	respMTI := iso8583.ResponseMTI(req.MTI)
	if iso8583.MTIClass(req.MTI) == mtiAuthAdvice {
		// The advice of an authorization the acquirer approved in the issuer's stead: taken.
		resp := echo(req, mtiAuthAdviceResponse)
		resp.ResponseCode = iso8583.RCApproved
		return resp, Now
	}
	if respMTI == "" {
		return nil, Never
	}
	resp := echo(req, respMTI)
	switch iso8583.MTIClass(req.MTI) {
	case iso8583.MTINetwork:
		resp.NetworkCode = req.NetworkCode
		resp.ResponseCode = iso8583.RCApproved
		return resp, Now
	case iso8583.MTIReversal, iso8583.MTIReversalAdvice, iso8583.MTICompletion:
		resp.ResponseCode = iso8583.RCApproved
		return resp, Now
	case iso8583.MTIAuthorization, iso8583.MTIFinancial:
		return authorize(req, resp)
	}
	resp.ResponseCode = iso8583.RCInvalidTransaction
	return resp, Now
}

// authorize applies the amount rules to an 0100 or 0200.
func authorize(req, resp *iso8583.Message) (*iso8583.Message, Timing) {
	if _, err := iso8583.ParseAmount(req.Amount); err != nil || len(req.Amount) < 2 {
		resp.ResponseCode = iso8583.RCFormatError
		return resp, Now
	}
	if len(req.ProcessingCode) >= 2 && req.ProcessingCode[:2] == iso8583.ProcessingRefund {
		approve(req, resp)
		return resp, Now
	}
	ending := req.Amount[len(req.Amount)-2:]
	switch {
	case declineCodes[ending]:
		resp.ResponseCode = ending
		return resp, Now
	case ending == endingSlow:
		approve(req, resp)
		return resp, Slow
	case ending == endingNever:
		return nil, Never
	}
	approve(req, resp)
	return resp, Now
}

func approve(req, resp *iso8583.Message) {
	resp.ResponseCode = iso8583.RCApproved
	resp.ApprovalCode = ApprovalCode(req)
}

// echo starts the response with the fields every response echoes, under the given MTI.
func echo(req *iso8583.Message, mti string) *iso8583.Message {
	resp := req.Echo()
	resp.MTI = mti
	return resp
}

// approvalAlphabet is what an approval code is made of: digits and upper-case letters.
const approvalAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// ApprovalCode is the 6-character approval code (field 38) of an approved request: a deterministic
// function of its STAN (11), RRN (37) and terminal (41) — FNV-1a over them, written in base 36 —
// so that a repeat of a request gets the same code and a test can predict it.
func ApprovalCode(req *iso8583.Message) string {
	const offset, prime = 2166136261, 16777619
	h := uint32(offset)
	for _, s := range [...]string{req.STAN, req.RRN, req.TerminalID} {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint32(s[i])) * prime
		}
		h = (h ^ '|') * prime
	}
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = approvalAlphabet[h%36]
		h /= 36
	}
	return string(b[:])
}
