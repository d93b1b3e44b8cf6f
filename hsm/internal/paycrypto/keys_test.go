package paycrypto

import (
	"strings"
	"testing"
)

func TestParseHex(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr error
	}{
		{"upper", "0123456789ABCDEF", "0123456789ABCDEF", nil},
		{"lower", "abcdef", "ABCDEF", nil},
		{"empty", "", "", nil},
		{"odd length", "ABC", "", ErrHex},
		{"non-hex", "0G", "", ErrHex},
		{"space", "01 2", "", ErrHex},
		{"non-ascii", "é1", "", ErrHex},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHex(tc.in)
			if tc.wantErr != nil {
				assertErrIs(t, err, tc.wantErr)
				if err != nil && strings.Contains(err.Error(), tc.in) && tc.in != "" {
					t.Errorf("error %q repeats the input", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			assertHex(t, "ParseHex", got, tc.want)
		})
	}
}

func TestParity(t *testing.T) {
	// 0123456789ABCDEF: every byte has an odd number of one bits (the
	// classic DES test key of FIPS 81).
	odd := h(t, "0123456789ABCDEFFEDCBA9876543210")
	if !HasOddParity(odd) || CheckParity(odd) != nil {
		t.Errorf("0123456789ABCDEFFEDCBA9876543210 reported without odd parity")
	}
	even := h(t, "0023456789ABCDEF")
	if HasOddParity(even) {
		t.Errorf("0023456789ABCDEF reported with odd parity")
	}
	err := CheckParity(even)
	assertErrIs(t, err, ErrKeyParity)
	fixed := FixParity(even)
	assertHex(t, "FixParity", fixed, "0123456789ABCDEF")
	if FormatHex(even) != "0023456789ABCDEF" {
		t.Errorf("FixParity modified its input")
	}
	// DES ignores parity bits: the fixed key encrypts like the original.
	k1, _ := KCV(even)
	k2, _ := KCV(fixed)
	if !equal(k1, k2) {
		t.Errorf("KCV changed with parity: %X vs %X", k1, k2)
	}
}

func TestKCV(t *testing.T) {
	tests := []struct {
		name string
		key  string
		want string
	}{
		// NIST SP 800-38B Appendix D.4 (three-key TDEA CMAC example):
		// CIPH_K(0^64) = c8cc74e9 8a7329a2, so the KCV is C8CC74.
		{"triple length SP 800-38B D.4", "8AA83BF8CBDA10620BC1BF19FBB6CD58BC313D4A371CA8B5", "C8CC74"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := KCV(h(t, tc.key))
			if err != nil {
				t.Fatal(err)
			}
			assertHex(t, "KCV", got, tc.want)
		})
	}
	// A double-length key K1||K2 is K1||K2||K1, and a single-length key K
	// is K||K||K: both must check like their triple-length expansion.
	k := h(t, "0123456789ABCDEFFEDCBA9876543210")
	got2, _ := KCV(k)
	got3, _ := KCV(append(append([]byte{}, k...), k[:8]...))
	if !equal(got2, got3) {
		t.Errorf("double-length KCV %X != expanded triple-length KCV %X", got2, got3)
	}
	got1, _ := KCV(k[:8])
	got13, _ := KCV(append(append(append([]byte{}, k[:8]...), k[:8]...), k[:8]...))
	if !equal(got1, got13) {
		t.Errorf("single-length KCV %X != K||K||K KCV %X", got1, got13)
	}
	for _, n := range []int{0, 7, 9, 15, 17, 32} {
		_, err := KCV(make([]byte, n))
		assertErrIs(t, err, ErrKeyLength)
	}
}

func TestAESKCV(t *testing.T) {
	// The CMAC method: the check value is the CMAC of a zero block, not the
	// encryption of zeros. The RFC 4493 key encrypts zeros to 7DF76B0C...
	// (RFC 4493 section 4, L), which must not be what AESKCV returns.
	key := h(t, "2B7E151628AED2A6ABF7158809CF4F3C")
	got, err := AESKCV(key)
	if err != nil {
		t.Fatal(err)
	}
	mac, _ := AESCMAC(key, make([]byte, 16))
	if !equal(got, mac[:3]) {
		t.Errorf("AESKCV = %X, want first 3 bytes of CMAC(0^128) %X", got, mac[:3])
	}
	if FormatHex(got) == "7DF76B" {
		t.Errorf("AESKCV used the encrypt-zeros method")
	}
	_, err = AESKCV(make([]byte, 20))
	assertErrIs(t, err, ErrKeyLength)
}

func TestXORComponents(t *testing.T) {
	a := h(t, "0123456789ABCDEF")
	b := h(t, "FEDCBA9876543210")
	c := h(t, "1111111111111111")
	got, err := XORComponents(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "XOR", got, "EEEEEEEEEEEEEEEE")
	_, err = XORComponents(a)
	assertErrIs(t, err, ErrKeyLength)
	_, err = XORComponents(a, b[:7])
	assertErrIs(t, err, ErrKeyLength)
	_, err = XORComponents([]byte{}, []byte{})
	assertErrIs(t, err, ErrKeyLength)
}

func TestBlockModes(t *testing.T) {
	// FIPS 81 Appendix B, Table B1 (ECB) and Table C1 (CBC): key
	// 0123456789ABCDEF, plaintext "Now is the time for all ".
	key := h(t, "0123456789ABCDEF")
	pt := []byte("Now is the time for all ")
	ecbOut, err := TDESEncryptECB(key, pt)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "DES-ECB", ecbOut, "3FA40E8A984D48156A271787AB8883F9893D51EC4B563B53")
	iv := h(t, "1234567890ABCDEF")
	cbcOut, err := TDESEncryptCBC(key, iv, pt)
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "DES-CBC", cbcOut, "E5C7CDDE872BF27C43E934008C389C0F683788499A7C05F6")
	back, _ := TDESDecryptCBC(key, iv, cbcOut)
	if string(back) != string(pt) {
		t.Errorf("CBC round trip = %q", back)
	}
	back, _ = TDESDecryptECB(key, ecbOut)
	if string(back) != string(pt) {
		t.Errorf("ECB round trip = %q", back)
	}

	// FIPS 197 Appendix C.1: AES-128.
	aesKey := h(t, "000102030405060708090A0B0C0D0E0F")
	aesOut, err := AESEncryptECB(aesKey, h(t, "00112233445566778899AABBCCDDEEFF"))
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "AES-ECB", aesOut, "69C4E0D86A7B0430D8CDB78070B4C55A")
	// NIST SP 800-38A F.2.1 CBC-AES128.Encrypt, block 1.
	cbcKey := h(t, "2B7E151628AED2A6ABF7158809CF4F3C")
	aesCBC, err := AESEncryptCBC(cbcKey, h(t, "000102030405060708090A0B0C0D0E0F"), h(t, "6BC1BEE22E409F96E93D7E117393172A"))
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "AES-CBC", aesCBC, "7649ABAC8119B246CEE98E9B12E9197D")
	back, _ = AESDecryptCBC(cbcKey, h(t, "000102030405060708090A0B0C0D0E0F"), aesCBC)
	assertHex(t, "AES-CBC decrypt", back, "6BC1BEE22E409F96E93D7E117393172A")
	back, _ = AESDecryptECB(aesKey, aesOut)
	assertHex(t, "AES-ECB decrypt", back, "00112233445566778899AABBCCDDEEFF")

	errorCases := []struct {
		name string
		run  func() error
		want error
	}{
		{"TDES short block", func() error { _, err := TDESEncryptECB(key, pt[:7]); return err }, ErrDataLength},
		{"TDES empty", func() error { _, err := TDESEncryptECB(key, nil); return err }, ErrDataLength},
		{"TDES bad key", func() error { _, err := TDESDecryptECB(key[:5], pt); return err }, ErrKeyLength},
		{"TDES bad IV", func() error { _, err := TDESEncryptCBC(key, iv[:4], pt); return err }, ErrDataLength},
		{"AES odd data", func() error { _, err := AESEncryptECB(aesKey, pt[:17]); return err }, ErrDataLength},
		{"AES bad key", func() error { _, err := AESEncryptCBC(aesKey[:15], iv, pt); return err }, ErrKeyLength},
		{"AES bad IV", func() error { _, err := AESDecryptCBC(aesKey, iv, aesOut); return err }, ErrDataLength},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) { assertErrIs(t, tc.run(), tc.want) })
	}
}
