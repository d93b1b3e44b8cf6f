package payshield

import (
	"encoding/hex"

	"github.com/cardswitch/cardswitch/hsm"
)

// MAC command error codes (M6/M8).
const (
	codeMACMode      = "02" // invalid mode flag
	codeMACInput     = "03" // invalid input format flag
	codeMACAlgorithm = "04" // invalid MAC algorithm
	codeMACKeyType   = "05" // invalid key type
	codeMACLength    = "06" // invalid message length
	codeMACPadding   = "09" // invalid padding method
)

// macCommand is the parsed common part of M6 and M8.
type macCommand struct {
	key    hsm.Key
	params hsm.MACParams
	data   []byte
}

// parseMAC reads M6/M8 up to and including the message: mode flag (only 0, the whole message
// in one command, is supported), input format (0 binary, 1 hex-encoded, 2 text), MAC size (0 =
// 8H, 1 = 16H), MAC algorithm (1 or 3), padding method (0, 1, 2), key type (003 TAK, 008 ZAK),
// key, message length (4H: characters of the message field as sent), message.
func parseMAC(r *fieldReader) (macCommand, string) {
	var m macCommand
	mode := r.text(1)
	input := r.text(1)
	size := r.text(1)
	alg := r.text(1)
	pad := r.text(1)
	kt := hsm.KeyType(r.text(3))
	m.key = hsm.Key{Type: kt, Cryptogram: r.key(16)}
	n := r.hexNumber(4)
	raw := r.bytes(n)
	if r.err != nil {
		return m, codeInput
	}
	switch {
	case mode != "0":
		return m, codeMACMode
	case input != "0" && input != "1" && input != "2":
		return m, codeMACInput
	case size != "0" && size != "1":
		return m, codeInput
	case alg != "1" && alg != "3":
		return m, codeMACAlgorithm
	case pad != "0" && pad != "1" && pad != "2":
		return m, codeMACPadding
	case kt != hsm.KeyTypeTAK && kt != hsm.KeyTypeZAK:
		return m, codeMACKeyType
	case n == 0:
		return m, codeMACLength
	}
	m.params = hsm.MACParams{Algorithm: int(alg[0] - '0'), Padding: int(pad[0] - '0'), Size: 4}
	if size == "1" {
		m.params.Size = 8
	}
	m.data = raw
	if input == "1" {
		d, err := hex.DecodeString(string(raw))
		if err != nil {
			return m, codeMACLength
		}
		m.data = d
	}
	return m, codeOK
}

// generateMAC is M6; answers the MAC, 8H or 16H.
func (s *Server) generateMAC(r *fieldReader) (string, []byte) {
	m, code := parseMAC(r)
	if code != codeOK {
		return code, nil
	}
	r.end()
	if r.err != nil {
		return codeInput, nil
	}
	mac, err := s.hsm.MAC(m.key, m.params, m.data)
	if err != nil {
		return errorCode(err), nil
	}
	return codeOK, upperHex(mac)
}

// verifyMAC is M8: the M6 fields followed by the MAC (8H or 16H); answers 00 or 01.
func (s *Server) verifyMAC(r *fieldReader) (string, []byte) {
	m, code := parseMAC(r)
	if code != codeOK {
		return code, nil
	}
	macHex := r.hex(2 * m.params.Size)
	r.end()
	if r.err != nil {
		return codeInput, nil
	}
	mac, _ := hex.DecodeString(macHex)
	if err := s.hsm.CheckMAC(m.key, m.params, m.data, mac); err != nil {
		return errorCode(err), nil
	}
	return codeOK, nil
}
