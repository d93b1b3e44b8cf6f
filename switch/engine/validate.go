package engine

import (
	"strings"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// checkFormat verifies that a financial request (0100/0200) carries every required field of
// CONTRACT §2 in its format; it returns 30 or "". Content problems with their own response codes
// (amount, PAN, expiry) are checked later, in checkContent.
func checkFormat(req *iso8583.Message) string {
	switch {
	case req.PAN == "", req.Amount == "", req.TerminalID == "", req.MerchantID == "":
		return iso8583.RCFormatError
	case !fixedDigits(req.ProcessingCode, 6), !fixedDigits(req.STAN, 6), !fixedDigits(req.POSEntryMode, 3),
		!fixedDigits(req.Currency, 3):
		return iso8583.RCFormatError
	case !validTransmission(req.TransmissionDateTime), !validTime(req.LocalTime), !validMonthDay(req.LocalDate):
		return iso8583.RCFormatError
	}
	if _, ok := expiryOf(req); !ok {
		return iso8583.RCFormatError
	}
	return ""
}

// checkAdviceFormat verifies the fields a completion or reversal needs: its own identity (7, 11,
// 41), the merchant (42) and the amount (4); 90, when present, must be well-formed.
func checkAdviceFormat(req *iso8583.Message) string {
	switch {
	case req.Amount == "", req.TerminalID == "", req.MerchantID == "":
		return iso8583.RCFormatError
	case !fixedDigits(req.STAN, 6), !validTransmission(req.TransmissionDateTime):
		return iso8583.RCFormatError
	case req.Currency != "" && !fixedDigits(req.Currency, 3):
		return iso8583.RCFormatError
	case req.ProcessingCode != "" && !fixedDigits(req.ProcessingCode, 6):
		return iso8583.RCFormatError
	}
	if req.OriginalData != "" {
		if _, err := iso8583.ParseOriginalData(req.OriginalData); err != nil {
			return iso8583.RCFormatError
		}
	}
	return ""
}

// checkContent applies the merchant and card rules to a well-formed financial request and returns
// the response code of the first that fails, or "".
func (e *Engine) checkContent(req *iso8583.Message, kind txnKind, m *Merchant, amount int64, now time.Time) string {
	need := TxnPurchase
	switch kind {
	case kindAuthorization:
		need = TxnPreauth
		if req.ProcessingCode[:2] != iso8583.ProcessingPurchase {
			return iso8583.RCInvalidTransaction
		}
	case kindRefund:
		need = TxnRefund
	case kindPurchase:
		if req.ProcessingCode[:2] != iso8583.ProcessingPurchase {
			return iso8583.RCInvalidTransaction
		}
	}
	if m.Allowed&need == 0 || !acceptsCurrency(m, req.Currency) {
		return iso8583.RCInvalidTransaction
	}
	if amount <= 0 || (m.MaxAmount > 0 && amount > m.MaxAmount) || (kind != kindRefund && amount <= m.ConvenienceFee) {
		return iso8583.RCInvalidAmount
	}
	if n := len(req.PAN); n < iso8583.PANLengthMin || n > iso8583.PANLengthMax || !iso8583.LuhnValid(req.PAN) {
		return iso8583.RCInvalidCard
	}
	if exp, _ := expiryOf(req); expired(exp, now) {
		return iso8583.RCExpiredCard
	}
	return ""
}

func acceptsCurrency(m *Merchant, currency string) bool {
	for _, c := range m.Currencies {
		if c == currency {
			return true
		}
	}
	return false
}

// expiryOf returns the card's expiry (YYMM) from field 14, or from track 2 when 14 is absent.
func expiryOf(req *iso8583.Message) (string, bool) {
	exp := req.Expiry
	if exp == "" && req.Track2 != "" {
		if i := strings.IndexAny(req.Track2, "=D"); i >= 0 && len(req.Track2) >= i+5 {
			exp = req.Track2[i+1 : i+5]
		}
	}
	if !fixedDigits(exp, 4) {
		return "", false
	}
	if mm := atoi2(exp[2:]); mm < 1 || mm > 12 {
		return "", false
	}
	return exp, true
}

// expired reports whether a YYMM expiry is before the current month (a card is valid through the
// last day of its expiry month).
func expired(yymm string, now time.Time) bool {
	now = now.UTC()
	y, m := 2000+atoi2(yymm[:2]), atoi2(yymm[2:])
	return y < now.Year() || (y == now.Year() && m < int(now.Month()))
}

func fixedDigits(s string, n int) bool { return len(s) == n && iso8583.IsDigits(s) }

func atoi2(s string) int { return int(s[0]-'0')*10 + int(s[1]-'0') }

// validTransmission checks field 7, MMDDhhmmss.
func validTransmission(s string) bool {
	return fixedDigits(s, 10) && validMonthDay(s[:4]) && validTime(s[4:])
}

func validMonthDay(s string) bool {
	if !fixedDigits(s, 4) {
		return false
	}
	mm, dd := atoi2(s[:2]), atoi2(s[2:])
	return mm >= 1 && mm <= 12 && dd >= 1 && dd <= 31
}

func validTime(s string) bool {
	if !fixedDigits(s, 6) {
		return false
	}
	return atoi2(s[:2]) < 24 && atoi2(s[2:4]) < 60 && atoi2(s[4:]) < 60
}
