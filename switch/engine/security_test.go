package engine

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/route"
)

// softEnv is an engine on the in-process software HSM with real keys under the test LMK: the
// security checks are exercised with real cryptography, not a fake.
type softEnv struct {
	*env
	soft  *hsm.Soft
	keys  hsm.TestKeySet
	other hsm.TestKeySet // keys the switch does not know
}

// Terminals and issuers of the soft environment: alpha (4…) checks Visa CVN 10 cryptograms, beta
// (5…) EMV common session key cryptograms; both have a ZPK.
const (
	pinTerminal   = "PINTERM1" // TPK
	macTerminal   = "MACTERM1" // TPK and TAK
	dukptTerminal = "DUKPTTM1" // BDK
	dukptKSN      = "FFFF9876543210E00001"
)

func newSoftEnv(t testing.TB) *softEnv {
	t.Helper()
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, err := soft.NewTestKeySet()
	require.NoError(t, err)
	other, err := soft.NewTestKeySet()
	require.NoError(t, err)
	table, err := route.New([]route.Entry{{Prefix: "4", Issuer: "alpha"}, {Prefix: "5", Issuer: "beta"}})
	require.NoError(t, err)
	v := &env{alpha: &fakeIssuer{}, beta: &fakeIssuer{}, ledger: newFakeLedger()}
	cfg := Config{
		AcquirerID: "00000012345", NodeID: '0', DuplicateWindow: time.Minute, DuplicateMax: 1024, HoldTimeout: time.Hour,
		Merchants: []Merchant{{ID: "MERCHANT0000001", Kind: ledger.Merchant, Currencies: []string{"840"}, Allowed: TxnAll}},
		Terminals: []Terminal{
			{ID: pinTerminal, PINKey: keys.TPK, PINFormat: hsm.PINFormatISO0},
			{ID: macTerminal, PINKey: keys.TPK, PINFormat: hsm.PINFormatISO0, MACKey: keys.TAK, MACAlg: hsm.MACRetail},
			{ID: dukptTerminal, PINKey: keys.BDK, DUKPT: true, PINFormat: hsm.PINFormatISO0},
		},
		Issuers: []Issuer{
			{Name: "alpha", Link: v.alpha, Timeout: time.Second, ZPK: keys.ZPK, EMV: &EMV{MKAC: keys.MKAC, Scheme: hsm.ARQCVisaCVN10}},
			{Name: "beta", Link: v.beta, Timeout: time.Second, ZPK: keys.ZPK, EMV: &EMV{MKAC: keys.MKAC, Scheme: hsm.ARQCEMVCommon}},
		},
	}
	v.metrics = NewMetrics(prometheus.NewRegistry())
	v.e, err = New(cfg, Deps{Router: table, Ledger: v.ledger, HSM: soft, Protector: fakeProtector{}, Log: zaptest.NewLogger(t),
		Metrics: v.metrics, Now: func() time.Time { return testNow }})
	require.NoError(t, err)
	return &softEnv{env: v, soft: soft, keys: keys, other: other}
}

// pinBlock is "what the PIN pad sends": pin as an ISO format 0 block under key.
func (s *softEnv) pinBlock(t testing.TB, key hsm.Key, pin, pan string) []byte {
	t.Helper()
	b, err := s.soft.EncryptPIN(context.Background(), key, hsm.PINFormatISO0, pin, pan)
	require.NoError(t, err)
	return b
}

func TestPINTranslationWithRealKeys(t *testing.T) {
	s := newSoftEnv(t)
	ctx := context.Background()
	dukptBlock, err := s.soft.EncryptPINDUKPT(ctx, s.keys.BDK, dukptKSN, "1234", visa)
	require.NoError(t, err)
	otherDUKPT, err := s.soft.EncryptPINDUKPT(ctx, s.other.BDK, dukptKSN, "1234", visa)
	require.NoError(t, err)
	tests := []struct {
		name     string
		terminal string
		block    []byte
		ksn      string
		code     string
	}{
		{"TPK to ZPK", pinTerminal, s.pinBlock(t, s.keys.TPK, "1234", visa), "", "00"},
		{"DUKPT to ZPK, KSN in field 62", dukptTerminal, dukptBlock, dukptKSN, "00"},
		{"under a TPK the switch does not know", pinTerminal, s.pinBlock(t, s.other.TPK, "1234", visa), "", "63"},
		{"under a BDK the switch does not know", dukptTerminal, otherDUKPT, dukptKSN, "63"},
		{"DUKPT without a KSN", dukptTerminal, dukptBlock, "", "63"},
		{"DUKPT with a KSN that is not hex", dukptTerminal, dukptBlock, "FFFF9876543210E0000G", "63"},
		{"a terminal without a PIN key", "WEB00001", s.pinBlock(t, s.keys.TPK, "1234", visa), "", "63"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := s.purchase(visa, 2501)
			req.TerminalID, req.PINBlock, req.Private62 = tc.terminal, tc.block, tc.ksn
			calls := s.alpha.calls.Load()
			resp := s.handle(req)
			require.Equal(t, tc.code, resp.ResponseCode)
			require.False(t, resp.Has(52), "a response never carries the PIN block")
			if tc.code != "00" {
				require.Equal(t, calls, s.alpha.calls.Load(), "nothing goes to the issuer")
				return
			}
			// ISO format 0 is deterministic: only a correct translation gives the PIN under the ZPK.
			sent := s.alpha.last()
			require.Equal(t, s.pinBlock(t, s.keys.ZPK, "1234", visa), sent.PINBlock)
			require.Empty(t, sent.Private62, "the KSN stays with the terminal")
		})
	}
}

// macOver returns the terminal's retail MAC over a packed message up to its MAC field.
func (s *softEnv) macOver(t testing.TB, key hsm.Key, m *iso8583.Message) []byte {
	t.Helper()
	packed, err := m.Pack(iso8583.AcquirerSpec())
	require.NoError(t, err)
	mac, err := s.soft.GenerateMAC(context.Background(), key, hsm.MACRetail, packed[:len(packed)-macLen])
	require.NoError(t, err)
	return mac
}

func TestMACWithRealKeys(t *testing.T) {
	s := newSoftEnv(t)
	placeholder := make([]byte, 8)
	tests := []struct {
		name  string
		build func(m *iso8583.Message)
		code  string
	}{
		{"field 64", func(m *iso8583.Message) {
			m.MAC = placeholder
			m.MAC = s.macOver(t, s.keys.TAK, m)
		}, "00"},
		{"field 128 with a secondary bitmap", func(m *iso8583.Message) {
			m.ReplacementAmounts = strings.Repeat("0", 42)
			m.MAC2 = placeholder
			m.MAC2 = s.macOver(t, s.keys.TAK, m)
		}, "00"},
		{"with a PIN block, translated after the MAC", func(m *iso8583.Message) {
			m.PINBlock = s.pinBlock(t, s.keys.TPK, "1234", m.PAN)
			m.MAC = placeholder
			m.MAC = s.macOver(t, s.keys.TAK, m)
		}, "00"},
		{"under another TAK", func(m *iso8583.Message) {
			m.MAC = placeholder
			m.MAC = s.macOver(t, s.other.TAK, m)
		}, "63"},
		{"field changed after MACing", func(m *iso8583.Message) {
			m.MAC = placeholder
			m.MAC = s.macOver(t, s.keys.TAK, m)
			m.Amount = iso8583.FormatAmount(250100)
		}, "63"},
		{"field 64 while the secondary bitmap is present", func(m *iso8583.Message) {
			m.ReplacementAmounts = strings.Repeat("0", 42)
			m.MAC = placeholder
			packed, err := m.Pack(iso8583.AcquirerSpec())
			require.NoError(t, err)
			m.MAC, err = s.soft.GenerateMAC(context.Background(), s.keys.TAK, hsm.MACRetail, packed[:len(packed)-macLen])
			require.NoError(t, err)
		}, "63"},
		{"no MAC", func(*iso8583.Message) {}, "63"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := s.purchase(visa, 2501)
			req.TerminalID = macTerminal
			tc.build(req)
			calls := s.alpha.calls.Load()
			resp := s.handle(req)
			require.Equal(t, tc.code, resp.ResponseCode)
			if tc.code != "00" {
				require.Equal(t, calls, s.alpha.calls.Load(), "nothing goes to the issuer after a bad MAC")
				return
			}
			sent := s.alpha.last()
			require.Nil(t, sent.MAC, "the terminal's MAC is not forwarded")
			require.Nil(t, sent.MAC2)
			if req.PINBlock != nil {
				require.Equal(t, s.pinBlock(t, s.keys.ZPK, "1234", req.PAN), sent.PINBlock)
			}
		})
	}
}

// Completions and reversals from a terminal with a MAC key are verified like authorizations:
// a reversal carries field 90, so its MAC is in field 128.
func TestAdviceMACWithRealKeys(t *testing.T) {
	s := newSoftEnv(t)
	sale := s.purchase(visa, 2501)
	sale.TerminalID = macTerminal
	sale.MAC = make([]byte, 8)
	sale.MAC = s.macOver(t, s.keys.TAK, sale)
	require.Equal(t, "00", s.handle(sale).ResponseCode)
	reversal := func(key hsm.Key) *iso8583.Message {
		r := s.purchase(visa, 2501)
		r.MTI, r.TerminalID = "0400", macTerminal
		r.OriginalData = iso8583.OriginalData{MTI: "0200", STAN: sale.STAN, TransmissionDateTime: sale.TransmissionDateTime}.String()
		r.MAC2 = make([]byte, 8)
		r.MAC2 = s.macOver(t, key, r)
		return r
	}
	require.Equal(t, "63", s.handle(reversal(s.other.TAK)).ResponseCode, "a reversal under another TAK")
	require.Len(t, s.ledger.forwarded(t), 0, "nothing is forwarded to the issuer")
	require.Equal(t, "00", s.handle(reversal(s.keys.TAK)).ResponseCode, "the reversal with its MAC in field 128")
	require.Len(t, s.ledger.forwarded(t), 1, "the reversal is forwarded")
}

// tlv renders one BER-TLV data object with a short-form length, as hex.
func tlv(tag uint32, valueHex string) string {
	return fmt.Sprintf("%X%02X%s", tag, len(valueHex)/2, valueHex)
}

// iccFields are the data objects of a chip transaction, by tag, as hex (pyemv's Visa CVN 10
// example's values, ATC 001C).
var iccFields = []struct {
	tag   uint32
	value string
}{
	{tagAmount, "000000004000"}, {tagAmountOther, "000000000000"}, {tagCountry, "0124"}, {tagTVR, "8000048000"},
	{tagCurrency, "0124"}, {tagDate, "191105"}, {tagType, "01"}, {tagUN, "52BF4585"}, {tagAIP, "1800"}, {tagATC, "001C"},
	{tagIAD, "06010A03A06010"}, {tagPSN, "00"},
}

// field55 builds field 55 with the objects above, the ARQC, and edits applied (a value of "" drops
// a tag).
func field55(arqc []byte, edits map[uint32]string) string {
	var b strings.Builder
	b.WriteString(tlv(tagARQC, hex.EncodeToString(arqc)))
	for _, f := range iccFields {
		v, edited := edits[f.tag]
		if !edited {
			v = f.value
		}
		if v != "" {
			b.WriteString(tlv(f.tag, v))
		}
	}
	return strings.ToUpper(b.String())
}

// cardARQC is the ARQC the card computes for field 55's data.
func (s *softEnv) cardARQC(t testing.TB, pan string, scheme hsm.ARQCScheme) []byte {
	t.Helper()
	req := &iso8583.Message{PAN: pan, ICC: field55(make([]byte, 8), nil)}
	ar, err := arqcRequest(req, &EMV{MKAC: s.keys.MKAC, Scheme: scheme})
	require.NoError(t, err)
	arqc, err := s.soft.GenerateARQC(context.Background(), ar)
	require.NoError(t, err)
	return arqc
}

func TestARQCIsVerified(t *testing.T) {
	s := newSoftEnv(t)
	for _, card := range []struct {
		name   string
		pan    string
		scheme hsm.ARQCScheme
		issuer *fakeIssuer
	}{
		{"Visa CVN 10", visa, hsm.ARQCVisaCVN10, s.alpha},
		{"EMV common session key", mc, hsm.ARQCEMVCommon, s.beta},
	} {
		good := s.cardARQC(t, card.pan, card.scheme)
		flipped := append([]byte{}, good...)
		flipped[7] ^= 1
		tests := []struct {
			name string
			icc  string
			code string
		}{
			{"good cryptogram", field55(good, nil), "00"},
			{"ARQC altered", field55(flipped, nil), "63"},
			{"amount in 9F02 altered", field55(good, map[uint32]string{tagAmount: "000000004001"}), "63"},
			{"another PAN sequence number", field55(good, map[uint32]string{tagPSN: "01"}), "63"},
			{"no ATC", field55(good, map[uint32]string{tagATC: ""}), "30"},
			{"TVR of 4 bytes", field55(good, map[uint32]string{tagTVR: "80000480"}), "30"},
			{"not hex", "9F2608ZZ", "30"},
		}
		for _, tc := range tests {
			t.Run(card.name+"/"+tc.name, func(t *testing.T) {
				req := s.purchase(card.pan, 4000)
				req.ICC = tc.icc
				calls := card.issuer.calls.Load()
				resp := s.handle(req)
				require.Equal(t, tc.code, resp.ResponseCode)
				require.False(t, resp.Has(55), "a response never carries field 55")
				if tc.code != "00" {
					require.Equal(t, calls, card.issuer.calls.Load(), "nothing goes to the issuer")
					return
				}
				require.Equal(t, tc.icc, card.issuer.last().ICC, "the issuer gets the chip data")
			})
		}
	}
	t.Run("no field 55: nothing to check", func(t *testing.T) {
		require.Equal(t, "00", s.handle(s.purchase(visa, 4000)).ResponseCode)
	})
}

// The transaction data the switch assembles from field 55 is exactly what pyemv's Visa CVN 10
// example MACs (tests/test_cvn_hsm.py, test_visa_cvn10, checked against a payment HSM), and its
// ARQC 29CCA15AE665FA2E verifies under the example's IMK 0123456789ABCDEFFEDCBA9876543210.
func TestARQCRequestMatchesPublishedExample(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	mk, err := soft.ImportClearKey(hsm.KeyTypeMKAC, "0123456789ABCDEFFEDCBA9876543210")
	require.NoError(t, err)
	arqc, _ := hex.DecodeString("29CCA15AE665FA2E")
	// The published PAN fails the Luhn check, so the request is built here rather than sent.
	req := &iso8583.Message{PAN: "1234567890123456", ICC: field55(arqc, nil)}
	ar, err := arqcRequest(req, &EMV{MKAC: mk, Scheme: hsm.ARQCVisaCVN10})
	require.NoError(t, err)
	require.Equal(t, "000000004000000000000000012480000480000124191105"+"0152BF45851800001C03A06010",
		strings.ToUpper(hex.EncodeToString(ar.TransactionData)))
	require.Equal(t, "00", ar.PANSequence)
	_, err = soft.VerifyARQC(context.Background(), ar)
	require.NoError(t, err)
}

func TestParseICC(t *testing.T) {
	tests := []struct {
		name  string
		field string
		tags  []uint32 // the tags read, in order; nil when it must fail
	}{
		{"a space is not hex", "9A03191105" + "9F360200 1C", nil},
		{"one-byte and two-byte tags", "9A03191105" + "9F3602001C", []uint32{0x9A, 0x9F36}},
		{"padding between objects", "009A03191105" + "0000" + "9F3602001C" + "00", []uint32{0x9A, 0x9F36}},
		{"length in the 81 form", "9F1081" + "07" + "06010A03A06010", []uint32{0x9F10}},
		{"length in the 82 form", "9F108200" + "07" + "06010A03A06010", []uint32{0x9F10}},
		{"three-byte tag", "DF810101AA", []uint32{0xDF8101}},
		{"four-byte tag", "DF81818101AA", nil},
		{"length past the end", "9F2608AABB", nil},
		{"tag cut short", "9F", nil},
		{"no length", "9A", nil},
		{"length 83 form", "9A830000010A", nil},
		{"odd number of characters", "9A0319110", nil},
		{"empty", "", nil},
		{"too long", strings.Repeat("00", 500), nil},
		{"too many objects", strings.Repeat("9C0100", 65), nil},
		{"lower-case hex", "9a03191105", []uint32{0x9A}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := parseICC(tc.field)
			if tc.tags == nil {
				require.ErrorIs(t, err, ErrICC)
				return
			}
			require.NoError(t, err)
			var got []uint32
			for _, o := range objs {
				got = append(got, o.tag)
			}
			require.Equal(t, tc.tags, got)
		})
	}
}

func TestARQCRequestRejectsDuplicateTags(t *testing.T) {
	icc := field55(make([]byte, 8), nil) + tlv(tagATC, "001D")
	_, err := arqcRequest(&iso8583.Message{PAN: visa, ICC: icc}, &EMV{Scheme: hsm.ARQCEMVCommon})
	require.ErrorIs(t, err, ErrICC)
	require.ErrorContains(t, err, "9F36 twice")
}

func TestPANSequenceFromField23(t *testing.T) {
	icc := field55(make([]byte, 8), map[uint32]string{tagPSN: ""})
	for _, tc := range []struct{ f23, want string }{{"001", "01"}, {"", "00"}} {
		ar, err := arqcRequest(&iso8583.Message{PAN: visa, ICC: icc, CardSequence: tc.f23}, &EMV{Scheme: hsm.ARQCEMVCommon})
		require.NoError(t, err)
		require.Equal(t, tc.want, ar.PANSequence)
	}
}

// FuzzParseICC: field 55 is terminal input; no value makes parsing or the ARQC request builder
// panic or read past the field, and every object's value lies inside the decoded field.
func FuzzParseICC(f *testing.F) {
	f.Add(field55(make([]byte, 8), nil))
	f.Add("9F108200" + "07" + "06010A03A06010")
	f.Add("DF810101AA")
	f.Add("00009A03191105")
	f.Fuzz(func(t *testing.T, field string) {
		objs, err := parseICC(field)
		if err != nil {
			return
		}
		total := 0
		for _, o := range objs {
			total += len(o.value)
		}
		if total > len(field)/2 {
			t.Fatalf("values of %d bytes from a field of %d", total, len(field)/2)
		}
		for _, sc := range []hsm.ARQCScheme{hsm.ARQCVisaCVN10, hsm.ARQCEMVCommon} {
			ar, err := arqcRequest(&iso8583.Message{PAN: visa, ICC: field}, &EMV{Scheme: sc})
			if err == nil && (len(ar.ARQC) != 8 || len(ar.ATC) != 2 || len(ar.PANSequence) != 2) {
				t.Fatalf("accepted an ARQC request of the wrong shape")
			}
		}
	})
}

// BenchmarkSecure is the switch's own cost of each security check on the in-process software
// HSM (no ledger, no issuer): what a PIN, a MAC or a chip card adds to an authorization.
func BenchmarkSecure(b *testing.B) {
	s := newSoftEnv(b)
	ctx := context.Background()
	plain := s.purchase(visa, 2501)
	pin := s.purchase(visa, 2501)
	pin.TerminalID, pin.PINBlock = pinTerminal, s.pinBlock(b, s.keys.TPK, "1234", visa)
	dukpt := s.purchase(visa, 2501)
	dukpt.TerminalID, dukpt.Private62 = dukptTerminal, dukptKSN
	var err error
	dukpt.PINBlock, err = s.soft.EncryptPINDUKPT(ctx, s.keys.BDK, dukptKSN, "1234", visa)
	require.NoError(b, err)
	mac := s.purchase(visa, 2501)
	mac.TerminalID, mac.MAC = macTerminal, make([]byte, 8)
	mac.MAC = s.macOver(b, s.keys.TAK, mac)
	pinMAC := s.purchase(visa, 2501)
	pinMAC.TerminalID, pinMAC.PINBlock, pinMAC.MAC = macTerminal, s.pinBlock(b, s.keys.TPK, "1234", visa), make([]byte, 8)
	pinMAC.MAC = s.macOver(b, s.keys.TAK, pinMAC)
	chip := s.purchase(visa, 4000)
	chip.ICC = field55(s.cardARQC(b, visa, hsm.ARQCVisaCVN10), nil)
	for _, bc := range []struct {
		name string
		req  *iso8583.Message
	}{
		{"none", plain}, {"PIN TPK to ZPK", pin}, {"PIN DUKPT to ZPK", dukpt}, {"MAC", mac},
		{"PIN and MAC", pinMAC}, {"EMV ARQC", chip},
	} {
		b.Run(bc.name, func(b *testing.B) {
			is := s.e.issuer("alpha")
			b.ReportAllocs()
			for b.Loop() {
				fwd := *bc.req
				if code := s.e.secure(ctx, bc.req, &fwd, is); code != "" {
					b.Fatalf("answered %s", code)
				}
			}
		})
	}
}
