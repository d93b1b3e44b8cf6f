package payshield

import (
	"encoding/binary"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/hsm"
)

// payShield error codes used here.
const (
	codeOK             = "00"
	codeVerifyFailed   = "01" // PIN, MAC, CVV or cryptogram verification failure
	codeKeyType        = "04" // invalid key type code
	codeKeyParity1     = "10" // first (source) key parity error
	codeKeyParity2     = "11" // second (destination) key parity error
	codeKeyParity3     = "12" // third key parity error
	codeInput          = "15" // error in input data
	codePINBlock       = "20" // PIN block does not contain valid values
	codePINFormat      = "23" // invalid PIN block format code
	codePINLength      = "24" // PIN is fewer than 4 or more than 12 digits
	codeKeyScheme      = "26" // invalid key scheme
	codeKeyLength      = "27" // incompatible key length
	codeCommandOff     = "68" // command disabled (or unknown)
	codeDataLength     = "80" // data length error
	codeInternal       = "13" // LMK error or internal failure: report to supervisor
	unknownResponse    = "ZZ"
	commandCodeLen     = 2
	errorCodeLen       = 2
	lengthPrefixLength = 2
)

// handler parses a command's fields from r and performs it, returning the error code and, for
// success (and some verification failures), the response fields after it.
type handler func(s *Server, r *fieldReader) (code string, body []byte)

// handlers maps each supported command code to its handler.
var handlers = map[string]handler{
	"NC": (*Server).diagnostics,
	"B2": (*Server).echo,
	"A0": (*Server).generateKey,
	"A6": (*Server).importKey,
	"A8": (*Server).exportKey,
	"BU": (*Server).keyCheckValue,
	"FA": (*Server).translateZPKFromZMK,
	"CA": (*Server).translatePINFromTPK,
	"CC": (*Server).translatePINFromZPK,
	"CI": (*Server).translatePINFromDUKPT,
	"G0": (*Server).translatePINFromDUKPT3DES,
	"M6": (*Server).generateMAC,
	"M8": (*Server).verifyMAC,
	"CW": (*Server).generateCVV,
	"CY": (*Server).verifyCVV,
	"DC": (*Server).verifyTerminalPVV,
	"EC": (*Server).verifyInterchangePVV,
	"KQ": (*Server).verifyARQC,
}

// Handle answers one message: header, command code and fields, without the length prefix. It
// returns the response message, also without the prefix. It never panics on any input.
func (s *Server) Handle(msg []byte) []byte {
	return s.answer(msg, false)
}

// respond answers a message read from the wire and prefixes the response with its length.
func (s *Server) respond(msg []byte, oversized bool) []byte {
	resp := s.answer(msg, oversized)
	out := make([]byte, lengthPrefixLength+len(resp))
	binary.BigEndian.PutUint16(out, uint16(len(resp)))
	copy(out[lengthPrefixLength:], resp)
	return out
}

// answer builds the response to msg.
func (s *Server) answer(msg []byte, oversized bool) []byte {
	h := s.cfg.HeaderLen
	if len(msg) < h+commandCodeLen {
		// Too short to carry a command: echo what header there is, answer ZZ 15.
		return buildResponse(msg[:min(len(msg), h)], unknownResponse, codeInput, nil, nil)
	}
	header, cmd := msg[:h], string(msg[h:h+commandCodeLen])
	resp := responseCode(cmd)
	switch {
	case oversized:
		return buildResponse(header, resp, codeInput, nil, nil)
	case s.disabled[cmd]:
		return buildResponse(header, resp, codeCommandOff, nil, nil)
	}
	hf, ok := handlers[cmd]
	if !ok {
		return buildResponse(header, resp, codeCommandOff, nil, nil)
	}
	r := &fieldReader{b: msg[h+commandCodeLen:]}
	start := time.Now()
	code, body := s.run(hf, r)
	if s.log.Core().Enabled(zap.DebugLevel) {
		s.log.Debug("command", zap.String("command", cmd), zap.String("error-code", code),
			zap.Duration("elapsed", time.Since(start)))
	}
	var trailer []byte
	if r.err == nil {
		trailer = splitTrailer(r.remaining())
	}
	return buildResponse(header, resp, code, body, trailer)
}

// run calls the handler, turning a parse failure into error 15 and a panic (a bug: none is
// known, and the fuzz tests look for them) into error 13, so that bad input never crashes the
// server.
func (s *Server) run(hf handler, r *fieldReader) (code string, body []byte) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("command handler panicked", zap.Any("panic", p))
			code, body = codeInternal, nil
		}
	}()
	code, body = hf(s, r)
	if r.err != nil && code == codeOK {
		return codeInput, nil
	}
	return code, body
}

// buildResponse assembles header, response code, error code, fields and trailer.
func buildResponse(header []byte, resp, code string, body, trailer []byte) []byte {
	out := make([]byte, 0, len(header)+len(resp)+len(code)+len(body)+len(trailer))
	out = append(out, header...)
	out = append(out, resp...)
	out = append(out, code...)
	out = append(out, body...)
	return append(out, trailer...)
}

// responseCode is the command code with its second character advanced (CA→CB, A0→A1); a code
// that cannot be advanced within letters and digits gets ZZ.
func responseCode(cmd string) string {
	if len(cmd) != 2 || !isAlnum(cmd[0]) || !isAlnum(cmd[1]) || cmd[1] == 'Z' || cmd[1] == '9' {
		return unknownResponse
	}
	return string([]byte{cmd[0], cmd[1] + 1})
}

func isAlnum(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' }

// errorCode maps an hsm error to the payShield error code.
func errorCode(err error) string {
	var fe *hsm.FieldError
	index := 0
	if errors.As(err, &fe) {
		index = fe.Index
	}
	switch {
	case err == nil:
		return codeOK
	case errors.Is(err, hsm.ErrKeyParity):
		return [...]string{codeKeyParity1, codeKeyParity2, codeKeyParity3}[min(max(index, 0), 2)]
	case errors.Is(err, hsm.ErrMACMismatch), errors.Is(err, hsm.ErrCVVMismatch),
		errors.Is(err, hsm.ErrPINMismatch), errors.Is(err, hsm.ErrCryptogramMismatch), errors.Is(err, hsm.ErrKCV):
		return codeVerifyFailed
	case errors.Is(err, hsm.ErrPINBlock):
		return codePINBlock
	case errors.Is(err, hsm.ErrPINFormat):
		return codePINFormat
	case errors.Is(err, hsm.ErrKeyLength):
		return codeKeyLength
	case errors.Is(err, hsm.ErrKeyType):
		return codeKeyType
	}
	return codeInput
}
