package issuer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// TestLinkDialect: a link to an ISO 8583:1993 host behind a TPDU signs on, echoes and
// authorizes in the host's form (1804 with function code 801/831 in field 24, 1100, action code
// 000) while its caller sends and receives the engine's (0100 → 0110, 00); a late answer reaches
// OnLate in the engine's form too.
func TestLinkDialect(t *testing.T) {
	spec, err := iso8583.LoadSpec("../../iso8583/testdata/specs/host-iso93.json")
	if err != nil {
		t.Fatal(err)
	}
	hdr, _ := iso8583.ParseHeader("tpdu:6000010000")
	var mu sync.Mutex
	seen := map[string]int{}
	late := make(chan struct{})
	peer := startFakePeer(t, func(body []byte) [][]byte {
		if len(body) < 5 || body[0] != 0x60 {
			t.Errorf("no TPDU before the message")
			return nil
		}
		m, err := iso8583.Unpack(spec, body[5:])
		if err != nil {
			t.Errorf("host cannot read the link's message: %v", err)
			return nil
		}
		fc, _ := m.Field(24)
		mu.Lock()
		seen[m.MTI+"/"+fc]++
		mu.Unlock()
		resp := &iso8583.Message{MTI: m.MTI[:2] + string(m.MTI[2]+1) + m.MTI[3:], STAN: m.STAN, ResponseCode: "000",
			Amount: m.Amount, TransmissionDateTime: m.TransmissionDateTime, Other: m.Other}
		if m.Amount == "000000001098" {
			<-late // answered only after the request timed out
		}
		out, err := resp.Pack(spec)
		if err != nil {
			t.Errorf("host answer: %v", err)
			return nil
		}
		return [][]byte{append([]byte{0x60, 0x00, 0x00, 0x00, 0x01}, out...)}
	})
	mapping, err := iso8583.NewMapping(iso8583.MappingConfig{
		MTI: map[string]string{"0100": "1100", "0800": "1804"},
		Fields: []iso8583.RuleConfig{
			{Op: "map", Field: "39", Values: map[string]string{"00": "000"}},
			{Op: "move", From: "70", To: "24"},
		}}, spec)
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(peer.addr())
	cfg.Connections = 1
	cfg.Spec, cfg.Header, cfg.Mapping = spec, hdr, mapping
	cfg.NetworkCodes = NetworkCodes{SignOn: "801", SignOff: "802", Echo: "831"}
	cfg.EchoInterval = 20 * time.Millisecond
	lates := make(chan *iso8583.Message, 1)
	cfg.OnLate = func(_, resp *iso8583.Message) { lates <- resp }
	l, _ := startLink(t, cfg)
	eventually(t, "signed on", func() bool { return allSignedOn(l) })
	eventually(t, "echoed", func() bool { mu.Lock(); defer mu.Unlock(); return seen["1804/831"] > 0 })

	req := authorization("000042", "000000001000")
	req.LocalTime = "" // 12 is YYMMDDhhmmss in that spec
	resp, err := l.Send(context.Background(), req)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if resp.MTI != "0110" || resp.ResponseCode != "00" {
		t.Fatalf("the caller gets %s/%s, want 0110/00 in its own form", resp.MTI, resp.ResponseCode)
	}
	mu.Lock()
	if seen["1804/801"] != 1 || seen["1100/"] != 1 {
		t.Errorf("the host saw %v, want one sign-on 1804/801 and one 1100", seen)
	}
	mu.Unlock()

	slow := authorization("000043", "000000001098")
	slow.LocalTime = ""
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := l.Send(ctx, slow); err == nil {
		t.Fatal("the slow request did not time out")
	}
	close(late)
	select {
	case r := <-lates:
		if r.MTI != "0110" || r.ResponseCode != "00" {
			t.Fatalf("OnLate got %s/%s, want 0110/00", r.MTI, r.ResponseCode)
		}
	case <-time.After(waitMax):
		t.Fatal("the late answer never reached OnLate")
	}
}
