package payshield

import (
	"context"
	"encoding/hex"

	"github.com/cardswitch/cardswitch/hsm"
)

// pinLengthMax is the largest PIN and the only "maximum PIN length" value payShield accepts.
const pinLengthMax = 12

// pinTranslation holds the fields common to CA, CC, CI and G0.
type pinTranslation struct {
	req       hsm.TranslatePINRequest
	maxPINLen int
}

// accountPAN turns the 12-digit account number of a host command (the PAN's 12 right-most
// digits excluding the check digit) into the PAN shape the PIN block code wants: the account
// with a check digit position appended, which the format 0/3 PAN field drops again.
func accountPAN(account string) string { return account + "0" }

// pinBlock reads a 16H PIN block.
func pinBlock(r *fieldReader) []byte {
	h := r.hex(16)
	if r.err != nil {
		return nil
	}
	b, err := hex.DecodeString(h)
	if err != nil {
		r.fail()
	}
	return b
}

// translate performs a parsed PIN translation and formats the response: PIN length (2N), PIN
// block (16H), destination format (2N).
func (s *Server) translate(t pinTranslation) (string, []byte) {
	out, err := s.hsm.Translate(context.Background(), t.req)
	if err != nil {
		return errorCode(err), nil
	}
	if t.maxPINLen > 0 && out.PINLength > t.maxPINLen {
		return codePINLength, nil
	}
	body := make([]byte, 0, 20)
	body = append(body, byte('0'+out.PINLength/10), byte('0'+out.PINLength%10))
	body = append(body, upperHex(out.Block)...)
	body = append(body, t.req.DestFormat...)
	return codeOK, body
}

// translatePINFromTPK is CA: TPK, ZPK, maximum PIN length, PIN block, source and destination
// formats, account number.
func (s *Server) translatePINFromTPK(r *fieldReader) (string, []byte) {
	return s.translateZone(r, hsm.KeyTypeTPK)
}

// translatePINFromZPK is CC: as CA with a source ZPK.
func (s *Server) translatePINFromZPK(r *fieldReader) (string, []byte) {
	return s.translateZone(r, hsm.KeyTypeZPK)
}

func (s *Server) translateZone(r *fieldReader, srcType hsm.KeyType) (string, []byte) {
	var t pinTranslation
	t.req.Source = hsm.Key{Type: srcType, Cryptogram: r.key(16)}
	t.req.Dest = hsm.Key{Type: hsm.KeyTypeZPK, Cryptogram: r.key(16)}
	t.maxPINLen = r.number(2)
	t.req.PINBlock = pinBlock(r)
	t.req.SourceFormat = hsm.PINFormat(r.digits(2))
	t.req.DestFormat = hsm.PINFormat(r.digits(2))
	t.req.PAN = accountPAN(r.digits(12))
	r.end()
	if r.err != nil || t.maxPINLen > pinLengthMax {
		return codeInput, nil
	}
	return s.translate(t)
}

// translatePINFromDUKPT is CI: BDK, ZPK, KSN descriptor, KSN, PIN block (ISO format 0 under the
// DUKPT PIN key), destination format, account number.
func (s *Server) translatePINFromDUKPT(r *fieldReader) (string, []byte) {
	return s.translateDUKPT(r, false)
}

// translatePINFromDUKPT3DES is G0: as CI with the source PIN block format before the
// destination format.
func (s *Server) translatePINFromDUKPT3DES(r *fieldReader) (string, []byte) {
	return s.translateDUKPT(r, true)
}

// ksnLen is the KSN field's length: payShield left-pads shorter KSNs with F to 20 characters.
const ksnLen = 20

func (s *Server) translateDUKPT(r *fieldReader, withSourceFormat bool) (string, []byte) {
	var t pinTranslation
	t.req.Source = hsm.Key{Type: hsm.KeyTypeBDK1, Cryptogram: r.key(32)}
	t.req.Dest = hsm.Key{Type: hsm.KeyTypeZPK, Cryptogram: r.key(16)}
	desc := r.hex(3)
	t.req.KSN = r.hex(ksnLen)
	t.req.PINBlock = pinBlock(r)
	t.req.SourceFormat = hsm.PINFormatISO0
	if withSourceFormat {
		t.req.SourceFormat = hsm.PINFormat(r.digits(2))
	}
	t.req.DestFormat = hsm.PINFormat(r.digits(2))
	t.req.PAN = accountPAN(r.digits(12))
	r.end()
	if r.err != nil || !validKSNDescriptor(desc) {
		return codeInput, nil
	}
	return s.translate(t)
}

// validKSNDescriptor checks the 3-character KSN descriptor: base derivation key identifier
// length, sub-key length and device identifier length, in hex characters, which with the
// 21-bit counter must fit the 20-character KSN.
func validKSNDescriptor(d string) bool {
	if len(d) != 3 {
		return false
	}
	total := hexVal(d[0]) + hexVal(d[1]) + hexVal(d[2])
	return hexVal(d[0]) > 0 && total <= ksnLen-5
}

// upperHex encodes b as upper-case hex.
func upperHex(b []byte) []byte {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&0x0F]
	}
	return out
}
