package paycrypto

import (
	"strings"
	"testing"
)

// ANSI X9.24-1:2009 A.4: PIN 1234, PAN 4012345678909, ISO format 0 block
// 041274EDCBA9876F (the clear block the DUKPT examples encipher).
func TestFormat0X924Example(t *testing.T) {
	got, err := EncodePINBlock(ISOFormat0, []byte("1234"), "4012345678909", nil)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "ISO-0 block", got, "041274EDCBA9876F")
	pin, err := DecodePINBlock(ISOFormat0, got, "4012345678909")
	if err != nil {
		t.Fatal(err)
	}
	if string(pin) != "1234" {
		t.Errorf("decoded PIN = %s", pin)
	}
	// The same block under another PAN decodes to garbage, which
	// validation rejects (the fill is no longer F).
	_, err = DecodePINBlock(ISOFormat0, got, "4012345678917")
	if err == nil {
		t.Errorf("block decoded under the wrong PAN")
	}
}

// IBM CCA Basic Services 2.54, Appendix E, Figure E-4: ISO-1 block
// 161234566ABCFDE1 carries PIN 123456 with random fill 6ABCFDE1.
func TestFormat1IBMExample(t *testing.T) {
	pin, err := DecodePINBlock(ISOFormat1, h(t, "161234566ABCFDE1"), "")
	if err != nil {
		t.Fatal(err)
	}
	if string(pin) != "123456" {
		t.Errorf("decoded PIN = %s", pin)
	}
}

// ANSI X9.24-3:2017 supplement test vectors, "Calculation of AES PIN Block
// Format 4": PIN 1234, PAN 4111111111111111, plain-text PIN field
// 441234AAAAAAAAAA2F69ADDE2E9E7ACE (random part 2F69ADDE2E9E7ACE) and PAN
// field 44111111111111111000000000000000.
func TestFormat4X9243Fields(t *testing.T) {
	rnd := newSeqReader(h(t, "2F69ADDE2E9E7ACE")...)
	field, err := EncodePINBlock(ISOFormat4, []byte("1234"), "4111111111111111", rnd)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "PIN field", field, "441234AAAAAAAAAA2F69ADDE2E9E7ACE")
	pf := panField4("4111111111111111")
	assertHex(t, "PAN field", pf[:], "44111111111111111000000000000000")
	// Short PANs are right-justified in 12 digits with M = 0.
	pf = panField4("12345678")
	assertHex(t, "short PAN field", pf[:], "00000123456780000000000000000000")
}

// Worldline/WPAY developer hub "AES-128 bit PIN block or ISO format 4":
// AES-256 PIN key, PAN 5237481234567895, PIN 1234, plain-text PIN field
// 441234AAAAAAAAAAFFC853BBF9685D5E, PAN field 45237481234567895000000000000000,
// intermediate 147CC4356769D305F1423D06D08F22CC, PIN block
// 060E768D21D709B5D2A3F9660A704B9D.
func TestFormat4WPAYExample(t *testing.T) {
	key := h(t, "62CB437131C129DF001D42676011975150506E2A382145FD9BDEA7EC5A339F63")
	pan := "5237481234567895"
	field := h(t, "441234AAAAAAAAAAFFC853BBF9685D5E")
	pf := panField4(pan)
	assertHex(t, "PAN field", pf[:], "45237481234567895000000000000000")
	step1, _ := AESEncryptECB(key, field)
	assertHex(t, "step 1", step1, "147CC4356769D305F1423D06D08F22CC")
	enc, err := EncryptPINBlock(ISOFormat4, key, field, pan)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "PIN block", enc, "060E768D21D709B5D2A3F9660A704B9D")
	back, err := DecryptPINBlock(ISOFormat4, key, enc, pan)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "decrypted field", back, "441234AAAAAAAAAAFFC853BBF9685D5E")
	pin, err := DecryptPIN(PINBlockKey{ISOFormat4, key, pan}, enc)
	if err != nil {
		t.Fatal(err)
	}
	if string(pin) != "1234" {
		t.Errorf("PIN = %s", pin)
	}
}

func TestPINBlockRoundTrip(t *testing.T) {
	pan := "4111111111111111"
	tdesKey := h(t, "0123456789ABCDEFFEDCBA9876543210")
	aesKey := h(t, "000102030405060708090A0B0C0D0E0F")
	for _, f := range []PINBlockFormat{ISOFormat0, ISOFormat1, ISOFormat3, ISOFormat4} {
		for _, pin := range []string{"0000", "1234", "98765", "123456789012"} {
			t.Run(f.String()+"/"+pin, func(t *testing.T) {
				key := tdesKey
				if f == ISOFormat4 {
					key = aesKey
				}
				rnd := newSeqReader(0x3C, 0xA7, 0x1F, 0xE2, 0x5B, 0x90, 0xD4, 0x68)
				enc, err := EncryptPIN(PINBlockKey{f, key, pan}, []byte(pin), rnd)
				if err != nil {
					t.Fatal(err)
				}
				if len(enc) != f.BlockSize() {
					t.Fatalf("block of %d bytes", len(enc))
				}
				got, err := DecryptPIN(PINBlockKey{f, key, pan}, enc)
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != pin {
					t.Errorf("round trip PIN = %s, want %s", got, pin)
				}
			})
		}
	}
}

func TestPINBlockFill(t *testing.T) {
	pan := "4111111111111111"
	// Format 3 fill digits are A..F and vary with the random source.
	seen := map[string]bool{}
	for seed := 0; seed < 8; seed++ {
		block, err := EncodePINBlock(ISOFormat3, []byte("1234"), pan, newSeqReader(byte(seed*37), byte(seed*91+5)))
		if err != nil {
			t.Fatal(err)
		}
		pf := panField0(pan)
		xorInto(block, block, pf[:])
		for i := 6; i < 16; i++ {
			if v := nibble(block, i); v < 0xA {
				t.Fatalf("format 3 fill digit %X", v)
			}
		}
		seen[FormatHex(block)] = true
	}
	if len(seen) < 2 {
		t.Errorf("format 3 fill does not depend on the random source")
	}
	// A random source that only yields rejected nibbles fails cleanly.
	_, err := EncodePINBlock(ISOFormat3, []byte("1234"), pan, newSeqReader(0xFF))
	assertErrIs(t, err, ErrRandom)
	for _, f := range []PINBlockFormat{ISOFormat1, ISOFormat3, ISOFormat4} {
		_, err = EncodePINBlock(f, []byte("1234"), pan, errReader{})
		assertErrIs(t, err, ErrRandom)
		_, err = EncodePINBlock(f, []byte("1234"), pan, nil)
		assertErrIs(t, err, ErrRandom)
	}
}

func TestEncodePINBlockErrors(t *testing.T) {
	tests := []struct {
		name string
		f    PINBlockFormat
		pin  string
		pan  string
		want error
	}{
		{"format 2", 2, "1234", "4111111111111111", ErrPINBlockFormat},
		{"format 9", 9, "1234", "4111111111111111", ErrPINBlockFormat},
		{"PIN too short", ISOFormat0, "123", "4111111111111111", ErrPINLength},
		{"PIN too long", ISOFormat0, "1234567890123", "4111111111111111", ErrPINLength},
		{"PIN not digits", ISOFormat0, "12A4", "4111111111111111", ErrPINDigit},
		{"PAN short", ISOFormat0, "1234", "4111111", ErrPAN},
		{"PAN long", ISOFormat3, "1234", "41111111111111111111", ErrPAN},
		{"PAN letters", ISOFormat4, "1234", "411111111111111X", ErrPAN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := EncodePINBlock(tc.f, []byte(tc.pin), tc.pan, newSeqReader(1, 2, 3))
			assertErrIs(t, err, tc.want)
		})
	}
	// Format 1 does not use the PAN.
	if _, err := EncodePINBlock(ISOFormat1, []byte("1234"), "", newSeqReader(1)); err != nil {
		t.Errorf("format 1 without PAN: %v", err)
	}
}

func TestDecodePINBlockErrors(t *testing.T) {
	pan := "4012345678909"
	// Clear format 0 blocks are given as PIN fields XOR the PAN field.
	f0 := func(field string) []byte {
		b := h(t, field)
		pf := panField0(pan)
		xorInto(b, b, pf[:])
		return b
	}
	tests := []struct {
		name  string
		f     PINBlockFormat
		block []byte
		want  error
	}{
		{"format 0 control", ISOFormat0, f0("141234FFFFFFFFFF"), ErrPINBlockFormat},
		{"format 0 length 3", ISOFormat0, f0("03123FFFFFFFFFFF"), ErrPINLength},
		{"format 0 length 13", ISOFormat0, f0("0D1234567890123F"), ErrPINLength},
		{"format 0 length 15", ISOFormat0, f0("0F12345678901234"), ErrPINLength},
		{"format 0 PIN digit", ISOFormat0, f0("04123AFFFFFFFFFF"), ErrPINDigit},
		{"format 0 fill", ISOFormat0, f0("041234FFFFFFFFFE"), ErrPINBlockFill},
		{"format 0 short block", ISOFormat0, h(t, "041274EDCBA987"), ErrPINBlockFormat},
		{"format 1 control", ISOFormat1, h(t, "041234FFFFFFFFFF"), ErrPINBlockFormat},
		{"format 3 fill", ISOFormat3, f0("341234ABCDEF9ABC"), ErrPINBlockFill},
		{"format 4 fill", ISOFormat4, h(t, "441234AAAAAAAAAB2F69ADDE2E9E7ACE"), ErrPINBlockFill},
		{"format 4 control", ISOFormat4, h(t, "341234AAAAAAAAAA2F69ADDE2E9E7ACE"), ErrPINBlockFormat},
		{"format 4 as 8 bytes", ISOFormat4, h(t, "441234AAAAAAAAAA"), ErrPINBlockFormat},
		{"unknown format", 7, h(t, "041274EDCBA9876F"), ErrPINBlockFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pin, err := DecodePINBlock(tc.f, tc.block, pan)
			assertErrIs(t, err, tc.want)
			if pin != nil {
				t.Errorf("PIN returned with an error")
			}
			if err != nil && (strings.Contains(err.Error(), "1234") || strings.Contains(strings.ToUpper(err.Error()), FormatHex(tc.block))) {
				t.Errorf("error %q leaks the PIN or the block", err)
			}
		})
	}
	_, err := DecodePINBlock(ISOFormat0, h(t, "041274EDCBA9876F"), "12AB")
	assertErrIs(t, err, ErrPAN)
}

func TestTranslatePINBlock(t *testing.T) {
	pan := "4012345678909"
	zpk1 := h(t, "0123456789ABCDEFFEDCBA9876543210")
	zpk2 := h(t, "89ABCDEF0123456776543210FEDCBA98")
	aesKey := h(t, "FEDCBA9876543210F1F1F1F1F1F1F1F1")
	rnd := newSeqReader(0x12, 0x9A, 0xF0, 0x35)
	src := PINBlockKey{ISOFormat0, zpk1, pan}
	enc, err := EncryptPIN(src, []byte("1234"), rnd)
	if err != nil {
		t.Fatal(err)
	}
	// The clear block is the X9.24-1 example block.
	clearBlock, _ := TDESDecryptECB(zpk1, enc)
	assertHex(t, "clear block", clearBlock, "041274EDCBA9876F")
	steps := []PINBlockKey{
		{ISOFormat0, zpk2, pan},
		{ISOFormat4, aesKey, pan},
		{ISOFormat3, zpk1, pan},
		{ISOFormat1, zpk2, ""},
		{ISOFormat0, zpk1[:8], pan},
	}
	from := src
	for _, to := range steps {
		next, err := TranslatePINBlock(from, to, enc, rnd)
		if err != nil {
			t.Fatalf("%s -> %s: %v", from.Format, to.Format, err)
		}
		pin, err := DecryptPIN(to, next)
		if err != nil || string(pin) != "1234" {
			t.Fatalf("%s -> %s: PIN %s, %v", from.Format, to.Format, pin, err)
		}
		from, enc = to, next
	}
	// A source key that does not match yields a PIN block error and says
	// which side failed.
	_, err = TranslatePINBlock(PINBlockKey{ISOFormat0, zpk2, pan}, PINBlockKey{ISOFormat0, zpk1, pan}, h(t, "1B9C1845EB993A7A"), rnd)
	if err == nil || !strings.HasPrefix(err.Error(), "source PIN block") {
		t.Errorf("wrong-key translate error = %v", err)
	}
	_, err = TranslatePINBlock(src, PINBlockKey{ISOFormat4, zpk1[:8], pan}, mustEnc(t, src), rnd)
	assertErrIs(t, err, ErrKeyLength)
}

func mustEnc(t *testing.T, k PINBlockKey) []byte {
	t.Helper()
	enc, err := EncryptPIN(k, []byte("4321"), newSeqReader(7))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func TestEncryptDecryptPINBlockErrors(t *testing.T) {
	key := h(t, "0123456789ABCDEFFEDCBA9876543210")
	aesKey := h(t, "000102030405060708090A0B0C0D0E0F")
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"format 0 AES-sized key", func() error { _, err := EncryptPINBlock(ISOFormat0, key[:12], make([]byte, 8), ""); return err }, ErrKeyLength},
		{"format 0 16-byte block", func() error { _, err := EncryptPINBlock(ISOFormat0, key, make([]byte, 16), ""); return err }, ErrPINBlockFormat},
		{"format 4 TDES triple key too short", func() error {
			_, err := EncryptPINBlock(ISOFormat4, key[:8], make([]byte, 16), "4111111111111111")
			return err
		}, ErrKeyLength},
		{"format 4 bad PAN", func() error { _, err := EncryptPINBlock(ISOFormat4, aesKey, make([]byte, 16), "41"); return err }, ErrPAN},
		{"format 4 decrypt 8 bytes", func() error {
			_, err := DecryptPINBlock(ISOFormat4, aesKey, make([]byte, 8), "4111111111111111")
			return err
		}, ErrPINBlockFormat},
		{"format 4 decrypt bad PAN", func() error { _, err := DecryptPINBlock(ISOFormat4, aesKey, make([]byte, 16), ""); return err }, ErrPAN},
		{"unknown format", func() error { _, err := DecryptPINBlock(5, key, make([]byte, 8), ""); return err }, ErrPINBlockFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertErrIs(t, tc.run(), tc.want) })
	}
}

// A host command that carries only the 12-digit account number (the PAN
// without its first digits and check digit) must build the same format 0
// block as the full PAN.
func TestPANFromAccountNumber(t *testing.T) {
	pan, err := PANFromAccountNumber("401234567890")
	if err != nil {
		t.Fatal(err)
	}
	got, err := EncodePINBlock(ISOFormat0, []byte("1234"), pan, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "ISO-0 block from account number", got, "041274EDCBA9876F")
	pvk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	full, _ := VisaPVV(pvk, "1122334455667788", 1, []byte("4524"))
	stand, _ := PANFromAccountNumber("233445566778")
	viaAccount, _ := VisaPVV(pvk, stand, 1, []byte("4524"))
	if full != viaAccount {
		t.Errorf("PVV via account number %s, via PAN %s", viaAccount, full)
	}
	for _, bad := range []string{"40123456789", "4012345678901", "40123456789X"} {
		_, err := PANFromAccountNumber(bad)
		assertErrIs(t, err, ErrPAN)
	}
}
