package paycrypto

import (
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// AES DUKPT of ANSI X9.24-3:2017, host side: the initial key from the BDK
// and the initial key ID, the intermediate derivation keys from the
// transaction counter, and working keys derived with the standard's
// AES-ECB key derivation function (section 6.3).

// AES DUKPT sizes and limits.
const (
	// AESKSNSize is the size of an X9.24-3 KSN: an 8-byte initial key ID
	// (4-byte BDK ID and 4-byte derivation ID) and a 4-byte counter.
	AESKSNSize = 12
	// AESInitialKeyIDSize is the size of the initial key ID.
	AESInitialKeyIDSize = 8
	// AESCounterOnesMax is the most one bits a valid counter has (X9.24-3
	// 6.1): each one bit is an intermediate derivation step.
	AESCounterOnesMax = 16
)

// AESKeyType is the algorithm and length of a key in X9.24-3 derivation
// data.
type AESKeyType uint16

// Key types with their X9.24-3 algorithm indicators.
const (
	AESKeyType2TDEA  AESKeyType = 0x0000
	AESKeyType3TDEA  AESKeyType = 0x0001
	AESKeyTypeAES128 AESKeyType = 0x0002
	AESKeyTypeAES192 AESKeyType = 0x0003
	AESKeyTypeAES256 AESKeyType = 0x0004
)

// AESKeyUsage is an X9.24-3 key usage indicator of a working key.
type AESKeyUsage uint16

// Working key usages.
const (
	AESUsageKeyEncryption     AESKeyUsage = 0x0002
	AESUsagePINEncryption     AESKeyUsage = 0x1000
	AESUsageMACGeneration     AESKeyUsage = 0x2000
	AESUsageMACVerification   AESKeyUsage = 0x2001
	AESUsageMACBoth           AESKeyUsage = 0x2002
	AESUsageDataEncryption    AESKeyUsage = 0x3000
	AESUsageDataDecryption    AESKeyUsage = 0x3001
	AESUsageDataBoth          AESKeyUsage = 0x3002
	aesUsageKeyDerivation     AESKeyUsage = 0x8000
	aesUsageInitialKeyDerived AESKeyUsage = 0x8001
)

// keyBits is the length in bits the derivation data announces for t, or 0
// for an unknown type.
func (t AESKeyType) keyBits() int {
	switch t {
	case AESKeyType2TDEA, AESKeyTypeAES128:
		return 128
	case AESKeyType3TDEA, AESKeyTypeAES192:
		return 192
	case AESKeyTypeAES256:
		return 256
	}
	return 0
}

func aesKeyTypeOf(key []byte) (AESKeyType, error) {
	switch len(key) {
	case 16:
		return AESKeyTypeAES128, nil
	case 24:
		return AESKeyTypeAES192, nil
	case 32:
		return AESKeyTypeAES256, nil
	}
	return 0, fmt.Errorf("%w: AES DUKPT key of %d bytes, want 16, 24 or 32", ErrKeyLength, len(key))
}

func validUsage(u AESKeyUsage) bool {
	switch u {
	case AESUsageKeyEncryption, AESUsagePINEncryption,
		AESUsageMACGeneration, AESUsageMACVerification, AESUsageMACBoth,
		AESUsageDataEncryption, AESUsageDataDecryption, AESUsageDataBoth:
		return true
	}
	return false
}

// ParseAESKSN decodes a 24-hex-digit X9.24-3 key serial number.
func ParseAESKSN(s string) ([]byte, error) {
	if len(s) != 2*AESKSNSize {
		return nil, fmt.Errorf("%w: AES KSN of %d hex digits, want %d", ErrKSN, len(s), 2*AESKSNSize)
	}
	ksn, err := ParseHex(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKSN, err)
	}
	return ksn, nil
}

func checkAESKSN(ksn []byte) error {
	if len(ksn) != AESKSNSize {
		return fmt.Errorf("%w: AES KSN of %d bytes, want %d", ErrKSN, len(ksn), AESKSNSize)
	}
	return nil
}

// derivationData builds the 16-byte X9.24-3 derivation data: version 1, a
// block counter (set per output block), usage, algorithm, length in bits,
// and 8 bytes of context (the initial key ID, or the derivation ID and a
// counter).
func derivationData(usage AESKeyUsage, t AESKeyType, context []byte) [16]byte {
	var d [16]byte
	d[0] = 0x01
	binary.BigEndian.PutUint16(d[2:], uint16(usage))
	binary.BigEndian.PutUint16(d[4:], uint16(t))
	binary.BigEndian.PutUint16(d[6:], uint16(t.keyBits()))
	copy(d[8:], context)
	return d
}

// deriveKey is the X9.24-3 key derivation function: AES-ECB encryption of
// the derivation data under the derivation key, one block per 128 bits of
// output with the block counter 1, 2, ..., truncated to the key length.
func deriveKey(b cipher.Block, d [16]byte) []byte {
	n := int(binary.BigEndian.Uint16(d[6:])) / 8
	out := make([]byte, (n+15)/16*16)
	for i := 0; i*16 < n; i++ {
		d[1] = byte(i + 1)
		b.Encrypt(out[i*16:], d[:])
	}
	clear(out[n:])
	return out[:n]
}

// AESInitialKey derives a device's initial key from an AES-128/192/256 BDK
// and its 8-byte initial key ID; the initial key has the BDK's type.
func AESInitialKey(bdk, initialKeyID []byte) ([]byte, error) {
	t, err := aesKeyTypeOf(bdk)
	if err != nil {
		return nil, err
	}
	if len(initialKeyID) != AESInitialKeyIDSize {
		return nil, fmt.Errorf("%w: initial key ID of %d bytes, want %d", ErrKSN, len(initialKeyID), AESInitialKeyIDSize)
	}
	b, err := newAES(bdk)
	if err != nil {
		return nil, err
	}
	return deriveKey(b, derivationData(aesUsageInitialKeyDerived, t, initialKeyID)), nil
}

// AESDerivationKey derives the intermediate derivation key for ksn's
// counter from the initial key: one derivation per one bit of the counter,
// from the most significant down (X9.24-3 6.5, host derivation). The
// standard's test vectors call it the transaction key.
func AESDerivationKey(initialKey, ksn []byte) ([]byte, error) {
	t, err := aesKeyTypeOf(initialKey)
	if err != nil {
		return nil, err
	}
	if err := checkAESKSN(ksn); err != nil {
		return nil, err
	}
	counter := binary.BigEndian.Uint32(ksn[8:])
	if counter == 0 || bits.OnesCount32(counter) > AESCounterOnesMax {
		return nil, fmt.Errorf("%w: counter with %d one bits", ErrKSNCounter, bits.OnesCount32(counter))
	}
	key := append([]byte(nil), initialKey...)
	var context [8]byte
	copy(context[:4], ksn[4:8]) // the derivation ID
	var working uint32
	for mask := uint32(1) << 31; mask != 0; mask >>= 1 {
		if counter&mask == 0 {
			continue
		}
		working |= mask
		binary.BigEndian.PutUint32(context[4:], working)
		b, err := newAES(key)
		if err != nil {
			clear(key)
			return nil, err
		}
		next := deriveKey(b, derivationData(aesUsageKeyDerivation, t, context[:]))
		clear(key)
		key = next
	}
	return key, nil
}

// AESWorkingKeyFromInitialKey derives the working key of the given usage
// and type for ksn from the initial key (what the originating device
// holds). The working key may not be longer than the initial key: X9.24-3
// forbids deriving a stronger key than its parent.
func AESWorkingKeyFromInitialKey(initialKey, ksn []byte, usage AESKeyUsage, wt AESKeyType) ([]byte, error) {
	if !validUsage(usage) {
		return nil, fmt.Errorf("%w: usage %#04x", ErrKeyUsage, uint16(usage))
	}
	if wt.keyBits() == 0 {
		return nil, fmt.Errorf("%w: key type %#04x", ErrKeyUsage, uint16(wt))
	}
	if wt.keyBits() > 8*len(initialKey) {
		return nil, fmt.Errorf("%w: %d-bit working key from a %d-bit key", ErrKeyUsage, wt.keyBits(), 8*len(initialKey))
	}
	dk, err := AESDerivationKey(initialKey, ksn)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	b, err := newAES(dk)
	if err != nil {
		return nil, err
	}
	context := ksn[4:] // derivation ID and the full counter
	return deriveKey(b, derivationData(usage, wt, context)), nil
}

// AESWorkingKey derives a working key for ksn from the BDK (the host side).
func AESWorkingKey(bdk, ksn []byte, usage AESKeyUsage, wt AESKeyType) ([]byte, error) {
	if err := checkAESKSN(ksn); err != nil {
		return nil, err
	}
	ik, err := AESInitialKey(bdk, ksn[:AESInitialKeyIDSize])
	if err != nil {
		return nil, err
	}
	defer clear(ik)
	return AESWorkingKeyFromInitialKey(ik, ksn, usage, wt)
}

// AESDecryptPINBlock deciphers an ISO 9564-1 format 4 PIN block enciphered
// by an AES DUKPT device under its AES PIN encryption key (of type wt,
// AES-128 or AES-256 in the standard's examples) and returns the
// plain-text PIN field.
func AESDecryptPINBlock(bdk, ksn []byte, wt AESKeyType, encBlock []byte, pan string) ([]byte, error) {
	if wt != AESKeyTypeAES128 && wt != AESKeyTypeAES192 && wt != AESKeyTypeAES256 {
		return nil, fmt.Errorf("%w: format 4 PIN blocks need an AES PIN key", ErrKeyUsage)
	}
	key, err := AESWorkingKey(bdk, ksn, AESUsagePINEncryption, wt)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return DecryptPINBlock(ISOFormat4, key, encBlock, pan)
}

// AESNextKSN returns the KSN a device uses after ksn: the next counter with
// at most AESCounterOnesMax one bits. It returns ErrKSNExhausted past the
// last one.
func AESNextKSN(ksn []byte) ([]byte, error) {
	if err := checkAESKSN(ksn); err != nil {
		return nil, err
	}
	c := uint64(binary.BigEndian.Uint32(ksn[8:]))
	for {
		if bits.OnesCount64(c) >= AESCounterOnesMax {
			c += c & -c
		} else {
			c++
		}
		if c > 0xFFFFFFFF {
			return nil, ErrKSNExhausted
		}
		if bits.OnesCount64(c) <= AESCounterOnesMax {
			break
		}
	}
	out := append([]byte(nil), ksn...)
	binary.BigEndian.PutUint32(out[8:], uint32(c))
	return out, nil
}
