package paycrypto

import (
	"crypto/subtle"
	"fmt"
)

// MACs of ISO/IEC 9797-1:1999 with DES as the block cipher. ANSI X9.19's
// retail MAC is MAC algorithm 3 with padding method 1.

// Padding is an ISO/IEC 9797-1 padding method.
type Padding uint8

const (
	// PaddingMethod1 right-pads with zero bits to a whole number of blocks
	// (one block of zeros for empty data). It is ambiguous for data that may
	// end in zero bytes, which is why X9.19 messages carry their length.
	PaddingMethod1 Padding = 1
	// PaddingMethod2 appends a single one bit (0x80) and then zero bits.
	PaddingMethod2 Padding = 2
)

// MACLengthMin is the shortest MAC this package produces, 4 bytes: ISO/IEC
// 9797-1 warns that shorter MACs are open to guessing, and payment
// protocols send 4 or 8 bytes.
const MACLengthMin = 4

// pad returns data padded to a whole number of blockSize blocks.
func pad(data []byte, blockSize int, p Padding) ([]byte, error) {
	switch p {
	case PaddingMethod1:
		n := (len(data) + blockSize - 1) / blockSize
		if n == 0 {
			n = 1
		}
		out := make([]byte, n*blockSize)
		copy(out, data)
		return out, nil
	case PaddingMethod2:
		n := len(data)/blockSize + 1
		out := make([]byte, n*blockSize)
		copy(out, data)
		out[len(data)] = 0x80
		return out, nil
	}
	return nil, fmt.Errorf("%w: %d", ErrPadding, p)
}

func checkMACLength(macLen, blockSize int) error {
	if macLen < MACLengthMin || macLen > blockSize {
		return fmt.Errorf("%w: %d bytes, want %d to %d", ErrMACLength, macLen, MACLengthMin, blockSize)
	}
	return nil
}

// MACAlgorithm1 returns the ISO/IEC 9797-1 MAC algorithm 1 (CBC-MAC, zero IV,
// output transformation 1) of data, truncated to macLen bytes (4..8). A
// single-length key gives the DES CBC-MAC of ANSI X9.9; a double- or
// triple-length key gives the TDES CBC-MAC.
func MACAlgorithm1(key, data []byte, p Padding, macLen int) ([]byte, error) {
	if err := checkMACLength(macLen, DESBlockSize); err != nil {
		return nil, err
	}
	b, err := newTDES(key)
	if err != nil {
		return nil, err
	}
	padded, err := pad(data, DESBlockSize, p)
	if err != nil {
		return nil, err
	}
	var h [DESBlockSize]byte
	for i := 0; i < len(padded); i += DESBlockSize {
		xorInto(h[:], h[:], padded[i:i+DESBlockSize])
		b.Encrypt(h[:], h[:])
	}
	return append([]byte(nil), h[:macLen]...), nil
}

// MACAlgorithm3 returns the ISO/IEC 9797-1 MAC algorithm 3 (the retail MAC)
// of data under a double-length key K||K': a DES CBC-MAC under K, then the
// last block decrypted under K' and encrypted under K. With PaddingMethod1
// and macLen 8 (or 4) it is the ANSI X9.19 MAC; with PaddingMethod2 it is the
// EMV application cryptogram MAC.
func MACAlgorithm3(key, data []byte, p Padding, macLen int) ([]byte, error) {
	if err := checkMACLength(macLen, DESBlockSize); err != nil {
		return nil, err
	}
	if len(key) != TDESDoubleKeySize {
		return nil, fmt.Errorf("%w: MAC algorithm 3 key of %d bytes, want 16", ErrKeyLength, len(key))
	}
	k, err := newDES(key[:8])
	if err != nil {
		return nil, err
	}
	k2, err := newDES(key[8:])
	if err != nil {
		return nil, err
	}
	padded, err := pad(data, DESBlockSize, p)
	if err != nil {
		return nil, err
	}
	var h [DESBlockSize]byte
	for i := 0; i < len(padded); i += DESBlockSize {
		xorInto(h[:], h[:], padded[i:i+DESBlockSize])
		k.Encrypt(h[:], h[:])
	}
	k2.Decrypt(h[:], h[:])
	k.Encrypt(h[:], h[:])
	return append([]byte(nil), h[:macLen]...), nil
}

// EqualMAC compares a received MAC with a computed one in constant time, so
// that a verifier does not leak how many leading bytes matched.
func EqualMAC(received, computed []byte) bool {
	return len(received) == len(computed) && subtle.ConstantTimeCompare(received, computed) == 1
}
