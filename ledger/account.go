package ledger

import (
	"fmt"
	"strings"
)

// AccountKey identifies an account: its name (`<owner>:<id>:<kind>`) and its ISO 4217 numeric
// currency. Accounts are created on first use.
type AccountKey struct {
	Name     string
	Currency string
}

// AccountFlags are balance limits enforced at posting time (TigerBeetle's account flags).
type AccountFlags uint16

const (
	// DebitsMustNotExceedCredits: posted and pending debits may not exceed posted credits (a
	// payable may not go negative).
	DebitsMustNotExceedCredits AccountFlags = 1 << iota
	// CreditsMustNotExceedDebits: posted and pending credits may not exceed posted debits.
	CreditsMustNotExceedDebits
)

// Well-known account names.
const (
	// FeesIncome collects merchant fees.
	FeesIncome = "acquirer:fees:income"
	// ConvenienceFeesIncome collects the convenience fees payers add to e-government payments.
	ConvenienceFeesIncome = "acquirer:convenience-fees:income"
)

// IssuerReceivable is what issuer X owes the acquirer: "issuer:X:receivable".
func IssuerReceivable(issuer string) string { return "issuer:" + issuer + ":receivable" }

// PayeePayable is what the acquirer owes a merchant or agency: "merchant:M:payable" or
// "agency:G:payable".
func PayeePayable(kind PayeeKind, id string) string { return PayeePayableName(kind.String(), id) }

// PayeePayableName is PayeePayable for an owner given as text ("merchant", "agency").
func PayeePayableName(owner, id string) string { return owner + ":" + id + ":payable" }

// SettlementAccount holds the net positions moved at cutover for an owner: "merchant:M:settlement",
// "agency:G:settlement", "issuer:X:settlement".
func SettlementAccount(owner, id string) string { return owner + ":" + id + ":settlement" }

// FlagsFor returns the flags an account gets when it is created: payables may not go negative.
func FlagsFor(name string) AccountFlags {
	if strings.HasSuffix(name, ":payable") {
		return DebitsMustNotExceedCredits
	}
	return 0
}

// ValidateAccountName checks the `<owner>:<id>:<kind>` form: three non-empty parts of letters,
// digits, '.', '_' and '-'.
func ValidateAccountName(name string) error {
	rest, parts := name, 0
	for {
		part, after, more := strings.Cut(rest, ":")
		parts++
		if err := validateNamePart(part); err != nil {
			return fmt.Errorf("account name %q: %w", name, err)
		}
		if !more {
			break
		}
		rest = after
	}
	if parts != 3 {
		return fmt.Errorf("account name %q: want <owner>:<id>:<kind>", name)
	}
	return nil
}

// maxNamePartLen bounds each part of an account name (merchant ids are 15 characters in ISO 8583
// field 42; the bound leaves room for other schemes without letting a name grow without limit).
const maxNamePartLen = 64

func validateNamePart(p string) error {
	if p == "" || len(p) > maxNamePartLen {
		return fmt.Errorf("part %q must be 1 to %d characters", p, maxNamePartLen)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("part %q: character %q not allowed", p, c)
		}
	}
	return nil
}

// AccountInfo is a resolved account: the store's id for a key, and its flags.
type AccountInfo struct {
	ID    int64
	Key   AccountKey
	Flags AccountFlags
}

// AccountBalance is an account with its four running totals, in minor units.
type AccountBalance struct {
	ID             int64
	Name           string
	Currency       string
	Flags          AccountFlags
	DebitsPending  int64
	DebitsPosted   int64
	CreditsPending int64
	CreditsPosted  int64
}

// Balance is credits posted minus debits posted: what the acquirer owes on a payable, or, negated,
// what is owed to it on a receivable.
func (a AccountBalance) Balance() int64 { return a.CreditsPosted - a.DebitsPosted }
