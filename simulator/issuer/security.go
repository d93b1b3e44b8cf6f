package issuer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
)

// DefaultPIN is the PIN the simulator expects when it checks PINs: the one the load generator's
// terminals encrypt.
const DefaultPIN = "1234"

// Security is the simulator's optional check of what the switch did to a request on its way:
// that the PIN block was translated to the issuer's zone PIN key, and that the request carries the
// issuer link's MAC. It proves the switch's cryptography end to end: the terminal encrypted the
// PIN under its own key, and only a correct translation gives that PIN under the ZPK.
type Security struct {
	hsm *hsm.Soft
	zpk hsm.Key // zero: PINs are not checked
	pin string
	zak hsm.Key // zero: MACs are not checked
}

// ErrSecurity is wrapped by every problem with the simulator's keys or PIN.
var ErrSecurity = errors.New("issuer simulator security")

// NewSecurity checks the keys (cryptograms under the soft HSM's LMK: parity, and the check value
// when one is given) and the expected PIN (4 to 12 digits; "" means DefaultPIN). A zero zpk turns
// the PIN rule off, a zero zak the MAC check.
func NewSecurity(h *hsm.Soft, zpk, zak hsm.Key, pin string) (*Security, error) {
	if pin == "" {
		pin = DefaultPIN
	}
	if len(pin) < 4 || len(pin) > 12 || !iso8583.IsDigits(pin) {
		return nil, fmt.Errorf("%w: the PIN must be 4 to 12 digits", ErrSecurity)
	}
	for _, k := range []struct {
		name string
		key  *hsm.Key
		kt   hsm.KeyType
	}{{"ZPK", &zpk, hsm.KeyTypeZPK}, {"ZAK", &zak, hsm.KeyTypeZAK}} {
		if k.key.Cryptogram == "" {
			continue
		}
		k.key.Type = k.kt
		if err := h.CheckKey(context.Background(), *k.key); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrSecurity, k.name, err)
		}
	}
	return &Security{hsm: h, zpk: zpk, pin: pin, zak: zak}, nil
}

// macChars is the length of fields 64 and 128 on the wire: 8 bytes as 16 hex characters.
const macChars = 16

// check runs the checks on a request as received (frame: the message without its length header)
// and returns the response code that refuses it — 63 for a missing or bad MAC, 55 for a PIN that
// is not the expected one — or "" when it may be decided by the amount rules.
func (sc *Security) check(req *iso8583.Message, frame []byte) string {
	if sc.zak.Cryptogram != "" && !sc.macOK(req, frame) {
		return iso8583.RCSecurityViolation
	}
	if sc.zpk.Cryptogram == "" || req.PINBlock == nil {
		return ""
	}
	switch iso8583.MTIClass(req.MTI) {
	case iso8583.MTIAuthorization, iso8583.MTIFinancial:
	default:
		return ""
	}
	if !sc.pinOK(req) {
		return iso8583.RCIncorrectPIN
	}
	return ""
}

// macOK verifies the MAC over the frame up to the MAC field, the last: field 128 when the
// secondary bitmap is present, 64 otherwise.
func (sc *Security) macOK(req *iso8583.Message, frame []byte) bool {
	const bitmapAt = 4
	if len(frame) < bitmapAt+16+macChars {
		return false
	}
	mac := req.MAC
	if c := frame[bitmapAt]; c >= '8' && c <= '9' || c >= 'A' && c <= 'F' {
		mac = req.MAC2
	}
	if mac == nil {
		return false
	}
	err := sc.hsm.VerifyMAC(context.Background(), sc.zak, hsm.MACRetail, frame[:len(frame)-macChars], mac)
	return err == nil
}

// pinOK reports whether field 52 is the expected PIN under the ZPK as an ISO format 0 block with
// the PAN. Format 0 has no random fill, so a block decrypts to the expected PIN exactly when it
// equals that PIN's encryption: the comparison needs no clear PIN outside the hsm package.
func (sc *Security) pinOK(req *iso8583.Message) bool {
	want, err := sc.hsm.EncryptPIN(context.Background(), sc.zpk, hsm.PINFormatISO0, sc.pin, req.PAN)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(want, req.PINBlock) == 1
}

// refuse answers a request with code, echoing what every answer echoes.
func refuse(req *iso8583.Message, code string) *iso8583.Message {
	resp := echo(req, iso8583.ResponseMTI(req.MTI))
	resp.NetworkCode = req.NetworkCode
	resp.ResponseCode = code
	return resp
}
