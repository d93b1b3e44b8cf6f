package paycrypto

import "testing"

// Worked example of the Visa CVV algorithm ("CVN" in the PBOC text, published
// on topic.alibabacloud.com, "Algorithm generation 7: CVN"): PAN
// 4123456789012345, expiry 8701, service code 111, CVK A 0123456789ABCDEF,
// CVK B FEDCBA9876543210. Intermediate results: block 1 under A =
// B76ADDCE71CCC6BE, XOR block 2 = 306BCCDE71CCC6BE, under A =
// BAE6746F6DE1F0E6, decrypted under B = B262ABCB9DE99A63, under A =
// 8D5625FA78011A0C, decimalized 8562578011035002, CVV 856.
func TestCVVWorkedExample(t *testing.T) {
	cvk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	digits, err := cvvDigits(cvk, "4123456789012345", "8701", "111")
	if err != nil {
		t.Fatal(err)
	}
	if string(digits[:]) != "8562578011035002" {
		t.Errorf("decimalized result = %s, want 8562578011035002", digits)
	}
	got, err := CVV(cvk, "4123456789012345", "8701", "111")
	if err != nil {
		t.Fatal(err)
	}
	if got != "856" {
		t.Errorf("CVV = %s, want 856", got)
	}
	ok, err := VerifyCVV(cvk, "4123456789012345", "8701", "111", "856")
	if err != nil || !ok {
		t.Errorf("VerifyCVV(856) = %v, %v", ok, err)
	}
	ok, _ = VerifyCVV(cvk, "4123456789012345", "8701", "111", "857")
	if ok {
		t.Errorf("VerifyCVV accepted a wrong CVV")
	}
}

// psec (knovichikhin/psec) tests/test_cvv.py: CVK
// 99999999999999998888888888888888, PAN 2222222222222222, expiry 3333,
// service code 111 gives 361. CVV2 and iCVV are the same algorithm with
// service codes 000 and 999.
func TestCVVVariants(t *testing.T) {
	cvk := h(t, "99999999999999998888888888888888")
	got, err := CVV(cvk, "2222222222222222", "3333", "111")
	if err != nil {
		t.Fatal(err)
	}
	if got != "361" {
		t.Errorf("CVV = %s, want 361", got)
	}
	cvk2 := h(t, "0123456789ABCDEFFEDCBA9876543210")
	cvv2, _ := CVV2(cvk2, "4123456789012345", "8701")
	want2, _ := CVV(cvk2, "4123456789012345", "8701", "000")
	icvv, _ := ICVV(cvk2, "4123456789012345", "8701")
	wantI, _ := CVV(cvk2, "4123456789012345", "8701", "999")
	if cvv2 != want2 || icvv != wantI {
		t.Errorf("CVV2 %s/%s, iCVV %s/%s", cvv2, want2, icvv, wantI)
	}
	// A 19-digit PAN still fits the 32-digit input.
	if _, err := CVV(cvk2, "4123456789012345678", "8701", "101"); err != nil {
		t.Errorf("19-digit PAN: %v", err)
	}
}

func TestCVVErrors(t *testing.T) {
	cvk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	tests := []struct {
		name                 string
		key                  []byte
		pan, expiry, service string
		want                 error
	}{
		{"single-length CVK", cvk[:8], "4123456789012345", "8701", "101", ErrKeyLength},
		{"triple-length CVK", append(cvk, cvk[:8]...), "4123456789012345", "8701", "101", ErrKeyLength},
		{"PAN letters", cvk, "41234567890123A5", "8701", "101", ErrPAN},
		{"PAN too long", cvk, "41234567890123456789", "8701", "101", ErrPAN},
		{"expiry short", cvk, "4123456789012345", "871", "101", ErrExpiry},
		{"expiry letters", cvk, "4123456789012345", "87O1", "101", ErrExpiry},
		{"service code long", cvk, "4123456789012345", "8701", "1011", ErrServiceCode},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := CVV(tc.key, tc.pan, tc.expiry, tc.service)
			assertErrIs(t, err, tc.want)
		})
	}
	_, err := VerifyCVV(cvk, "4123456789012345", "8701", "101", "85")
	assertErrIs(t, err, ErrCardVerificationValue)
}
