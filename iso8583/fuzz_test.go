package iso8583

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzUnpack feeds arbitrary bytes to the acquirer codec: it must never panic, and whatever it
// accepts must pack back to the same bytes (upper-case hex aside) and unpack to the same message.
func FuzzUnpack(f *testing.F) {
	for _, ex := range contractExamples(f) {
		f.Add([]byte(ex.raw))
	}
	f.Add([]byte("0800822000000000000004000000000000001126143600000127301"))
	f.Add([]byte("0100"))
	f.Add([]byte("0100FFFFFFFFFFFFFFFF"))
	spec := AcquirerSpec()
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Unpack(spec, b)
		if err != nil {
			return
		}
		out, err := m.Pack(spec)
		if err != nil {
			// Unpack is lenient where moov-io's packer is strict (e.g. a value moov-io unpadded);
			// what matters is that the bytes it accepted re-parse the same way.
			return
		}
		again, err := Unpack(spec, out)
		if err != nil {
			t.Fatalf("repacked message does not unpack: %v", err)
		}
		out2, err := again.Pack(spec)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("pack is not stable: %q vs %q (%v)", out, out2, err)
		}
	})
}

// FuzzReadFrame drives every framing over an arbitrary stream, split into reads of arbitrary
// size: it must never panic or return a frame longer than the limit.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0x00, 0x04, '0', '8', '0', '0', 0x00, 0x01}, uint8(0), uint8(3))
	f.Add([]byte("0004080000"), uint8(1), uint8(1))
	f.Add([]byte{0x00, 0x12, 0x99}, uint8(2), uint8(2))
	f.Fuzz(func(t *testing.T, stream []byte, which, chunk uint8) {
		framings := []Framing{Binary2{}, ASCII4{}, BCD2{}}
		fr := framings[int(which)%len(framings)]
		const maxLen = 512
		r := bufio.NewReaderSize(&chunkReader{b: stream, n: int(chunk%7) + 1}, 16)
		var buf []byte
		for range 1000 {
			msg, err := ReadFrame(r, fr, maxLen, buf)
			if err != nil {
				return
			}
			if len(msg) > maxLen {
				t.Fatalf("frame of %d bytes over the %d limit", len(msg), maxLen)
			}
			buf = msg
		}
	})
}

// chunkReader returns at most n bytes per Read, like a TCP stream delivering segments.
type chunkReader struct {
	b []byte
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(c.n, len(p), len(c.b))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}
