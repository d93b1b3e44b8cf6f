package hsm

import (
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Cryptograms under the test LMK with their clear keys and check values, as published in
// ThalesSim's tests (github.com/nickntg/thalessimulatorlibrary, HostCommandTests.vb: the clear
// ZPK and TPK of its SA and EncryptClearPIN tests, the BDK and CVK of its DUKPT and CVV tests
// — the ANSI X9.24 test BDK and the Visa CVV example CVK pair 0123456789ABCDEF FEDCBA9876543210).
func TestDecryptUnderTestLMK(t *testing.T) {
	tests := []struct {
		name       string
		kt         KeyType
		cryptogram string
		clear, kcv string
	}{
		{"ZPK U", KeyTypeZPK, "U1EF828AA8F6B80EB83E19FBC373F3A85", "C7152C20BC2C830EA7EC9E8334ABE3FE", "6F1E3F"},
		{"TPK U", KeyTypeTPK, "U8463435FC4B4DAA0C49025272C29B12C", "D3DCC7EA9BCB755D254620B376B3D007", "070753"},
		{"BDK U", KeyTypeBDK1, "U8E3D3E2FD5919657F05A1AA90D32A014", "0123456789ABCDEFFEDCBA9876543210", "08D7B4"},
		{"CVK U", KeyTypeCVK, "U9B4934384B19946B040CD702B4D58145", "0123456789ABCDEFFEDCBA9876543210", "08D7B4"},
		{"CVK pair no letter", KeyTypeCVK, "0A61E674E88C6A7EEABC38C2B2BB492F", "0123456789ABCDEFFEDCBA9876543210", "08D7B4"},
		{"single TPK", KeyTypeTPK, "0406FBB23A5214DF", "0B681FC20E62C734", "0035BB"},
	}
	l := TestLMK()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, sc, err := l.decryptUnderLMK(tc.kt, tc.cryptogram)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.ToUpper(hex.EncodeToString(k)); got != tc.clear {
				t.Fatalf("clear key %s, want %s", got, tc.clear)
			}
			kcv, _ := checkValue(k)
			if kcv[:6] != tc.kcv {
				t.Fatalf("KCV %s, want %s", kcv[:6], tc.kcv)
			}
			if sc == SchemeDoubleANSI && tc.cryptogram[0] != 'X' {
				sc = SchemeDoubleANSI // written without its letter: compare the hex only
				back, _ := l.encryptUnderLMK(tc.kt, sc, k)
				if back[1:] != tc.cryptogram {
					t.Fatalf("re-encrypted %s, want %s", back, tc.cryptogram)
				}
				return
			}
			if back, _ := l.encryptUnderLMK(tc.kt, sc, k); back != tc.cryptogram {
				t.Fatalf("re-encrypted %s, want %s", back, tc.cryptogram)
			}
		})
	}
}

func TestDecryptRejects(t *testing.T) {
	l := TestLMK()
	tests := []struct {
		name, cryptogram string
		kt               KeyType
		want             error
	}{
		{"wrong type gives bad parity", "U1EF828AA8F6B80EB83E19FBC373F3A85", KeyTypeTPK, ErrKeyParity},
		{"flipped bit", "U1EF828AA8F6B80EB83E19FBC373F3A84", KeyTypeZPK, ErrKeyParity},
		{"short", "U1EF828AA8F6B80EB83E19FBC373F3A8", KeyTypeZPK, ErrKeyFormat},
		{"not hex", "U1EF828AA8F6B80EB83E19FBC373F3AZZ", KeyTypeZPK, ErrKeyFormat},
		{"unknown scheme", "Q1EF828AA8F6B80EB83E19FBC373F3A85", KeyTypeZPK, ErrKeyFormat},
		{"unknown key type", "U1EF828AA8F6B80EB83E19FBC373F3A85", "0F1", ErrKeyType},
		{"empty", "", KeyTypeZPK, ErrKeyFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := l.decryptUnderLMK(tc.kt, tc.cryptogram); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func writeLMKFile(t *testing.T, body string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lmk.txt")
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

func testLMKFile() string {
	var b strings.Builder
	b.WriteString("# the Thales test LMK set\ncheck-value 268604\n\n")
	for i, s := range testLMK {
		b.WriteString(pairName(i) + " " + s[:16] + " " + s[16:] + "\n")
	}
	return b.String()
}

func TestLoadLMKFile(t *testing.T) {
	l, err := LoadLMKFile(writeLMKFile(t, testLMKFile(), 0o600))
	if err != nil {
		t.Fatal(err)
	}
	if l.CheckValue() != "2686040000000000" {
		t.Fatalf("check value %s", l.CheckValue())
	}
	k, _, err := l.decryptUnderLMK(KeyTypeZPK, "U1EF828AA8F6B80EB83E19FBC373F3A85")
	if err != nil || hex.EncodeToString(k) != "c7152c20bc2c830ea7ec9e8334abe3fe" {
		t.Fatalf("file LMK decrypts to %x, %v", k, err)
	}
}

func TestLoadLMKFileRejects(t *testing.T) {
	good := testLMKFile()
	tests := []struct {
		name, body string
		mode       os.FileMode
		want       string
	}{
		{"group readable", good, 0o640, "too open"},
		{"world readable", good, 0o604, "too open"},
		{"missing pair", strings.Replace(good, "38-39", "# 38-39", 1), 0o600, "38-39 missing"},
		{"duplicate pair", good + "00-01 0101010101010101 7902CD1FD36EF8BA\n", 0o600, "given twice"},
		{"bad parity", strings.Replace(good, "7902CD1FD36EF8BA", "7902CD1FD36EF8BB", 1), 0o600, "parity"},
		{"bad pair name", strings.Replace(good, "04-05", "04-06", 1), 0o600, "unknown LMK pair"},
		{"short key", strings.Replace(good, "7902CD1FD36EF8BA", "7902CD1FD36EF8", 1), 0o600, "32 hex"},
		{"bad check value", strings.Replace(good, "268604", "26860", 1), 0o600, "check-value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadLMKFile(writeLMKFile(t, tc.body, tc.mode))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "7902CD1F") {
				t.Fatalf("error quotes key material: %v", err)
			}
		})
	}
	if _, err := LoadLMKFile(filepath.Join(t.TempDir(), "absent")); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestZMKWrapRoundTrip(t *testing.T) {
	zmk, _ := hex.DecodeString("851A0D9D0B2A1602622AD0B0E9E6B070")
	key, _ := hex.DecodeString("C7152C20BC2C830EA7EC9E8334ABE3FE")
	for _, sc := range []KeyScheme{SchemeDoubleVariant, SchemeDoubleANSI} {
		ct, err := wrapUnderZMK(zmk, sc, key)
		if err != nil {
			t.Fatal(err)
		}
		got, gotSC, err := unwrapUnderZMK(zmk, ct)
		if err != nil || hex.EncodeToString(got) != hex.EncodeToString(key) || gotSC != sc {
			t.Fatalf("scheme %c: unwrap = %x %c %v", sc, got, gotSC, err)
		}
	}
}
