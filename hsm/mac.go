package hsm

import (
	"context"

	"github.com/cardswitch/cardswitch/hsm/internal/paycrypto"
)

// macKeyTypes are the key types a MAC may be made with.
var macKeyTypes = []KeyType{KeyTypeTAK, KeyTypeZAK}

// MACParams spells a DES MAC out as the M6/M8 host commands do.
type MACParams struct {
	Algorithm int // ISO/IEC 9797-1 MAC algorithm: 1 (CBC-MAC) or 3 (retail MAC)
	Padding   int // ISO/IEC 9797-1 padding method: 0 (none: data must be whole blocks), 1 or 2
	Size      int // MAC length in bytes, 4 to 8
}

// params returns the host-command spelling of a.
func (a MACAlgorithm) params() (MACParams, error) {
	switch a {
	case MACRetail:
		return MACParams{Algorithm: 3, Padding: 1, Size: 8}, nil
	case MACRetailPad2:
		return MACParams{Algorithm: 3, Padding: 2, Size: 8}, nil
	case MACCBC:
		return MACParams{Algorithm: 1, Padding: 1, Size: 8}, nil
	case MACCBCPad2:
		return MACParams{Algorithm: 1, Padding: 2, Size: 8}, nil
	}
	return MACParams{}, ErrInvalidInput
}

// GenerateMAC implements HSM.
func (s *Soft) GenerateMAC(ctx context.Context, key Key, alg MACAlgorithm, data []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := alg.params()
	if err != nil {
		return nil, err
	}
	return s.MAC(key, p, data)
}

// VerifyMAC implements HSM.
func (s *Soft) VerifyMAC(ctx context.Context, key Key, alg MACAlgorithm, data, mac []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := alg.params()
	if err != nil {
		return err
	}
	return s.CheckMAC(key, p, data, mac)
}

// MAC computes the MAC of data under a TAK or ZAK with explicit parameters (the M6 command).
func (s *Soft) MAC(key Key, p MACParams, data []byte) ([]byte, error) {
	k, err := s.clearKey(key, "MAC key", 0, macKeyTypes...)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	pad := paycrypto.PaddingMethod1
	switch p.Padding {
	case 0:
		if len(data) == 0 || len(data)%8 != 0 {
			return nil, fieldErr("message", 0, ErrInvalidInput)
		}
	case 1:
	case 2:
		pad = paycrypto.PaddingMethod2
	default:
		return nil, fieldErr("padding method", 0, ErrInvalidInput)
	}
	var mac []byte
	switch p.Algorithm {
	case 1:
		mac, err = paycrypto.MACAlgorithm1(k, data, pad, p.Size)
	case 3:
		mac, err = paycrypto.MACAlgorithm3(k, data, pad, p.Size)
	default:
		return nil, fieldErr("MAC algorithm", 0, ErrInvalidInput)
	}
	if err != nil {
		return nil, cryptoErr(err)
	}
	return mac, nil
}

// CheckMAC verifies mac over data (the M8 command): nil or ErrMACMismatch. The MAC's length
// sets the size compared.
func (s *Soft) CheckMAC(key Key, p MACParams, data, mac []byte) error {
	p.Size = len(mac)
	want, err := s.MAC(key, p, data)
	if err != nil {
		return err
	}
	if !paycrypto.EqualMAC(mac, want) {
		return ErrMACMismatch
	}
	return nil
}
