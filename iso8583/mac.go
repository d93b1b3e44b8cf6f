package iso8583

// MACInput returns the part of a packed message that its MAC covers: everything before the MAC
// field, which is the message's last field — 128 when the message carries it, else 64 (CONTRACT
// §2). It needs the MAC field's length on the wire, so it answers false for a spec whose MAC field
// is variable or packed by moov-io's fallback, and for a message too short to hold it.
func (s *Spec) MACInput(packed []byte, macField int) ([]byte, bool) {
	if macField != 64 && macField != 128 {
		return nil, false
	}
	n, ok := s.wire[macField].fixedWireLen()
	if !ok || len(packed) < n {
		return nil, false
	}
	return packed[:len(packed)-n], true
}

// fixedWireLen is the bytes a fixed-length field takes on the wire.
func (w *wireLayout) fixedWireLen() (int, bool) {
	if !w.defined || w.fallback || w.variable() {
		return 0, false
	}
	switch w.enc {
	case encASCII, encEBCDIC, encBinary:
		return w.length, true
	case encHexASCII:
		return 2 * w.length, true
	case encBCD:
		return (w.length + 1) / 2, true
	}
	return 0, false
}
