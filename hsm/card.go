package hsm

import (
	"context"

	"github.com/cardswitch/cardswitch/hsm/internal/paycrypto"
)

// cvk returns the clear double-length CVK pair of key.
func (s *Soft) cvk(key Key) ([]byte, error) {
	k, err := s.clearKey(key, "CVK", 0, KeyTypeCVK)
	if err != nil {
		return nil, err
	}
	if len(k) != 16 {
		clear(k)
		return nil, fieldErr("CVK", 0, ErrKeyLength)
	}
	return k, nil
}

// GenerateCVV returns the 3-digit Visa CVV of a card (the CW command); serviceCode "000" gives
// the CVV2, "999" the iCVV.
func (s *Soft) GenerateCVV(cvk Key, pan, expiry, serviceCode string) (string, error) {
	k, err := s.cvk(cvk)
	if err != nil {
		return "", err
	}
	defer clear(k)
	v, err := paycrypto.CVV(k, pan, expiry, serviceCode)
	if err != nil {
		return "", cryptoErr(err)
	}
	return v, nil
}

// VerifyCVV implements HSM (and the CY command).
func (s *Soft) VerifyCVV(ctx context.Context, req CVVRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	k, err := s.cvk(req.CVK)
	if err != nil {
		return err
	}
	defer clear(k)
	ok, err := paycrypto.VerifyCVV(k, req.PAN, req.Expiry, req.ServiceCode, req.CVV)
	if err != nil {
		return cryptoErr(err)
	}
	if !ok {
		return ErrCVVMismatch
	}
	return nil
}

// PVVRequest asks for a PIN to be verified against its Visa PIN verification value (commands
// DC and EC).
type PVVRequest struct {
	Key      Key       // the TPK (002) or ZPK (001) the PIN block is under
	PVK      Key       // the PVK pair (002), double length
	PINBlock []byte    // 8 bytes
	Format   PINFormat // the PIN block's format
	PAN      string    // the card number
	PVKI     int       // PIN verification key indicator, 0-9
	PVV      string    // the 4-digit PVV on file
}

// VerifyPVV returns nil when the PIN in the block matches the PVV, ErrPINMismatch when not.
func (s *Soft) VerifyPVV(ctx context.Context, req PVVRequest) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := pinFormat(req.Format)
	if err != nil {
		return fieldErr("PIN block format", 0, err)
	}
	pk, err := s.clearKey(req.Key, "PIN key", 0, KeyTypeTPK, KeyTypeZPK)
	if err != nil {
		return err
	}
	defer clear(pk)
	pvk, err := s.clearKey(req.PVK, "PVK", 1, KeyTypePVK)
	if err != nil {
		return err
	}
	defer clear(pvk)
	if len(pvk) != 16 {
		return fieldErr("PVK", 1, ErrKeyLength)
	}
	pin, err := decryptPIN(f, pk, req.PINBlock, req.PAN)
	if err != nil {
		return fieldErr("PIN block", 0, cryptoErr(err))
	}
	defer clear(pin)
	ok, err := paycrypto.VerifyVisaPVV(pvk, req.PAN, req.PVKI, pin, req.PVV)
	if err != nil {
		return cryptoErr(err)
	}
	if !ok {
		return ErrPINMismatch
	}
	return nil
}
