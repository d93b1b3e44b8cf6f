package paycrypto

import "testing"

// ISO/IEC 9797-1:1999 Annex B: K = 0123456789ABCDEF, K' = FEDCBA9876543210,
// data strings "Now is the time for all " (24 bytes) and "Now is the time
// for it" (22 bytes); the annex prints 32-bit MACs (B.2 for algorithm 1,
// B.4 for algorithm 3). Algorithm 3 with padding method 1 is the ANSI X9.19
// retail MAC, so the B.4 rows with padding method 1 are the X9.19 example
// data as well.
func TestISO9797Annex(t *testing.T) {
	k := h(t, "0123456789ABCDEF")
	kk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	data1 := []byte("Now is the time for all ")
	data2 := []byte("Now is the time for it")
	tests := []struct {
		name string
		alg  int
		data []byte
		pad  Padding
		want string
	}{
		{"B.2 alg 1 pad 1 data 1", 1, data1, PaddingMethod1, "70A30640"},
		{"B.2 alg 1 pad 2 data 1", 1, data1, PaddingMethod2, "10E1F0F1"},
		{"B.2 alg 1 pad 1 data 2", 1, data2, PaddingMethod1, "E45B3AD2"},
		{"B.2 alg 1 pad 2 data 2", 1, data2, PaddingMethod2, "A924C721"},
		{"B.4 alg 3 pad 1 data 1", 3, data1, PaddingMethod1, "A1C72E74"},
		{"B.4 alg 3 pad 2 data 1", 3, data1, PaddingMethod2, "E9086230"},
		{"B.4 alg 3 pad 1 data 2", 3, data2, PaddingMethod1, "2E2B1428"},
		{"B.4 alg 3 pad 2 data 2", 3, data2, PaddingMethod2, "5A692CE6"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []byte
			var err error
			if tc.alg == 1 {
				got, err = MACAlgorithm1(k, tc.data, tc.pad, 4)
			} else {
				got, err = MACAlgorithm3(kk, tc.data, tc.pad, 4)
			}
			if err != nil {
				t.Fatal(err)
			}
			assertHex(t, "MAC", got, tc.want)
		})
	}
}

func TestMACTruncationAndErrors(t *testing.T) {
	kk := h(t, "0123456789ABCDEFFEDCBA9876543210")
	data := []byte("Now is the time for all ")
	full, err := MACAlgorithm3(kk, data, PaddingMethod1, 8)
	if err != nil {
		t.Fatal(err)
	}
	short, _ := MACAlgorithm3(kk, data, PaddingMethod1, 4)
	if !equal(full[:4], short) {
		t.Errorf("4-byte MAC %X is not the prefix of the 8-byte MAC %X", short, full)
	}
	if !EqualMAC(short, full[:4]) || EqualMAC(short, full) || EqualMAC(full[:4], append([]byte{0}, full[1:4]...)) {
		t.Errorf("EqualMAC does not compare exactly")
	}
	// Padding method 1 of empty data is one block of zeros; padding method
	// 2 of a whole block adds a block.
	empty1, _ := MACAlgorithm1(kk, nil, PaddingMethod1, 8)
	zeros, _ := MACAlgorithm1(kk, make([]byte, 8), PaddingMethod1, 8)
	if !equal(empty1, zeros) {
		t.Errorf("padding method 1 of empty data is not a zero block")
	}
	errorCases := []struct {
		name string
		run  func() error
		want error
	}{
		{"alg 1 MAC too short", func() error { _, err := MACAlgorithm1(kk, data, PaddingMethod1, 3); return err }, ErrMACLength},
		{"alg 1 MAC too long", func() error { _, err := MACAlgorithm1(kk, data, PaddingMethod1, 9); return err }, ErrMACLength},
		{"alg 1 bad padding", func() error { _, err := MACAlgorithm1(kk, data, 3, 8); return err }, ErrPadding},
		{"alg 1 bad key", func() error { _, err := MACAlgorithm1(kk[:10], data, PaddingMethod1, 8); return err }, ErrKeyLength},
		{"alg 3 single key", func() error { _, err := MACAlgorithm3(kk[:8], data, PaddingMethod1, 8); return err }, ErrKeyLength},
		{"alg 3 triple key", func() error { _, err := MACAlgorithm3(append(kk, kk[:8]...), data, PaddingMethod1, 8); return err }, ErrKeyLength},
		{"alg 3 bad padding", func() error { _, err := MACAlgorithm3(kk, data, 0, 8); return err }, ErrPadding},
		{"CMAC AES bad key", func() error { _, err := AESCMAC(kk[:10], data); return err }, ErrKeyLength},
		{"CMAC TDES single key", func() error { _, err := TDESCMAC(kk[:8], data); return err }, ErrKeyLength},
	}
	for _, tc := range errorCases {
		t.Run(tc.name, func(t *testing.T) { assertErrIs(t, tc.run(), tc.want) })
	}
}

// RFC 4493 section 4 (also NIST SP 800-38B D.1): AES-128 key
// 2b7e1516 28aed2a6 abf71588 09cf4f3c, examples 1-4.
func TestAESCMACRFC4493(t *testing.T) {
	key := h(t, "2B7E151628AED2A6ABF7158809CF4F3C")
	msg := h(t, "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E5130C81C46A35CE411E5FBC1191A0A52EFF69F2445DF4F9B17AD2B417BE66C3710")
	tests := []struct {
		name string
		n    int
		want string
	}{
		{"example 1 len 0", 0, "BB1D6929E95937287FA37D129B756746"},
		{"example 2 len 16", 16, "070A16B46B4D4144F79BDD9DD04A287C"},
		{"example 3 len 40", 40, "DFA66747DE9AE63030CA32611497C827"},
		{"example 4 len 64", 64, "51F0BEBF7E3B9D92FC49741779363CFE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AESCMAC(key, msg[:tc.n])
			if err != nil {
				t.Fatal(err)
			}
			assertHex(t, "AES-CMAC", got, tc.want)
		})
	}
	// RFC 4493 section 4, subkey generation.
	b, _ := newAES(key)
	k1, k2 := cmacSubkeys(b)
	assertHex(t, "K1", k1, "FBEED618357133667C85E08F7236A8DE")
	assertHex(t, "K2", k2, "F7DDAC306AE266CCF90BC11EE46D513B")
}

// NIST SP 800-38B Appendix D.4 (three-key TDEA, examples 13-16) and D.7
// (two-key TDEA, examples 17-20), with the corrections NIST published to
// the original examples 14, 15, 18 and 19.
func TestTDESCMACSP80038B(t *testing.T) {
	msg := h(t, "6BC1BEE22E409F96E93D7E117393172AAE2D8A571E03AC9C9EB76FAC45AF8E51")
	key3 := "8AA83BF8CBDA10620BC1BF19FBB6CD58BC313D4A371CA8B5"
	key2 := "4CF15134A2850DD58A3D10BA80570D38"
	tests := []struct {
		name string
		key  string
		n    int
		want string
	}{
		{"example 13", key3, 0, "B7A688E122FFAF95"},
		{"example 14", key3, 8, "8E8F293136283797"},
		{"example 15", key3, 20, "743DDBE0CE2DC2ED"},
		{"example 16", key3, 32, "33E6B1092400EAE5"},
		{"example 17", key2, 0, "BD2EBF9A3BA00361"},
		{"example 18", key2, 8, "4FF2AB813C53CE83"},
		{"example 19", key2, 20, "62DD1B471902BD4E"},
		{"example 20", key2, 32, "31B1E431DABC4EB8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TDESCMAC(h(t, tc.key), msg[:tc.n])
			if err != nil {
				t.Fatal(err)
			}
			assertHex(t, "TDES-CMAC", got, tc.want)
		})
	}
	// D.4 subkeys: K1 = 9198e9d3 14e6535f, K2 = 2331d3a6 29cca6a5.
	b, _ := newTDES(h(t, key3))
	k1, k2 := cmacSubkeys(b)
	assertHex(t, "K1", k1, "9198E9D314E6535F")
	assertHex(t, "K2", k2, "2331D3A629CCA6A5")
}
