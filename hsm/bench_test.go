package hsm

import (
	"context"
	"testing"
)

// benchKeys returns a Soft under the test LMK and a fresh key set.
func benchKeys(b *testing.B) (*Soft, TestKeySet) {
	s := NewSoft(TestLMK())
	ks, err := s.NewTestKeySet()
	if err != nil {
		b.Fatal(err)
	}
	return s, ks
}

// BenchmarkTranslatePIN_TPK is the CA operation in process: TPK → ZPK, ISO format 0.
func BenchmarkTranslatePIN_TPK(b *testing.B) {
	s, ks := benchKeys(b)
	ctx := context.Background()
	const pan = "4761739001010010"
	block, _ := s.EncryptPIN(ctx, ks.TPK, PINFormatISO0, "1234", pan)
	req := TranslatePINRequest{Source: ks.TPK, Dest: ks.ZPK, PINBlock: block, SourceFormat: PINFormatISO0, PAN: pan}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.TranslatePIN(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTranslatePIN_DUKPT is the G0 operation in process: TDES DUKPT BDK + KSN → ZPK.
func BenchmarkTranslatePIN_DUKPT(b *testing.B) {
	s, ks := benchKeys(b)
	ctx := context.Background()
	const pan, ksn = "4761739001010010", "FFFF9876543210E00001"
	block, _ := s.EncryptPINDUKPT(ctx, ks.BDK, ksn, "1234", pan)
	req := TranslatePINRequest{Source: ks.BDK, KSN: ksn, Dest: ks.ZPK, PINBlock: block, SourceFormat: PINFormatISO0, PAN: pan}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.TranslatePIN(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateMAC is the M6 operation in process: X9.19 retail MAC over a 200-byte message.
func BenchmarkGenerateMAC(b *testing.B) {
	s, ks := benchKeys(b)
	ctx := context.Background()
	data := make([]byte, 200)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.GenerateMAC(ctx, ks.TAK, MACRetail, data); err != nil {
			b.Fatal(err)
		}
	}
}
