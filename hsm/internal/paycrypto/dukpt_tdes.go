package paycrypto

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// TDES DUKPT of ANSI X9.24-1:2009 (section 6 and Annex A), host side: the
// initial PIN encryption key (IPEK) from the base derivation key (BDK) and
// the key serial number (KSN), the current transaction key from the IPEK
// and the KSN counter, and the PIN, MAC and data variants of that key.

// TDES DUKPT sizes and limits.
const (
	// TDESKSNSize is the size of an X9.24-1 key serial number: a 59-bit
	// initial KSN and a 21-bit transaction counter.
	TDESKSNSize = 10
	// tdesCounterBits is the width of the transaction counter.
	tdesCounterBits = 21
	tdesCounterMask = 1<<tdesCounterBits - 1
	// TDESCounterOnesMax is the most one bits a valid counter has: the
	// originating device skips counters with more (X9.24-1 A.2), which caps
	// a device at 1,048,575 transactions.
	TDESCounterOnesMax = 10
)

// TDESVariant selects which key an X9.24-1 transaction key is turned into.
type TDESVariant uint8

// The X9.24-1:2009 variants. The data variants are the variant key
// enciphered under itself (Annex A, "data encryption").
const (
	TDESVariantNone         TDESVariant = iota // the transaction key itself
	TDESVariantPIN                             // PIN encryption
	TDESVariantMACRequest                      // MAC, request (and both ways)
	TDESVariantMACResponse                     // MAC, response
	TDESVariantDataRequest                     // data encryption, request (and both ways)
	TDESVariantDataResponse                    // data encryption, response
)

// The variant masks, applied to both halves of the double-length key.
var tdesVariantMasks = [...][8]byte{
	TDESVariantPIN:          {0, 0, 0, 0, 0, 0, 0, 0xFF},
	TDESVariantMACRequest:   {0, 0, 0, 0, 0, 0, 0xFF, 0},
	TDESVariantMACResponse:  {0, 0, 0, 0, 0xFF, 0, 0, 0},
	TDESVariantDataRequest:  {0, 0, 0, 0, 0, 0xFF, 0, 0},
	TDESVariantDataResponse: {0, 0, 0, 0xFF, 0, 0, 0, 0},
}

// keyRegisterMask is XORed onto the key to make the second half of the
// non-reversible key generation, and onto the BDK for the IPEK's right half.
var keyRegisterMask = [TDESDoubleKeySize]byte{
	0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0,
	0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0,
}

// ParseTDESKSN decodes a 20-hex-digit X9.24-1 key serial number.
func ParseTDESKSN(s string) ([]byte, error) {
	if len(s) != 2*TDESKSNSize {
		return nil, fmt.Errorf("%w: TDES KSN of %d hex digits, want %d", ErrKSN, len(s), 2*TDESKSNSize)
	}
	ksn, err := ParseHex(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKSN, err)
	}
	return ksn, nil
}

func checkTDESKSN(ksn []byte) error {
	if len(ksn) != TDESKSNSize {
		return fmt.Errorf("%w: TDES KSN of %d bytes, want %d", ErrKSN, len(ksn), TDESKSNSize)
	}
	return nil
}

// TDESCounter returns the 21-bit transaction counter of a KSN.
func TDESCounter(ksn []byte) (uint32, error) {
	if err := checkTDESKSN(ksn); err != nil {
		return 0, err
	}
	return tdesCounter(ksn), nil
}

func tdesCounter(ksn []byte) uint32 {
	return (uint32(ksn[7])<<16 | uint32(ksn[8])<<8 | uint32(ksn[9])) & tdesCounterMask
}

// TDESInitialKey derives the IPEK from a double-length BDK and any KSN of
// the device (the counter bits are ignored).
func TDESInitialKey(bdk, ksn []byte) ([]byte, error) {
	if len(bdk) != TDESDoubleKeySize {
		return nil, fmt.Errorf("%w: BDK of %d bytes, want 16", ErrKeyLength, len(bdk))
	}
	if err := checkTDESKSN(ksn); err != nil {
		return nil, err
	}
	var reg [8]byte
	copy(reg[:], ksn[:8])
	reg[7] &= 0xE0 // clear the counter bits held in the leftmost 8 bytes
	ipek := make([]byte, TDESDoubleKeySize)
	left, err := newTDES(bdk)
	if err != nil {
		return nil, err
	}
	left.Encrypt(ipek[:8], reg[:])
	var variant [TDESDoubleKeySize]byte
	xorInto(variant[:], bdk, keyRegisterMask[:])
	right, err := newTDES(variant[:])
	clear(variant[:])
	if err != nil {
		return nil, err
	}
	right.Encrypt(ipek[8:], reg[:])
	return ipek, nil
}

// TDESTransactionKey derives the current transaction key for ksn from the
// IPEK: one non-reversible key generation per one bit of the counter, from
// the most significant down. It rejects counter 0 (never used for a
// transaction) and counters with more than TDESCounterOnesMax one bits.
func TDESTransactionKey(ipek, ksn []byte) ([]byte, error) {
	if len(ipek) != TDESDoubleKeySize {
		return nil, fmt.Errorf("%w: IPEK of %d bytes, want 16", ErrKeyLength, len(ipek))
	}
	if err := checkTDESKSN(ksn); err != nil {
		return nil, err
	}
	counter := tdesCounter(ksn)
	if counter == 0 || bits.OnesCount32(counter) > TDESCounterOnesMax {
		return nil, fmt.Errorf("%w: counter with %d one bits", ErrKSNCounter, bits.OnesCount32(counter))
	}
	// The KSN register is the rightmost 64 bits of the KSN with the counter
	// cleared; counter bits are set into it one at a time.
	reg := binary.BigEndian.Uint64(ksn[2:]) &^ tdesCounterMask
	key := make([]byte, TDESDoubleKeySize)
	copy(key, ipek)
	for shift := uint32(1 << (tdesCounterBits - 1)); shift != 0; shift >>= 1 {
		if counter&shift == 0 {
			continue
		}
		reg |= uint64(shift)
		if err := nonReversibleKeyGen(key, reg); err != nil {
			clear(key)
			return nil, err
		}
	}
	return key, nil
}

// nonReversibleKeyGen replaces key with the X9.24-1 non-reversible key
// generation of the KSN register reg under it.
func nonReversibleKeyGen(key []byte, reg uint64) error {
	var r, right, left [8]byte
	binary.BigEndian.PutUint64(r[:], reg)
	if err := nrkgHalf(right[:], key, r[:]); err != nil {
		return err
	}
	var masked [TDESDoubleKeySize]byte
	xorInto(masked[:], key, keyRegisterMask[:])
	err := nrkgHalf(left[:], masked[:], r[:])
	clear(masked[:])
	if err != nil {
		return err
	}
	copy(key[:8], left[:])
	copy(key[8:], right[:])
	clear(left[:])
	clear(right[:])
	return nil
}

// nrkgHalf computes DES_{key left}(reg XOR key right) XOR key right.
func nrkgHalf(dst, key, reg []byte) error {
	b, err := newDES(key[:8])
	if err != nil {
		return err
	}
	xorInto(dst, reg, key[8:])
	b.Encrypt(dst, dst)
	xorInto(dst, dst, key[8:])
	return nil
}

// TDESWorkingKeyFromIPEK derives the transaction key for ksn from the IPEK
// and turns it into the requested variant (what the originating device
// holds).
func TDESWorkingKeyFromIPEK(ipek, ksn []byte, v TDESVariant) ([]byte, error) {
	if v > TDESVariantDataResponse {
		return nil, fmt.Errorf("%w: TDES DUKPT variant %d", ErrKeyUsage, v)
	}
	key, err := TDESTransactionKey(ipek, ksn)
	if err != nil {
		return nil, err
	}
	if v == TDESVariantNone {
		return key, nil
	}
	m := tdesVariantMasks[v]
	xorInto(key[:8], key[:8], m[:])
	xorInto(key[8:], key[8:], m[:])
	if v == TDESVariantDataRequest || v == TDESVariantDataResponse {
		// The data key is the variant key enciphered under itself, half by
		// half, so that it is not a simple XOR of the MAC or PIN key.
		enc, err := TDESEncryptECB(key, key)
		clear(key)
		if err != nil {
			return nil, err
		}
		key = enc
	}
	return key, nil
}

// TDESWorkingKey derives a working key for ksn from the BDK (the host side).
func TDESWorkingKey(bdk, ksn []byte, v TDESVariant) ([]byte, error) {
	ipek, err := TDESInitialKey(bdk, ksn)
	if err != nil {
		return nil, err
	}
	defer clear(ipek)
	return TDESWorkingKeyFromIPEK(ipek, ksn, v)
}

// TDESDecryptPINBlock deciphers a PIN block enciphered by a DUKPT device
// under the PIN variant of its transaction key, and returns the clear
// (still PAN-bound) PIN block.
func TDESDecryptPINBlock(bdk, ksn, encBlock []byte) ([]byte, error) {
	if len(encBlock) != DESBlockSize {
		return nil, fmt.Errorf("%w: DUKPT PIN block of %d bytes, want 8", ErrPINBlockFormat, len(encBlock))
	}
	key, err := TDESWorkingKey(bdk, ksn, TDESVariantPIN)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return TDESDecryptECB(key, encBlock)
}

// TDESNextKSN returns the KSN a device uses after ksn: the next counter with
// at most TDESCounterOnesMax one bits (X9.24-1 A.2). It returns
// ErrKSNExhausted when the 21-bit counter has no such value left.
func TDESNextKSN(ksn []byte) ([]byte, error) {
	if err := checkTDESKSN(ksn); err != nil {
		return nil, err
	}
	c, ok := nextTDESCounter(tdesCounter(ksn))
	if !ok {
		return nil, ErrKSNExhausted
	}
	return withTDESCounter(ksn, c), nil
}

// nextTDESCounter is the originating device's counter update: add one, or,
// when the counter already has the most one bits allowed, add its lowest
// one bit, which skips every counter with too many one bits. Starting from
// a counter that already has too many (a KSN from outside), it repeats
// until it reaches a valid one; each step clears at least one low one bit,
// so it stops within 21 steps.
func nextTDESCounter(c uint32) (uint32, bool) {
	for {
		if bits.OnesCount32(c) >= TDESCounterOnesMax {
			c += c & -c
		} else {
			c++
		}
		if c > tdesCounterMask {
			return c, false
		}
		if bits.OnesCount32(c) <= TDESCounterOnesMax {
			return c, true
		}
	}
}

func withTDESCounter(ksn []byte, c uint32) []byte {
	out := append([]byte(nil), ksn...)
	out[7] = out[7]&0xE0 | byte(c>>16)
	out[8] = byte(c >> 8)
	out[9] = byte(c)
	return out
}

// TDESOriginator is the originating device (PIN pad) side of TDES DUKPT:
// it holds the 21 future key registers of X9.24-1 A.2, so each transaction
// key costs on average about one non-reversible key generation instead of
// one per one bit of the counter. It is for simulators; it is not safe for
// concurrent use.
type TDESOriginator struct {
	ksn     []byte // the KSN of the next transaction
	counter uint32 // its counter; > tdesCounterMask when exhausted
	// fkr[i] is the key of the next counter whose lowest one bit is bit i,
	// or nil when that register is erased.
	fkr [tdesCounterBits][]byte
}

// NewTDESOriginator loads a device with its IPEK and initial KSN (counter
// zero) and fills the future key registers ("Load Initial Key").
func NewTDESOriginator(ipek, initialKSN []byte) (*TDESOriginator, error) {
	if len(ipek) != TDESDoubleKeySize {
		return nil, fmt.Errorf("%w: IPEK of %d bytes, want 16", ErrKeyLength, len(ipek))
	}
	if err := checkTDESKSN(initialKSN); err != nil {
		return nil, err
	}
	if tdesCounter(initialKSN) != 0 {
		return nil, fmt.Errorf("%w: initial KSN must have counter 0", ErrKSNCounter)
	}
	o := &TDESOriginator{ksn: withTDESCounter(initialKSN, 1), counter: 1}
	if err := o.fillRegisters(ipek, 0, tdesCounterBits); err != nil {
		return nil, err
	}
	return o, nil
}

// fillRegisters sets the registers below bit top from key, the key of
// counter base: register i gets the key of base | 1<<i.
func (o *TDESOriginator) fillRegisters(key []byte, base uint32, top int) error {
	reg := binary.BigEndian.Uint64(o.ksn[2:]) &^ tdesCounterMask
	for i := top - 1; i >= 0; i-- {
		k := append([]byte(nil), key...)
		if err := nonReversibleKeyGen(k, reg|uint64(base|1<<i)); err != nil {
			clear(k)
			return err
		}
		clear(o.fkr[i])
		o.fkr[i] = k
	}
	return nil
}

// Next returns the KSN and the transaction key (no variant applied) for the
// next transaction and advances the device. It returns ErrKSNExhausted once
// the counter is used up.
func (o *TDESOriginator) Next() (ksn, key []byte, err error) {
	c := o.counter
	if c > tdesCounterMask {
		return nil, nil, ErrKSNExhausted
	}
	low := bits.TrailingZeros32(c)
	key, o.fkr[low] = o.fkr[low], nil
	if key == nil {
		return nil, nil, fmt.Errorf("%w: future key register %d is empty", ErrKSNCounter, low)
	}
	// New keys for the registers below this one, unless every counter they
	// would serve has too many one bits.
	if bits.OnesCount32(c) < TDESCounterOnesMax {
		if err := o.fillRegisters(key, c, low); err != nil {
			clear(key)
			return nil, nil, err
		}
	}
	ksn = o.ksn
	next, _ := nextTDESCounter(c)
	o.counter = next
	o.ksn = withTDESCounter(o.ksn, next&tdesCounterMask)
	return ksn, key, nil
}
