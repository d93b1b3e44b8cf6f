package issuer

import (
	"context"
	"errors"
	"testing"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
)

// secured is a simulator checking PINs under keys.ZPK and MACs under keys.ZAK.
func secured(t *testing.T, soft *hsm.Soft, keys hsm.TestKeySet, zak bool) *Simulator {
	t.Helper()
	var mk hsm.Key
	if zak {
		mk = keys.ZAK
	}
	sc, err := NewSecurity(soft, keys.ZPK, mk, "")
	if err != nil {
		t.Fatalf("NewSecurity: %v", err)
	}
	return startSim(t, Config{Security: sc})
}

// macked packs m with its MAC under zak in field 64 (128 when m has a secondary bitmap).
func macked(t *testing.T, soft *hsm.Soft, zak hsm.Key, m *iso8583.Message, secondary bool) []byte {
	t.Helper()
	if secondary {
		m.MAC2 = make([]byte, 8)
	} else {
		m.MAC = make([]byte, 8)
	}
	b, err := m.Pack(iso8583.AcquirerSpec())
	if err != nil {
		t.Fatal(err)
	}
	mac, err := soft.GenerateMAC(context.Background(), zak, hsm.MACRetail, b[:len(b)-16])
	if err != nil {
		t.Fatal(err)
	}
	if secondary {
		m.MAC2 = mac
	} else {
		m.MAC = mac
	}
	b, err = m.Pack(iso8583.AcquirerSpec())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPINRule(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, err := soft.NewTestKeySet()
	if err != nil {
		t.Fatal(err)
	}
	s := secured(t, soft, keys, false)
	c := dial(t, s.Addr(), nil)
	block := func(key hsm.Key, pin string) []byte {
		b, err := soft.EncryptPIN(context.Background(), key, hsm.PINFormatISO0, pin, "4111111111111111")
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name   string
		amount string
		pin    []byte // nil: no field 52
		code   string
	}{
		{"expected PIN under the ZPK", "000000010000", block(keys.ZPK, "1234"), "00"},
		{"another PIN", "000000010000", block(keys.ZPK, "4321"), "55"},
		{"the PIN under another key (not translated)", "000000010000", block(keys.TPK, "1234"), "55"},
		{"no PIN block: the amount rules", "000000010051", nil, "51"},
		{"the PIN rule comes before the amount rules", "000000010051", block(keys.ZPK, "9999"), "55"},
		{"a good PIN, then the amount rules", "000000010051", block(keys.ZPK, "1234"), "51"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := authorization(stanOf(i), tc.amount)
			req.PINBlock = tc.pin
			c.send(req)
			resp := c.recv()
			if resp.MTI != "0110" || resp.ResponseCode != tc.code || resp.Has(52) {
				t.Fatalf("got %s/%s (field 52 echoed: %v), want 0110/%s", resp.MTI, resp.ResponseCode, resp.Has(52), tc.code)
			}
		})
	}
}

func TestMACCheck(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, err := soft.NewTestKeySet()
	if err != nil {
		t.Fatal(err)
	}
	s := secured(t, soft, keys, true)
	c := dial(t, s.Addr(), nil)
	tests := []struct {
		name  string
		frame func(m *iso8583.Message) []byte
		code  string
	}{
		{"field 64 under the ZAK", func(m *iso8583.Message) []byte { return macked(t, soft, keys.ZAK, m, false) }, "00"},
		{"field 128 with a secondary bitmap", func(m *iso8583.Message) []byte {
			m.ReplacementAmounts = "000000000000000000000000000000000000000000"
			return macked(t, soft, keys.ZAK, m, true)
		}, "00"},
		{"under another key", func(m *iso8583.Message) []byte {
			other, _ := soft.NewTestKeySet()
			return macked(t, soft, other.ZAK, m, false)
		}, "63"},
		{"no MAC", func(m *iso8583.Message) []byte { b, _ := m.Pack(iso8583.AcquirerSpec()); return b }, "63"},
		{"a field changed after MACing", func(m *iso8583.Message) []byte {
			b := macked(t, soft, keys.ZAK, m, false)
			b[len(b)-17] ^= 1 // the last character before the MAC (field 55's)
			return b
		}, "63"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := authorization(stanOf(100+i), "000000010000")
			b, _ := soft.EncryptPIN(context.Background(), keys.ZPK, hsm.PINFormatISO0, "1234", req.PAN)
			req.PINBlock = b
			c.sendRaw(tc.frame(req))
			resp := c.recv()
			if resp.ResponseCode != tc.code {
				t.Fatalf("got %s, want %s", resp.ResponseCode, tc.code)
			}
		})
	}
	t.Run("sign-on is checked too", func(t *testing.T) {
		on := &iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143015", STAN: "000900", NetworkCode: "001"}
		c.sendRaw(macked(t, soft, keys.ZAK, on, true))
		if resp := c.recv(); resp.MTI != "0810" || resp.ResponseCode != "00" || resp.NetworkCode != "001" {
			t.Fatalf("got %s/%s/%s, want 0810/00/001", resp.MTI, resp.ResponseCode, resp.NetworkCode)
		}
		c.send(&iso8583.Message{MTI: "0800", TransmissionDateTime: "1126143015", STAN: "000901", NetworkCode: "301"})
		if resp := c.recv(); resp.MTI != "0810" || resp.ResponseCode != "63" {
			t.Fatalf("unMACed echo: got %s/%s, want 0810/63", resp.MTI, resp.ResponseCode)
		}
	})
}

func TestNewSecurity(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, _ := soft.NewTestKeySet()
	badKCV := keys.ZPK
	badKCV.CheckValue = "000000"
	tests := []struct {
		name     string
		zpk, zak hsm.Key
		pin      string
		ok       bool
	}{
		{"ZPK and the default PIN", keys.ZPK, hsm.Key{}, "", true},
		{"ZAK only", hsm.Key{}, keys.ZAK, "", true},
		{"12-digit PIN", keys.ZPK, hsm.Key{}, "123456789012", true},
		{"3-digit PIN", keys.ZPK, hsm.Key{}, "123", false},
		{"PIN with a letter", keys.ZPK, hsm.Key{}, "12a4", false},
		{"wrong check value", badKCV, hsm.Key{}, "", false},
		{"a cryptogram that is not a key", hsm.Key{Cryptogram: "U0123"}, hsm.Key{}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSecurity(soft, tc.zpk, tc.zak, tc.pin)
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrSecurity)) {
				t.Fatalf("NewSecurity = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func stanOf(i int) string {
	b := []byte("000000")
	for k := 5; k >= 0 && i > 0; k-- {
		b[k] = byte('0' + i%10)
		i /= 10
	}
	return string(b)
}
