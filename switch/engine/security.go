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

// secure verifies the terminal's MAC when it has a MAC key and translates the PIN block to the
// issuer's zone PIN key. It returns 63 for a bad MAC or an untranslatable PIN block, 96 when the
// HSM cannot be reached, and "" when the request may go on.
func (e *Engine) secure(ctx context.Context, req, fwd *iso8583.Message, is *Issuer) string {
	t := e.terminals[req.TerminalID]
	if t != nil && t.MACKey.Cryptogram != "" {
		if code := e.verifyMAC(ctx, req, t); code != "" {
			return code
		}
	}
	if req.PINBlock == nil {
		return ""
	}
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

// verifyMAC checks field 64 (or 128 with a secondary bitmap) over the message up to the MAC field.
func (e *Engine) verifyMAC(ctx context.Context, req *iso8583.Message, t *Terminal) string {
	mac := req.MAC
	if req.MAC2 != nil {
		mac = req.MAC2
	}
	if mac == nil || e.hsm == nil {
		e.metrics.securityFailures.WithLabelValues("mac_missing").Inc()
		return iso8583.RCSecurityViolation
	}
	// The MAC covers the message as sent, up to (not including) the MAC field, which is the last
	// field. Re-packing gives the bytes the terminal sent: the codec round-trips byte for byte.
	packed, err := req.Pack(iso8583.AcquirerSpec())
	if err != nil || len(packed) < macLen {
		e.metrics.securityFailures.WithLabelValues("mac_missing").Inc()
		return iso8583.RCSecurityViolation
	}
	if err := e.hsm.VerifyMAC(ctx, t.MACKey, t.MACAlg, packed[:len(packed)-macLen], mac); err != nil {
		return e.hsmFailure("mac", req, err)
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
