package payshield

import (
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/hsm"
)

func TestNC(t *testing.T) {
	s := newTestServer(t)
	got := string(s.Handle([]byte("0001NC")))
	if want := "0001ND00" + "2686040000000000" + DefaultFirmware; got != want {
		t.Fatalf("reply %q, want %q", got, want)
	}
}

// A key A0 generates must come back through BU with the same check value, and through A8/A6
// under a ZMK to the same key.
func TestA0GenerateThenCheck(t *testing.T) {
	s := newTestServer(t)
	for _, tc := range []struct{ name, kt, scheme, buCode string }{
		{"ZPK U", "001", "U", "011"},
		{"TAK U", "003", "U", "031"},
		{"TPK single", "002", "Z", "020"},
		{"ZMK T", "000", "T", "002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := string(s.Handle([]byte("HHHHA00" + tc.kt + tc.scheme)))
			if !strings.HasPrefix(r, "HHHHA100") {
				t.Fatalf("A0 reply %q", r)
			}
			body := r[8:]
			key, kcv := body[:len(body)-6], body[len(body)-6:]
			bu := string(s.Handle([]byte("HHHHBU" + tc.buCode + key + ";001")))
			if bu != "HHHHBV00"+kcv {
				t.Fatalf("BU reply %q, want check value %s", bu, kcv)
			}
		})
	}
}

func TestA0ExportImport(t *testing.T) {
	s := newTestServer(t)
	zmk := "U1457FF6ADF6250C66C368416B4C9D383"
	r := string(s.Handle([]byte("0000A01001U" + zmk + "X")))
	if !strings.HasPrefix(r, "0000A100") || len(r) != 8+33+33+6 {
		t.Fatalf("A0 mode 1 reply %q", r)
	}
	underLMK, underZMK, kcv := r[8:41], r[41:74], r[74:]
	imp := string(s.Handle([]byte("0000A6001" + zmk + underZMK + "U")))
	if imp != "0000A700"+underLMK+kcv {
		t.Fatalf("A6 reply %q, want %q", imp, underLMK+kcv)
	}
}

func TestMalformedCommands(t *testing.T) {
	s := newTestServer(t)
	tests := []struct{ name, msg, want string }{
		{"too short for a command", "00", "00ZZ15"},
		{"header only", "0000", "0000ZZ15"},
		{"unknown command", "0000QQ", "0000QR68"},
		{"NC with junk", "0000NCX", "0000ND15"},
		{"BU bad key length flag", "0000BU019U1EF828AA8F6B80EB83E19FBC373F3A85", "0000BV15"},
		{"BU unknown key type", "0000BU991U1EF828AA8F6B80EB83E19FBC373F3A85", "0000BV04"},
		{"CA parity source", "0000CA0406FBB23A5214DEBAB32D775A38E4AB12AE7A708F877571A90101550000025321", "0000CB10"},
		{"CA parity destination", "0000CA0406FBB23A5214DFBAB32D775A38E4AA12AE7A708F877571A90101550000025321", "0000CB11"},
		{"CA bad format code", "0000CA0406FBB23A5214DFBAB32D775A38E4AB12AE7A708F877571A99901550000025321", "0000CB23"},
		{"CA PIN block garbage", "0000CA0406FBB23A5214DFBAB32D775A38E4AB120000000000000000010155000002532", "0000CB15"},
		{"CA wrong PIN block", "0000CA0406FBB23A5214DFBAB32D775A38E4AB1200000000000000000101550000025321", "0000CB20"},
		{"CA max PIN length 13", "0000CA0406FBB23A5214DFBAB32D775A38E4AB13AE7A708F877571A90101550000025321", "0000CB15"},
		{"CA PIN over max length", "0000CA0406FBB23A5214DFBAB32D775A38E4AB03AE7A708F877571A90101550000025321", "0000CB24"},
		{"CW single-length CVK swallows the PAN", "0000CW0406FBB23A5214DF4123456789012345;8701101", "0000CX10"},
		{"CW no delimiter", "0000CWU9B4934384B19946B040CD702B4D5814541234567890123458701101", "0000CX15"},
		{"M6 mode 1 not supported", "0000M611032003U19D25F349FD03CC3556BB05F65283CA1000801234567", "0000M702"},
		{"M6 bad key type", "0000M601032002U19D25F349FD03CC3556BB05F65283CA1000801234567", "0000M705"},
		{"M6 bad algorithm", "0000M601022003U19D25F349FD03CC3556BB05F65283CA1000801234567", "0000M704"},
		{"M6 length beyond data", "0000M601032003U19D25F349FD03CC3556BB05F65283CA1009901234567", "0000M715"},
		{"M8 wrong MAC", "0000M801032003U19D25F349FD03CC3556BB05F65283CA1004072C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EF", "0000M901"},
		{"A6 bad scheme", "0000A6001U1457FF6ADF6250C66C368416B4C9D3832B930A07119F93A8Q", "0000A726"},
		{"KQ bad mode", "0000KQ90U7475636CC30B93B493CF5EA53799EBCC", "0000KR15"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(s.Handle([]byte(tc.msg))); got != tc.want {
				t.Fatalf("reply %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTrailerEchoed(t *testing.T) {
	s := newTestServer(t)
	got := string(s.Handle([]byte("0000NC\x19TRAILER")))
	if want := "0000ND002686040000000000" + DefaultFirmware + "\x19TRAILER"; got != want {
		t.Fatalf("reply %q, want %q", got, want)
	}
	long := "0000NC\x19" + strings.Repeat("T", TrailerMax+1)
	if got := string(s.Handle([]byte(long))); got != "0000ND15" {
		t.Fatalf("over-long trailer: reply %q", got)
	}
}

func TestDisabledCommand(t *testing.T) {
	s, err := NewServer(hsm.NewSoft(hsm.TestLMK()), Config{HeaderLen: 4, DisabledCommands: []string{"A0"}}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(s.Handle([]byte("0000A00001U"))); got != "0000A168" {
		t.Fatalf("reply %q", got)
	}
}

func TestConfigRejects(t *testing.T) {
	for _, c := range []Config{{HeaderLen: -1}, {HeaderLen: HeaderLenMax + 1}, {MessageSizeMax: 70000},
		{Firmware: "short"}, {DisabledCommands: []string{"ABC"}}} {
		if _, err := NewServer(hsm.NewSoft(hsm.TestLMK()), c, zaptest.NewLogger(t)); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
}
