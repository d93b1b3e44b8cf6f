package paycrypto

import "testing"

// Benchmarks of the HSM's hot operations. Run with
// go test -run='^$' -bench=. -benchmem ./hsm/internal/paycrypto/

func BenchmarkTranslatePINBlockTDES(b *testing.B) {
	src := PINBlockKey{ISOFormat0, h(b, "0123456789ABCDEFFEDCBA9876543210"), "4012345678909"}
	dst := PINBlockKey{ISOFormat0, h(b, "89ABCDEF0123456776543210FEDCBA98"), "4012345678909"}
	rnd := newSeqReader(0x12, 0x9A, 0xF0, 0x35)
	enc, err := EncryptPIN(src, []byte("1234"), rnd)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TranslatePINBlock(src, dst, enc, rnd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslatePINBlockAES(b *testing.B) {
	src := PINBlockKey{ISOFormat4, h(b, "AF8CB133A78F8DC2D1359F18527593FB"), "4111111111111111"}
	dst := PINBlockKey{ISOFormat4, h(b, "62CB437131C129DF001D42676011975150506E2A382145FD9BDEA7EC5A339F63"), "4111111111111111"}
	rnd := newSeqReader(0x12, 0x9A, 0xF0, 0x35)
	enc, err := EncryptPIN(src, []byte("1234"), rnd)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TranslatePINBlock(src, dst, enc, rnd); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTDESDUKPTDecryptPINBlock uses the counter with the most one bits
// of the Annex A tables (ten), the slowest derivation.
func BenchmarkTDESDUKPTDecryptPINBlock(b *testing.B) {
	bdk := h(b, x924BDK)
	ksn := h(b, "FFFF9876543210EFF801")
	enc := h(b, "3A86BF003F835C9D")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TDESDecryptPINBlock(bdk, ksn, enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAESDUKPTDecryptPINBlock(b *testing.B) {
	bdk := h(b, x9243BDK128)
	ksn := h(b, x9243InitialID+"00000008")
	enc := h(b, "8308BB857C17F390369F761F8EB358FA")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AESDecryptPINBlock(bdk, ksn, AESKeyTypeAES128, enc, x9243PAN); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRetailMAC200(b *testing.B) {
	key := h(b, "0123456789ABCDEFFEDCBA9876543210")
	data := make([]byte, 200)
	for i := range data {
		data[i] = byte(i)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := MACAlgorithm3(key, data, PaddingMethod1, 8); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAESCMAC200(b *testing.B) {
	key := h(b, "2B7E151628AED2A6ABF7158809CF4F3C")
	data := make([]byte, 200)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := AESCMAC(key, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCVV(b *testing.B) {
	cvk := h(b, "0123456789ABCDEFFEDCBA9876543210")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CVV(cvk, "4123456789012345", "8701", "111"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVisaCVN10ARQC(b *testing.B) {
	imk := h(b, "0123456789ABCDEFFEDCBA9876543210")
	var d VisaCVN10Data
	d.ATC = [2]byte{0, 0x1C}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VisaCVN10ARQC(imk, "1234567890123456", "00", d); err != nil {
			b.Fatal(err)
		}
	}
}
