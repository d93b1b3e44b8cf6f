package issuer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"

	moov "github.com/moov-io/iso8583"
	moverr "github.com/moov-io/iso8583/errors"

	"github.com/cardswitch/cardswitch/iso8583"
)

// frameCodec reads and writes one connection's messages for moov-io/iso8583-connection: the
// library calls ReadMessage from its single reader goroutine and WriteMessage from its single
// writer goroutine, so each side owns its buffer. Messages travel as envelopes (envelope.go).
type frameCodec struct {
	spec     *iso8583.Spec
	framing  iso8583.Framing
	header   iso8583.Header
	maxFrame int
	// onDecodeError is called (from the reader) for a frame that does not unpack.
	onDecodeError func()

	rbuf []byte        // reader side: the current frame
	br   *bufio.Reader // reader side: used only if the library does not hand over a *bufio.Reader
	brOf io.Reader

	wbuf []byte // writer side: header and message, written in one call
}

// ReadMessage reads and unpacks one frame into an inbound envelope. A frame that does not unpack
// is reported as a moov-io UnpackError without its raw bytes (they may hold card data), so that
// the library logs it through the error handler and goes on reading; any other error closes the
// connection.
func (c *frameCodec) ReadMessage(r io.Reader) (*moov.Message, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		if c.br == nil || c.brOf != r {
			c.br, c.brOf = bufio.NewReader(r), r
		}
		br = c.br
	}
	frame, err := iso8583.ReadFrame(br, c.framing, c.maxFrame, c.rbuf)
	if err != nil {
		return nil, err
	}
	c.rbuf = frame[:0]
	_, body, err := c.header.Split(frame)
	var m *iso8583.Message
	if err == nil {
		m, err = iso8583.Unpack(c.spec, body)
	}
	if err != nil {
		if c.onDecodeError != nil {
			c.onDecodeError()
		}
		fieldID := ""
		var fe *iso8583.FieldError
		if errors.As(err, &fe) {
			fieldID = strconv.Itoa(fe.Field)
		}
		return nil, &moverr.UnpackError{
			Err:     fmt.Errorf("issuer message of %d bytes: field %s malformed or truncated: %w", len(frame), fieldID, iso8583.ErrUnpack),
			FieldID: fieldID,
		}
	}
	return newEnvelope(m.MTI, m.STAN, nil, m), nil
}

// WriteMessage writes an outbound envelope's packed bytes with their header in one Write (the
// library's default writer makes two). Errors that concern only this message are PackErrors,
// which the library returns to the sender while keeping the connection.
func (c *frameCodec) WriteMessage(w io.Writer, m *moov.Message) error {
	car := carrierOf(m)
	if car == nil || car.packed == nil {
		return &moverr.PackError{Err: errEnvelope}
	}
	var buf []byte
	var err error
	if c.header.Len() == 0 {
		buf, err = iso8583.AppendFrame(c.wbuf[:0], c.framing, car.packed)
	} else {
		body := append(append(make([]byte, 0, c.header.Len()+len(car.packed)), c.header.Request()...), car.packed...)
		buf, err = iso8583.AppendFrame(c.wbuf[:0], c.framing, body)
	}
	if err != nil {
		return &moverr.PackError{Err: fmt.Errorf("message of %d bytes: %w", len(car.packed), err)}
	}
	if cap(buf) <= writeBufferKeepMax {
		c.wbuf = buf[:0]
	}
	_, err = w.Write(buf)
	return err
}

// writeBufferKeepMax is the largest write buffer kept between messages: a rare big message does not
// pin its memory.
const writeBufferKeepMax = 16 << 10

// requestIDs is the link's match key for iso8583-connection: match class and STAN. The library's
// default key, the STAN alone, would pair an 0410 with a pending 0110 of the same STAN.
type requestIDs struct{}

// GenerateRequestID returns the match class and the six-digit STAN, e.g. "010000123" for an 0100 or
// an 0110 with STAN 000123.
func (requestIDs) GenerateRequestID(m *moov.Message) (string, error) {
	mti, err := m.GetMTI()
	if err != nil {
		return "", fmt.Errorf("MTI: %w", err)
	}
	cl, ok := matchClass(mti)
	if !ok {
		return "", errors.New("MTI is not 4 digits")
	}
	s, err := m.GetString(11)
	if err != nil {
		return "", fmt.Errorf("field 11: %w", err)
	}
	stan, ok := parseSTAN(s)
	if !ok {
		return "", errors.New("field 11 is not a STAN")
	}
	return requestKey(cl, stan), nil
}

// requestKey renders a match class and STAN as the library's request ID.
func requestKey(cl class, stan uint32) string {
	var b [9]byte
	copy(b[:3], cl[:])
	for i := 8; i >= 3; i-- {
		b[i] = byte('0' + stan%10)
		stan /= 10
	}
	return string(b[:])
}
