package ledger

import (
	"fmt"
	"unicode/utf8"
)

// Bounds of event fields: an event is a programming contract with the engine, and a bound keeps a
// bug from writing unbounded rows.
const (
	maxIDLen         = 128 // transaction identities are ~32 characters ("0100/TERM0001/000123/1126143015")
	maxDecisionLen   = 64  // RRN, STAN, terminal, MTI, masked PAN, codes: all far shorter in ISO 8583
	maxPaymentRefLen = 999 // ISO 8583 field 48 is LLLVAR: at most 999 characters
)

// ValidateEvent checks an event before it is queued. A malformed event is the caller's bug and is
// not journaled; the error is an *EventError naming the field.
func ValidateEvent(ev *Event) error {
	if err := validateID("ID", ev.ID); err != nil {
		return err
	}
	if ev.Kind < Authorize || ev.Kind > Decline {
		return &EventError{Field: "Kind", Problem: fmt.Sprintf("unknown kind %d", ev.Kind)}
	}
	if ev.OriginalID != "" {
		if err := validateID("OriginalID", ev.OriginalID); err != nil {
			return err
		}
		if ev.OriginalID == ev.ID {
			return &EventError{Field: "OriginalID", Problem: "names the event itself"}
		}
	}
	if err := validateDecision(ev); err != nil {
		return err
	}
	if err := validateFollowUps(ev); err != nil {
		return err
	}
	switch ev.Kind {
	case Decline:
		return nil
	case Capture, Reverse:
		if ev.OriginalID == "" {
			return &EventError{Field: "OriginalID", Problem: "required for " + ev.Kind.String()}
		}
	}
	if ev.Kind != Reverse || ev.Currency != "" {
		if _, err := Exponent(ev.Currency); err != nil {
			return &EventError{Field: "Currency", Problem: err.Error()}
		}
	}
	if ev.Kind != Reverse && ev.Amount <= 0 {
		return &EventError{Field: "Amount", Problem: "must be positive"}
	}
	if ev.Kind == Authorize && ev.HoldTimeout < 0 {
		return &EventError{Field: "HoldTimeout", Problem: "must not be negative"}
	}
	if err := ev.Payee.Fee.Validate(); err != nil {
		return err
	}
	switch ev.Kind {
	case Authorize, Purchase, Refund:
		return validateParties(ev)
	}
	return nil
}

func validateParties(ev *Event) error {
	if ev.Payee.Kind != Merchant && ev.Payee.Kind != Agency {
		return &EventError{Field: "Payee.Kind", Problem: "must be Merchant or Agency"}
	}
	if err := validateNamePart(ev.Payee.ID); err != nil {
		return &EventError{Field: "Payee.ID", Problem: err.Error()}
	}
	if err := validateNamePart(ev.Issuer); err != nil {
		return &EventError{Field: "Issuer", Problem: err.Error()}
	}
	if ev.Payee.ConvenienceFee < 0 {
		return &EventError{Field: "Payee.ConvenienceFee", Problem: "must not be negative"}
	}
	return nil
}

func validateID(field, id string) error {
	if id == "" || len(id) > maxIDLen {
		return &EventError{Field: field, Problem: fmt.Sprintf("must be 1 to %d characters", maxIDLen)}
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x20 || id[i] > 0x7e {
			return &EventError{Field: field, Problem: "must be printable ASCII"}
		}
	}
	return nil
}

func validateDecision(ev *Event) error {
	for _, f := range []struct{ name, v string }{
		{"RRN", ev.RRN}, {"AcquirerRRN", ev.AcquirerRRN}, {"STAN", ev.STAN}, {"Terminal", ev.Terminal}, {"MTI", ev.MTI},
		{"MaskedPAN", ev.MaskedPAN}, {"ResponseCode", ev.ResponseCode}, {"ApprovalCode", ev.ApprovalCode},
	} {
		if len(f.v) > maxDecisionLen || !utf8.ValidString(f.v) {
			return &EventError{Field: f.name, Problem: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxDecisionLen)}
		}
	}
	if len(ev.PaymentRef) > maxPaymentRefLen || !utf8.ValidString(ev.PaymentRef) {
		return &EventError{Field: "PaymentRef", Problem: fmt.Sprintf("must be valid UTF-8 of at most %d bytes", maxPaymentRefLen)}
	}
	return nil
}

// validateTransfer checks a submitted transfer's names before it is queued.
func validateTransfer(t *Transfer) error {
	if _, err := Exponent(t.Currency); err != nil {
		return fmt.Errorf("transfer %s: %w", t.ID, err)
	}
	for _, name := range []string{t.DebitAccount, t.CreditAccount} {
		if name == "" && t.Flags&(PostPending|VoidPending) != 0 {
			continue
		}
		if err := ValidateAccountName(name); err != nil {
			return fmt.Errorf("transfer %s: %w", t.ID, err)
		}
	}
	if len(t.EventID) > maxIDLen || len(t.PaymentRef) > maxPaymentRefLen {
		return fmt.Errorf("transfer %s: event id or payment reference too long", t.ID)
	}
	return nil
}

// accountKeys lists the accounts an event may post to, so that they exist before its batch.
func accountKeys(ev *Event) []AccountKey {
	c := ev.Currency
	switch ev.Kind {
	case Authorize, Purchase:
		keys := []AccountKey{{IssuerReceivable(ev.Issuer), c}, {PayeePayable(ev.Payee.Kind, ev.Payee.ID), c}}
		if ev.Payee.ConvenienceFee > 0 {
			keys = append(keys, AccountKey{ConvenienceFeesIncome, c})
		}
		if ev.Kind == Purchase {
			keys = append(keys, AccountKey{FeesIncome, c})
		}
		return keys
	case Refund:
		return []AccountKey{{IssuerReceivable(ev.Issuer), c}, {PayeePayable(ev.Payee.Kind, ev.Payee.ID), c}}
	case Capture:
		return []AccountKey{{FeesIncome, c}}
	}
	return nil
}
