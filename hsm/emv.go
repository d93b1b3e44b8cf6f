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
	key, pad, err := s.cryptogramKey(req)
	if err != nil {
		return nil, err
	}
	defer clear(key)
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
	key, _, err := s.cryptogramKey(req)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	arpc, err := paycrypto.ARPCMethod1(key, req.ARQC, req.ARC)
	if err != nil {
		return nil, cryptoErr(err)
	}
	return arpc, nil
}

// cryptogramKey derives the key an EMV card computes its application cryptograms with: the card's
// master key from the issuer's MK-AC by option A (PAN and PAN sequence number), and for the EMV
// common session key derivation the session key from the ATC; with the padding method the scheme
// uses. The caller clears the key.
func (s *Soft) cryptogramKey(req ARQCRequest) ([]byte, paycrypto.Padding, error) {
	if len(req.ATC) != 2 {
		return nil, 0, ErrInvalidInput
	}
	imk, err := s.clearKey(req.MKAC, "MK-AC", 0, KeyTypeMKAC)
	if err != nil {
		return nil, 0, err
	}
	defer clear(imk)
	if len(imk) != 16 {
		return nil, 0, fieldErr("MK-AC", 0, ErrKeyLength)
	}
	psn := req.PANSequence
	if psn == "" {
		psn = "00"
	}
	udk, err := paycrypto.ICCMasterKeyOptionA(imk, req.PAN, psn)
	if err != nil {
		return nil, 0, cryptoErr(err)
	}
	switch req.Scheme {
	case ARQCVisaCVN10:
		return udk, paycrypto.PaddingMethod1, nil
	case ARQCEMVCommon:
		defer clear(udk)
		sk, err := paycrypto.ACSessionKey(udk, uint16(req.ATC[0])<<8|uint16(req.ATC[1]))
		if err != nil {
			return nil, 0, cryptoErr(err)
		}
		return sk, paycrypto.PaddingMethod2, nil
	}
	clear(udk)
	return nil, 0, ErrInvalidInput
}
