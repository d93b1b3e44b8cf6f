package iso8583

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Framing is how a message's length is written before it on a TCP stream.
type Framing interface {
	// Name is the configuration name: binary2, ascii4 or bcd2.
	Name() string
	// HeaderLen is the number of bytes of the length header.
	HeaderLen() int
	// MaxLength is the longest message the header can express.
	MaxLength() int
	// PutLength writes n into hdr (HeaderLen bytes).
	PutLength(hdr []byte, n int) error
	// Length decodes a header.
	Length(hdr []byte) (int, error)
}

// Frame errors.
var (
	// ErrFrameTooLarge means a header announced more bytes than the configured maximum.
	ErrFrameTooLarge = errors.New("frame larger than the maximum")
	// ErrBadHeader means a length header that is not a number in its framing.
	ErrBadHeader = errors.New("bad length header")
	// ErrUnknownFraming names a framing that does not exist.
	ErrUnknownFraming = errors.New("unknown framing (want binary2, ascii4 or bcd2)")
)

// ParseFraming returns the framing with the given configuration name; "" means binary2.
func ParseFraming(name string) (Framing, error) {
	switch name {
	case "", "binary2":
		return Binary2{}, nil
	case "ascii4":
		return ASCII4{}, nil
	case "bcd2":
		return BCD2{}, nil
	}
	return nil, fmt.Errorf("%q: %w", name, ErrUnknownFraming)
}

// Binary2 is a 2-byte unsigned big-endian length (the acquirer interface's framing).
type Binary2 struct{}

func (Binary2) Name() string   { return "binary2" }
func (Binary2) HeaderLen() int { return 2 }
func (Binary2) MaxLength() int { return 0xFFFF }
func (Binary2) PutLength(hdr []byte, n int) error {
	if n < 0 || n > 0xFFFF {
		return ErrFrameTooLarge
	}
	binary.BigEndian.PutUint16(hdr, uint16(n))
	return nil
}
func (Binary2) Length(hdr []byte) (int, error) { return int(binary.BigEndian.Uint16(hdr)), nil }

// ASCII4 is a 4-digit ASCII decimal length ("0123").
type ASCII4 struct{}

func (ASCII4) Name() string   { return "ascii4" }
func (ASCII4) HeaderLen() int { return 4 }
func (ASCII4) MaxLength() int { return 9999 }
func (ASCII4) PutLength(hdr []byte, n int) error {
	if n < 0 || n > 9999 {
		return ErrFrameTooLarge
	}
	for i := 3; i >= 0; i-- {
		hdr[i] = byte('0' + n%10)
		n /= 10
	}
	return nil
}
func (ASCII4) Length(hdr []byte) (int, error) {
	n := 0
	for _, c := range hdr[:4] {
		if c < '0' || c > '9' {
			return 0, ErrBadHeader
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// BCD2 is a 2-byte packed-BCD length (0x01 0x23 is 123).
type BCD2 struct{}

func (BCD2) Name() string   { return "bcd2" }
func (BCD2) HeaderLen() int { return 2 }
func (BCD2) MaxLength() int { return 9999 }
func (BCD2) PutLength(hdr []byte, n int) error {
	if n < 0 || n > 9999 {
		return ErrFrameTooLarge
	}
	hdr[0] = byte((n/1000)<<4 | (n/100)%10)
	hdr[1] = byte(((n/10)%10)<<4 | n%10)
	return nil
}
func (BCD2) Length(hdr []byte) (int, error) {
	n := 0
	for _, b := range hdr[:2] {
		hi, lo := b>>4, b&0x0F
		if hi > 9 || lo > 9 {
			return 0, ErrBadHeader
		}
		n = n*100 + int(hi)*10 + int(lo)
	}
	return n, nil
}

// ReadFrame reads one length-prefixed message from r. buf is reused when it is large enough; the
// returned slice aliases it. A header announcing more than maxLen bytes is ErrFrameTooLarge (the
// stream cannot be resynchronised after that: close the connection).
func ReadFrame(r *bufio.Reader, f Framing, maxLen int, buf []byte) ([]byte, error) {
	var hdr [4]byte
	h := hdr[:f.HeaderLen()]
	if _, err := io.ReadFull(r, h); err != nil {
		return nil, err
	}
	n, err := f.Length(h)
	if err != nil {
		return nil, err
	}
	if n > maxLen {
		return nil, fmt.Errorf("%d bytes announced, %d allowed: %w", n, maxLen, ErrFrameTooLarge)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// AppendFrame appends msg with its length header to dst.
func AppendFrame(dst []byte, f Framing, msg []byte) ([]byte, error) {
	var hdr [4]byte
	h := hdr[:f.HeaderLen()]
	if err := f.PutLength(h, len(msg)); err != nil {
		return dst, err
	}
	dst = append(dst, h...)
	return append(dst, msg...), nil
}
