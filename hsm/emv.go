package hsm

import (
	"context"

	"github.com/cardswitch/cardswitch/hsm/internal/paycrypto"
)

// VerifyARQC implements HSM (and the KQ command).
func (s *Soft) VerifyARQC(ctx context.Context, req ARQCRequest) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req.ATC) != 2 || len(req.ARQC) != paycrypto.ACSize || (req.ARC != nil && len(req.ARC) != paycrypto.ARCSize) {
		return nil, ErrInvalidInput
	}
	imk, err := s.clearKey(req.MKAC, "MK-AC", 0, KeyTypeMKAC)
	if err != nil {
		return nil, err
	}
	defer clear(imk)
	if len(imk) != 16 {
		return nil, fieldErr("MK-AC", 0, ErrKeyLength)
	}
	psn := req.PANSequence
	if psn == "" {
		psn = "00"
	}
	udk, err := paycrypto.ICCMasterKeyOptionA(imk, req.PAN, psn)
	if err != nil {
		return nil, cryptoErr(err)
	}
	defer clear(udk)
	key, pad := udk, paycrypto.PaddingMethod1
	switch req.Scheme {
	case ARQCVisaCVN10:
	case ARQCEMVCommon:
		sk, err := paycrypto.ACSessionKey(udk, uint16(req.ATC[0])<<8|uint16(req.ATC[1]))
		if err != nil {
			return nil, cryptoErr(err)
		}
		defer clear(sk)
		key, pad = sk, paycrypto.PaddingMethod2
	default:
		return nil, ErrInvalidInput
	}
	ok, err := paycrypto.VerifyApplicationCryptogram(key, req.TransactionData, pad, req.ARQC)
	if err != nil {
		return nil, cryptoErr(err)
	}
	if !ok {
		return nil, ErrCryptogramMismatch
	}
	if req.ARC == nil {
		return nil, nil
	}
	arpc, err := paycrypto.ARPCMethod1(key, req.ARQC, req.ARC)
	if err != nil {
		return nil, cryptoErr(err)
	}
	return arpc, nil
}

// GenerateARPC returns the ARPC for an ARQC without verifying it (the KQ command's mode 2).
func (s *Soft) GenerateARPC(ctx context.Context, req ARQCRequest) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(req.ATC) != 2 || len(req.ARQC) != paycrypto.ACSize || len(req.ARC) != paycrypto.ARCSize {
		return nil, ErrInvalidInput
	}
	imk, err := s.clearKey(req.MKAC, "MK-AC", 0, KeyTypeMKAC)
	if err != nil {
		return nil, err
	}
	defer clear(imk)
	udk, err := paycrypto.ICCMasterKeyOptionA(imk, req.PAN, req.PANSequence)
	if err != nil {
		return nil, cryptoErr(err)
	}
	defer clear(udk)
	key := udk
	if req.Scheme == ARQCEMVCommon {
		sk, err := paycrypto.ACSessionKey(udk, uint16(req.ATC[0])<<8|uint16(req.ATC[1]))
		if err != nil {
			return nil, cryptoErr(err)
		}
		defer clear(sk)
		key = sk
	} else if req.Scheme != ARQCVisaCVN10 {
		return nil, ErrInvalidInput
	}
	arpc, err := paycrypto.ARPCMethod1(key, req.ARQC, req.ARC)
	if err != nil {
		return nil, cryptoErr(err)
	}
	return arpc, nil
}
