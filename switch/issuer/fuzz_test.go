package issuer

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	moverr "github.com/moov-io/iso8583/errors"

	"github.com/cardswitch/cardswitch/iso8583"
)

// FuzzReadMessage feeds an arbitrary byte stream from an "issuer" to a connection's reader: it
// never panics; each frame either unpacks (and then gets a match key or a clean error, and
// converts to a typed message or fails cleanly) or is reported as an UnpackError that carries no
// raw bytes, or ends the stream.
func FuzzReadMessage(f *testing.F) {
	for _, m := range []*iso8583.Message{
		{MTI: "0110", PAN: "4111111111111111", Amount: "000000012301", STAN: "000123", ResponseCode: "00", ApprovalCode: "A1B2C3"},
		{MTI: "0410", STAN: "000124", ResponseCode: "00"},
		{MTI: "0810", STAN: "000001", ResponseCode: "00", NetworkCode: "301"},
	} {
		b, err := m.Pack(iso8583.AcquirerSpec())
		if err != nil {
			f.Fatal(err)
		}
		two, _ := iso8583.AppendFrame(nil, iso8583.Binary2{}, b)
		two, _ = iso8583.AppendFrame(two, iso8583.Binary2{}, b)
		f.Add(two)
		f.Add(two[:len(two)-3])
	}
	f.Add([]byte{0, 4, '0', '1', '1', '0'})
	f.Add([]byte{0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, stream []byte) {
		c := &frameCodec{spec: iso8583.AcquirerSpec(), framing: iso8583.Binary2{}, maxFrame: DefaultMaxFrame}
		r := bufio.NewReader(bytes.NewReader(stream))
		for range 64 { // a stream holds at most a few frames; the bound keeps the target finite
			mm, err := c.ReadMessage(r)
			if err != nil {
				var ue *moverr.UnpackError
				if errors.As(err, &ue) {
					if ue.RawMessage != nil {
						t.Fatal("UnpackError carries the raw message")
					}
					continue
				}
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, iso8583.ErrFrameTooLarge) {
					return
				}
				t.Fatalf("unexpected error: %v", err)
			}
			_, _ = requestIDs{}.GenerateRequestID(mm)
			if _, err := typedOf(mm); err != nil {
				t.Fatalf("a frame that unpacked has no typed message: %v", err)
			}
		}
	})
}
