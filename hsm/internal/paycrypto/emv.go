package paycrypto

import (
	"fmt"
)

// EMV application cryptograms (EMV 4.3 Book 2, section 8 and annex A1):
// ICC master key derivation option A (A1.4.1), the common session key
// derivation (A1.3.1), the ARQC as an ISO/IEC 9797-1 MAC algorithm 3, and
// ARPC method 1. Visa CVN 10 uses the ICC master key itself as the session
// key and pads the ARQC data with zeros (padding method 1).

// Sizes of EMV values.
const (
	ACSize  = 8 // application cryptogram (ARQC, TC, AAC) and ARPC
	ARCSize = 2 // authorisation response code
)

// ICCMasterKeyOptionA derives the ICC master key for one card from the
// issuer master key (double-length): Y is the rightmost 16 digits of
// PAN || PSN (left-padded with zeros), and the key is TDES(IMK, Y) ||
// TDES(IMK, Y XOR FF..FF) with odd parity set. An empty psn means "00".
// Option A is defined for PAN || PSN up to 16 digits; longer ones are
// truncated to their rightmost 16 digits as EMV prescribes for option A.
func ICCMasterKeyOptionA(imk []byte, pan, psn string) ([]byte, error) {
	if len(imk) != TDESDoubleKeySize {
		return nil, fmt.Errorf("%w: issuer master key of %d bytes, want 16", ErrKeyLength, len(imk))
	}
	if err := checkPAN(pan); err != nil {
		return nil, err
	}
	if psn == "" {
		psn = "00"
	}
	if len(psn) != 2 || !isDigits(psn) {
		return nil, fmt.Errorf("%w: want 2 digits", ErrPSN)
	}
	var digits [16]byte
	for i := range digits {
		digits[i] = '0'
	}
	y := pan + psn
	if len(y) > 16 {
		y = y[len(y)-16:]
	}
	copy(digits[16-len(y):], y)
	var block [8]byte
	packNibbles(block[:], string(digits[:]))
	b, err := newTDES(imk)
	if err != nil {
		return nil, err
	}
	mk := make([]byte, TDESDoubleKeySize)
	b.Encrypt(mk[:8], block[:])
	for i := range block {
		block[i] ^= 0xFF
	}
	b.Encrypt(mk[8:], block[:])
	for i := range mk {
		mk[i] = withOddParity(mk[i])
	}
	return mk, nil
}

// CommonSessionKey derives an EMV common session key from an ICC master
// key and an 8-byte diversification value r (for application cryptograms,
// the ATC followed by six zero bytes): TDES(MK, r with byte 3 = F0) ||
// TDES(MK, r with byte 3 = 0F), with odd parity set.
func CommonSessionKey(mk, r []byte) ([]byte, error) {
	if len(mk) != TDESDoubleKeySize {
		return nil, fmt.Errorf("%w: ICC master key of %d bytes, want 16", ErrKeyLength, len(mk))
	}
	if len(r) != DESBlockSize {
		return nil, fmt.Errorf("%w: diversification value of %d bytes, want 8", ErrCryptogram, len(r))
	}
	b, err := newTDES(mk)
	if err != nil {
		return nil, err
	}
	var block [8]byte
	sk := make([]byte, TDESDoubleKeySize)
	copy(block[:], r)
	block[2] = 0xF0
	b.Encrypt(sk[:8], block[:])
	block[2] = 0x0F
	b.Encrypt(sk[8:], block[:])
	for i := range sk {
		sk[i] = withOddParity(sk[i])
	}
	return sk, nil
}

// ACSessionKey derives the application cryptogram session key for an ATC
// (EMV Book 2 A1.3.1 with R = ATC || 00 00 00 00 00 00).
func ACSessionKey(mk []byte, atc uint16) ([]byte, error) {
	r := [8]byte{byte(atc >> 8), byte(atc)}
	return CommonSessionKey(mk, r[:])
}

// ApplicationCryptogram computes an ARQC (or TC, AAC) over the
// transaction data the card's CDOL names, under the session key: the
// ISO/IEC 9797-1 MAC algorithm 3 with padding method 2 for EMV common
// session keys, padding method 1 for Visa CVN 10.
func ApplicationCryptogram(sessionKey, data []byte, p Padding) ([]byte, error) {
	return MACAlgorithm3(sessionKey, data, p, ACSize)
}

// VerifyApplicationCryptogram reports whether arqc is the cryptogram of
// data under the session key, comparing in constant time.
func VerifyApplicationCryptogram(sessionKey, data []byte, p Padding, arqc []byte) (bool, error) {
	if len(arqc) != ACSize {
		return false, fmt.Errorf("%w: cryptogram of %d bytes, want %d", ErrCryptogram, len(arqc), ACSize)
	}
	want, err := ApplicationCryptogram(sessionKey, data, p)
	if err != nil {
		return false, err
	}
	return EqualMAC(arqc, want), nil
}

// ARPCMethod1 computes the ARPC of EMV Book 2 8.2.1 method 1: the ARQC XOR
// the 2-byte authorisation response code padded with six zero bytes,
// TDES-enciphered under key (the session key, or for Visa CVN 10 and
// many issuers the ICC master key).
func ARPCMethod1(key, arqc, arc []byte) ([]byte, error) {
	if len(arqc) != ACSize {
		return nil, fmt.Errorf("%w: ARQC of %d bytes, want %d", ErrCryptogram, len(arqc), ACSize)
	}
	if len(arc) != ARCSize {
		return nil, fmt.Errorf("%w: ARC of %d bytes, want %d", ErrCryptogram, len(arc), ARCSize)
	}
	if len(key) != TDESDoubleKeySize {
		return nil, fmt.Errorf("%w: ARPC key of %d bytes, want 16", ErrKeyLength, len(key))
	}
	b, err := newTDES(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, ACSize)
	copy(out, arqc)
	out[0] ^= arc[0]
	out[1] ^= arc[1]
	b.Encrypt(out, out)
	return out, nil
}

// VisaCVN10Data is the card risk management data a Visa CVN 10 ARQC covers
// (Visa Integrated Circuit Card Specification, cryptogram version 10), in
// the order the card MACs it.
type VisaCVN10Data struct {
	AmountAuthorised    [6]byte // 9F02, BCD
	AmountOther         [6]byte // 9F03, BCD
	TerminalCountryCode [2]byte // 9F1A
	TVR                 [5]byte // 95, terminal verification results
	CurrencyCode        [2]byte // 5F2A
	TransactionDate     [3]byte // 9A, YYMMDD
	TransactionType     byte    // 9C
	UnpredictableNumber [4]byte // 9F37
	AIP                 [2]byte // 82, application interchange profile
	ATC                 [2]byte // 9F36, application transaction counter
	CVR                 [4]byte // card verification results, bytes 4-7 of IAD 9F10
}

// Bytes returns the data in the order of the cryptogram input.
func (d VisaCVN10Data) Bytes() []byte {
	out := make([]byte, 0, 37)
	out = append(out, d.AmountAuthorised[:]...)
	out = append(out, d.AmountOther[:]...)
	out = append(out, d.TerminalCountryCode[:]...)
	out = append(out, d.TVR[:]...)
	out = append(out, d.CurrencyCode[:]...)
	out = append(out, d.TransactionDate[:]...)
	out = append(out, d.TransactionType)
	out = append(out, d.UnpredictableNumber[:]...)
	out = append(out, d.AIP[:]...)
	out = append(out, d.ATC[:]...)
	out = append(out, d.CVR[:]...)
	return out
}

// VisaCVN10ARQC computes the ARQC a Visa CVN 10 card produces: the session
// key is the ICC master key (option A) and the data is zero-padded.
func VisaCVN10ARQC(imk []byte, pan, psn string, d VisaCVN10Data) ([]byte, error) {
	udk, err := ICCMasterKeyOptionA(imk, pan, psn)
	if err != nil {
		return nil, err
	}
	defer clear(udk)
	return ApplicationCryptogram(udk, d.Bytes(), PaddingMethod1)
}

// VisaCVN10ARPC computes the ARPC (method 1 under the ICC master key) for
// an ARQC and a 2-byte authorisation response code.
func VisaCVN10ARPC(imk []byte, pan, psn string, arqc, arc []byte) ([]byte, error) {
	udk, err := ICCMasterKeyOptionA(imk, pan, psn)
	if err != nil {
		return nil, err
	}
	defer clear(udk)
	return ARPCMethod1(udk, arqc, arc)
}
