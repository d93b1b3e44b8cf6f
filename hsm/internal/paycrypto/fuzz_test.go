package paycrypto

import (
	"errors"
	"strings"
	"testing"
)

// Fuzz targets for every function that parses external input. Each checks
// that the function never panics, fails only with this package's sentinel
// errors, and that what it accepts is well-formed. Run each with
// go test -run='^$' -fuzz=FuzzName -fuzztime=60s ./hsm/internal/paycrypto/

var sentinels = []error{
	ErrKeyLength, ErrKeyParity, ErrDataLength, ErrHex, ErrPINLength, ErrPINDigit,
	ErrPINBlockFormat, ErrPINBlockFill, ErrPAN, ErrRandom, ErrKSN, ErrKSNCounter,
	ErrKSNExhausted, ErrKeyUsage, ErrMACLength, ErrPadding, ErrDecimalizationTable,
	ErrValidationData, ErrCheckLength, ErrOffset, ErrPVKI, ErrExpiry, ErrServiceCode,
	ErrCardVerificationValue, ErrPSN, ErrCryptogram,
}

func checkSentinel(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error %v wraps no sentinel", err)
}

func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"", "00", "0123456789abcdefABCDEF", "0G", "ABC", "é1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseHex(s)
		if err != nil {
			if !errors.Is(err, ErrHex) {
				t.Fatalf("error %v is not ErrHex", err)
			}
			return
		}
		if FormatHex(b) != strings.ToUpper(s) {
			t.Fatalf("FormatHex(ParseHex(%q)) = %q", s, FormatHex(b))
		}
	})
}

func FuzzParseKSN(f *testing.F) {
	for _, s := range []string{"FFFF9876543210E00001", "FFFF9876543210EFF800", "FFFF9876543210E007FF",
		"123456789012345600000001", "12345678901234560001FFFF", "1234567890123456FFFF0000", "FFFF", "zz"} {
		f.Add(s)
	}
	tdesBDK := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	aesBDK := []byte{0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1}
	f.Fuzz(func(t *testing.T, s string) {
		if ksn, err := ParseTDESKSN(s); err != nil {
			if !errors.Is(err, ErrKSN) {
				t.Fatalf("TDES KSN error %v is not ErrKSN", err)
			}
		} else {
			if len(ksn) != TDESKSNSize {
				t.Fatalf("TDES KSN of %d bytes", len(ksn))
			}
			key, err := TDESWorkingKey(tdesBDK, ksn, TDESVariantPIN)
			checkSentinel(t, err)
			if err == nil && len(key) != 16 {
				t.Fatalf("PIN key of %d bytes", len(key))
			}
			next, err := TDESNextKSN(ksn)
			checkSentinel(t, err)
			if err == nil {
				if c, _ := TDESCounter(next); c == 0 {
					t.Fatalf("next KSN has counter 0")
				}
				if _, err := TDESWorkingKey(tdesBDK, next, TDESVariantDataRequest); err != nil {
					t.Fatalf("next KSN is not usable: %v", err)
				}
			}
		}
		if ksn, err := ParseAESKSN(s); err != nil {
			if !errors.Is(err, ErrKSN) {
				t.Fatalf("AES KSN error %v is not ErrKSN", err)
			}
		} else {
			key, err := AESWorkingKey(aesBDK, ksn, AESUsageMACGeneration, AESKeyTypeAES128)
			checkSentinel(t, err)
			if err == nil && len(key) != 16 {
				t.Fatalf("MAC key of %d bytes", len(key))
			}
			next, err := AESNextKSN(ksn)
			checkSentinel(t, err)
			if err == nil {
				if _, err := AESWorkingKey(aesBDK, next, AESUsagePINEncryption, AESKeyTypeAES128); err != nil {
					t.Fatalf("next KSN is not usable: %v", err)
				}
			}
		}
	})
}

// FuzzDecodePINBlock feeds arbitrary clear blocks to the validator. What it
// accepts must be a 4-12 digit PIN that encodes back to a valid block, and
// for format 0 to the very same block.
func FuzzDecodePINBlock(f *testing.F) {
	f.Add(uint8(0), []byte{0x04, 0x12, 0x74, 0xED, 0xCB, 0xA9, 0x87, 0x6F}, "4012345678909")
	f.Add(uint8(1), []byte{0x16, 0x12, 0x34, 0x56, 0x6A, 0xBC, 0xFD, 0xE1}, "")
	f.Add(uint8(3), []byte{0x34, 0x12, 0x74, 0xED, 0xCB, 0xA9, 0x87, 0x6F}, "4012345678909")
	f.Add(uint8(4), []byte{0x44, 0x12, 0x34, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA, 0x2F, 0x69, 0xAD, 0xDE, 0x2E, 0x9E, 0x7A, 0xCE}, "4111111111111111")
	f.Add(uint8(2), []byte{0x24, 0x12, 0x34, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, "4111111111111111")
	f.Fuzz(func(t *testing.T, format uint8, block []byte, pan string) {
		fm := PINBlockFormat(format)
		pin, err := DecodePINBlock(fm, block, pan)
		if err != nil {
			checkSentinel(t, err)
			if pin != nil {
				t.Fatalf("PIN returned with error %v", err)
			}
			if len(block) >= 4 && strings.Contains(err.Error(), FormatHex(block)) {
				t.Fatalf("error %q contains the block", err)
			}
			return
		}
		if checkPIN(pin) != nil {
			t.Fatalf("accepted an invalid PIN of %d digits", len(pin))
		}
		// Format 4's PIN field does not involve the PAN (it is chained in
		// at encipherment), so any valid PAN re-encodes it.
		encPAN := pan
		if fm == ISOFormat4 {
			encPAN = "4111111111111111"
		}
		again, err := EncodePINBlock(fm, pin, encPAN, newSeqReader(0x12, 0x34, 0x56, 0x78, 0x9A))
		if err != nil {
			t.Fatalf("re-encoding an accepted PIN failed: %v", err)
		}
		if fm == ISOFormat0 && !equal(again, block) {
			t.Fatalf("format 0 block does not re-encode to itself")
		}
		if back, err := DecodePINBlock(fm, again, encPAN); err != nil || string(back) != string(pin) {
			t.Fatalf("re-encoded block decodes to %q, %v", back, err)
		}
	})
}

// FuzzDecryptPIN deciphers arbitrary blocks under fixed keys: the only
// outcomes are a valid PIN or a sentinel error.
func FuzzDecryptPIN(f *testing.F) {
	f.Add(uint8(0), []byte{0x1B, 0x9C, 0x18, 0x45, 0xEB, 0x99, 0x3A, 0x7A}, "4012345678909")
	f.Add(uint8(4), []byte{0xA9, 0x12, 0x15, 0x03, 0x91, 0xAB, 0x65, 0xA6, 0x7E, 0x52, 0x88, 0x3D, 0x81, 0xCE, 0x2D, 0x15}, "4111111111111111")
	f.Add(uint8(1), []byte{1, 2, 3, 4, 5, 6, 7, 8}, "")
	tdesKey := []byte{0x04, 0x26, 0x66, 0xB4, 0x91, 0x84, 0xCF, 0x5C, 0x68, 0xDE, 0x96, 0x28, 0xD0, 0x39, 0x7B, 0x36}
	aesKey := []byte{0xAF, 0x8C, 0xB1, 0x33, 0xA7, 0x8F, 0x8D, 0xC2, 0xD1, 0x35, 0x9F, 0x18, 0x52, 0x75, 0x93, 0xFB}
	f.Fuzz(func(t *testing.T, format uint8, enc []byte, pan string) {
		fm := PINBlockFormat(format)
		key := tdesKey
		if fm == ISOFormat4 {
			key = aesKey
		}
		pin, err := DecryptPIN(PINBlockKey{fm, key, pan}, enc)
		checkSentinel(t, err)
		if err == nil && checkPIN(pin) != nil {
			t.Fatalf("accepted an invalid PIN")
		}
		_, err = TranslatePINBlock(PINBlockKey{fm, key, pan}, PINBlockKey{ISOFormat0, tdesKey, "4012345678909"}, enc, newSeqReader(7, 9))
		checkSentinel(t, err)
	})
}

// FuzzTDESDecryptPINBlock takes the KSN and PIN block of a DUKPT request as
// raw bytes, as a host receives them.
func FuzzTDESDecryptPINBlock(f *testing.F) {
	f.Add([]byte{0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x01}, []byte{0x1B, 0x9C, 0x18, 0x45, 0xEB, 0x99, 0x3A, 0x7A})
	f.Add([]byte{0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0x00, 0x00}, []byte{0, 0, 0, 0, 0, 0, 0, 0})
	bdk := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	f.Fuzz(func(t *testing.T, ksn, block []byte) {
		clearBlock, err := TDESDecryptPINBlock(bdk, ksn, block)
		checkSentinel(t, err)
		if err == nil && len(clearBlock) != 8 {
			t.Fatalf("clear block of %d bytes", len(clearBlock))
		}
	})
}

// FuzzIBM3624 takes the issuer parameters, PIN and offset as the HSM
// commands carry them: strings of the host's choosing.
func FuzzIBM3624(f *testing.F) {
	f.Add("0123456789012345", "1234567890123445", byte('F'), "1234", "2298")
	f.Add("8351296477461538", "12345", byte('0'), "123456", "0000")
	f.Add("0123456789ABCDEF", "", byte('Z'), "12a4", "12345")
	pvk := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF}
	f.Fuzz(func(t *testing.T, table, data string, pad byte, pin, offset string) {
		p := IBM3624{DecimalizationTable: table, ValidationData: data, Pad: pad}
		ok, err := p.Verify(pvk, []byte(pin), offset)
		checkSentinel(t, err)
		if err != nil && ok {
			t.Fatalf("verified with an error")
		}
		off, err := p.Offset(pvk, []byte(pin), len(offset))
		checkSentinel(t, err)
		if err == nil {
			if ok, err := p.Verify(pvk, []byte(pin), off); err != nil || !ok {
				t.Fatalf("offset %s of the PIN does not verify: %v", off, err)
			}
		}
	})
}

// FuzzCardVerification takes PAN, expiry, service code and PIN strings.
func FuzzCardVerification(f *testing.F) {
	f.Add("4123456789012345", "8701", "111", "856", "1234")
	f.Add("41234567890123456789", "871", "1O1", "85", "12")
	key := []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF, 0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10}
	f.Fuzz(func(t *testing.T, pan, expiry, serviceCode, cvv, pin string) {
		got, err := CVV(key, pan, expiry, serviceCode)
		checkSentinel(t, err)
		if err == nil && (len(got) != 3 || !isDigits(got)) {
			t.Fatalf("CVV %q", got)
		}
		_, err = VerifyCVV(key, pan, expiry, serviceCode, cvv)
		checkSentinel(t, err)
		pvv, err := VisaPVV(key, pan, 1, []byte(pin))
		checkSentinel(t, err)
		if err == nil && (len(pvv) != 4 || !isDigits(pvv)) {
			t.Fatalf("PVV %q", pvv)
		}
		_, err = ICCMasterKeyOptionA(key, pan, serviceCode[:min(2, len(serviceCode))])
		checkSentinel(t, err)
	})
}
