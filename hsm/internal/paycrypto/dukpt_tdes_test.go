package paycrypto

import (
	"strings"
	"testing"
)

// ANSI X9.24-1:2009 Annex A.4, "DUKPT Test Data Examples": BDK
// 0123456789ABCDEFFEDCBA9876543210, initial KSN FFFF9876543210E00000, IPEK
// 6AC292FAA1315B4D858AB3A3D7D5933A, PIN 1234 and PAN 4012345678909 giving
// the ISO format 0 block 041274EDCBA9876F, enciphered under the PIN variant
// of each transaction key.
const (
	x924BDK        = "0123456789ABCDEFFEDCBA9876543210"
	x924InitialKSN = "FFFF9876543210E00000"
	x924IPEK       = "6AC292FAA1315B4D858AB3A3D7D5933A"
	x924PAN        = "4012345678909"
	x924ClearBlock = "041274EDCBA9876F"
)

type tdesVector struct {
	ksn, transactionKey, encryptedPINBlock string
}

// X9.24-1:2009 A.4.2, the first 21 transactions.
var x924Initial = []tdesVector{
	{"FFFF9876543210E00001", "042666B49184CFA368DE9628D0397BC9", "1B9C1845EB993A7A"},
	{"FFFF9876543210E00002", "C46551CEF9FD24B0AA9AD834130D3BC7", "10A01C8D02C69107"},
	{"FFFF9876543210E00003", "0DF3D9422ACA56E547676D07AD6BADFA", "18DC07B94797B466"},
	{"FFFF9876543210E00004", "279C0F6AEED0BE652B2C733E1383AE91", "0BC79509D5645DF7"},
	{"FFFF9876543210E00005", "5F8DC6D2C845C125508DDC048093B83F", "5BC0AF22AD87B327"},
	{"FFFF9876543210E00006", "5E415CB0BAF9F03CD0C14B63FB62FF43", "A16DF70AE36158D8"},
	{"FFFF9876543210E00007", "0C8F780B7C8B49D0AE84A9EB2A6CE660", "27711C16CB257F8E"},
	{"FFFF9876543210E00008", "27F66D5244FF62E1AA6F6120EDEB4280", "50E55547A5027551"},
	{"FFFF9876543210E00009", "27E31064FDC565698900E2057F658E7E", "536CF7F678ACFC8D"},
	{"FFFF9876543210E0000A", "6CF2500A22507C7CC776CEADC1E33014", "EDABBA23221833FE"},
	{"FFFF9876543210E0000B", "3E8260BA04B2D620C01482B3819A18B7", "2328981C57B4BDBA"},
	{"FFFF9876543210E0000C", "B716E1E11CF53D80726CAEE75C3A624F", "038D03CC926CF286"},
	{"FFFF9876543210E0000D", "E072EDF95340535FB6C581C58FBF2533", "6C8AA97088B62C68"},
	{"FFFF9876543210E0000E", "A80046087F5B8F245AAD95E18429084F", "F17C9E1D72CD4950"},
	{"FFFF9876543210E0000F", "93DD5B956C4878472E453AAEFD32A5AA", "B170F6E7F7F2F64A"},
	{"FFFF9876543210E00010", "59598DCBD9BD94C094165CE453585F57", "D5D9638559EF53D6"},
	{"FFFF9876543210E00011", "2B5F01F4F0CC05EA639D523231BF1BA2", "D544F8CDD292C863"},
	{"FFFF9876543210E00012", "9CF640F279C2AEE615F725EEEAC2CBAF", "7A21BD10F36DC41D"},
	{"FFFF9876543210E00013", "C3DF489FDF1153B4F03DE97C27DC4C2F", "78649BD17D0DFA60"},
	{"FFFF9876543210E00014", "658488507721B3F14737FA93F923CBD2", "7E7E16EA0C31AD56"},
	{"FFFF9876543210E00015", "E161D1956A61F6D2F37AFD7F9CC3699A", "72105C22EBC791E6"},
}

// X9.24-1:2009 A.4.3, the counters around the rollover to ...F00000 (the
// table skips counters with more than ten one bits).
var x924Rollover = []tdesVector{
	{"FFFF9876543210EFF800", "F9CDFEBF4F5B1D9EB3EC12454527E176", "33365F5CC6F23C35"},
	{"FFFF9876543210EFF801", "5BEE92627E97825C911BF619DF72CA3B", "3A86BF003F835C9D"},
	{"FFFF9876543210EFF802", "64CA2F8AB93F61B01620B00BF77C7301", "3DB977D05C36DF3F"},
	{"FFFF9876543210EFF804", "35A168695B3BA83307E871C42021DD37", "BA83243305712099"},
	{"FFFF9876543210EFF808", "12C380FCB72ED3C26FC6079AF63F4787", "B0DA04AC90A36D85"},
	{"FFFF9876543210EFF810", "D8007C833A1E3C49C6889B97A68C54FF", "2CF02BD9C309EEDA"},
	{"FFFF9876543210EFF820", "A9C9FF9B735FDD49591F296B0BF0FD70", "9D1E2F77AEEE81C6"},
	{"FFFF9876543210EFF840", "0E3E221062CB5E03A384602783A004FA", "40870B0F8BA2011C"},
	{"FFFF9876543210EFF880", "CA8225C587124DFBB87F279C0BE29727", "22E340D6ABB40981"},
	{"FFFF9876543210EFF900", "906AAC1751D4971A144D52C76C6E1F97", "1A4C10AFBA03A430"},
	{"FFFF9876543210EFFA00", "2B9E2CE7C2750337E10B54D2989EA6AF", "849763B43E5F9CFF"},
	{"FFFF9876543210EFFC00", "F9430DF975082491C77BE4EF4FDB91EE", "DEFC6F09F8927B71"},
	{"FFFF9876543210F00000", "AA4D58DB653EC74A48C75F2F047DD2B5", "73EC88AD0AC5830E"},
}

func TestTDESInitialKey(t *testing.T) {
	ipek, err := TDESInitialKey(h(t, x924BDK), h(t, x924InitialKSN))
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "IPEK", ipek, x924IPEK)
	// The counter bits of the KSN do not change the IPEK.
	ipek2, _ := TDESInitialKey(h(t, x924BDK), h(t, "FFFF9876543210E1FFFF"))
	assertHex(t, "IPEK from a later KSN", ipek2, x924IPEK)
}

func TestTDESDUKPTAnnexA(t *testing.T) {
	bdk := h(t, x924BDK)
	ipek := h(t, x924IPEK)
	for _, table := range []struct {
		name    string
		vectors []tdesVector
	}{{"A.4.2 initial", x924Initial}, {"A.4.3 rollover", x924Rollover}} {
		for _, v := range table.vectors {
			t.Run(table.name+"/"+v.ksn, func(t *testing.T) {
				ksn := h(t, v.ksn)
				key, err := TDESTransactionKey(ipek, ksn)
				if err != nil {
					t.Fatal(err)
				}
				assertHex(t, "transaction key", key, v.transactionKey)
				pinKey, err := TDESWorkingKey(bdk, ksn, TDESVariantPIN)
				if err != nil {
					t.Fatal(err)
				}
				enc, _ := TDESEncryptECB(pinKey, h(t, x924ClearBlock))
				assertHex(t, "encrypted PIN block", enc, v.encryptedPINBlock)
				clearBlock, err := TDESDecryptPINBlock(bdk, ksn, h(t, v.encryptedPINBlock))
				if err != nil {
					t.Fatal(err)
				}
				assertHex(t, "decrypted PIN block", clearBlock, x924ClearBlock)
				pin, err := DecodePINBlock(ISOFormat0, clearBlock, x924PAN)
				if err != nil || string(pin) != "1234" {
					t.Errorf("PIN = %s, %v", pin, err)
				}
			})
		}
	}
}

// TDESNextKSN must walk exactly the KSN sequence of the Annex A tables,
// including the skips over counters with more than ten one bits.
func TestTDESNextKSN(t *testing.T) {
	for _, table := range [][]tdesVector{x924Initial, x924Rollover} {
		ksn := h(t, table[0].ksn)
		for _, v := range table[1:] {
			next, err := TDESNextKSN(ksn)
			if err != nil {
				t.Fatal(err)
			}
			assertHex(t, "next KSN after "+FormatHex(ksn), next, v.ksn)
			ksn = next
		}
	}
	first, _ := TDESNextKSN(h(t, x924InitialKSN))
	assertHex(t, "first KSN", first, "FFFF9876543210E00001")
	// The last usable counter is 0x1FF800 (ten one bits); after it the
	// device is exhausted.
	last := h(t, "FFFF9876543210FFF800")
	_, err := TDESNextKSN(last)
	assertErrIs(t, err, ErrKSNExhausted)
}

// The MAC and data variants of the first five Annex A transaction keys, as
// published with the shenyan1206/dukpt implementation's tests; the MAC
// variants follow from the transaction keys above by the X9.24-1 masks, the
// data variants additionally encipher the variant key under itself.
func TestTDESVariants(t *testing.T) {
	bdk := h(t, x924BDK)
	tests := []struct {
		ksn, pin, macRequest, dataRequest string
	}{
		{"FFFF9876543210E00001", "042666B49184CF5C68DE9628D0397B36", "042666B4918430A368DE9628D03984C9", "448D3F076D8304036A55A3D7E0055A78"},
		{"FFFF9876543210E00002", "C46551CEF9FD244FAA9AD834130D3B38", "C46551CEF9FDDBB0AA9AD834130DC4C7", "F1BE73B36135C5C26CF937D50ABBE5AF"},
		{"FFFF9876543210E00003", "0DF3D9422ACA561A47676D07AD6BAD05", "0DF3D9422ACAA9E547676D07AD6B52FA", "EEEEF522C67239E4A2A65FEBF4C511F4"},
		{"FFFF9876543210E00004", "279C0F6AEED0BE9A2B2C733E1383AE6E", "279C0F6AEED041652B2C733E13835191", "BCF2610997C3AC3C5F13AE965A1B773B"},
		{"FFFF9876543210E00005", "5F8DC6D2C845C1DA508DDC048093B8C0", "5F8DC6D2C8453E25508DDC048093473F", "F3054D8B7471284BDB4EE18AFC3B091B"},
	}
	for _, tc := range tests {
		t.Run(tc.ksn, func(t *testing.T) {
			ksn := h(t, tc.ksn)
			for _, c := range []struct {
				v    TDESVariant
				want string
			}{{TDESVariantPIN, tc.pin}, {TDESVariantMACRequest, tc.macRequest}, {TDESVariantDataRequest, tc.dataRequest}} {
				got, err := TDESWorkingKey(bdk, ksn, c.v)
				if err != nil {
					t.Fatal(err)
				}
				assertHex(t, "variant key", got, c.want)
			}
		})
	}
	// Response variants use their own masks: the MAC response key differs
	// from the transaction key in bytes 5 and 13 only.
	ksn := h(t, "FFFF9876543210E00001")
	txn, _ := TDESWorkingKey(bdk, ksn, TDESVariantNone)
	assertHex(t, "transaction key", txn, "042666B49184CFA368DE9628D0397BC9")
	resp, _ := TDESWorkingKey(bdk, ksn, TDESVariantMACResponse)
	diff, _ := XORComponents(txn, resp)
	assertHex(t, "MAC response mask", diff, "00000000FF00000000000000FF000000")
	dataResp, _ := TDESWorkingKey(bdk, ksn, TDESVariantDataResponse)
	masked, _ := XORComponents(txn, h(t, "000000FF00000000000000FF00000000"))
	want, _ := TDESEncryptECB(masked, masked)
	if !equal(dataResp, want) {
		t.Errorf("data response key is not the masked key enciphered under itself")
	}
}

func TestTDESDUKPTErrors(t *testing.T) {
	bdk := h(t, x924BDK)
	ipek := h(t, x924IPEK)
	ksn := h(t, "FFFF9876543210E00001")
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{"BDK single length", func() error { _, err := TDESInitialKey(bdk[:8], ksn); return err }, ErrKeyLength},
		{"BDK triple length", func() error { _, err := TDESInitialKey(append(bdk, bdk[:8]...), ksn); return err }, ErrKeyLength},
		{"KSN short", func() error { _, err := TDESInitialKey(bdk, ksn[:8]); return err }, ErrKSN},
		{"IPEK short", func() error { _, err := TDESTransactionKey(ipek[:8], ksn); return err }, ErrKeyLength},
		{"counter zero", func() error { _, err := TDESTransactionKey(ipek, h(t, x924InitialKSN)); return err }, ErrKSNCounter},
		{"counter eleven ones", func() error { _, err := TDESTransactionKey(ipek, h(t, "FFFF9876543210E007FF")); return err }, ErrKSNCounter},
		{"unknown variant", func() error { _, err := TDESWorkingKey(bdk, ksn, 9); return err }, ErrKeyUsage},
		{"PIN block short", func() error { _, err := TDESDecryptPINBlock(bdk, ksn, make([]byte, 7)); return err }, ErrPINBlockFormat},
		{"next KSN short", func() error { _, err := TDESNextKSN(ksn[:9]); return err }, ErrKSN},
		{"counter short KSN", func() error { _, err := TDESCounter(nil); return err }, ErrKSN},
		{"parse short", func() error { _, err := ParseTDESKSN("FFFF9876543210E0000"); return err }, ErrKSN},
		{"parse non-hex", func() error { _, err := ParseTDESKSN("FFFF9876543210E0000G"); return err }, ErrKSN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { assertErrIs(t, tc.run(), tc.want) })
	}
	c, err := TDESCounter(h(t, "FFFF9876543210EFF801"))
	if err != nil || c != 0x0FF801 {
		t.Errorf("counter = %#x, %v", c, err)
	}
	parsed, err := ParseTDESKSN(strings.ToLower(x924InitialKSN))
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "parsed KSN", parsed, x924InitialKSN)
}

// The originating device's future key registers must give, transaction by
// transaction, the same KSNs and keys as the host derivation: the first 21
// against the Annex A.4.2 table, then the first 3000 against
// TDESTransactionKey (bounded so the test stays fast under -race).
func TestTDESOriginatorMatchesHost(t *testing.T) {
	ipek := h(t, x924IPEK)
	o, err := NewTDESOriginator(ipek, h(t, x924InitialKSN))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3000; i++ {
		ksn, key, err := o.Next()
		if err != nil {
			t.Fatalf("transaction %d: %v", i+1, err)
		}
		if i < len(x924Initial) {
			assertHex(t, "KSN", ksn, x924Initial[i].ksn)
			assertHex(t, "key", key, x924Initial[i].transactionKey)
		}
		want, err := TDESTransactionKey(ipek, ksn)
		if err != nil {
			t.Fatalf("host derivation for %X: %v", ksn, err)
		}
		if !equal(key, want) {
			t.Fatalf("transaction %d (%X): originator key %X, host key %X", i+1, ksn, key, want)
		}
	}
	_, err = NewTDESOriginator(ipek, h(t, "FFFF9876543210E00001"))
	assertErrIs(t, err, ErrKSNCounter)
	_, err = NewTDESOriginator(ipek[:8], h(t, x924InitialKSN))
	assertErrIs(t, err, ErrKeyLength)
}

// The last usable counter, 0x1FF800, is served and then the device is
// exhausted. The device is put in that state directly, since reaching it
// takes a million transactions.
func TestTDESOriginatorExhausted(t *testing.T) {
	ipek := h(t, x924IPEK)
	o, err := NewTDESOriginator(ipek, h(t, x924InitialKSN))
	if err != nil {
		t.Fatal(err)
	}
	last := h(t, "FFFF9876543210FFF800")
	want, _ := TDESTransactionKey(ipek, last)
	o.counter, o.ksn = 0x1FF800, last
	o.fkr[11] = append([]byte(nil), want...)
	ksn, key, err := o.Next()
	if err != nil {
		t.Fatal(err)
	}
	assertHex(t, "last KSN", ksn, "FFFF9876543210FFF800")
	if !equal(key, want) {
		t.Errorf("last key %X, want %X", key, want)
	}
	_, _, err = o.Next()
	assertErrIs(t, err, ErrKSNExhausted)
}
