package paycrypto

import (
	"bytes"
	"errors"
	"testing"
)

// h decodes a hex test vector, failing the test on a typo.
func h(t testing.TB, s string) []byte {
	t.Helper()
	b, err := ParseHex(s)
	if err != nil {
		t.Fatalf("bad hex in test vector %q: %v", s, err)
	}
	return b
}

func assertHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if FormatHex(got) != want {
		t.Errorf("%s = %s, want %s", what, FormatHex(got), want)
	}
}

func assertErrIs(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("error = %v, want %v", err, want)
	}
}

// seqReader is a deterministic random source for tests: it returns the
// bytes of seed cyclically.
type seqReader struct {
	seed []byte
	pos  int
}

func (r *seqReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = r.seed[r.pos%len(r.seed)]
		r.pos++
	}
	return len(p), nil
}

func newSeqReader(seed ...byte) *seqReader { return &seqReader{seed: seed} }

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("entropy unavailable") }

func equal(a, b []byte) bool { return bytes.Equal(a, b) }
