package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/simulator/testkeys"
)

// The switch with real keys under the test LMK: terminals with a TPK, a TAK or a DUKPT BDK, an
// issuer with a ZPK, a ZAK and an EMV MK-AC, and an issuer simulator that checks the PIN under
// its ZPK and the MAC under its ZAK — so that an approval proves the switch translated the PIN,
// and MACed the request, correctly. Run once with the in-process HSM and once over the payShield
// host protocol against `cardswitch hsm`.

// Terminals of the HSM systems (all of MERCHANT0000001).
const (
	hsmPINTerminal   = "E2EPIN01" // TPK
	hsmMACTerminal   = "E2EMAC01" // TPK and TAK
	hsmDUKPTTerminal = "E2EDUK01" // BDK
	hsmNoKeyTerminal = "E2ENOKEY" // no entry: no keys
	hsmKSN           = "FFFF9876543210E00001"
)

// hsmPIN is the cardholder's PIN: 12 digits, so that finding it in a log is no accident.
const hsmPIN = "739146285017"

// hsmSystem is a switch with one issuer (alpha, prefix 4) whose simulator checks PINs and MACs.
type hsmSystem struct {
	acquirer, http string
	keys           testkeys.Set
	soft           *hsm.Soft // the test's own HSM: what the terminals and the card compute
	sw, sim, hsmd  *proc
}

func startHSMSystem(t *testing.T, payshield bool) *hsmSystem {
	t.Helper()
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, err := testkeys.Generate(soft, "test")
	require.NoError(t, err)
	s := &hsmSystem{acquirer: freePort(t), http: freePort(t), keys: keys, soft: soft}
	alpha := freePort(t)
	s.sim = start(t, "issuer-sim alpha", nil, "issuer-sim", "--listen", alpha, "--name", "alpha", "--slow-delay", "3s",
		"--lmk", "test", "--zpk", keys.ZPK.Cryptogram, "--zak", keys.ZAK.Cryptogram, "--pin", hsmPIN, "--log-level", "debug")
	waitTCP(t, alpha)
	hsmYAML := "hsm: {mode: soft, lmk: test}"
	if payshield {
		addr := freePort(t)
		s.hsmd = start(t, "hsm", nil, "hsm", "--listen", addr, "--lmk", "test")
		waitTCP(t, addr)
		hsmYAML = fmt.Sprintf("hsm: {mode: payshield, addr: %q}", addr)
	}
	k := testkeys.ConfigKey
	cfg := fmt.Sprintf(`acceptor: {listen: %q}
http: {listen: %q}
api: {listen: "127.0.0.1:0"}
issuers:
  - name: alpha
    addr: %q
    prefixes: ["4"]
    timeout: 2s
    echo_interval: 1s
    zpk: %s
    mac_key: %s
    emv: {scheme: visa-cvn10, mk_ac: %s}
terminals:
  - {id: %s, merchant: MERCHANT0000001, tpk: %s}
  - {id: %s, tpk: %s, mac_key: %s}
  - {id: %s, bdk: %s}
ledger: {data_dir: %q}
%s
log: {level: debug}
`, s.acquirer, s.http, alpha, k(keys.ZPK), k(keys.ZAK), k(keys.MKAC),
		hsmPINTerminal, k(keys.TPK), hsmMACTerminal, k(keys.TPK), k(keys.TAK), hsmDUKPTTerminal, k(keys.BDK),
		t.TempDir(), hsmYAML)
	path := filepath.Join(t.TempDir(), "cardswitch.yaml")
	require.NoError(t, os.WriteFile(path, []byte(cfg), 0o600))
	s.sw = start(t, "serve", []string{"CARDSWITCH_DATABASE_URL="}, "serve", "--config", path)
	(&system{http: s.http}).waitReady(t) // ready means signed on: the simulator verified the sign-on's MAC
	return s
}

// pinBlock is what a PIN pad with the terminal's TPK sends.
func (s *hsmSystem) pinBlock(t *testing.T, key hsm.Key, pin, pan string) []byte {
	t.Helper()
	b, err := s.soft.EncryptPIN(context.Background(), key, hsm.PINFormatISO0, pin, pan)
	require.NoError(t, err)
	return b
}

// withMAC sets field 64 to the terminal's MAC under tak.
func (s *hsmSystem) withMAC(t *testing.T, tak hsm.Key, m *iso8583.Message) {
	t.Helper()
	m.MAC = make([]byte, 8)
	packed, err := m.Pack(iso8583.AcquirerSpec())
	require.NoError(t, err)
	m.MAC, err = s.soft.GenerateMAC(context.Background(), tak, hsm.MACRetail, packed[:len(packed)-16])
	require.NoError(t, err)
}

// withICC sets field 55 to a chip card's data with the ARQC the card computes under mkac (Visa
// CVN 10), for the request's amount.
func (s *hsmSystem) withICC(t *testing.T, mkac hsm.Key, m *iso8583.Message) {
	t.Helper()
	amount := "00" + m.Amount[2:] // n12 as 6 BCD bytes
	objs := []struct{ tag, value string }{
		{"9F02", amount}, {"9F03", "000000000000"}, {"9F1A", "0840"}, {"95", "0000000000"}, {"5F2A", "0840"},
		{"9A", "261126"}, {"9C", "00"}, {"9F37", "1A2B3C4D"}, {"82", "1800"}, {"9F36", "0042"},
	}
	var data []byte
	var tlv strings.Builder
	for _, o := range objs {
		v, err := hex.DecodeString(o.value)
		require.NoError(t, err)
		data = append(data, v...)
		fmt.Fprintf(&tlv, "%s%02X%s", o.tag, len(v), o.value)
	}
	data = append(data, 0x03, 0xA0, 0x00, 0x00) // the CVR in 9F10
	tlv.WriteString("9F100706010A03A00000")
	arqc, err := s.soft.GenerateARQC(context.Background(), hsm.ARQCRequest{MKAC: mkac, Scheme: hsm.ARQCVisaCVN10,
		PAN: m.PAN, PANSequence: "01", ATC: []byte{0x00, 0x42}, TransactionData: data})
	require.NoError(t, err)
	fmt.Fprintf(&tlv, "5F340101"+"9F2608%X", arqc)
	m.ICC = tlv.String()
}

// counter reads one sample of a counter from /metrics (0 when absent).
func (s *hsmSystem) counter(t *testing.T, name, labels string) float64 {
	t.Helper()
	code, body := httpGet(t, "http://"+s.http+"/metrics")
	require.Equal(t, 200, code)
	series := name
	if labels != "" {
		series += "{" + labels + "}"
	}
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`)
	m := re.FindStringSubmatch(body)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	return v
}

func TestHSMEndToEnd(t *testing.T) {
	for _, mode := range []struct {
		name      string
		payshield bool
	}{{"in-process HSM", false}, {"payShield host protocol", true}} {
		t.Run(mode.name, func(t *testing.T) {
			s := startHSMSystem(t, mode.payshield)
			runHSMCases(t, s)
			requireNoSecretsLogged(t, s)
		})
	}
}

func runHSMCases(t *testing.T, s *hsmSystem) {
	other, err := s.soft.NewTestKeySet() // keys the switch does not know
	require.NoError(t, err)
	dukpt := func(pin string) []byte {
		b, err := s.soft.EncryptPINDUKPT(context.Background(), s.keys.BDK, hsmKSN, pin, visa)
		require.NoError(t, err)
		return b
	}
	cases := []struct {
		name      string
		terminal  string
		build     func(m *iso8583.Message)
		code      string
		reachesIs bool // the issuer gets the request
	}{
		{"PIN approved through TPK to ZPK translation", hsmPINTerminal, func(m *iso8583.Message) {
			m.PINBlock = s.pinBlock(t, s.keys.TPK, hsmPIN, m.PAN)
		}, "00", true},
		{"wrong PIN declined 55 by the issuer", hsmPINTerminal, func(m *iso8583.Message) {
			m.PINBlock = s.pinBlock(t, s.keys.TPK, "111122223333", m.PAN)
		}, "55", true},
		{"PIN block from a terminal without a PIN key: 63", hsmNoKeyTerminal, func(m *iso8583.Message) {
			m.PINBlock = s.pinBlock(t, s.keys.TPK, hsmPIN, m.PAN)
		}, "63", false},
		{"PIN block under a key the switch does not know: 63", hsmPINTerminal, func(m *iso8583.Message) {
			m.PINBlock = s.pinBlock(t, other.TPK, hsmPIN, m.PAN)
		}, "63", false},
		{"DUKPT PIN, KSN in field 62, translated", hsmDUKPTTerminal, func(m *iso8583.Message) {
			m.PINBlock, m.Private62 = dukpt(hsmPIN), hsmKSN
		}, "00", true},
		{"good MAC approved", hsmMACTerminal, func(m *iso8583.Message) {
			s.withMAC(t, s.keys.TAK, m)
		}, "00", true},
		{"good MAC with a PIN approved", hsmMACTerminal, func(m *iso8583.Message) {
			m.PINBlock = s.pinBlock(t, s.keys.TPK, hsmPIN, m.PAN)
			s.withMAC(t, s.keys.TAK, m)
		}, "00", true},
		{"bad MAC: 63, never reaches the issuer", hsmMACTerminal, func(m *iso8583.Message) {
			s.withMAC(t, other.TAK, m)
		}, "63", false},
		{"no MAC from a terminal with a MAC key: 63", hsmMACTerminal, func(*iso8583.Message) {}, "63", false},
		{"EMV cryptogram verified", hsmPINTerminal, func(m *iso8583.Message) {
			s.withICC(t, s.keys.MKAC, m)
		}, "00", true},
		{"EMV cryptogram under another MK-AC: 63", hsmPINTerminal, func(m *iso8583.Message) {
			s.withICC(t, other.MKAC, m)
		}, "63", false},
	}
	// One connection per terminal for the whole run: each terminal numbers its STANs (a second
	// terminal with the same ID would repeat STAN 000001: a duplicate transmission).
	terminals := map[string]*terminal{}
	run := t
	term := func(t *testing.T, id string) *terminal {
		tm := terminals[id]
		if tm == nil {
			tm = dialTerminal(run, s.acquirer, id) // closed at the end of the run, not of the case
			terminals[id] = tm
		}
		tm.t = t
		return tm
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tm := term(t, tc.terminal)
			req := tm.request("0200", visa, 2500)
			tc.build(req)
			before := s.counter(t, "cardswitch_issuer_requests_total", `issuer="alpha",result="answered"`)
			resp := tm.roundTrip(req)
			require.Equal(t, "0210", resp.MTI)
			require.Equal(t, tc.code, resp.ResponseCode)
			noForbiddenFields(t, resp)
			after := s.counter(t, "cardswitch_issuer_requests_total", `issuer="alpha",result="answered"`)
			if tc.reachesIs {
				require.Equal(t, before+1, after, "the issuer answered the request")
			} else {
				require.Equal(t, before, after, "nothing went to the issuer")
			}
		})
	}
	t.Run("a reversal is MACed to the issuer too", func(t *testing.T) {
		tm := term(t, hsmPINTerminal)
		sale := tm.request("0200", visa, 3100)
		sale.PINBlock = s.pinBlock(t, s.keys.TPK, hsmPIN, sale.PAN)
		require.Equal(t, "00", tm.roundTrip(sale).ResponseCode)
		rev := tm.request("0400", visa, 3100)
		rev.OriginalData = iso8583.OriginalData{MTI: "0200", STAN: sale.STAN, TransmissionDateTime: sale.TransmissionDateTime}.String()
		require.Equal(t, "00", tm.roundTrip(rev).ResponseCode)
		// The reversal is forwarded after the answer, its MAC in field 128 (it carries field 90):
		// the issuer answered it, and its simulator refused nothing for a bad MAC.
		require.Eventually(t, func() bool {
			return s.counter(t, "cardswitch_saf_delivered_total", `issuer="alpha"`) >= 1
		}, 10*time.Second, 20*time.Millisecond, "the reversal was not answered by the issuer")
		require.NotContains(t, s.sim.out.String(), `"response_code":"63"`, "the issuer simulator refused a MAC")
	})
}

// requireNoSecretsLogged greps everything serve (and the HSM process) printed for key
// cryptograms, the PIN, its clear PIN field and the PIN blocks of the run.
func requireNoSecretsLogged(t *testing.T, s *hsmSystem) {
	t.Helper()
	secrets := map[string]string{"clear PIN": hsmPIN, "clear PIN field": "0C" + hsmPIN + "FF"}
	for name, k := range map[string]hsm.Key{"TPK": s.keys.TPK, "TAK": s.keys.TAK, "BDK": s.keys.BDK, "ZPK": s.keys.ZPK,
		"ZAK": s.keys.ZAK, "MK-AC": s.keys.MKAC} {
		secrets[name] = k.Cryptogram[1:] // with or without the scheme letter
	}
	for _, pan := range []string{visa} {
		for name, key := range map[string]hsm.Key{"PIN block under the TPK": s.keys.TPK, "PIN block under the ZPK": s.keys.ZPK} {
			secrets[name] = strings.ToUpper(hex.EncodeToString(s.pinBlock(t, key, hsmPIN, pan)))
		}
	}
	logs := map[string]string{"serve": s.sw.out.String()}
	if s.hsmd != nil {
		logs["hsm"] = s.hsmd.out.String()
	}
	for proc, out := range logs {
		require.NotEmpty(t, out, "%s logged nothing: the check would prove nothing", proc)
		upper := strings.ToUpper(out)
		for name, v := range secrets {
			require.NotContains(t, upper, strings.ToUpper(v), "%s logged the %s", proc, name)
		}
	}
}
