package iso8583

// ResponseCode describes one value of field 39. The table below is the single source for the
// engine's decisions, the documentation and the metric label values.
type ResponseCode struct {
	Code     string
	Name     string // short snake_case name, also the metric-friendly description
	Meaning  string // when it is used, for documentation
	Approved bool
	Switch   bool // produced by the switch itself (CONTRACT §2), not only relayed from an issuer
}

// Response codes.
const (
	RCApproved            = "00"
	RCUnknownMerchant     = "03"
	RCDoNotHonor          = "05"
	RCInvalidTransaction  = "12"
	RCInvalidAmount       = "13"
	RCInvalidCard         = "14"
	RCNoSuchIssuer        = "15"
	RCOriginalNotFound    = "25"
	RCFormatError         = "30"
	RCInsufficientFunds   = "51"
	RCExpiredCard         = "54"
	RCIncorrectPIN        = "55"
	RCNotPermitted        = "57"
	RCExceedsLimit        = "61"
	RCRestrictedCard      = "62"
	RCSecurityViolation   = "63"
	RCExceedsFrequency    = "65"
	RCLateResponse        = "68"
	RCIssuerUnavailable   = "91"
	RCDuplicate           = "94"
	RCSystemMalfunction   = "96"
	rcOtherLabel          = "other"
	responseCodeTableSize = 21
)

var responseCodes = [responseCodeTableSize]ResponseCode{
	{RCApproved, "approved", "approved (or accepted advice, reversal, network management)", true, true},
	{RCUnknownMerchant, "unknown_merchant", "field 42 is not a configured merchant", false, true},
	{RCDoNotHonor, "do_not_honor", "issuer declined", false, false},
	{RCInvalidTransaction, "invalid_transaction", "unsupported MTI or processing code for this merchant", false, true},
	{RCInvalidAmount, "invalid_amount", "zero, not numeric, over the merchant's limit, not above an agency's convenience fee, a capture above its hold, or a refund over what the merchant is owed", false, true},
	{RCInvalidCard, "invalid_card_number", "PAN fails Luhn or has the wrong length", false, true},
	{RCNoSuchIssuer, "no_such_issuer", "no route for the PAN", false, true},
	{RCOriginalNotFound, "original_not_found", "a 0220 or 0400 whose original is unknown", false, true},
	{RCFormatError, "format_error", "a required field is missing or malformed; the connection stays open", false, true},
	{RCInsufficientFunds, "insufficient_funds", "issuer declined: not sufficient funds", false, false},
	{RCExpiredCard, "expired_card", "field 14 is before the current month", false, true},
	{RCIncorrectPIN, "incorrect_pin", "issuer declined: incorrect PIN", false, false},
	{RCNotPermitted, "not_permitted", "issuer declined: transaction not permitted to cardholder", false, false},
	{RCExceedsLimit, "exceeds_limit", "issuer declined: exceeds withdrawal amount limit", false, false},
	{RCRestrictedCard, "restricted_card", "issuer declined: restricted card", false, false},
	{RCSecurityViolation, "security_violation", "bad MAC, or a PIN block that cannot be translated", false, true},
	{RCExceedsFrequency, "exceeds_frequency", "issuer declined: exceeds withdrawal frequency limit", false, false},
	{RCLateResponse, "late_response", "issuer answered after the timeout (the late approval is reversed)", false, true},
	{RCIssuerUnavailable, "issuer_unavailable", "issuer link down, over its limit or timed out, and no stand-in", false, true},
	{RCDuplicate, "duplicate_different_content", "a duplicate transmission with different amount or PAN", false, true},
	{RCSystemMalfunction, "system_malfunction", "an internal failure (never for bad input)", false, true},
}

// ResponseCodes returns the table of known response codes, in code order.
func ResponseCodes() []ResponseCode {
	out := make([]ResponseCode, len(responseCodes))
	copy(out, responseCodes[:])
	return out
}

// LookupResponseCode returns the table entry for code.
func LookupResponseCode(code string) (ResponseCode, bool) {
	for _, rc := range responseCodes {
		if rc.Code == code {
			return rc, true
		}
	}
	return ResponseCode{}, false
}

// ResponseCodeLabel returns code when it is in the table and "other" otherwise, so that a metric
// labelled by response code has a bounded set of values whatever an issuer sends.
func ResponseCodeLabel(code string) string {
	for i := range responseCodes {
		if responseCodes[i].Code == code {
			return code
		}
	}
	return rcOtherLabel
}
