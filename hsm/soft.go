package hsm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cardswitch/cardswitch/hsm/internal/paycrypto"
)

// Soft is the in-process software HSM: it holds an LMK and performs every operation on keys
// given as cryptograms under it. It is safe for concurrent use: its state is immutable after
// NewSoft, so no operation takes a lock.
type Soft struct {
	lmk  *LMK
	rand io.Reader
}

// NewSoft returns a software HSM holding lmk. Random keys and PIN block fill come from
// crypto/rand.
func NewSoft(lmk *LMK) *Soft {
	return &Soft{lmk: lmk, rand: rand.Reader}
}

// LMK returns the LMK the HSM holds (for its check value; the LMK never reveals its keys).
func (s *Soft) LMK() *LMK { return s.lmk }

// clearKey decrypts key under the LMK after checking its type is one of allowed, and its check
// value when one is given. field and index name the key in errors.
func (s *Soft) clearKey(key Key, field string, index int, allowed ...KeyType) ([]byte, error) {
	if len(allowed) > 0 && !typeIn(key.Type, allowed) {
		return nil, fieldErr(field, index, ErrKeyType)
	}
	k, _, err := s.lmk.decryptUnderLMK(key.Type, key.Cryptogram)
	if err != nil {
		return nil, fieldErr(field, index, err)
	}
	if key.CheckValue != "" {
		if err := matchKCV(k, key.CheckValue); err != nil {
			clear(k)
			return nil, fieldErr(field, index, err)
		}
	}
	return k, nil
}

func typeIn(t KeyType, allowed []KeyType) bool {
	for _, a := range allowed {
		if t == a {
			return true
		}
	}
	return false
}

// matchKCV compares a check value of 6 to 16 hex characters with the key's.
func matchKCV(key []byte, want string) error {
	if len(want) < 6 || len(want) > 16 {
		return ErrKCV
	}
	got, err := checkValue(key)
	if err != nil {
		return err
	}
	if !strings.EqualFold(got[:len(want)], want) {
		return ErrKCV
	}
	return nil
}

// CheckKey implements HSM.
func (s *Soft) CheckKey(ctx context.Context, key Key) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k, err := s.clearKey(key, "key", 0)
	if err != nil {
		return err
	}
	clear(k)
	return nil
}

// KeyCheckValue returns the full 16-hex-character check value of key (the BU command).
func (s *Soft) KeyCheckValue(key Key) (string, error) {
	k, err := s.clearKey(key, "key", 0)
	if err != nil {
		return "", err
	}
	defer clear(k)
	return checkValue(k)
}

// GenerateKey makes a random key of type kt under the LMK in scheme sc and returns it with its
// 6-character check value.
func (s *Soft) GenerateKey(kt KeyType, sc KeyScheme) (Key, error) {
	k, err := s.randomKey(sc)
	if err != nil {
		return Key{}, err
	}
	defer clear(k)
	return s.keyUnderLMK(kt, sc, k)
}

// GenerateExportKey makes a random key like GenerateKey and also returns it encrypted under zmk
// in scheme zsc (the A0 command's mode 1).
func (s *Soft) GenerateExportKey(kt KeyType, sc KeyScheme, zmk Key, zsc KeyScheme) (Key, string, error) {
	z, err := s.clearKey(zmk, "ZMK", 0, KeyTypeZMK)
	if err != nil {
		return Key{}, "", err
	}
	defer clear(z)
	k, err := s.randomKey(sc)
	if err != nil {
		return Key{}, "", err
	}
	defer clear(k)
	if zsc.keyLen() != len(k) {
		return Key{}, "", fieldErr("key scheme ZMK", 0, ErrKeyLength)
	}
	lk, err := s.keyUnderLMK(kt, sc, k)
	if err != nil {
		return Key{}, "", err
	}
	zk, err := wrapUnderZMK(z, zsc, k)
	if err != nil {
		return Key{}, "", err
	}
	return lk, zk, nil
}

// ImportKey translates a key of type kt from encryption under zmk to encryption under the LMK
// in scheme sc (commands A6 and FA). A key that decrypts with bad parity is ErrKeyParity on the
// key (index 1).
func (s *Soft) ImportKey(kt KeyType, zmk Key, underZMK string, sc KeyScheme) (Key, error) {
	if !kt.Valid() {
		return Key{}, ErrKeyType
	}
	z, err := s.clearKey(zmk, "ZMK", 0, KeyTypeZMK)
	if err != nil {
		return Key{}, err
	}
	defer clear(z)
	k, _, err := unwrapUnderZMK(z, underZMK)
	if err != nil {
		return Key{}, fieldErr("key under ZMK", 1, err)
	}
	defer clear(k)
	if sc.keyLen() != len(k) {
		return Key{}, fieldErr("key scheme LMK", 1, ErrKeyLength)
	}
	return s.keyUnderLMK(kt, sc, k)
}

// ExportKey translates key from encryption under the LMK to encryption under zmk in scheme zsc
// (the A8 command) and returns the cryptogram and the key's 6-character check value.
func (s *Soft) ExportKey(key Key, zmk Key, zsc KeyScheme) (string, string, error) {
	z, err := s.clearKey(zmk, "ZMK", 0, KeyTypeZMK)
	if err != nil {
		return "", "", err
	}
	defer clear(z)
	k, err := s.clearKey(key, "key", 1)
	if err != nil {
		return "", "", err
	}
	defer clear(k)
	if zsc.keyLen() != len(k) {
		return "", "", fieldErr("key scheme ZMK", 1, ErrKeyLength)
	}
	ct, err := wrapUnderZMK(z, zsc, k)
	if err != nil {
		return "", "", err
	}
	kcv, err := checkValue(k)
	if err != nil {
		return "", "", err
	}
	return ct, kcv[:6], nil
}

// keyUnderLMK encrypts clear key k of type kt in scheme sc and computes its check value.
func (s *Soft) keyUnderLMK(kt KeyType, sc KeyScheme, k []byte) (Key, error) {
	ct, err := s.lmk.encryptUnderLMK(kt, sc, k)
	if err != nil {
		return Key{}, err
	}
	kcv, err := checkValue(k)
	if err != nil {
		return Key{}, err
	}
	return Key{Type: kt, Cryptogram: ct, CheckValue: kcv[:6]}, nil
}

// randomKey returns a random DES key of the scheme's length with odd parity.
func (s *Soft) randomKey(sc KeyScheme) ([]byte, error) {
	k := make([]byte, sc.keyLen())
	if _, err := io.ReadFull(s.rand, k); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	fixParity(k)
	return k, nil
}

// cryptoErr maps a paycrypto error to this package's sentinels, keeping no detail that could
// carry data.
func cryptoErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, paycrypto.ErrPINBlockFormat) && !errors.Is(err, paycrypto.ErrPINLength):
		return ErrPINBlock
	case errors.Is(err, paycrypto.ErrPINLength), errors.Is(err, paycrypto.ErrPINDigit),
		errors.Is(err, paycrypto.ErrPINBlockFill):
		return ErrPINBlock
	case errors.Is(err, paycrypto.ErrKeyParity):
		return ErrKeyParity
	case errors.Is(err, paycrypto.ErrKeyLength):
		return ErrKeyLength
	}
	return ErrInvalidInput
}

var _ HSM = (*Soft)(nil)
