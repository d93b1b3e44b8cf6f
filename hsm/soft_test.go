package hsm

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestSoftTranslatePIN(t *testing.T) {
	s := NewSoft(TestLMK())
	ctx := context.Background()
	ks, err := s.NewTestKeySet()
	if err != nil {
		t.Fatal(err)
	}
	const pan = "4761739001010010"
	block, err := s.EncryptPIN(ctx, ks.TPK, PINFormatISO0, "98765", pan)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []PINFormat{PINFormatISO0, PINFormatISO1, PINFormatISO3, PINFormatDiebold} {
		out, err := s.Translate(ctx, TranslatePINRequest{Source: ks.TPK, Dest: ks.ZPK, PINBlock: block,
			SourceFormat: PINFormatISO0, DestFormat: f, PAN: pan})
		if err != nil {
			t.Fatalf("to %s: %v", f, err)
		}
		if out.PINLength != 5 {
			t.Fatalf("to %s: PIN length %d", f, out.PINLength)
		}
		// Translate back from the ZPK: the PIN must survive.
		back, err := s.Translate(ctx, TranslatePINRequest{Source: ks.ZPK, Dest: ks.ZPK, PINBlock: out.Block,
			SourceFormat: f, DestFormat: PINFormatISO0, PAN: pan})
		want, _ := s.EncryptPIN(ctx, ks.ZPK, PINFormatISO0, "98765", pan)
		if err != nil || string(back.Block) != string(want) {
			t.Fatalf("from %s back to ISO 0: %X %v, want %X", f, back.Block, err, want)
		}
	}
}

func TestSoftErrors(t *testing.T) {
	s := NewSoft(TestLMK())
	ctx := context.Background()
	ks, _ := s.NewTestKeySet()
	const pan = "4761739001010010"
	block, _ := s.EncryptPIN(ctx, ks.TPK, PINFormatISO0, "1234", pan)
	badKCV := ks.ZPK
	badKCV.CheckValue = "ABCDEF"
	tests := []struct {
		name string
		req  TranslatePINRequest
		want error
	}{
		{"destination is a TPK", TranslatePINRequest{Source: ks.TPK, Dest: ks.TPK, PINBlock: block, SourceFormat: "01", PAN: pan}, ErrKeyType},
		{"destination check value wrong", TranslatePINRequest{Source: ks.TPK, Dest: badKCV, PINBlock: block, SourceFormat: "01", PAN: pan}, ErrKCV},
		{"wrong key for the block", TranslatePINRequest{Source: ks.ZPK, Dest: ks.ZPK, PINBlock: block, SourceFormat: "01", PAN: pan}, ErrPINBlock},
		{"unknown format", TranslatePINRequest{Source: ks.TPK, Dest: ks.ZPK, PINBlock: block, SourceFormat: "99", PAN: pan}, ErrPINFormat},
		{"short block", TranslatePINRequest{Source: ks.TPK, Dest: ks.ZPK, PINBlock: block[:7], SourceFormat: "01", PAN: pan}, ErrInvalidInput},
		{"bad KSN", TranslatePINRequest{Source: ks.BDK, KSN: "XYZ", Dest: ks.ZPK, PINBlock: block, SourceFormat: "01", PAN: pan}, ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.TranslatePIN(ctx, tc.req)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, secret := range []string{ks.TPK.Cryptogram[1:9], ks.ZPK.Cryptogram[1:9], pan, "1234"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error %q carries request material", err)
				}
			}
		})
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.TranslatePIN(canceled, tests[0].req); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled context: %v", err)
	}
}

func TestSoftCheckKey(t *testing.T) {
	s := NewSoft(TestLMK())
	ctx := context.Background()
	zpk := Key{Type: KeyTypeZPK, Cryptogram: "U1EF828AA8F6B80EB83E19FBC373F3A85", CheckValue: "6F1E3F"}
	if err := s.CheckKey(ctx, zpk); err != nil {
		t.Fatal(err)
	}
	wrong := zpk
	wrong.CheckValue = "6F1E3E"
	if err := s.CheckKey(ctx, wrong); !errors.Is(err, ErrKCV) {
		t.Fatalf("wrong KCV: %v", err)
	}
	asTPK := zpk
	asTPK.Type = KeyTypeTPK
	if err := s.CheckKey(ctx, asTPK); !errors.Is(err, ErrKeyParity) {
		t.Fatalf("wrong type: %v", err)
	}
	k, err := s.ImportClearKey(KeyTypeZPK, "C7152C20BC2C830EA7EC9E8334ABE3FE")
	if err != nil || k != zpk {
		t.Fatalf("ImportClearKey = %+v, %v; want %+v", k, err, zpk)
	}
}

func TestSoftCVV(t *testing.T) {
	s := NewSoft(TestLMK())
	ctx := context.Background()
	ks, _ := s.NewTestKeySet()
	const pan = "4761739001010010"
	cvv, err := s.GenerateCVV(ks.CVK, pan, "2612", "101")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyCVV(ctx, CVVRequest{CVK: ks.CVK, PAN: pan, Expiry: "2612", ServiceCode: "101", CVV: cvv}); err != nil {
		t.Fatal(err)
	}
	wrong := "000"
	if cvv == wrong {
		wrong = "001"
	}
	if err := s.VerifyCVV(ctx, CVVRequest{CVK: ks.CVK, PAN: pan, Expiry: "2612", ServiceCode: "101", CVV: wrong}); !errors.Is(err, ErrCVVMismatch) {
		t.Fatalf("wrong CVV: %v", err)
	}
	single, _ := s.GenerateKey(KeyTypeCVK, SchemeSingle)
	if _, err := s.GenerateCVV(single, pan, "2612", "101"); !errors.Is(err, ErrKeyLength) {
		t.Fatalf("single-length CVK: %v", err)
	}
}
