package ledger_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cardswitch/cardswitch/ledger"
)

func validPurchase() ledger.Event {
	return ledger.Event{ID: "0200/TERM0001/000001/1126143015", Kind: ledger.Purchase, Currency: "840", Amount: 1000,
		Issuer: "alpha", Payee: ledger.Payee{Kind: ledger.Merchant, ID: "MERCHANT0000001"}, At: time.Now()}
}

func TestValidateEvent(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*ledger.Event)
		field string // "" when valid
	}{
		{"a valid purchase", func(*ledger.Event) {}, ""},
		{"a decline needs no money fields", func(e *ledger.Event) { *e = ledger.Event{ID: "x", Kind: ledger.Decline} }, ""},
		{"a reversal may omit the currency", func(e *ledger.Event) { e.Kind, e.OriginalID, e.Currency, e.Amount = ledger.Reverse, "o", "", 0 }, ""},
		{"empty id", func(e *ledger.Event) { e.ID = "" }, "ID"},
		{"id with a control character", func(e *ledger.Event) { e.ID = "a\x00b" }, "ID"},
		{"id too long", func(e *ledger.Event) { e.ID = strings.Repeat("x", 129) }, "ID"},
		{"unknown kind", func(e *ledger.Event) { e.Kind = 42 }, "Kind"},
		{"unknown currency", func(e *ledger.Event) { e.Currency = "999" }, "Currency"},
		{"zero amount", func(e *ledger.Event) { e.Amount = 0 }, "Amount"},
		{"negative amount", func(e *ledger.Event) { e.Amount = -5 }, "Amount"},
		{"no payee kind", func(e *ledger.Event) { e.Payee.Kind = 0 }, "Payee.Kind"},
		{"payee id with a colon", func(e *ledger.Event) { e.Payee.ID = "M:1" }, "Payee.ID"},
		{"empty issuer", func(e *ledger.Event) { e.Issuer = "" }, "Issuer"},
		{"negative convenience fee", func(e *ledger.Event) { e.Payee.ConvenienceFee = -1 }, "Payee.ConvenienceFee"},
		{"fee percent above 100", func(e *ledger.Event) { e.Payee.Fee.Percent = decimal.NewFromInt(101) }, "Payee.Fee.Percent"},
		{"capture without original", func(e *ledger.Event) { e.Kind = ledger.Capture }, "OriginalID"},
		{"original is the event itself", func(e *ledger.Event) { e.Kind, e.OriginalID = ledger.Capture, e.ID }, "OriginalID"},
		{"negative hold timeout", func(e *ledger.Event) { e.Kind, e.HoldTimeout = ledger.Authorize, -time.Second }, "HoldTimeout"},
		{"payment reference over 999 bytes", func(e *ledger.Event) { e.PaymentRef = strings.Repeat("9", 1000) }, "PaymentRef"},
		{"invalid UTF-8 in a decision field", func(e *ledger.Event) { e.MaskedPAN = "\xff" }, "MaskedPAN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := validPurchase()
			tc.edit(&ev)
			err := ledger.ValidateEvent(&ev)
			var fe *ledger.EventError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("valid event refused: %v", err)
			case tc.field != "" && (!errors.As(err, &fe) || fe.Field != tc.field || !errors.Is(err, ledger.ErrInvalidEvent)):
				t.Fatalf("error %v, want an EventError naming %s", err, tc.field)
			}
		})
	}
}

func TestValidateAccountName(t *testing.T) {
	for name, ok := range map[string]bool{
		"merchant:MERCHANT0000001:payable": true, "acquirer:convenience-fees:income": true, "a:b.c_d:e": true,
		"": false, "a:b": false, "a:b:c:d": false, "a::c": false, ":b:c": false, "a:b c:d": false, "a:é:c": false,
		"a:" + strings.Repeat("x", 65) + ":c": false,
	} {
		if err := ledger.ValidateAccountName(name); (err == nil) != ok {
			t.Errorf("ValidateAccountName(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func FuzzValidateAccountName(f *testing.F) {
	for _, s := range []string{"merchant:M:payable", "a::b", ":::", "issuer:alpha:receivable"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if ledger.ValidateAccountName(name) == nil && strings.Count(name, ":") != 2 {
			t.Fatalf("%q accepted without exactly three parts", name)
		}
	})
}

// A malformed event is the caller's bug: refused before it is queued, so even a Writer whose loop
// never runs answers at once.
func TestWriterRefusesMalformedInputAtOnce(t *testing.T) {
	w := ledger.NewWriter(nil, ledger.WriterConfig{})
	ev := validPurchase()
	ev.Amount = 0
	if _, err := w.Commit(context.Background(), ev); !errors.Is(err, ledger.ErrInvalidEvent) {
		t.Errorf("commit: %v, want ErrInvalidEvent", err)
	}
	_, err := w.Submit(context.Background(), []ledger.Transfer{{DebitAccount: "bad", CreditAccount: "a:b:c", Currency: "840", Amount: 1}})
	if err == nil {
		t.Error("submit with a malformed account name: want an error")
	}
	if w.Queued() != 0 {
		t.Errorf("%d requests queued", w.Queued())
	}
}
