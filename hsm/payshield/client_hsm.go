package payshield

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/cardswitch/cardswitch/hsm"
)

// account returns the 12 right-most digits of pan excluding the check digit, left-padded with
// zeros: the account number field of the PIN commands.
func account(pan string) (string, error) {
	if len(pan) < 2 || len(pan) > panMax || strings.Trim(pan, "0123456789") != "" {
		return "", fmt.Errorf("PAN: %w", hsm.ErrInvalidInput)
	}
	body := pan[:len(pan)-1]
	if len(body) > 12 {
		body = body[len(body)-12:]
	}
	return strings.Repeat("0", 12-len(body)) + body, nil
}

// ksnDescriptor describes the 20-character KSN the client sends: a 10-character key set
// identifier, no sub-key, a 5-character device identifier, then the counter.
const ksnDescriptor = "A05"

// TranslatePIN implements hsm.HSM with CA (TPK), CC (ZPK) or G0 (DUKPT BDK and KSN).
func (c *Client) TranslatePIN(ctx context.Context, req hsm.TranslatePINRequest) ([]byte, error) {
	acct, err := account(req.PAN)
	if err != nil {
		return nil, err
	}
	if len(req.PINBlock) != 8 {
		return nil, fmt.Errorf("PIN block: %w", hsm.ErrInvalidInput)
	}
	if req.DestFormat == "" {
		req.DestFormat = req.SourceFormat
	}
	var cmd string
	var b strings.Builder
	switch {
	case req.KSN != "":
		if len(req.KSN) != ksnLen {
			return nil, fmt.Errorf("KSN: %w", hsm.ErrInvalidInput)
		}
		cmd = "G0"
		b.WriteString(req.Source.Cryptogram + req.Dest.Cryptogram + ksnDescriptor + req.KSN)
		b.Write(upperHex(req.PINBlock))
		b.WriteString(string(req.SourceFormat) + string(req.DestFormat) + acct)
	case req.Source.Type == hsm.KeyTypeTPK || req.Source.Type == hsm.KeyTypeZPK:
		cmd = "CA"
		if req.Source.Type == hsm.KeyTypeZPK {
			cmd = "CC"
		}
		b.WriteString(req.Source.Cryptogram + req.Dest.Cryptogram + "12")
		b.Write(upperHex(req.PINBlock))
		b.WriteString(string(req.SourceFormat) + string(req.DestFormat) + acct)
	default:
		return nil, fmt.Errorf("source key: %w", hsm.ErrKeyType)
	}
	code, body, err := c.do(ctx, cmd, []byte(b.String()))
	if err != nil {
		return nil, err
	}
	if err := codeError(cmd, code, hsm.ErrPINBlock); err != nil {
		return nil, err
	}
	if len(body) < 2+16 {
		return nil, fmt.Errorf("%s: %w: short response", cmd, hsm.ErrHSM)
	}
	block, err := hex.DecodeString(string(body[2:18]))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: response PIN block not hex", cmd, hsm.ErrHSM)
	}
	return block, nil
}

// macFields builds the M6/M8 fields up to the message (binary input, whole message).
func macFields(key hsm.Key, alg hsm.MACAlgorithm, data []byte, macLen int) ([]byte, error) {
	var p string
	switch alg {
	case hsm.MACRetail:
		p = "31"
	case hsm.MACRetailPad2:
		p = "32"
	case hsm.MACCBC:
		p = "11"
	case hsm.MACCBCPad2:
		p = "12"
	default:
		return nil, fmt.Errorf("MAC algorithm: %w", hsm.ErrInvalidInput)
	}
	size := map[int]string{4: "0", 8: "1"}[macLen]
	if size == "" {
		return nil, fmt.Errorf("MAC length: %w", hsm.ErrInvalidInput)
	}
	if len(data) == 0 || len(data) > 0xFFFF {
		return nil, fmt.Errorf("MAC data: %w", hsm.ErrInvalidInput)
	}
	out := make([]byte, 0, 64+len(data))
	out = append(out, "00"+size+p+string(key.Type)+key.Cryptogram+fmt.Sprintf("%04X", len(data))...)
	return append(out, data...), nil
}

// GenerateMAC implements hsm.HSM with M6 (binary input, 16H MAC).
func (c *Client) GenerateMAC(ctx context.Context, key hsm.Key, alg hsm.MACAlgorithm, data []byte) ([]byte, error) {
	fields, err := macFields(key, alg, data, 8)
	if err != nil {
		return nil, err
	}
	code, body, err := c.do(ctx, "M6", fields)
	if err != nil {
		return nil, err
	}
	if err := codeError("M6", code, hsm.ErrHSM); err != nil {
		return nil, err
	}
	mac, err := hex.DecodeString(string(body))
	if err != nil || len(mac) != 8 {
		return nil, fmt.Errorf("M6: %w: bad MAC in response", hsm.ErrHSM)
	}
	return mac, nil
}

// VerifyMAC implements hsm.HSM with M8.
func (c *Client) VerifyMAC(ctx context.Context, key hsm.Key, alg hsm.MACAlgorithm, data, mac []byte) error {
	fields, err := macFields(key, alg, data, len(mac))
	if err != nil {
		return err
	}
	fields = append(fields, upperHex(mac)...)
	code, _, err := c.do(ctx, "M8", fields)
	if err != nil {
		return err
	}
	return codeError("M8", code, hsm.ErrMACMismatch)
}

// VerifyCVV implements hsm.HSM with CY.
func (c *Client) VerifyCVV(ctx context.Context, req hsm.CVVRequest) error {
	fields := req.CVK.Cryptogram + req.CVV + req.PAN + ";" + req.Expiry + req.ServiceCode
	code, _, err := c.do(ctx, "CY", []byte(fields))
	if err != nil {
		return err
	}
	return codeError("CY", code, hsm.ErrCVVMismatch)
}

// VerifyARQC implements hsm.HSM with KQ (mode 0, or 1 when an ARC is given).
func (c *Client) VerifyARQC(ctx context.Context, req hsm.ARQCRequest) ([]byte, error) {
	scheme := map[hsm.ARQCScheme]string{hsm.ARQCVisaCVN10: "0", hsm.ARQCEMVCommon: "1"}[req.Scheme]
	psn := req.PANSequence
	if psn == "" {
		psn = "00"
	}
	digits := req.PAN + psn
	if scheme == "" || len(req.ATC) != 2 || len(req.ARQC) != 8 || len(digits) < 16 ||
		len(req.TransactionData) == 0 || len(req.TransactionData) > 0xFF {
		return nil, fmt.Errorf("KQ: %w", hsm.ErrInvalidInput)
	}
	y, err := hex.DecodeString(digits[len(digits)-16:])
	if err != nil {
		return nil, fmt.Errorf("KQ: PAN: %w", hsm.ErrInvalidInput)
	}
	mode := "0"
	if req.ARC != nil {
		mode = "1"
	}
	un := make([]byte, 4)
	copy(un, req.UnpredictableNumber)
	fields := []byte(mode + scheme + req.MKAC.Cryptogram)
	fields = append(fields, y...)
	fields = append(fields, req.ATC...)
	fields = append(fields, un...)
	fields = append(fields, fmt.Sprintf("%02X", len(req.TransactionData))...)
	fields = append(fields, req.TransactionData...)
	fields = append(fields, ';')
	fields = append(fields, req.ARQC...)
	fields = append(fields, req.ARC...)
	code, body, err := c.do(ctx, "KQ", fields)
	if err != nil {
		return nil, err
	}
	if err := codeError("KQ", code, hsm.ErrCryptogramMismatch); err != nil {
		return nil, err
	}
	if req.ARC == nil {
		return nil, nil
	}
	if len(body) != 8 {
		return nil, fmt.Errorf("KQ: %w: bad ARPC in response", hsm.ErrHSM)
	}
	return body, nil
}

// CheckKey implements hsm.HSM with BU (key type FF and the 3-digit type, 16H check value).
func (c *Client) CheckKey(ctx context.Context, key hsm.Key) error {
	flag := map[int]string{8: "0", 16: "1", 24: "2"}[keyLenOf(key.Cryptogram)]
	if flag == "" || !key.Type.Valid() {
		return fmt.Errorf("BU: %w", hsm.ErrKeyFormat)
	}
	code, body, err := c.do(ctx, "BU", []byte("FF"+flag+key.Cryptogram+";"+string(key.Type)+";000"))
	if err != nil {
		return err
	}
	if err := codeError("BU", code, hsm.ErrKCV); err != nil {
		return err
	}
	if key.CheckValue != "" && !strings.HasPrefix(strings.ToUpper(string(body)), strings.ToUpper(key.CheckValue)) {
		return fmt.Errorf("BU: %w", hsm.ErrKCV)
	}
	return nil
}

var _ hsm.HSM = (*Client)(nil)
