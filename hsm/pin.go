package hsm

import (
	"context"

	"github.com/cardswitch/cardswitch/hsm/internal/paycrypto"
)

// PINTranslation is the result of a PIN translation: the destination PIN block and the length
// of the PIN inside it (the host commands report it).
type PINTranslation struct {
	Block     []byte
	PINLength int
}

// format3624 stands for the IBM 3624 / Diebold format among the ISO format numbers.
const format3624 paycrypto.PINBlockFormat = 0xFF

// pinFormat maps a payShield PIN block format code to the ISO 9564 format.
func pinFormat(f PINFormat) (paycrypto.PINBlockFormat, error) {
	switch f {
	case PINFormatDiebold:
		return format3624, nil
	case PINFormatISO0:
		return paycrypto.ISOFormat0, nil
	case PINFormatISO1:
		return paycrypto.ISOFormat1, nil
	case PINFormatISO3:
		return paycrypto.ISOFormat3, nil
	}
	return 0, ErrPINFormat
}

// bdkTypes are the key types a DUKPT base derivation key may have.
var bdkTypes = []KeyType{KeyTypeBDK1, KeyTypeBDK2, KeyTypeBDK3}

// TranslatePIN implements HSM.
func (s *Soft) TranslatePIN(ctx context.Context, req TranslatePINRequest) ([]byte, error) {
	t, err := s.Translate(ctx, req)
	return t.Block, err
}

// Translate re-encrypts a PIN block (commands CA, CC, CI, G0) and reports the PIN's length.
func (s *Soft) Translate(ctx context.Context, req TranslatePINRequest) (PINTranslation, error) {
	if err := ctx.Err(); err != nil {
		return PINTranslation{}, err
	}
	srcFmt, err := pinFormat(req.SourceFormat)
	if err != nil {
		return PINTranslation{}, fieldErr("source PIN block format", 0, err)
	}
	if req.DestFormat == "" {
		req.DestFormat = req.SourceFormat
	}
	dstFmt, err := pinFormat(req.DestFormat)
	if err != nil {
		return PINTranslation{}, fieldErr("destination PIN block format", 1, err)
	}
	if len(req.PINBlock) != 8 {
		return PINTranslation{}, fieldErr("PIN block", 0, ErrInvalidInput)
	}
	srcKey, err := s.pinSourceKey(req)
	if err != nil {
		return PINTranslation{}, err
	}
	defer clear(srcKey)
	dstKey, err := s.clearKey(req.Dest, "destination ZPK", 1, KeyTypeZPK)
	if err != nil {
		return PINTranslation{}, err
	}
	defer clear(dstKey)
	pin, err := decryptPIN(srcFmt, srcKey, req.PINBlock, req.PAN)
	if err != nil {
		return PINTranslation{}, fieldErr("source PIN block", 0, cryptoErr(err))
	}
	defer clear(pin)
	out, err := s.encryptPIN(dstFmt, dstKey, pin, req.PAN)
	if err != nil {
		return PINTranslation{}, fieldErr("destination PIN block", 1, cryptoErr(err))
	}
	return PINTranslation{Block: out, PINLength: len(pin)}, nil
}

// decryptPIN deciphers a PIN block and returns the PIN (ASCII digits).
func decryptPIN(f paycrypto.PINBlockFormat, key, block []byte, pan string) ([]byte, error) {
	if f != format3624 {
		return paycrypto.DecryptPIN(paycrypto.PINBlockKey{Format: f, Key: key, PAN: pan}, block)
	}
	clearBlock, err := paycrypto.TDESDecryptECB(key, block)
	if err != nil {
		return nil, err
	}
	defer clear(clearBlock)
	return paycrypto.Decode3624PINBlock(clearBlock, paycrypto.PIN3624Pad)
}

// encryptPIN builds and enciphers a PIN block.
func (s *Soft) encryptPIN(f paycrypto.PINBlockFormat, key, pin []byte, pan string) ([]byte, error) {
	if f != format3624 {
		return paycrypto.EncryptPIN(paycrypto.PINBlockKey{Format: f, Key: key, PAN: pan}, pin, s.rand)
	}
	clearBlock, err := paycrypto.Encode3624PINBlock(pin, paycrypto.PIN3624Pad)
	if err != nil {
		return nil, err
	}
	defer clear(clearBlock)
	return paycrypto.TDESEncryptECB(key, clearBlock)
}

// pinSourceKey returns the clear key the source PIN block is under: the TPK or ZPK itself, or
// the DUKPT PIN key derived from the BDK and the KSN.
func (s *Soft) pinSourceKey(req TranslatePINRequest) ([]byte, error) {
	if req.KSN == "" {
		return s.clearKey(req.Source, "source key", 0, KeyTypeTPK, KeyTypeZPK)
	}
	bdk, err := s.clearKey(req.Source, "BDK", 0, bdkTypes...)
	if err != nil {
		return nil, err
	}
	defer clear(bdk)
	ksn, err := paycrypto.ParseTDESKSN(req.KSN)
	if err != nil {
		return nil, fieldErr("KSN", 0, ErrInvalidInput)
	}
	k, err := paycrypto.TDESWorkingKey(bdk, ksn, paycrypto.TDESVariantPIN)
	if err != nil {
		return nil, fieldErr("KSN", 0, cryptoErr(err))
	}
	return k, nil
}
