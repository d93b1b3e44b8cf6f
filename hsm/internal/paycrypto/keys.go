package paycrypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"fmt"
	"math/bits"
)

// Key and block sizes in bytes.
const (
	DESKeySize        = 8  // single-length DES key
	TDESDoubleKeySize = 16 // double-length (2-key) TDES key
	TDESTripleKeySize = 24 // triple-length (3-key) TDES key
	DESBlockSize      = 8
	AESBlockSize      = 16
	// KCVSize is the number of bytes of a key check value: 3 bytes, shown
	// as 6 hex digits, as payment HSMs print them.
	KCVSize = 3
)

// newTDES returns a cipher for a single-, double- or triple-length DES key.
// A single-length key is plain DES, which equals TDES with K1=K2=K3; payment
// HSMs still accept such keys (e.g. the 16H single-length variant keys).
func newTDES(key []byte) (cipher.Block, error) {
	switch len(key) {
	case DESKeySize:
		return des.NewCipher(key)
	case TDESDoubleKeySize:
		var k [TDESTripleKeySize]byte
		copy(k[:], key)
		copy(k[16:], key[:8])
		b, err := des.NewTripleDESCipher(k[:])
		clear(k[:])
		return b, err
	case TDESTripleKeySize:
		return des.NewTripleDESCipher(key)
	}
	return nil, fmt.Errorf("%w: DES/TDES key of %d bytes, want 8, 16 or 24", ErrKeyLength, len(key))
}

// newDES returns a single-DES cipher for an 8-byte key.
func newDES(key []byte) (cipher.Block, error) {
	if len(key) != DESKeySize {
		return nil, fmt.Errorf("%w: DES key of %d bytes, want 8", ErrKeyLength, len(key))
	}
	return des.NewCipher(key)
}

func newAES(key []byte) (cipher.Block, error) {
	switch len(key) {
	case 16, 24, 32:
		return aes.NewCipher(key)
	}
	return nil, fmt.Errorf("%w: AES key of %d bytes, want 16, 24 or 32", ErrKeyLength, len(key))
}

// HasOddParity reports whether every byte of a DES key has odd parity.
func HasOddParity(key []byte) bool {
	for _, b := range key {
		if bits.OnesCount8(b)%2 == 0 {
			return false
		}
	}
	return true
}

// CheckParity returns ErrKeyParity, with the position of the first bad byte,
// when a DES key does not have odd parity.
func CheckParity(key []byte) error {
	for i, b := range key {
		if bits.OnesCount8(b)%2 == 0 {
			return fmt.Errorf("%w: byte %d", ErrKeyParity, i)
		}
	}
	return nil
}

// FixParity returns a copy of key with the low bit of each byte set so that
// every byte has odd parity. DES ignores these bits, so the key encrypts the
// same; HSMs require them set.
func FixParity(key []byte) []byte {
	out := make([]byte, len(key))
	for i, b := range key {
		out[i] = withOddParity(b)
	}
	return out
}

func withOddParity(b byte) byte {
	b &^= 1
	if bits.OnesCount8(b)%2 == 0 {
		b |= 1
	}
	return b
}

// KCV returns the key check value of a DES or TDES key: the first 3 bytes of
// the key's encryption of a block of zeros.
func KCV(key []byte) ([]byte, error) {
	b, err := newTDES(key)
	if err != nil {
		return nil, err
	}
	var block [DESBlockSize]byte
	b.Encrypt(block[:], block[:])
	return append([]byte(nil), block[:KCVSize]...), nil
}

// AESKCV returns the check value of an AES key by the CMAC method: the first
// 3 bytes of the AES-CMAC of a 16-byte block of zeros (the method ANSI X9.24
// and TR-31 use for AES keys, since encrypting zeros with AES would expose a
// plaintext/ciphertext pair of the key under a mode also used for data).
func AESKCV(key []byte) ([]byte, error) {
	var zeros [AESBlockSize]byte
	mac, err := AESCMAC(key, zeros[:])
	if err != nil {
		return nil, err
	}
	return mac[:KCVSize], nil
}

// XORComponents combines two or more key components of equal length by XOR,
// the way a key is formed from components held by separate custodians.
func XORComponents(components ...[]byte) ([]byte, error) {
	if len(components) < 2 {
		return nil, fmt.Errorf("%w: %d components, want at least 2", ErrKeyLength, len(components))
	}
	n := len(components[0])
	if n == 0 {
		return nil, fmt.Errorf("%w: empty component", ErrKeyLength)
	}
	out := make([]byte, n)
	for i, c := range components {
		if len(c) != n {
			clear(out)
			return nil, fmt.Errorf("%w: component %d has %d bytes, want %d", ErrKeyLength, i+1, len(c), n)
		}
		for j := range out {
			out[j] ^= c[j]
		}
	}
	return out, nil
}

func xorInto(dst, a, b []byte) {
	for i := range dst {
		dst[i] = a[i] ^ b[i]
	}
}
