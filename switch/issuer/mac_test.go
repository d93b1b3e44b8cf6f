package issuer

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
)

// macPeer is an issuer that records every request frame as received and approves it.
type macPeer struct {
	*fakePeer
	mu     sync.Mutex
	frames [][]byte
}

func startMACPeer(t *testing.T) *macPeer {
	t.Helper()
	p := &macPeer{}
	p.fakePeer = startFakePeer(t, func(body []byte) [][]byte {
		p.mu.Lock()
		p.frames = append(p.frames, append([]byte(nil), body...))
		p.mu.Unlock()
		m, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil || !iso8583.IsRequest(m.MTI) {
			return nil
		}
		resp := &iso8583.Message{MTI: iso8583.ResponseMTI(m.MTI), STAN: m.STAN, TransmissionDateTime: m.TransmissionDateTime,
			NetworkCode: m.NetworkCode, ResponseCode: "00", ApprovalCode: "ABC123"}
		return [][]byte{pack(resp)}
	})
	return p
}

// last returns the last frame received whose MTI is mti.
func (p *macPeer) last(t *testing.T, mti string) []byte {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := len(p.frames) - 1; k >= 0; k-- {
		if string(p.frames[k][:4]) == mti {
			return p.frames[k]
		}
	}
	t.Fatalf("the issuer received no %s", mti)
	return nil
}

func (p *macPeer) count(mti string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, f := range p.frames {
		if string(f[:4]) == mti {
			n++
		}
	}
	return n
}

func TestRequestsAreMACed(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, err := soft.NewTestKeySet()
	if err != nil {
		t.Fatal(err)
	}
	peer := startMACPeer(t)
	cfg := testConfig(peer.addr())
	cfg.Connections = 1
	cfg.MAC = func(ctx context.Context, data []byte) ([]byte, error) {
		return soft.GenerateMAC(ctx, keys.ZAK, hsm.MACRetail, data)
	}
	l, _ := startLink(t, cfg)
	eventually(t, "link up", func() bool { return allSignedOn(l) })

	auth := authorization("000777", "000000012301")
	auth.MAC = []byte{1, 2, 3, 4, 5, 6, 7, 8} // a terminal's MAC is never passed on
	reversal := authorization("000778", "000000012301")
	reversal.MTI = iso8583.MTIReversal
	reversal.OriginalData = iso8583.OriginalData{MTI: "0100", STAN: "000777", TransmissionDateTime: "1126143015"}.String()
	tests := []struct {
		name     string
		req      *iso8583.Message // nil: the sign-on the link sent on connecting
		mti      string
		macField int
	}{
		{"authorization: field 64", auth, "0100", 64},
		{"reversal with field 90: field 128", reversal, "0400", 128},
		{"sign-on with field 70: field 128", nil, "0800", 128},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req != nil {
				if _, err := l.Send(context.Background(), tc.req); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			frame := peer.last(t, tc.mti)
			got, err := iso8583.Unpack(iso8583.AcquirerSpec(), frame)
			if err != nil {
				t.Fatal(err)
			}
			mac, other := got.MAC, got.MAC2
			if tc.macField == 128 {
				mac, other = got.MAC2, got.MAC
			}
			if mac == nil || other != nil {
				t.Fatalf("MAC in field 64 %X and 128 %X, want it in %d only", got.MAC, got.MAC2, tc.macField)
			}
			// The MAC covers the frame as received (with the link's STAN) up to the MAC field.
			if err := soft.VerifyMAC(context.Background(), keys.ZAK, hsm.MACRetail, frame[:len(frame)-16], mac); err != nil {
				t.Fatalf("the issuer cannot verify the MAC: %v", err)
			}
			if tc.req != nil && got.STAN == tc.req.STAN {
				t.Errorf("MACed with the terminal's STAN, not the link's")
			}
		})
	}
}

func TestMACFailureSendsNothing(t *testing.T) {
	peer := startMACPeer(t)
	cfg := testConfig(peer.addr())
	cfg.SignOn = false
	hsmDown := errors.New("hsm down")
	cfg.MAC = func(context.Context, []byte) ([]byte, error) { return nil, hsmDown }
	l, _ := startLink(t, cfg)
	eventually(t, "link up", func() bool { return allSignedOn(l) })
	_, err := l.Send(context.Background(), authorization("000001", "000000000101"))
	if !errors.Is(err, ErrMAC) || !errors.Is(err, hsmDown) {
		t.Fatalf("Send = %v, want ErrMAC wrapping the HSM's error", err)
	}
	if n := peer.count("0100"); n != 0 {
		t.Fatalf("the issuer received %d requests that could not be MACed", n)
	}
	cfg.MAC = func(context.Context, []byte) ([]byte, error) { return []byte{1, 2, 3}, nil }
	bad := &Issuer{cfg: cfg.withDefaults()}
	if _, err := bad.packMACed(context.Background(), authorization("000001", "000000000101")); !errors.Is(err, ErrMAC) {
		t.Fatalf("a 3-byte MAC: %v, want ErrMAC", err)
	}
}

// A link whose spec carries the MAC as 8 binary bytes (a BCD/binary host) gets it so, over the
// bytes before it.
func TestBinaryMACField(t *testing.T) {
	soft := hsm.NewSoft(hsm.TestLMK())
	keys, err := soft.NewTestKeySet()
	if err != nil {
		t.Fatal(err)
	}
	spec, err := iso8583.LoadSpec("../../iso8583/testdata/specs/pos-bcd-binary.json")
	if err != nil {
		t.Fatal(err)
	}
	l := &Issuer{cfg: Config{Spec: spec, MAC: func(ctx context.Context, data []byte) ([]byte, error) {
		return soft.GenerateMAC(ctx, keys.ZAK, hsm.MACRetail, data)
	}}}
	packed, err := l.packMACed(context.Background(), authorization("000001", "000000000101"))
	if err != nil {
		t.Fatal(err)
	}
	in, ok := spec.MACInput(packed, 64)
	if !ok || len(packed)-len(in) != 8 {
		t.Fatalf("MAC input of %d bytes (%v) in a %d-byte message, want all but 8", len(in), ok, len(packed))
	}
	if err := soft.VerifyMAC(context.Background(), keys.ZAK, hsm.MACRetail, in, packed[len(in):]); err != nil {
		t.Fatalf("the issuer cannot verify the binary MAC: %v", err)
	}
}
