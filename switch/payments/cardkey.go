package payments

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CardKey seals the card numbers the API must keep for later refunds (the engine routes a refund
// by its PAN): AES-256-GCM under a key of its own, with the payment id as associated data, so
// that a sealed number moved to another payment does not open. The CVC is never sealed nor kept.
type CardKey struct{ aead cipher.AEAD }

// cardKeyBytes is the key's length (AES-256).
const cardKeyBytes = 32

// LoadCardKey reads the key file, creating it (mode 0600, 32 random bytes) when missing. A file
// readable by group or others is refused.
func LoadCardKey(path string) (*CardKey, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		raw = make([]byte, cardKeyBytes)
		if _, err := rand.Read(raw); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("api.card_key_file: %w", err)
		}
		if err := os.WriteFile(path, raw, 0o600); err != nil {
			return nil, fmt.Errorf("api.card_key_file: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("api.card_key_file: %w", err)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("api.card_key_file: %s is readable by group or others (chmod 600)", path)
	}
	if len(raw) != cardKeyBytes {
		return nil, fmt.Errorf("api.card_key_file: %s must hold %d bytes", path, cardKeyBytes)
	}
	return NewCardKey(raw)
}

// NewCardKey builds a CardKey from 32 bytes.
func NewCardKey(key []byte) (*CardKey, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &CardKey{aead: aead}, nil
}

// Seal encrypts a card number for one payment.
func (k *CardKey) Seal(paymentID, pan string) (string, error) {
	nonce := make([]byte, k.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := k.aead.Seal(nonce, nonce, []byte(pan), []byte(paymentID))
	return base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a payment's sealed card number.
func (k *CardKey) Open(paymentID, sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < k.aead.NonceSize() {
		return "", errors.New("sealed card number is malformed")
	}
	n := k.aead.NonceSize()
	pan, err := k.aead.Open(nil, raw[:n], raw[n:], []byte(paymentID))
	if err != nil {
		return "", errors.New("sealed card number does not open")
	}
	return string(pan), nil
}
