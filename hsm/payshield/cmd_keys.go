package payshield

import "github.com/cardswitch/cardswitch/hsm"

// diagnostics is NC: no fields; answers the LMK check value (16H) and the firmware number (9A).
func (s *Server) diagnostics(r *fieldReader) (string, []byte) {
	r.end()
	if r.err != nil {
		return codeInput, nil
	}
	return codeOK, []byte(s.hsm.LMK().CheckValue() + s.cfg.Firmware)
}

// echo is B2: length (4H) and that many characters of data, answered unchanged.
func (s *Server) echo(r *fieldReader) (string, []byte) {
	n := r.hexNumber(4)
	if r.err != nil {
		return codeInput, nil
	}
	if len(r.remaining()) < n {
		return codeDataLength, nil
	}
	data := r.bytes(n)
	r.end()
	if r.err != nil {
		return codeInput, nil
	}
	return codeOK, data
}

// keyScheme reads a 1-character key scheme field.
func keyScheme(r *fieldReader) (hsm.KeyScheme, bool) {
	c := r.bytes(1)
	if r.err != nil {
		return 0, false
	}
	sc, err := hsm.ParseKeyScheme(c[0])
	return sc, err == nil
}

// keyType reads a 3-character key type field.
func keyType(r *fieldReader) (hsm.KeyType, bool) {
	kt := hsm.KeyType(r.hex(3))
	return kt, r.err == nil && kt.Valid()
}

// generateKey is A0: mode (0 generate, 1 generate and export under a ZMK), key type, key scheme
// (LMK), and for mode 1 the ZMK and the key scheme (ZMK). Answers the key under the LMK, for
// mode 1 the key under the ZMK, and the 6H check value.
func (s *Server) generateKey(r *fieldReader) (string, []byte) {
	mode := r.text(1)
	kt, ktOK := keyType(r)
	sc, scOK := keyScheme(r)
	var zmk hsm.Key
	var zsc hsm.KeyScheme
	zscOK := true
	if mode == "1" {
		zmk = hsm.Key{Type: hsm.KeyTypeZMK, Cryptogram: r.key(16)}
		zsc, zscOK = keyScheme(r)
	}
	r.end()
	switch {
	case r.err != nil || (mode != "0" && mode != "1"):
		return codeInput, nil
	case !ktOK:
		return codeKeyType, nil
	case !scOK || !zscOK:
		return codeKeyScheme, nil
	}
	if mode == "0" {
		k, err := s.hsm.GenerateKey(kt, sc)
		if err != nil {
			return errorCode(err), nil
		}
		return codeOK, []byte(k.Cryptogram + k.CheckValue)
	}
	k, underZMK, err := s.hsm.GenerateExportKey(kt, sc, zmk, zsc)
	if err != nil {
		return errorCode(err), nil
	}
	return codeOK, []byte(k.Cryptogram + underZMK + k.CheckValue)
}

// importKey is A6: key type, ZMK, key under ZMK, key scheme (LMK). Answers the key under the
// LMK and its 6H check value.
func (s *Server) importKey(r *fieldReader) (string, []byte) {
	kt, ktOK := keyType(r)
	zmk := hsm.Key{Type: hsm.KeyTypeZMK, Cryptogram: r.key(16)}
	underZMK := r.key(16)
	sc, scOK := keyScheme(r)
	r.end()
	switch {
	case r.err != nil:
		return codeInput, nil
	case !ktOK:
		return codeKeyType, nil
	case !scOK:
		return codeKeyScheme, nil
	}
	k, err := s.hsm.ImportKey(kt, zmk, underZMK, sc)
	if err != nil {
		return errorCode(err), nil
	}
	return codeOK, []byte(k.Cryptogram + k.CheckValue)
}

// exportKey is A8: key type, ZMK, key under the LMK, key scheme (ZMK). Answers the key under
// the ZMK and its 6H check value.
func (s *Server) exportKey(r *fieldReader) (string, []byte) {
	kt, ktOK := keyType(r)
	zmk := hsm.Key{Type: hsm.KeyTypeZMK, Cryptogram: r.key(16)}
	key := hsm.Key{Type: kt, Cryptogram: r.key(16)}
	zsc, scOK := keyScheme(r)
	r.end()
	switch {
	case r.err != nil:
		return codeInput, nil
	case !ktOK:
		return codeKeyType, nil
	case !scOK:
		return codeKeyScheme, nil
	}
	ct, kcv, err := s.hsm.ExportKey(key, zmk, zsc)
	if err != nil {
		return errorCode(err), nil
	}
	return codeOK, []byte(ct + kcv)
}

// kcvType reads the optional "; 0 0 KCV-type" tail of BU and the "KCV type" of FA: '0' for the
// 16H check value, '1' for 6H.
func kcvLen(c string) (int, bool) {
	switch c {
	case "0":
		return 16, true
	case "1":
		return 6, true
	}
	return 0, false
}

// keyCheckValue is BU: key type code (2 characters, FF: the 3-digit key type follows the key),
// key length flag (0 single, 1 double, 2 triple), key, [; key type], [; 0 0 KCV type]. Answers
// the check value, 16H by default.
func (s *Server) keyCheckValue(r *fieldReader) (string, []byte) {
	code := r.text(2)
	flag := r.text(1)
	noLetter := map[string]int{"0": 16, "1": 32, "2": 48}[flag]
	key := r.key(noLetter)
	var kt hsm.KeyType
	var err error
	if code == "FF" {
		if !r.optional(';') {
			r.fail()
		}
		kt = hsm.KeyType(r.hex(3))
	} else {
		kt, err = hsm.LegacyKeyTypeCode(code)
	}
	n := 16
	okKCV := true
	if r.optional(';') {
		r.digits(2) // reserved, "00"
		n, okKCV = kcvLen(r.text(1))
	}
	r.end()
	switch {
	case r.err != nil || noLetter == 0 || !okKCV:
		return codeInput, nil
	case err != nil || !kt.Valid():
		return codeKeyType, nil
	case keyLenOf(key) != noLetter/2:
		return codeKeyLength, nil
	}
	kcv, err := s.hsm.KeyCheckValue(hsm.Key{Type: kt, Cryptogram: key})
	if err != nil {
		return errorCode(err), nil
	}
	return codeOK, []byte(kcv[:n])
}

// keyLenOf returns the clear length in bytes of a well-formed cryptogram.
func keyLenOf(ct string) int {
	if ct != "" && !isHex(ct[0]) {
		return (len(ct) - 1) / 2
	}
	return len(ct) / 2
}

// translateZPKFromZMK is FA: ZMK, ZPK under the ZMK, [; key scheme ZMK, key scheme LMK, KCV
// type]. Answers the ZPK under the LMK and its check value (16H unless KCV type 1).
func (s *Server) translateZPKFromZMK(r *fieldReader) (string, []byte) {
	zmk := hsm.Key{Type: hsm.KeyTypeZMK, Cryptogram: r.key(16)}
	underZMK := r.key(16)
	sc := hsm.KeyScheme(0)
	n := 16
	scOK, kcvOK := true, true
	if r.optional(';') {
		_, zscOK := keyScheme(r)
		sc, scOK = keyScheme(r)
		scOK = scOK && zscOK
		n, kcvOK = kcvLen(r.text(1))
	}
	r.end()
	switch {
	case r.err != nil || !kcvOK:
		return codeInput, nil
	case !scOK:
		return codeKeyScheme, nil
	}
	if sc == 0 {
		sc = schemeOfLen(keyLenOf(underZMK))
	}
	k, err := s.hsm.ImportKey(hsm.KeyTypeZPK, zmk, underZMK, sc)
	if err != nil {
		return errorCode(err), nil
	}
	full, err := s.hsm.KeyCheckValue(k)
	if err != nil {
		return errorCode(err), nil
	}
	return codeOK, []byte(k.Cryptogram + full[:n])
}

// schemeOfLen is the variant scheme for a key of n bytes.
func schemeOfLen(n int) hsm.KeyScheme {
	switch n {
	case 16:
		return hsm.SchemeDoubleVariant
	case 24:
		return hsm.SchemeTripleVariant
	}
	return hsm.SchemeSingle
}
