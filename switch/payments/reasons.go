package payments

import "github.com/cardswitch/cardswitch/iso8583"

// declineReasons are the words a person reads for an ISO response code (field 39).
var declineReasons = map[string]string{
	iso8583.RCUnknownMerchant:    "the merchant is not configured on the switch",
	iso8583.RCDoNotHonor:         "the card issuer declined the payment",
	iso8583.RCInvalidTransaction: "this kind of payment is not allowed for the merchant",
	iso8583.RCInvalidAmount:      "the amount is not accepted",
	iso8583.RCInvalidCard:        "the card number is not valid",
	iso8583.RCNoSuchIssuer:       "cards of this kind are not accepted",
	iso8583.RCFormatError:        "the payment could not be sent to the card issuer",
	iso8583.RCInsufficientFunds:  "insufficient funds",
	iso8583.RCExpiredCard:        "the card has expired",
	iso8583.RCIncorrectPIN:       "incorrect PIN",
	iso8583.RCNotPermitted:       "the card issuer does not allow this payment on this card",
	iso8583.RCExceedsLimit:       "the payment exceeds the card's limit",
	iso8583.RCRestrictedCard:     "the card is restricted",
	iso8583.RCSecurityViolation:  "the card's security check failed",
	iso8583.RCExceedsFrequency:   "too many payments on this card",
	iso8583.RCLateResponse:       "the card issuer answered too late",
	iso8583.RCIssuerUnavailable:  "the card issuer is unavailable",
	iso8583.RCDuplicate:          "a duplicate payment was refused",
	iso8583.RCSystemMalfunction:  "the switch had a problem; nothing was charged",
}

// failedCodes are the outcomes that are failures (timeout, issuer unavailable, system error),
// not the issuer's or the switch's "no".
var failedCodes = map[string]bool{iso8583.RCIssuerUnavailable: true, iso8583.RCSystemMalfunction: true,
	iso8583.RCLateResponse: true, iso8583.RCFormatError: true, iso8583.RCDuplicate: true}

func declineReason(code string) string {
	if r, ok := declineReasons[code]; ok {
		return r
	}
	return "the card issuer declined the payment (code " + code + ")"
}
