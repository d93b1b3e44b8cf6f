package iso8583

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseHeader(t *testing.T) {
	h, err := ParseHeader("tpdu:6000010002")
	require.NoError(t, err)
	require.Equal(t, 5, h.Len())
	require.True(t, h.IsTPDU())
	require.Equal(t, []byte{0x60, 0x00, 0x01, 0x00, 0x02}, h.Request())
	// The answer to a terminal's TPDU swaps its destination and source NIIs.
	require.Equal(t, []byte{0x60, 0x00, 0x07, 0x00, 0x03}, h.AppendAnswer(nil, []byte{0x60, 0x00, 0x03, 0x00, 0x07}))

	h, err = ParseHeader("ascii:ISO0260000")
	require.NoError(t, err)
	require.Equal(t, []byte("ISO0260000"), h.AppendAnswer(nil, []byte("ISO9999999")))
	hdr, msg, err := h.Split([]byte("ISO02600000800"))
	require.NoError(t, err)
	require.Equal(t, "ISO0260000", string(hdr))
	require.Equal(t, "0800", string(msg))
	_, _, err = h.Split([]byte("ISO"))
	require.ErrorIs(t, err, ErrUnpack)

	none, err := ParseHeader("")
	require.NoError(t, err)
	require.Zero(t, none.Len())

	for _, bad := range []string{"tpdu:60000100", "tpdu:zz00010002", "hex:", "ascii:\x01", "tpdu", "xml:1"} {
		_, err := ParseHeader(bad)
		require.ErrorIs(t, err, ErrHeader, bad)
	}
}
