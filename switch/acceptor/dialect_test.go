package acceptor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/iso8583"
)

// mtiRecorder answers like echoHandler and records the MTI the engine saw.
type mtiRecorder struct {
	echoHandler
	seen chan string
}

func (h *mtiRecorder) Handle(ctx context.Context, req *iso8583.Message) *iso8583.Message {
	h.seen <- req.MTI
	return h.echoHandler.Handle(ctx, req)
}

// TestListenerDialect: terminals of an ISO 8583:1993 dialect behind a TPDU reach the engine in
// its own form (0100), and get their answer in theirs (1110, the TPDU's NIIs swapped).
func TestListenerDialect(t *testing.T) {
	spec, err := iso8583.LoadSpec("../../iso8583/testdata/specs/host-iso93.json")
	require.NoError(t, err)
	mapping, err := iso8583.NewMapping(iso8583.MappingConfig{MTI: map[string]string{"0100": "1100"},
		Fields: []iso8583.RuleConfig{{Op: "map", Field: "39", Values: map[string]string{"00": "000"}}}}, spec)
	require.NoError(t, err)
	header, err := iso8583.ParseHeader("tpdu:6000000000")
	require.NoError(t, err)
	h := &mtiRecorder{seen: make(chan string, 1)}
	hs := start(t, h, func(c *Config) { c.Spec, c.Header, c.Mapping = spec, header, mapping })

	c := dial(t, hs.addr)
	body, err := (&iso8583.Message{MTI: "1100", STAN: "000042"}).Pack(spec)
	require.NoError(t, err)
	c.sendRaw(append([]byte{0x60, 0x00, 0x11, 0x00, 0x22}, body...))
	select {
	case mti := <-h.seen:
		require.Equal(t, "0100", mti, "the engine sees its own MTI")
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the handler")
	}
	c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	frame, err := iso8583.ReadFrame(c.r, iso8583.Binary2{}, 65535, nil)
	require.NoError(t, err)
	require.Equal(t, []byte{0x60, 0x00, 0x22, 0x00, 0x11}, frame[:5], "the TPDU comes back with its NIIs swapped")
	resp, err := iso8583.Unpack(spec, frame[5:])
	require.NoError(t, err)
	require.Equal(t, "1110", resp.MTI)
	require.Equal(t, "000", resp.ResponseCode)
	require.Equal(t, "000042", resp.STAN)

	// A frame shorter than its header closes the connection.
	c2 := dial(t, hs.addr)
	c2.sendRaw([]byte{0x60, 0x00})
	_, err = c2.recv()
	require.Error(t, err)
}
