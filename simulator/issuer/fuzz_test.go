package issuer

import (
	"testing"

	"github.com/cardswitch/cardswitch/iso8583"
)

// FuzzHandle feeds arbitrary frame bodies to the simulator's decision path: it never panics, and
// whatever it answers is a response that unpacks, carries 39 and no card data.
func FuzzHandle(f *testing.F) {
	for _, m := range []*iso8583.Message{
		authorization("000001", "000000012301"),
		authorization("000002", "000000001098"),
		{MTI: "0800", TransmissionDateTime: "1126143600", STAN: "000003", NetworkCode: "301"},
		{MTI: "0400", STAN: "000004", Amount: "000000000100", OriginalData: "010000012311261430150000000000000000000000"},
	} {
		b, err := m.Pack(iso8583.AcquirerSpec())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte("0100"))
	f.Add([]byte("0110FFFFFFFFFFFFFFFF"))
	f.Add([]byte{})
	s := &Simulator{cfg: Config{}.withDefaults()}
	f.Fuzz(func(t *testing.T, frame []byte) {
		body, timing, ok := s.handle(frame)
		if !ok || body == nil {
			if timing != Never {
				t.Fatalf("no answer but timing %v", timing)
			}
			return
		}
		resp, err := iso8583.Unpack(iso8583.AcquirerSpec(), body)
		if err != nil {
			t.Fatalf("answer does not unpack: %v", err)
		}
		if req, err := iso8583.Unpack(iso8583.AcquirerSpec(), frame); err == nil {
			// The answer edited in place is the one Decide builds.
			want, _ := Decide(req)
			wantBody, err := want.Pack(iso8583.AcquirerSpec())
			if err == nil && string(wantBody) != string(body) {
				t.Fatalf("in-place answer %q, Decide's %q", body, wantBody)
			}
		}
		if iso8583.IsRequest(resp.MTI) || resp.ResponseCode == "" {
			t.Fatalf("answer %s with 39 %q", resp.MTI, resp.ResponseCode)
		}
		for _, id := range []int{14, 35, 45, 52, 55, 64, 128} {
			if resp.Has(id) {
				t.Fatalf("answer carries field %d", id)
			}
		}
	})
}
