package hsm

import (
	"context"
	"encoding/hex"

	"github.com/cardswitch/cardswitch/hsm/internal/paycrypto"
)

// Helpers for tests, simulators and demo set-ups. They do what a terminal or a key ceremony
// would do; the switch itself never calls them.

// ImportClearKey encrypts a clear key (hex, 16, 32 or 48 characters, odd parity) of type kt
// under the LMK in the variant scheme of its length, and returns it with its check value. It
// is for published test keys and demo configuration: a live key never exists in clear outside
// an HSM.
func (s *Soft) ImportClearKey(kt KeyType, clearHex string) (Key, error) {
	k, err := hex.DecodeString(clearHex)
	if err != nil || (len(k) != 8 && len(k) != 16 && len(k) != 24) {
		return Key{}, ErrKeyFormat
	}
	defer clear(k)
	if !oddParity(k) {
		return Key{}, ErrKeyParity
	}
	return s.keyUnderLMK(kt, schemeFor(len(k)), k)
}

// EncryptPIN returns pin (4 to 12 digits) as a PIN block of the given format under key (a TPK
// or ZPK), as a PIN pad with that key would make it.
func (s *Soft) EncryptPIN(ctx context.Context, key Key, f PINFormat, pin, pan string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pf, err := pinFormat(f)
	if err != nil {
		return nil, err
	}
	k, err := s.clearKey(key, "PIN key", 0, KeyTypeTPK, KeyTypeZPK)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	out, err := s.encryptPIN(pf, k, []byte(pin), pan)
	return out, cryptoErr(err)
}

// EncryptPINDUKPT returns pin as an ISO format 0 PIN block under the DUKPT PIN key of bdk and
// ksn (20 hex characters), as a TDES DUKPT PIN pad would make it.
func (s *Soft) EncryptPINDUKPT(ctx context.Context, bdk Key, ksn, pin, pan string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	k, err := s.pinSourceKey(TranslatePINRequest{Source: bdk, KSN: ksn})
	if err != nil {
		return nil, err
	}
	defer clear(k)
	out, err := s.encryptPIN(paycrypto.ISOFormat0, k, []byte(pin), pan)
	return out, cryptoErr(err)
}

// TestKeySet is a set of keys under the LMK for a demo or a test: a terminal's TPK and TAK, an
// issuer's ZPK and ZAK, a DUKPT BDK, a CVK pair, a PVK pair and an EMV MK-AC.
type TestKeySet struct {
	TPK, TAK, ZPK, ZAK, BDK, CVK, PVK, MKAC Key
}

// NewTestKeySet generates a fresh random double-length key of each kind under the LMK.
func (s *Soft) NewTestKeySet() (TestKeySet, error) {
	var ks TestKeySet
	for _, k := range []struct {
		dst *Key
		kt  KeyType
	}{
		{&ks.TPK, KeyTypeTPK}, {&ks.TAK, KeyTypeTAK}, {&ks.ZPK, KeyTypeZPK}, {&ks.ZAK, KeyTypeZAK},
		{&ks.BDK, KeyTypeBDK1}, {&ks.CVK, KeyTypeCVK}, {&ks.PVK, KeyTypePVK}, {&ks.MKAC, KeyTypeMKAC},
	} {
		key, err := s.GenerateKey(k.kt, SchemeDoubleVariant)
		if err != nil {
			return TestKeySet{}, err
		}
		*k.dst = key
	}
	return ks, nil
}

// GenerateARQC returns the ARQC a card with the MK-AC's derived key computes over
// req.TransactionData (req.ARQC and req.ARC are ignored), as an EMV card would: the card
// simulator's half of VerifyARQC, for tests and demos.
func (s *Soft) GenerateARQC(ctx context.Context, req ARQCRequest) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req.ATC) != 2 || len(req.TransactionData) == 0 {
		return nil, ErrInvalidInput
	}
	key, pad, err := s.cryptogramKey(req)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	ac, err := paycrypto.ApplicationCryptogram(key, req.TransactionData, pad)
	return ac, cryptoErr(err)
}
