package paycrypto

import "testing"

// Worked example from the EFT Calculator discussion "PVV Calacualtion"
// (eftcalculator.codeplex.com/discussions/265067): TSP 9999789012311234
// under PVK 4CA2161637D0133E 5E151AEA45DA2A12 enciphers to
// 517EF00CDEEDE498, so the PVV is 5170.
func TestPVVFromTSPExample(t *testing.T) {
	got, err := pvvFromTSP(h(t, "4CA2161637D0133E5E151AEA45DA2A12"), h(t, "9999789012311234"))
	if err != nil {
		t.Fatal(err)
	}
	if got != "5170" {
		t.Errorf("PVV = %s, want 5170", got)
	}
	// The second scan: a result with fewer than four decimal digits takes
	// A..F digits minus 10 from the left.
	d := decimalizeScan(h(t, "ABCDEF12ABCDEFAB"))
	if string(d[:4]) != "1201" {
		t.Errorf("second-scan decimalization = %s, want 1201", d[:4])
	}
}

// psec (knovichikhin/psec) tests/test_pin.py, test_generate_visa_pvv: PVK
// 0123456789ABCDEFFEDCBA9876543210.
func TestVisaPVV(t *testing.T) {
	pvk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	tests := []struct {
		pvki     int
		pin, pan string
		wantPVV  string
	}{
		{1, "4524", "1122334455667788", "8523"},
		{2, "1912", "1122334455667788", "3244"},
		{1, "0570", "1122334455667718", "3144"},
		{1, "8299", "1122334455667708", "4422"},
	}
	for _, tc := range tests {
		t.Run(tc.pan+"/"+tc.pin, func(t *testing.T) {
			got, err := VisaPVV(pvk, tc.pan, tc.pvki, []byte(tc.pin))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.wantPVV {
				t.Errorf("PVV = %s, want %s", got, tc.wantPVV)
			}
			ok, err := VerifyVisaPVV(pvk, tc.pan, tc.pvki, []byte(tc.pin), tc.wantPVV)
			if err != nil || !ok {
				t.Errorf("VerifyVisaPVV = %v, %v", ok, err)
			}
		})
	}
	// Only the first four PIN digits take part.
	long, _ := VisaPVV(pvk, "1122334455667788", 1, []byte("452499"))
	if long != "8523" {
		t.Errorf("PVV of a 6-digit PIN = %s, want that of its first 4 digits", long)
	}
	ok, _ := VerifyVisaPVV(pvk, "1122334455667788", 1, []byte("4525"), "8523")
	if ok {
		t.Errorf("wrong PIN verified")
	}
	errs := []struct {
		name string
		run  func() error
		want error
	}{
		{"single-length PVK", func() error { _, err := VisaPVV(pvk[:8], "1122334455667788", 1, []byte("1234")); return err }, ErrKeyLength},
		{"PAN of 11 digits", func() error { _, err := VisaPVV(pvk, "11223344556", 1, []byte("1234")); return err }, ErrPAN},
		{"PVKI 10", func() error { _, err := VisaPVV(pvk, "1122334455667788", 10, []byte("1234")); return err }, ErrPVKI},
		{"PVKI negative", func() error { _, err := VisaPVV(pvk, "1122334455667788", -1, []byte("1234")); return err }, ErrPVKI},
		{"PIN short", func() error { _, err := VisaPVV(pvk, "1122334455667788", 1, []byte("123")); return err }, ErrPINLength},
		{"PVV letters", func() error {
			_, err := VerifyVisaPVV(pvk, "1122334455667788", 1, []byte("1234"), "85A3")
			return err
		}, ErrCardVerificationValue},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) { assertErrIs(t, tc.run(), tc.want) })
	}
}

// IBM CCA Basic Services Reference, Release 2.54, Appendix E, "IBM 3624
// PIN-Calculation Method": enciphered validation data E5C1BD67B66AE7C6 and
// decimalization table 8351296477461538 give 3913656466643416.
func TestIBM3624DecimalizationExample(t *testing.T) {
	got := decimalizeTable(h(t, "E5C1BD67B66AE7C6"), "8351296477461538")
	if string(got[:]) != "3913656466643416" {
		t.Errorf("decimalized = %s, want 3913656466643416", got)
	}
}

// Worked examples of L. Padilla, "Magnetic stripe examples"
// (gae.ucm.es/~padilla/extrawork/magexam1.html), reproduced in
// "IBM 3624 customer PIN, natural PIN, PIN offset": decimalization table
// 0123456789012345.
//   - validation data 1234567890123456, PVK 1313131313131313: enciphered
//     64DA85B3795AE4E4, natural PIN 643085; with offset 456789 the
//     customer PIN is 099764.
//   - card 1234567890123445, PIN key 0123456789ABCDEF: enciphered
//     9A466AD30DFE0381, natural PIN 9046, customer PIN 1234, offset 2298.
func TestIBM3624PadillaExamples(t *testing.T) {
	tests := []struct {
		name, pvk, data, natural, pin, offset string
	}{
		{"example 1", "1313131313131313", "1234567890123456", "643085", "099764", "456789"},
		{"example 2", "0123456789ABCDEF", "1234567890123445", "9046", "1234", "2298"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := IBM3624{DecimalizationTable: "0123456789012345", ValidationData: tc.data, Pad: 'F'}
			pvk := h(t, tc.pvk)
			nat, err := p.NaturalPIN(pvk, len(tc.pin))
			if err != nil {
				t.Fatal(err)
			}
			if string(nat) != tc.natural {
				t.Errorf("natural PIN = %s, want %s", nat, tc.natural)
			}
			offset, err := p.Offset(pvk, []byte(tc.pin), len(tc.pin))
			if err != nil {
				t.Fatal(err)
			}
			if offset != tc.offset {
				t.Errorf("offset = %s, want %s", offset, tc.offset)
			}
			ok, err := p.Verify(pvk, []byte(tc.pin), tc.offset)
			if err != nil || !ok {
				t.Errorf("Verify = %v, %v", ok, err)
			}
			bad := []byte(tc.pin)
			bad[len(bad)-1] = '0' + (bad[len(bad)-1]-'0'+1)%10
			if ok, _ := p.Verify(pvk, bad, tc.offset); ok {
				t.Errorf("Verify accepted a wrong PIN")
			}
		})
	}
}

// psec (knovichikhin/psec) tests/test_pin.py, test_generate_ibm3624_offset:
// PVK 0123456789ABCDEFFEDCBA9876543210, decimalization table
// 1234567890123456, validation data the PAN digits from an offset for a
// length, padded with the given character.
func TestIBM3624Offset(t *testing.T) {
	pvk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	tests := []struct {
		data        string
		pad         byte
		pin, offset string
	}{
		{"1122334455667788", 'F', "4524", "0000"},
		{"1122334455667788", 'F', "5635", "1111"},
		{"1122334455667788", 'F', "0000", "6586"},
		{"1122334455667788", 'F', "1234", "7710"},
		{"11223344556677", 'F', "5518", "0000"},
		{"12233445566778", '1', "3675", "0000"},
		{"22334455667788", '1', "5550", "0000"},
	}
	for _, tc := range tests {
		t.Run(tc.data+"/"+tc.pin, func(t *testing.T) {
			p := IBM3624{DecimalizationTable: "1234567890123456", ValidationData: tc.data, Pad: tc.pad}
			got, err := p.Offset(pvk, []byte(tc.pin), 4)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.offset {
				t.Errorf("offset = %s, want %s", got, tc.offset)
			}
		})
	}
	// A check length shorter than the PIN verifies the rightmost digits.
	p := IBM3624{DecimalizationTable: "1234567890123456", ValidationData: "1122334455667788", Pad: 'F'}
	off, err := p.Offset(pvk, []byte("123456"), 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pin  string
		want bool
	}{{"123456", true}, {"993456", true}, {"123457", false}} {
		ok, err := p.Verify(pvk, []byte(tc.pin), off)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%s) = %v, %v; want %v", tc.pin, ok, err, tc.want)
		}
	}
}

func TestIBM3624Errors(t *testing.T) {
	pvk := h(t, "0123456789ABCDEF")
	good := IBM3624{DecimalizationTable: "0123456789012345", ValidationData: "1234567890123445", Pad: 'F'}
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"table short", func() error {
			p := good
			p.DecimalizationTable = "012345678901234"
			_, err := p.Offset(pvk, []byte("1234"), 4)
			return err
		}, ErrDecimalizationTable},
		{"table hex", func() error {
			p := good
			p.DecimalizationTable = "0123456789ABCDEF"
			_, err := p.Offset(pvk, []byte("1234"), 4)
			return err
		}, ErrDecimalizationTable},
		{"validation data empty", func() error {
			p := good
			p.ValidationData = ""
			_, err := p.Offset(pvk, []byte("1234"), 4)
			return err
		}, ErrValidationData},
		{"validation data long", func() error {
			p := good
			p.ValidationData = "12345678901234456"
			_, err := p.Offset(pvk, []byte("1234"), 4)
			return err
		}, ErrValidationData},
		{"validation data not hex", func() error {
			p := good
			p.ValidationData = "12345678901234X5"
			_, err := p.Offset(pvk, []byte("1234"), 4)
			return err
		}, ErrValidationData},
		{"pad not hex", func() error {
			p := good
			p.ValidationData, p.Pad = "1234", 'Z'
			_, err := p.Offset(pvk, []byte("1234"), 4)
			return err
		}, ErrValidationData},
		{"check length 3", func() error { _, err := good.Offset(pvk, []byte("1234"), 3); return err }, ErrCheckLength},
		{"check length over PIN", func() error { _, err := good.Offset(pvk, []byte("1234"), 5); return err }, ErrCheckLength},
		{"PIN letters", func() error { _, err := good.Offset(pvk, []byte("12a4"), 4); return err }, ErrPINDigit},
		{"offset letters", func() error { _, err := good.Verify(pvk, []byte("1234"), "22A8"); return err }, ErrOffset},
		{"offset longer than PIN", func() error { _, err := good.Verify(pvk, []byte("1234"), "12298"); return err }, ErrCheckLength},
		{"bad key", func() error { _, err := good.Verify(pvk[:7], []byte("1234"), "2298"); return err }, ErrKeyLength},
		{"natural PIN length", func() error { _, err := good.NaturalPIN(pvk, 13); return err }, ErrPINLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertErrIs(t, tc.run(), tc.want) })
	}
}
