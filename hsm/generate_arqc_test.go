package hsm

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"
)

// GenerateARQC is the card's side of VerifyARQC. The Visa CVN 10 case is pyemv's example
// (tests/test_cvn_hsm.py, test_visa_cvn10, checked against a payment HSM): IMK
// 0123456789ABCDEFFEDCBA9876543210, PAN 1234567890123456, PSN 00, ATC 001C: ARQC
// 29CCA15AE665FA2E.
func TestGenerateARQC(t *testing.T) {
	s := NewSoft(TestLMK())
	ctx := context.Background()
	mk, err := s.ImportClearKey(KeyTypeMKAC, "0123456789ABCDEFFEDCBA9876543210")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := hex.DecodeString("000000004000" + "000000000000" + "0124" + "8000048000" + "0124" + "191105" + "01" +
		"52BF4585" + "1800" + "001C" + "03A06010")
	tests := []struct {
		name   string
		scheme ARQCScheme
		want   string // "" when no published value exists: checked by VerifyARQC only
	}{
		{"Visa CVN 10, pyemv example", ARQCVisaCVN10, "29CCA15AE665FA2E"},
		{"EMV common session key", ARQCEMVCommon, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := ARQCRequest{MKAC: mk, Scheme: tc.scheme, PAN: "1234567890123456", PANSequence: "00",
				ATC: []byte{0x00, 0x1C}, TransactionData: data}
			arqc, err := s.GenerateARQC(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && hex.EncodeToString(arqc) != hex.EncodeToString(mustDecode(tc.want)) {
				t.Fatalf("ARQC %X, want %s", arqc, tc.want)
			}
			req.ARQC = arqc
			if _, err := s.VerifyARQC(ctx, req); err != nil {
				t.Fatalf("VerifyARQC of the generated ARQC: %v", err)
			}
			req.TransactionData = append([]byte{}, data...)
			req.TransactionData[0] ^= 1
			if _, err := s.VerifyARQC(ctx, req); !errors.Is(err, ErrCryptogramMismatch) {
				t.Fatalf("VerifyARQC over altered data = %v, want ErrCryptogramMismatch", err)
			}
		})
	}
	if _, err := s.GenerateARQC(ctx, ARQCRequest{MKAC: mk, Scheme: ARQCVisaCVN10, PAN: "1234567890123456", ATC: []byte{1}, TransactionData: data}); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("a 1-byte ATC: %v, want ErrInvalidInput", err)
	}
}

func mustDecode(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}
