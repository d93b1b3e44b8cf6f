package iso8583

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Header is a fixed message header that travels between the length prefix and the message (the
// length counts it): a 5-byte TPDU, as POS terminals send it, or a fixed network header. The zero
// value is no header.
//
// Its configuration form (ParseHeader) is one of:
//
//	""                    no header
//	tpdu:6000010000       a TPDU in hex: ID (60), destination NII, source NII; the answer to a
//	                      message carries that message's TPDU with the two NIIs swapped
//	hex:<hex bytes>       a fixed binary header, sent as it is on every message
//	ascii:<text>          a fixed text header (e.g. a network's "ISO0260000"), likewise
//
// A received header is not checked against the configured one (a host answers with its own
// NIIs); only its length is.
type Header struct {
	tpdu  bool
	value []byte
	form  string
}

// HeaderMax bounds a header's length.
const HeaderMax = 64

// tpduLen is the length of a TPDU: ID, destination NII (2 bytes), source NII (2 bytes).
const tpduLen = 5

// ErrHeader is wrapped by every header configuration error.
var ErrHeader = errors.New("header")

// ParseHeader reads a header's configuration form.
func ParseHeader(s string) (Header, error) {
	if s == "" {
		return Header{}, nil
	}
	kind, val, ok := strings.Cut(s, ":")
	bad := func(reason string) (Header, error) {
		return Header{}, fmt.Errorf("%w %q: %s", ErrHeader, s, reason)
	}
	if !ok {
		return bad("want tpdu:<10 hex digits>, hex:<hex bytes> or ascii:<text>")
	}
	var b []byte
	switch kind {
	case "tpdu", "hex":
		raw, err := hex.DecodeString(val)
		if err != nil {
			return bad("not hex")
		}
		b = raw
		if kind == "tpdu" && len(b) != tpduLen {
			return bad("a TPDU is 5 bytes (10 hex digits): ID, destination NII, source NII")
		}
	case "ascii":
		for i := 0; i < len(val); i++ {
			if val[i] < 0x20 || val[i] > 0x7E {
				return bad("not printable ASCII")
			}
		}
		b = []byte(val)
	default:
		return bad("want tpdu:, hex: or ascii:")
	}
	if len(b) == 0 || len(b) > HeaderMax {
		return bad(fmt.Sprintf("must be 1 to %d bytes", HeaderMax))
	}
	return Header{tpdu: kind == "tpdu", value: b, form: s}, nil
}

// Len is the header's length in bytes (0 for none).
func (h Header) Len() int { return len(h.value) }

// String is the configuration form.
func (h Header) String() string { return h.form }

// IsTPDU reports whether the header is a TPDU.
func (h Header) IsTPDU() bool { return h.tpdu }

// Request is the header of a message this side originates: the configured bytes. The result must
// not be modified.
func (h Header) Request() []byte { return h.value }

// AppendAnswer appends the header of the answer to a message that arrived with header in: for a
// TPDU, in with its destination and source NIIs swapped; for a fixed header, the configured bytes.
func (h Header) AppendAnswer(dst, in []byte) []byte {
	if !h.tpdu || len(in) != tpduLen {
		return append(dst, h.value...)
	}
	return append(dst, in[0], in[3], in[4], in[1], in[2])
}

// Split separates a frame into its header and message. A frame shorter than the header is an
// error.
func (h Header) Split(frame []byte) (hdr, msg []byte, err error) {
	if len(frame) < len(h.value) {
		return nil, nil, fmt.Errorf("%w: frame of %d bytes shorter than its %d-byte header", ErrUnpack, len(frame), len(h.value))
	}
	return frame[:len(h.value)], frame[len(h.value):], nil
}
