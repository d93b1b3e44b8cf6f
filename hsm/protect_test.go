package hsm

import (
	"errors"
	"strings"
	"testing"
)

func TestDataProtector(t *testing.T) {
	s := NewSoft(TestLMK())
	dek, err := s.ImportClearKey(KeyTypeDEK, "0123456789ABCDEFFEDCBA9876543210")
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.ImportClearKey(KeyTypeDEK, "89ABCDEF0123456701234567FEDCBA98")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.DataProtector(dek)
	if err != nil {
		t.Fatal(err)
	}
	q, err := s.DataProtector(other)
	if err != nil {
		t.Fatal(err)
	}
	const pan = "4111111111111111"
	sealed, err := p.Seal(pan)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), pan) || strings.Contains(string(sealed), pan[6:12]) {
		t.Fatal("the sealed value shows the PAN")
	}
	again, _ := p.Seal(pan)
	if string(again) == string(sealed) {
		t.Fatal("two seals of one PAN are equal: the nonce is not random")
	}
	if got, err := p.Open(sealed); err != nil || got != pan {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := q.Open(sealed); !errors.Is(err, ErrSealed) {
		t.Fatalf("open under another key: %v", err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := p.Open(tampered); !errors.Is(err, ErrSealed) {
		t.Fatalf("open of an altered value: %v", err)
	}
	for _, bad := range [][]byte{nil, {1}, sealed[:10]} {
		if _, err := p.Open(bad); !errors.Is(err, ErrSealed) {
			t.Fatalf("open of %x: %v", bad, err)
		}
	}
	if h := p.Hash(pan); h != p.Hash(pan) || len(h) != 32 || h == q.Hash(pan) || h == p.Hash("4111111111111112") {
		t.Fatalf("hash %s: not a keyed, deterministic hash", h)
	}
	zpk, _ := s.ImportClearKey(KeyTypeZPK, "0123456789ABCDEFFEDCBA9876543210")
	if _, err := s.DataProtector(zpk); !errors.Is(err, ErrKeyType) {
		t.Fatalf("a ZPK as data key: %v", err)
	}
}
