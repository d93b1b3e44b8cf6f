package paycrypto

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

// The 3624 block layout of IBM's CCA reference ("3624 PIN block format"): PIN digits then pad.
func TestEncode3624PINBlock(t *testing.T) {
	tests := []struct {
		name, pin, want string
		pad             byte
	}{
		{"4 digits pad F", "1234", "1234FFFFFFFFFFFF", 0xF},
		{"12 digits", "123456789012", "123456789012FFFF", 0xF},
		{"pad A", "98765", "98765AAAAAAAAAAA", 0xA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Encode3624PINBlock([]byte(tc.pin), tc.pad)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := hex.DecodeString(tc.want)
			if !bytes.Equal(got, want) {
				t.Fatalf("block %X, want %s", got, tc.want)
			}
			pin, err := Decode3624PINBlock(got, tc.pad)
			if err != nil || string(pin) != tc.pin {
				t.Fatalf("decode = %q, %v; want %q", pin, err, tc.pin)
			}
		})
	}
}

func TestDecode3624PINBlockRejects(t *testing.T) {
	tests := []struct {
		name, block string
		want        error
	}{
		{"too short PIN", "123FFFFFFFFFFFFF", ErrPINLength},
		{"too long PIN", "1234567890123FFF", ErrPINLength},
		{"digit after pad", "1234FFFF1FFFFFFF", ErrPINBlockFill},
		{"wrong pad", "1234AAAAAAAAAAAA", ErrPINBlockFill},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := hex.DecodeString(tc.block)
			if _, err := Decode3624PINBlock(b, PIN3624Pad); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := Encode3624PINBlock([]byte("12"), PIN3624Pad); !errors.Is(err, ErrPINLength) {
		t.Fatalf("short PIN: err = %v", err)
	}
}
