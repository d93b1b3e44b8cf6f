package paycrypto

import (
	"crypto/cipher"
	"fmt"
)

// CMAC as specified in NIST SP 800-38B (and RFC 4493 for AES-128).

// AESCMAC returns the 16-byte AES-CMAC of data under an AES-128/192/256 key.
// Callers that need a truncated MAC take a prefix.
func AESCMAC(key, data []byte) ([]byte, error) {
	b, err := newAES(key)
	if err != nil {
		return nil, err
	}
	return cmac(b, data), nil
}

// TDESCMAC returns the 8-byte TDES-CMAC of data under a double- or
// triple-length key (SP 800-38B's TDEA examples).
func TDESCMAC(key, data []byte) ([]byte, error) {
	if len(key) != TDESDoubleKeySize && len(key) != TDESTripleKeySize {
		return nil, fmt.Errorf("%w: TDES-CMAC key of %d bytes, want 16 or 24", ErrKeyLength, len(key))
	}
	b, err := newTDES(key)
	if err != nil {
		return nil, err
	}
	return cmac(b, data), nil
}

// cmacSubkeys derives K1 and K2 from L = E_K(0^b) by doubling in GF(2^b),
// with the reduction constant Rb of SP 800-38B section 5.3.
func cmacSubkeys(b cipher.Block) (k1, k2 []byte) {
	bs := b.BlockSize()
	rb := byte(0x87)
	if bs == DESBlockSize {
		rb = 0x1B
	}
	l := make([]byte, bs)
	b.Encrypt(l, l)
	k1 = gfDouble(l, rb)
	k2 = gfDouble(k1, rb)
	clear(l)
	return k1, k2
}

func gfDouble(in []byte, rb byte) []byte {
	out := make([]byte, len(in))
	var carry byte
	for i := len(in) - 1; i >= 0; i-- {
		out[i] = in[i]<<1 | carry
		carry = in[i] >> 7
	}
	if carry != 0 {
		out[len(out)-1] ^= rb
	}
	return out
}

func cmac(b cipher.Block, data []byte) []byte {
	bs := b.BlockSize()
	k1, k2 := cmacSubkeys(b)
	n := (len(data) + bs - 1) / bs
	complete := n > 0 && len(data)%bs == 0
	if n == 0 {
		n = 1
	}
	x := make([]byte, bs)
	for i := 0; i < n-1; i++ {
		xorInto(x, x, data[i*bs:(i+1)*bs])
		b.Encrypt(x, x)
	}
	last := make([]byte, bs)
	tail := data[(n-1)*bs:]
	if complete {
		xorInto(last, tail, k1)
	} else {
		copy(last, tail)
		last[len(tail)] = 0x80
		xorInto(last, last, k2)
	}
	xorInto(x, x, last)
	b.Encrypt(x, x)
	clear(k1)
	clear(k2)
	return x
}
