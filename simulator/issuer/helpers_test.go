package issuer

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/cardswitch/cardswitch/iso8583"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// ioTimeout bounds every network wait of a test: a hang fails instead of blocking the run.
const ioTimeout = 5 * time.Second

// startSim runs a simulator on a random loopback port until the test ends, and checks that Run
// returns nil after its context is cancelled.
func startSim(t *testing.T, cfg Config) *Simulator {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	s, err := New(cfg, zaptest.NewLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(ioTimeout):
			t.Errorf("Run did not return after cancel")
		}
	})
	return s
}

// client is a test peer speaking one framing to the simulator.
type client struct {
	t       *testing.T
	nc      net.Conn
	br      *bufio.Reader
	framing iso8583.Framing
}

func dial(t *testing.T, addr string, f iso8583.Framing) *client {
	t.Helper()
	if f == nil {
		f = iso8583.Binary2{}
	}
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, br: bufio.NewReader(nc), framing: f}
}

func (c *client) send(m *iso8583.Message) {
	c.t.Helper()
	b, err := m.Pack(iso8583.AcquirerSpec())
	if err != nil {
		c.t.Fatalf("pack: %v", err)
	}
	c.sendRaw(b)
}

func (c *client) sendRaw(body []byte) {
	c.t.Helper()
	frame, err := iso8583.AppendFrame(nil, c.framing, body)
	if err != nil {
		c.t.Fatalf("frame: %v", err)
	}
	c.write(frame)
}

func (c *client) write(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(ioTimeout))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// recv reads one answer within ioTimeout.
func (c *client) recv() *iso8583.Message {
	c.t.Helper()
	m, err := c.recvErr(ioTimeout)
	if err != nil {
		c.t.Fatalf("recv: %v", err)
	}
	return m
}

func (c *client) recvErr(wait time.Duration) (*iso8583.Message, error) {
	c.nc.SetReadDeadline(time.Now().Add(wait))
	b, err := iso8583.ReadFrame(c.br, c.framing, 1<<16-1, nil)
	if err != nil {
		return nil, err
	}
	return iso8583.Unpack(iso8583.AcquirerSpec(), b)
}

// authorization is a complete 0100 with card data the simulator must never echo (14, 35, 45, 52,
// 55), for the given amount in minor units.
func authorization(stan, amount string) *iso8583.Message {
	return &iso8583.Message{
		MTI:                  iso8583.MTIAuthorization,
		PAN:                  "4111111111111111",
		ProcessingCode:       "000000",
		Amount:               amount,
		TransmissionDateTime: "1126143015",
		STAN:                 stan,
		LocalTime:            "143015",
		LocalDate:            "1126",
		Expiry:               "2812",
		POSEntryMode:         "051",
		AcquirerID:           "12345678901",
		Track2:               "4111111111111111=28121010000000000000",
		RRN:                  "633014" + stan,
		TerminalID:           "TERM0001",
		MerchantID:           "MERCHANT0000001",
		Track1:               "B4111111111111111^CARDHOLDER/TEST^2812101",
		Currency:             "840",
		PINBlock:             []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF},
		ICC:                  "9F2608A1B2C3D4E5F60708",
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
