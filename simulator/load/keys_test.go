package load

import (
	"context"
	"crypto/subtle"
	"errors"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
)

// keyChecker is the switch's half of the terminals' cryptography, in the fake acquirer: it
// answers 63 to a request whose MAC does not verify under tak (when set) and 55 to a PIN block
// that is not pin under tpk.
func keyChecker(soft *hsm.Soft, tpk, tak hsm.Key, pin string) func(req, resp *iso8583.Message) *iso8583.Message {
	return func(req, resp *iso8583.Message) *iso8583.Message {
		ctx := context.Background()
		if tak.Cryptogram != "" {
			mac := req.MAC
			if req.MAC2 != nil {
				mac = req.MAC2
			}
			packed, err := req.Pack(iso8583.AcquirerSpec())
			if mac == nil || err != nil || soft.VerifyMAC(ctx, tak, hsm.MACRetail, packed[:len(packed)-16], mac) != nil {
				resp.ResponseCode, resp.ApprovalCode = iso8583.RCSecurityViolation, ""
				return resp
			}
		}
		if req.PINBlock != nil {
			want, err := soft.EncryptPIN(ctx, tpk, hsm.PINFormatISO0, pin, req.PAN)
			if err != nil || subtle.ConstantTimeCompare(want, req.PINBlock) != 1 || req.POSEntryMode != posEntryModePIN {
				resp.ResponseCode, resp.ApprovalCode = iso8583.RCIncorrectPIN, ""
			}
		}
		return resp
	}
}

func TestPINAndMACLoad(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, err := soft.NewTestKeySet()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := soft.NewTestKeySet()
	tests := []struct {
		name          string
		keys          Keys
		checkTPK      hsm.Key
		checkTAK      hsm.Key
		wantPINs      bool
		wantUnexpects bool
	}{
		{"PIN and MAC", Keys{TPK: keys.TPK, PINShare: 60, TAK: keys.TAK}, keys.TPK, keys.TAK, true, false},
		{"PIN only", Keys{TPK: keys.TPK, PINShare: 100}, keys.TPK, hsm.Key{}, true, false},
		{"MAC only", Keys{TAK: keys.TAK}, keys.TPK, keys.TAK, false, false},
		{"the switch has another TAK", Keys{TAK: keys.TAK}, keys.TPK, other.TAK, false, true},
		{"the switch has another TPK", Keys{TPK: keys.TPK, PINShare: 100}, other.TPK, hsm.Key{}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := startFake(t, func(f *fakeAcquirer) { f.fault = keyChecker(soft, tc.checkTPK, tc.checkTAK, DefaultPIN) })
			k := tc.keys
			k.HSM = soft
			rep := run(t, f.addr(), Config{Rate: 400, Duration: 500 * time.Millisecond, Terminals: 2, Seed: 7, Keys: &k,
				CompletionDelay: time.Millisecond})
			if rep.Sent == 0 || rep.Timeouts != 0 {
				t.Fatalf("sent %d, timeouts %d", rep.Sent, rep.Timeouts)
			}
			if tc.wantUnexpects != (rep.Unexpected > 0) {
				t.Fatalf("unexpected answers %d (examples %v): want some = %v", rep.Unexpected, rep.Examples, tc.wantUnexpects)
			}
			reqs := f.requests(rep.Sent)
			var pins, financial int64
			for _, r := range reqs {
				m := r.req
				if k.TAK.Cryptogram != "" && m.MAC == nil && m.MAC2 == nil {
					t.Fatalf("a %s without a MAC", m.MTI)
				}
				if m.PINBlock != nil {
					pins++
					if kind := kindOf(m); kind != KindPurchase && kind != KindPreauth {
						t.Fatalf("a PIN block on a %s", kind)
					}
				}
				if kind := kindOf(m); kind == KindPurchase || kind == KindPreauth {
					financial++
				}
			}
			if pins != rep.PINSent {
				t.Fatalf("the acquirer got %d PIN blocks, the report says %d", pins, rep.PINSent)
			}
			switch {
			case !tc.wantPINs && pins != 0:
				t.Fatalf("%d PIN blocks without a PIN share", pins)
			case tc.wantPINs && k.PINShare == 100 && pins != financial:
				t.Fatalf("%d PIN blocks for %d purchases and pre-authorizations at a 100%% share", pins, financial)
			case tc.wantPINs && k.PINShare < 100 && (pins == 0 || pins == financial):
				t.Fatalf("%d PIN blocks for %d purchases and pre-authorizations at a %d%% share", pins, financial, k.PINShare)
			}
		})
	}
}

func TestKeysValidate(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, _ := soft.NewTestKeySet()
	badKCV := keys.TAK
	badKCV.CheckValue = "000000"
	tests := []struct {
		name string
		keys Keys
		ok   bool
	}{
		{"PIN share with a TPK", Keys{HSM: soft, TPK: keys.TPK, PINShare: 50}, true},
		{"MAC only", Keys{HSM: soft, TAK: keys.TAK}, true},
		{"PIN share without a TPK", Keys{HSM: soft, PINShare: 50}, false},
		{"PIN share over 100", Keys{HSM: soft, TPK: keys.TPK, PINShare: 101}, false},
		{"short PIN", Keys{HSM: soft, TPK: keys.TPK, PINShare: 5, PIN: "123"}, false},
		{"TAK with a wrong check value", Keys{HSM: soft, TAK: badKCV}, false},
		{"a TAK given as the TPK", Keys{HSM: soft, TPK: keys.TAK, PINShare: 5}, false},
		{"no HSM", Keys{TAK: keys.TAK}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := tc.keys
			_, err := newGenerator(Config{Target: "127.0.0.1:1", Rate: 1, Keys: &k, Cards: 10})
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrConfig)) {
				t.Fatalf("newGenerator = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
