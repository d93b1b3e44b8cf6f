package hsm

import (
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"strings"

	"github.com/cardswitch/cardswitch/hsm/internal/paycrypto"
)

// Key is a key as the switch holds it: a cryptogram under the LMK, its type, and its check
// value. The clear key never leaves this package tree.
type Key struct {
	// Type is the key's payShield key type; under the variant LMK it selects the LMK pair and
	// variant, so a cryptogram means nothing without it.
	Type KeyType `yaml:"type" json:"type"`
	// Cryptogram is the key under the LMK with its scheme letter: "U" + 32H (double length),
	// "T" + 48H (triple), "X" + 32H / "Y" + 48H (ANSI X9.17), or 16H (single length).
	Cryptogram string `yaml:"cryptogram" json:"cryptogram"`
	// CheckValue is the key check value: the key's encryption of 8 zero bytes, first 6 (or 16)
	// hex characters. Empty means "not checked".
	CheckValue string `yaml:"check_value" json:"check_value"`
}

// KeyScheme is the payShield key scheme letter of a cryptogram: how a key is laid out and
// encrypted under the LMK (or under a ZMK for transport).
type KeyScheme byte

// Key schemes of the variant LMK.
const (
	SchemeSingle        KeyScheme = 'Z' // single-length DES key, 16H, written without a letter
	SchemeDoubleVariant KeyScheme = 'U' // double length, each half under its own scheme variant
	SchemeTripleVariant KeyScheme = 'T' // triple length, each third under its own scheme variant
	SchemeDoubleANSI    KeyScheme = 'X' // double length, X9.17: each half under the plain pair
	SchemeTripleANSI    KeyScheme = 'Y' // triple length, X9.17
)

// ParseKeyScheme returns the scheme for a scheme letter as host commands carry it ('0' and 'Z'
// both mean single length).
func ParseKeyScheme(c byte) (KeyScheme, error) {
	switch c {
	case 'Z', '0':
		return SchemeSingle, nil
	case 'U', 'T', 'X', 'Y':
		return KeyScheme(c), nil
	}
	return 0, ErrKeyFormat
}

// keyLen is the clear key length in bytes for the scheme.
func (s KeyScheme) keyLen() int {
	switch s {
	case SchemeDoubleVariant, SchemeDoubleANSI:
		return 16
	case SchemeTripleVariant, SchemeTripleANSI:
		return 24
	}
	return 8
}

// schemeFor returns the variant scheme for a key of n bytes.
func schemeFor(n int) KeyScheme {
	switch n {
	case 16:
		return SchemeDoubleVariant
	case 24:
		return SchemeTripleVariant
	}
	return SchemeSingle
}

// cryptogram is a parsed key cryptogram.
type cryptogram struct {
	scheme KeyScheme
	data   [24]byte
	n      int // 8, 16 or 24
}

// CryptogramLen returns the length of the cryptogram at the start of s (scheme letter
// included), judged by its first character: 16 for no letter or 'Z'+16 = 17, 33 for U/X, 49
// for T/Y. noLetterLen is the length to assume when s starts with a hex digit (16 for fields
// documented as "16H or 1A+32H", 32 for "32H or 1A+32H" fields such as CVK and PVK pairs).
func CryptogramLen(s string, noLetterLen int) int {
	if s == "" {
		return 0
	}
	switch s[0] {
	case 'Z':
		return 17
	case 'U', 'X':
		return 33
	case 'T', 'Y':
		return 49
	}
	return noLetterLen
}

// parseCryptogram decodes a cryptogram: 16H, Z+16H, U/X+32H, T/Y+48H, or 32H/48H without a
// letter (X9.17 layout, as payShield accepts for CVK and PVK pairs).
func parseCryptogram(s string) (cryptogram, error) {
	var c cryptogram
	body := s
	if s != "" && !isHexDigit(s[0]) {
		sc, err := ParseKeyScheme(s[0])
		if err != nil || s[0] == '0' {
			return c, ErrKeyFormat
		}
		c.scheme = sc
		body = s[1:]
		if len(body) != 2*sc.keyLen() {
			return c, ErrKeyFormat
		}
	} else {
		switch len(body) {
		case 16:
			c.scheme = SchemeSingle
		case 32:
			c.scheme = SchemeDoubleANSI
		case 48:
			c.scheme = SchemeTripleANSI
		default:
			return c, ErrKeyFormat
		}
	}
	c.n = len(body) / 2
	if !decodeHex(c.data[:c.n], body) {
		return c, ErrKeyFormat
	}
	return c, nil
}

// format renders ct (n bytes) in scheme s: single-length keys without a letter, the others with
// their letter, upper-case hex.
func formatCryptogram(s KeyScheme, ct []byte) string {
	h := strings.ToUpper(hex.EncodeToString(ct))
	if s == SchemeSingle {
		return h
	}
	return string(rune(s)) + h
}

// partVariants returns the scheme variant index for each 8-byte part of a key in scheme s.
func partVariants(s KeyScheme) [3]int {
	switch s {
	case SchemeDoubleVariant:
		return [3]int{svU1, svU2, svNone}
	case SchemeTripleVariant:
		return [3]int{svT1, svT2, svT3}
	}
	return [3]int{svNone, svNone, svNone}
}

// decryptUnderLMK returns the clear key of a cryptogram of key type kt, checking parity.
func (l *LMK) decryptUnderLMK(kt KeyType, s string) ([]byte, KeyScheme, error) {
	loc, err := kt.location()
	if err != nil {
		return nil, 0, err
	}
	c, err := parseCryptogram(s)
	if err != nil {
		return nil, 0, err
	}
	key := make([]byte, c.n)
	sv := partVariants(c.scheme)
	for i := 0; i < c.n; i += 8 {
		l.ciphers[loc.pair][loc.variant][sv[i/8]].Decrypt(key[i:i+8], c.data[i:i+8])
	}
	if !oddParity(key) {
		clear(key)
		return nil, 0, ErrKeyParity
	}
	return key, c.scheme, nil
}

// encryptUnderLMK returns the cryptogram of clear key key (8, 16 or 24 bytes) of type kt in
// scheme s. A scheme whose length does not match the key's is ErrKeyLength.
func (l *LMK) encryptUnderLMK(kt KeyType, s KeyScheme, key []byte) (string, error) {
	loc, err := kt.location()
	if err != nil {
		return "", err
	}
	if s.keyLen() != len(key) {
		return "", ErrKeyLength
	}
	var ct [24]byte
	sv := partVariants(s)
	for i := 0; i < len(key); i += 8 {
		l.ciphers[loc.pair][loc.variant][sv[i/8]].Encrypt(ct[i:i+8], key[i:i+8])
	}
	return formatCryptogram(s, ct[:len(key)]), nil
}

// tdes returns a TDES block cipher for a single (K K K), double (K1 K2 K1) or triple length key.
func tdes(key []byte) (cipher.Block, error) {
	var k [24]byte
	switch len(key) {
	case 8:
		copy(k[0:], key)
		copy(k[8:], key)
		copy(k[16:], key)
	case 16:
		copy(k[:16], key)
		copy(k[16:], key[:8])
	case 24:
		copy(k[:], key)
	default:
		return nil, ErrKeyLength
	}
	return des.NewTripleDESCipher(k[:])
}

// zmkCipher returns the ZMK's cipher for scheme variant sv: the variant is XORed into the first
// byte of the ZMK's second key (its first key for a single-length ZMK is never varied).
func zmkCipher(zmk []byte, sv int) (cipher.Block, error) {
	if sv == svNone || len(zmk) == 8 {
		return tdes(zmk)
	}
	k := make([]byte, len(zmk))
	copy(k, zmk)
	k[8] ^= schemeVariants[sv]
	defer clear(k)
	return tdes(k)
}

// wrapUnderZMK encrypts clear key under zmk in scheme s (the transport form of A8 and A0 mode 1).
func wrapUnderZMK(zmk []byte, s KeyScheme, key []byte) (string, error) {
	if s.keyLen() != len(key) {
		return "", ErrKeyLength
	}
	var ct [24]byte
	sv := partVariants(s)
	for i := 0; i < len(key); i += 8 {
		b, err := zmkCipher(zmk, sv[i/8])
		if err != nil {
			return "", err
		}
		b.Encrypt(ct[i:i+8], key[i:i+8])
	}
	return formatCryptogram(s, ct[:len(key)]), nil
}

// unwrapUnderZMK decrypts a key cryptogram under zmk (A6, FA), checking parity.
func unwrapUnderZMK(zmk []byte, s string) ([]byte, KeyScheme, error) {
	c, err := parseCryptogram(s)
	if err != nil {
		return nil, 0, err
	}
	key := make([]byte, c.n)
	sv := partVariants(c.scheme)
	for i := 0; i < c.n; i += 8 {
		b, err := zmkCipher(zmk, sv[i/8])
		if err != nil {
			return nil, 0, err
		}
		b.Decrypt(key[i:i+8], c.data[i:i+8])
	}
	if !oddParity(key) {
		clear(key)
		return nil, 0, ErrKeyParity
	}
	return key, c.scheme, nil
}

// checkValue returns the key's encryption of 8 zero bytes (its full check value; KCVs are its
// first 6 characters), as 16 upper-case hex characters.
func checkValue(key []byte) (string, error) {
	var z [8]byte
	ct, err := paycrypto.TDESEncryptECB(key, z[:])
	if err != nil {
		return "", cryptoErr(err)
	}
	return strings.ToUpper(hex.EncodeToString(ct)), nil
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}

// decodeHex decodes s into dst (len(dst) == len(s)/2) and reports success.
func decodeHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}
