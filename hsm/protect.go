package hsm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// DataProtector protects the card numbers the switch must keep for a while (the PAN of a
// reversal waiting in the store-and-forward queue) and gives the keyed hashes it looks cards up
// by (stand-in limits per card). Its keys derive, inside this package, from a data encryption key
// (DEK, type 00B) held under the LMK; the derived keys never leave it.
//
// Sealing is AES-256-GCM with a random 96-bit nonce (the blob is version, nonce, ciphertext and
// tag); hashing is HMAC-SHA-256 under a second derived key, truncated to 128 bits. Safe for
// concurrent use.
type DataProtector struct {
	aead    cipher.AEAD
	hashKey []byte
}

// Derivation labels of the protector's keys: changing one makes every sealed value unreadable.
const (
	sealLabel = "cardswitch/hsm/data-protector/seal/v1"
	hashLabel = "cardswitch/hsm/data-protector/hash/v1"
	sealedV1  = 1
)

// ErrSealed: a sealed value does not open (another key, or altered).
var ErrSealed = errors.New("sealed value does not open")

// DataProtector returns a protector whose keys derive from dek, a DEK (00B) under the LMK,
// checked against its check value.
func (s *Soft) DataProtector(dek Key) (*DataProtector, error) {
	k, err := s.clearKey(dek, "data key", 0, KeyTypeDEK)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	sealKey := derive(sealLabel)
	defer clear(sealKey)
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, fmt.Errorf("data protector: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("data protector: %w", err)
	}
	return &DataProtector{aead: aead, hashKey: derive(hashLabel)}, nil
}

// Seal encrypts a card number (or any short secret) for storage.
func (p *DataProtector) Seal(plain string) ([]byte, error) {
	out := make([]byte, 1+p.aead.NonceSize(), 1+p.aead.NonceSize()+len(plain)+p.aead.Overhead())
	out[0] = sealedV1
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("data protector: %w", err)
	}
	return p.aead.Seal(out, out[1:], []byte(plain), out[:1]), nil
}

// Open decrypts what Seal returned; ErrSealed when it does not open.
func (p *DataProtector) Open(sealed []byte) (string, error) {
	n := p.aead.NonceSize()
	if len(sealed) < 1+n+p.aead.Overhead() || sealed[0] != sealedV1 {
		return "", ErrSealed
	}
	plain, err := p.aead.Open(nil, sealed[1:1+n], sealed[1+n:], sealed[:1])
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}

// Hash returns a keyed hash of a card number, 32 hex characters: equal for equal numbers, and
// useless to anyone without the key.
func (p *DataProtector) Hash(plain string) string {
	m := hmac.New(sha256.New, p.hashKey)
	m.Write([]byte(plain))
	sum := m.Sum(nil)
	return hex.EncodeToString(sum[:16])
}
