package iso8583

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestUnpackMoovGivesBoth: the typed message is Unpack's, and the moov-io message packs back to
// the same bytes, also after the input buffer is overwritten.
func TestUnpackMoovGivesBoth(t *testing.T) {
	spec := AcquirerSpec()
	for _, ex := range contractExamples(t) {
		t.Run(ex.name, func(t *testing.T) {
			b := []byte(ex.raw)
			m, mm, err := UnpackMoov(spec, b)
			require.NoError(t, err)
			want, err := Unpack(spec, []byte(ex.raw))
			require.NoError(t, err)
			require.Equal(t, want, m)
			for i := range b {
				b[i] = 'X'
			}
			packed, err := mm.Pack()
			require.NoError(t, err)
			require.Equal(t, ex.raw, string(packed))
		})
	}
	_, mm, err := UnpackMoov(spec, []byte(contractExamples(t)[0].raw+"0"))
	require.ErrorIs(t, err, ErrUnpack)
	require.Nil(t, mm)
}
