package iso8583

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFramingsRoundTrip(t *testing.T) {
	for _, name := range []string{"binary2", "ascii4", "bcd2"} {
		t.Run(name, func(t *testing.T) {
			f, err := ParseFraming(name)
			require.NoError(t, err)
			require.Equal(t, name, f.Name())
			var stream []byte
			msgs := [][]byte{[]byte("0800A"), bytes.Repeat([]byte("x"), 1234), {}, bytes.Repeat([]byte("y"), 9999)}
			for _, m := range msgs {
				stream, err = AppendFrame(stream, f, m)
				require.NoError(t, err)
			}
			r := bufio.NewReader(bytes.NewReader(stream))
			var buf []byte
			for _, m := range msgs {
				got, err := ReadFrame(r, f, 10000, buf)
				require.NoError(t, err)
				require.Equal(t, m, got)
				buf = got
			}
			_, err = ReadFrame(r, f, 10000, buf)
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

func TestFramingHeaders(t *testing.T) {
	hdr := make([]byte, 4)
	require.NoError(t, Binary2{}.PutLength(hdr, 0x1234))
	require.Equal(t, []byte{0x12, 0x34}, hdr[:2])
	require.NoError(t, ASCII4{}.PutLength(hdr, 123))
	require.Equal(t, "0123", string(hdr))
	require.NoError(t, BCD2{}.PutLength(hdr, 1234))
	require.Equal(t, []byte{0x12, 0x34}, hdr[:2])
	require.ErrorIs(t, ASCII4{}.PutLength(hdr, 10000), ErrFrameTooLarge)
	require.ErrorIs(t, Binary2{}.PutLength(hdr, 70000), ErrFrameTooLarge)
	_, err := ASCII4{}.Length([]byte("12a4"))
	require.ErrorIs(t, err, ErrBadHeader)
	_, err = BCD2{}.Length([]byte{0x1A, 0x00})
	require.ErrorIs(t, err, ErrBadHeader)
	_, err = ParseFraming("ebcdic9")
	require.ErrorIs(t, err, ErrUnknownFraming)
}

func TestReadFrameLimits(t *testing.T) {
	r := bufio.NewReader(bytes.NewReader([]byte{0xFF, 0xFF, 'a'}))
	_, err := ReadFrame(r, Binary2{}, 4096, nil)
	require.ErrorIs(t, err, ErrFrameTooLarge)

	r = bufio.NewReader(bytes.NewReader([]byte{0x00, 0x05, 'a', 'b'}))
	_, err = ReadFrame(r, Binary2{}, 4096, nil)
	require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "%v", err)

	r = bufio.NewReader(bytes.NewReader([]byte{0x00}))
	_, err = ReadFrame(r, Binary2{}, 4096, nil)
	require.True(t, errors.Is(err, io.ErrUnexpectedEOF), "%v", err)
}
