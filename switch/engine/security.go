package engine

import (
	"context"
	"encoding/hex"
	"errors"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
)

// macLen is the length of fields 64 and 128 on the wire: 8 bytes as 16 hex characters.
const macLen = 16

// bitmapAt is where the primary bitmap starts: after the 4-digit MTI. Its first hex character's
// high bit says whether the secondary bitmap follows.
const bitmapAt = 4

// secure runs the request's security checks in order — the terminal's MAC when it has a MAC key,
// the EMV cryptogram when the issuer checks them and field 55 is present, then the PIN block's
// translation to the issuer's zone PIN key — and prepares fwd for the issuer. It returns 63 for a
// bad MAC, a cryptogram that does not verify or an untranslatable PIN block, 30 for a field 55
// that cannot be read, 96 when the HSM cannot be reached, and "" when the request may go on.
func (e *Engine) secure(ctx context.Context, req, fwd *iso8583.Message, is *Issuer) string {
	if code := e.terminalMAC(ctx, req); code != "" {
		return code
	}
	if is.EMV != nil && req.ICC != "" {
		if code := e.verifyARQC(ctx, req, is.EMV); code != "" {
			return code
		}
	}
	if req.PINBlock == nil {
		return ""
	}
	t := e.terminal(req.TerminalID)
	if e.hsm == nil || t == nil || t.PINKey.Cryptogram == "" || is.ZPK.Cryptogram == "" {
		e.metrics.securityFailures.WithLabelValues("pin_no_key").Inc()
		return iso8583.RCSecurityViolation
	}
	tr := hsm.TranslatePINRequest{Source: t.PINKey, Dest: is.ZPK, PINBlock: req.PINBlock,
		SourceFormat: t.PINFormat, DestFormat: hsm.PINFormatISO0, PAN: req.PAN}
	if t.DUKPT {
		if len(req.Private62) != 20 {
			e.metrics.securityFailures.WithLabelValues("pin_no_ksn").Inc()
			return iso8583.RCSecurityViolation
		}
		if _, err := hex.DecodeString(req.Private62); err != nil {
			e.metrics.securityFailures.WithLabelValues("pin_no_ksn").Inc()
			return iso8583.RCSecurityViolation
		}
		tr.KSN = req.Private62
	}
	pb, err := e.hsm.TranslatePIN(ctx, tr)
	if err != nil {
		return e.hsmFailure("pin_translation", req, err)
	}
	fwd.PINBlock = pb
	fwd.Private62 = "" // the KSN belongs to the terminal's key, not to the issuer's
	return ""
}

// terminalMAC verifies the MAC of a request from a terminal that has a MAC key: "" when the
// terminal has none or the MAC verifies, else the response code (63; 96 when the HSM is
// unreachable).
func (e *Engine) terminalMAC(ctx context.Context, req *iso8583.Message) string {
	t := e.terminal(req.TerminalID)
	if t == nil || t.MACKey.Cryptogram == "" {
		return ""
	}
	return e.verifyMAC(ctx, req, t)
}

// verifyMAC checks the terminal's MAC over the message up to the MAC field: field 64 when the
// message has no secondary bitmap, field 128 when it has one (the MAC field is always the last).
func (e *Engine) verifyMAC(ctx context.Context, req *iso8583.Message, t *Terminal) string {
	if e.hsm == nil {
		e.metrics.securityFailures.WithLabelValues("mac_missing").Inc()
		return iso8583.RCSecurityViolation
	}
	data, mac := req.MACInput, req.MAC
	if req.MAC2 != nil {
		mac = req.MAC2
	}
	if data == nil {
		// Not received by an acceptor (or its dialect's MAC field has no fixed length): re-packing
		// in the acquirer spec gives the bytes a terminal of the contract dialect sent (the codec
		// round-trips byte for byte).
		packed, err := req.Pack(iso8583.AcquirerSpec())
		if err != nil || len(packed) < bitmapAt+16+macLen {
			e.metrics.securityFailures.WithLabelValues("mac_missing").Inc()
			return iso8583.RCSecurityViolation
		}
		mac = req.MAC
		if hasSecondaryBitmap(packed) {
			mac = req.MAC2
		}
		data = packed[:len(packed)-macLen]
	}
	if mac == nil {
		e.metrics.securityFailures.WithLabelValues("mac_missing").Inc()
		return iso8583.RCSecurityViolation
	}
	if err := e.hsm.VerifyMAC(ctx, t.MACKey, t.MACAlg, data, mac); err != nil {
		return e.hsmFailure("mac", req, err)
	}
	return ""
}

// hasSecondaryBitmap reports whether a packed message's primary bitmap has bit 1 set.
func hasSecondaryBitmap(packed []byte) bool {
	c := packed[bitmapAt]
	return c >= '8' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f'
}

// verifyARQC checks the EMV application cryptogram of field 55 under the issuer's MK-AC.
func (e *Engine) verifyARQC(ctx context.Context, req *iso8583.Message, emv *EMV) string {
	ar, err := arqcRequest(req, emv)
	if err != nil {
		e.metrics.securityFailures.WithLabelValues("icc_format").Inc()
		e.log.Info("field 55 unreadable", zap.String("terminal", req.TerminalID),
			zap.String("pan", iso8583.MaskPAN(req.PAN)), zap.Error(err))
		return iso8583.RCFormatError
	}
	if e.hsm == nil {
		e.metrics.securityFailures.WithLabelValues("arqc").Inc()
		return iso8583.RCSecurityViolation
	}
	if _, err := e.hsm.VerifyARQC(ctx, ar); err != nil {
		return e.hsmFailure("arqc", req, err)
	}
	return ""
}

// hsmFailure maps an HSM error: a cryptographic verdict is 63, an unreachable HSM is 96.
func (e *Engine) hsmFailure(what string, req *iso8583.Message, err error) string {
	if errors.Is(err, hsm.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		e.metrics.securityFailures.WithLabelValues("hsm_unavailable").Inc()
		e.log.Error("hsm unavailable", zap.String("operation", what), zap.Error(err))
		return iso8583.RCSystemMalfunction
	}
	e.metrics.securityFailures.WithLabelValues(what).Inc()
	e.log.Info("security check failed", zap.String("operation", what), zap.String("terminal", req.TerminalID),
		zap.String("pan", iso8583.MaskPAN(req.PAN)), zap.Error(err))
	return iso8583.RCSecurityViolation
}
