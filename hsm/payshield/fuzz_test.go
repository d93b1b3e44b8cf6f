package payshield

import (
	"bytes"
	"testing"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/hsm"
)

// FuzzHandle feeds arbitrary messages to the command parser: every one must get an answer that
// echoes the header and carries a 2-character error code, and nothing may panic (a panic would
// be answered 13 and is reported here as a failure).
func FuzzHandle(f *testing.F) {
	for _, tc := range thalesSimPairs {
		f.Add([]byte("0000" + tc.cmd + tc.fields))
	}
	for _, seed := range []string{"0000NC", "0000NC\x19TR", "0000A00002U", "0000A01001U1457FF6ADF6250C66C368416B4C9D383X",
		"0000KQ10U7475636CC30B93B493CF5EA53799EBCC\x34\x56\x78\x90\x12\x34\x56\x00\x00\x1c\x52\xbf\x45\x85\x01A;12345678ab",
		"", "00", "0000", "0000ZZ"} {
		f.Add([]byte(seed))
	}
	s, err := NewServer(hsm.NewSoft(hsm.TestLMK()), Config{HeaderLen: 4}, zap.NewNop())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		resp := s.Handle(msg)
		if len(msg) < 6 {
			return
		}
		if !bytes.HasPrefix(resp, msg[:4]) || len(resp) < 8 {
			t.Fatalf("reply %q to %q lost its header or code", resp, msg)
		}
		if string(resp[6:8]) == codeInternal {
			t.Fatalf("handler panicked on %q", msg)
		}
	})
}
