package payshield

import (
	"context"
	"encoding/hex"

	"github.com/cardswitch/cardswitch/hsm"
)

// panMax is the longest primary account number (ISO/IEC 7812).
const panMax = 19

// cvvFields reads "PAN ; expiry service-code" of CW and CY.
func cvvFields(r *fieldReader) (pan, expiry, serviceCode string) {
	pan = r.until(';', panMax)
	for _, c := range []byte(pan) {
		if c < '0' || c > '9' {
			r.fail()
		}
	}
	return pan, r.digits(4), r.digits(3)
}

// generateCVV is CW: CVK pair (32H or 1A+32H), PAN, ';', expiry (YYMM), service code. Answers
// the 3-digit CVV.
func (s *Server) generateCVV(r *fieldReader) (string, []byte) {
	cvk := hsm.Key{Type: hsm.KeyTypeCVK, Cryptogram: r.key(32)}
	pan, exp, sc := cvvFields(r)
	r.end()
	if r.err != nil {
		return codeInput, nil
	}
	v, err := s.hsm.GenerateCVV(cvk, pan, exp, sc)
	if err != nil {
		return errorCode(err), nil
	}
	return codeOK, []byte(v)
}

// verifyCVV is CY: CVK pair, CVV (3N), PAN, ';', expiry, service code. Answers 00 or 01.
func (s *Server) verifyCVV(r *fieldReader) (string, []byte) {
	var req hsm.CVVRequest
	req.CVK = hsm.Key{Type: hsm.KeyTypeCVK, Cryptogram: r.key(32)}
	req.CVV = r.digits(3)
	req.PAN, req.Expiry, req.ServiceCode = cvvFields(r)
	r.end()
	if r.err != nil {
		return codeInput, nil
	}
	return errorCode(s.hsm.VerifyCVV(context.Background(), req)), nil
}

// verifyTerminalPVV is DC: TPK, PVK pair, PIN block, format, account (12N), PVKI (1N), PVV (4N).
func (s *Server) verifyTerminalPVV(r *fieldReader) (string, []byte) {
	return s.verifyPVV(r, hsm.KeyTypeTPK)
}

// verifyInterchangePVV is EC: as DC with a ZPK.
func (s *Server) verifyInterchangePVV(r *fieldReader) (string, []byte) {
	return s.verifyPVV(r, hsm.KeyTypeZPK)
}

func (s *Server) verifyPVV(r *fieldReader, kt hsm.KeyType) (string, []byte) {
	var req hsm.PVVRequest
	req.Key = hsm.Key{Type: kt, Cryptogram: r.key(16)}
	req.PVK = hsm.Key{Type: hsm.KeyTypePVK, Cryptogram: r.key(32)}
	req.PINBlock = pinBlock(r)
	req.Format = hsm.PINFormat(r.digits(2))
	req.PAN = accountPAN(r.digits(12))
	req.PVKI = r.number(1)
	req.PVV = r.digits(4)
	r.end()
	if r.err != nil {
		return codeInput, nil
	}
	return errorCode(s.hsm.VerifyPVV(context.Background(), req)), nil
}

// KQ error codes.
const (
	codeKQMode       = "04" // invalid mode
	codeKQScheme     = "05" // unrecognised scheme ID
	codeKQDataLength = "80" // transaction data length error
	codeKQNoData     = "81" // zero-length transaction data
)

// verifyARQC is KQ: mode (0 verify, 1 verify and make the ARPC, 2 make the ARPC only), scheme
// ID (0 Visa CVN 10, 1 EMV common session key), MK-AC, PAN and PAN sequence number (8B, the
// option A input), ATC (2B), unpredictable number (4B), transaction data length (2H),
// transaction data, ';', ARQC (8B), and for modes 1 and 2 the ARC (2B). Answers the ARPC (8B)
// for modes 1 and 2.
func (s *Server) verifyARQC(r *fieldReader) (string, []byte) {
	mode := r.text(1)
	scheme := r.text(1)
	var req hsm.ARQCRequest
	req.MKAC = hsm.Key{Type: hsm.KeyTypeMKAC, Cryptogram: r.key(32)}
	y := r.bytes(8)
	req.ATC = r.bytes(2)
	r.bytes(4) // unpredictable number: inside the transaction data as well
	n := r.hexNumber(2)
	if r.err == nil && len(r.remaining()) < n {
		return codeKQDataLength, nil
	}
	req.TransactionData = r.bytes(n)
	if !r.optional(';') {
		r.fail()
	}
	req.ARQC = r.bytes(8)
	if mode == "1" || mode == "2" {
		req.ARC = r.bytes(2)
	}
	r.end()
	switch {
	case r.err != nil:
		return codeInput, nil
	case mode != "0" && mode != "1" && mode != "2":
		return codeKQMode, nil
	case n == 0:
		return codeKQNoData, nil
	}
	switch scheme {
	case "0":
		req.Scheme = hsm.ARQCVisaCVN10
	case "1":
		req.Scheme = hsm.ARQCEMVCommon
	default:
		return codeKQScheme, nil
	}
	digits := hex.EncodeToString(y)
	req.PAN, req.PANSequence = digits[:14], digits[14:]
	var arpc []byte
	var err error
	if mode == "2" {
		arpc, err = s.hsm.GenerateARPC(context.Background(), req)
	} else {
		arpc, err = s.hsm.VerifyARQC(context.Background(), req)
	}
	if err != nil {
		return errorCode(err), nil
	}
	return codeOK, arpc
}
