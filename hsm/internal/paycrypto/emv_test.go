package paycrypto

import "testing"

// kcv2 is the 2-byte check value (4 hex digits) the pyemv examples print.
func kcv2(t *testing.T, key []byte) string {
	t.Helper()
	k, err := KCV(key)
	if err != nil {
		t.Fatal(err)
	}
	return FormatHex(k[:2])
}

// pyemv (knovichikhin/pyemv) pyemv/kd.py, documented example of ICC master
// key derivation option A: issuer master key
// 0123456789ABCDEFFEDCBA9876543210, PAN 99012345678901234, PSN 45 gives
// 67F8292358083E5EA7AB7FDA58D53B6B (PAN || PSN longer than 16 digits: the
// rightmost 16 are used).
func TestICCMasterKeyOptionA(t *testing.T) {
	imk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	mk, err := ICCMasterKeyOptionA(imk, "99012345678901234", "45")
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "ICC MK", mk, "67F8292358083E5EA7AB7FDA58D53B6B")
	if !HasOddParity(mk) {
		t.Errorf("ICC master key without odd parity")
	}
	empty, _ := ICCMasterKeyOptionA(imk, "4123456789012345", "")
	zero, _ := ICCMasterKeyOptionA(imk, "4123456789012345", "00")
	if !equal(empty, zero) {
		t.Errorf("an empty PSN is not treated as 00")
	}
}

// pyemv tests/test_ac_hsm.py, test_generate_ac_emv_arpc1 and
// test_generate_ac_visa_aprc1 (examples checked against a payment HSM):
// IMK 0123456789ABCDEFFEDCBA9876543210 (KCV 08D7), PAN 9901234567890123,
// PSN 45: ICC MK KCV 1DA5; common session key for R = 1234567890123456
// KCV 0995; ARQC and ARPC method 1 (under the ICC MK, ARC 0000).
func TestARQCCommonSessionKeyExamples(t *testing.T) {
	imk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	if got := kcv2(t, imk); got != "08D7" {
		t.Errorf("IMK KCV = %s, want 08D7", got)
	}
	mk, err := ICCMasterKeyOptionA(imk, "9901234567890123", "45")
	if err != nil {
		t.Fatal(err)
	}
	if got := kcv2(t, mk); got != "1DA5" {
		t.Errorf("ICC MK KCV = %s, want 1DA5", got)
	}
	sk, err := CommonSessionKey(mk, h(t, "1234567890123456"))
	if err != nil {
		t.Fatal(err)
	}
	if got := kcv2(t, sk); got != "0995" {
		t.Errorf("session key KCV = %s, want 0995", got)
	}
	tests := []struct {
		name string
		data string
		pad  Padding
		arqc string
		arpc string
	}{
		{"EMV padding", "0123456789ABCDEF0123456789ABCDEF", PaddingMethod2, "4B46013359B7A58B", "F8C9CECAABD55AD1"},
		{"Visa padding", "0123456789ABCDEF0123456789ABCDEF01", PaddingMethod1, "2E141C6BC4A20DA8", "16A49AAB314B9262"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arqc, err := ApplicationCryptogram(sk, h(t, tc.data), tc.pad)
			if err != nil {
				t.Fatal(err)
			}
			assertHex(t, "ARQC", arqc, tc.arqc)
			ok, err := VerifyApplicationCryptogram(sk, h(t, tc.data), tc.pad, h(t, tc.arqc))
			if err != nil || !ok {
				t.Errorf("VerifyApplicationCryptogram = %v, %v", ok, err)
			}
			tampered := h(t, tc.data)
			tampered[0] ^= 1
			if ok, _ := VerifyApplicationCryptogram(sk, tampered, tc.pad, h(t, tc.arqc)); ok {
				t.Errorf("ARQC verified over altered data")
			}
			arpc, err := ARPCMethod1(mk, arqc, h(t, "0000"))
			if err != nil {
				t.Fatal(err)
			}
			assertHex(t, "ARPC", arpc, tc.arpc)
		})
	}
}

// pyemv tests/test_cvn_hsm.py, test_visa_cvn10 (checked against a payment
// HSM): IMK 0123456789ABCDEFFEDCBA9876543210, PAN 1234567890123456, PSN 00
// (ICC MK KCV BAB0), ATC 001C, amount 000000004000, country and currency
// 0124, TVR 8000048000, date 191105, type 01, UN 52BF4585, AIP 1800, CVR
// 03A06010: ARQC 29CCA15AE665FA2E; ARPC for ARC 3030 28993816AFAE4AEB.
func TestVisaCVN10Example(t *testing.T) {
	imk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	mk, _ := ICCMasterKeyOptionA(imk, "1234567890123456", "00")
	if got := kcv2(t, mk); got != "BAB0" {
		t.Errorf("ICC MK KCV = %s, want BAB0", got)
	}
	d := VisaCVN10Data{
		AmountAuthorised:    [6]byte{0, 0, 0, 0, 0x40, 0},
		TerminalCountryCode: [2]byte{0x01, 0x24},
		TVR:                 [5]byte{0x80, 0x00, 0x04, 0x80, 0x00},
		CurrencyCode:        [2]byte{0x01, 0x24},
		TransactionDate:     [3]byte{0x19, 0x11, 0x05},
		TransactionType:     0x01,
		UnpredictableNumber: [4]byte{0x52, 0xBF, 0x45, 0x85},
		AIP:                 [2]byte{0x18, 0x00},
		ATC:                 [2]byte{0x00, 0x1C},
		CVR:                 [4]byte{0x03, 0xA0, 0x60, 0x10},
	}
	arqc, err := VisaCVN10ARQC(imk, "1234567890123456", "00", d)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "ARQC", arqc, "29CCA15AE665FA2E")
	arpc, err := VisaCVN10ARPC(imk, "1234567890123456", "00", arqc, h(t, "3030"))
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "ARPC", arpc, "28993816AFAE4AEB")
}

// ACSessionKey is the common session key with R = ATC || 000000000000.
func TestACSessionKey(t *testing.T) {
	mk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	got, err := ACSessionKey(mk, 0x001C)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := CommonSessionKey(mk, h(t, "001C000000000000"))
	if !equal(got, want) {
		t.Errorf("ACSessionKey = %X, want %X", got, want)
	}
	// EMV Book 2 A1.3.1: the halves differ only in byte 3 of R (F0 / 0F).
	b, _ := newTDES(mk)
	var l [8]byte
	copy(l[:], h(t, "001CF00000000000"))
	b.Encrypt(l[:], l[:])
	if !equal(got[:8], FixParity(l[:])) {
		t.Errorf("left half is not TDES(MK, R with F0)")
	}
}

func TestEMVErrors(t *testing.T) {
	imk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	arqc := h(t, "29CCA15AE665FA2E")
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"IMK single length", func() error { _, err := ICCMasterKeyOptionA(imk[:8], "4123456789012345", "00"); return err }, ErrKeyLength},
		{"PAN letters", func() error { _, err := ICCMasterKeyOptionA(imk, "41234567890123X5", "00"); return err }, ErrPAN},
		{"PSN one digit", func() error { _, err := ICCMasterKeyOptionA(imk, "4123456789012345", "1"); return err }, ErrPSN},
		{"PSN letters", func() error { _, err := ICCMasterKeyOptionA(imk, "4123456789012345", "0A"); return err }, ErrPSN},
		{"session key R short", func() error { _, err := CommonSessionKey(imk, make([]byte, 7)); return err }, ErrCryptogram},
		{"session key MK triple", func() error { _, err := CommonSessionKey(append(imk, imk[:8]...), make([]byte, 8)); return err }, ErrKeyLength},
		{"ARQC key single", func() error { _, err := ApplicationCryptogram(imk[:8], []byte{1}, PaddingMethod2); return err }, ErrKeyLength},
		{"verify ARQC short", func() error {
			_, err := VerifyApplicationCryptogram(imk, []byte{1}, PaddingMethod2, arqc[:4])
			return err
		}, ErrCryptogram},
		{"ARPC ARC long", func() error { _, err := ARPCMethod1(imk, arqc, []byte{0, 0, 0}); return err }, ErrCryptogram},
		{"ARPC ARQC short", func() error { _, err := ARPCMethod1(imk, arqc[:7], []byte{0, 0}); return err }, ErrCryptogram},
		{"ARPC key short", func() error { _, err := ARPCMethod1(imk[:8], arqc, []byte{0, 0}); return err }, ErrKeyLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertErrIs(t, tc.run(), tc.want) })
	}
}
