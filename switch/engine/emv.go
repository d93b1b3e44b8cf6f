package engine

import (
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
)

// EMV is an issuer's EMV cryptogram check: the ARQC in field 55 is verified under the issuer's
// MK-AC before the request goes to the issuer.
type EMV struct {
	MKAC   hsm.Key        // issuer master key for application cryptograms (109)
	Scheme hsm.ARQCScheme // how the card's key is derived
}

// Field 55 is BER-TLV (EMV Book 3 Annex B) sent as hex characters. Bounds on what is read:
const (
	// iccCharsMax is the longest field 55 accepted, in hex characters: the LLL field's 999.
	iccCharsMax = 999
	// iccObjectsMax bounds the data objects read from one field 55; a terminal sends about 20.
	iccObjectsMax = 64
	// iccTagBytesMax is the longest tag accepted: EMV tags are 1 or 2 bytes, BER allows more.
	iccTagBytesMax = 3
)

// EMV tags the switch reads from field 55.
const (
	tagARQC         = 0x9F26 // application cryptogram, 8 bytes
	tagATC          = 0x9F36 // application transaction counter, 2 bytes
	tagAmount       = 0x9F02 // amount authorised, n12 BCD, 6 bytes
	tagAmountOther  = 0x9F03 // amount other, 6 bytes
	tagCountry      = 0x9F1A // terminal country code, 2 bytes
	tagTVR          = 0x95   // terminal verification results, 5 bytes
	tagCurrency     = 0x5F2A // transaction currency code, 2 bytes
	tagDate         = 0x9A   // transaction date YYMMDD, 3 bytes
	tagType         = 0x9C   // transaction type, 1 byte
	tagUN           = 0x9F37 // unpredictable number, 4 bytes
	tagAIP          = 0x82   // application interchange profile, 2 bytes
	tagPSN          = 0x5F34 // PAN sequence number, 1 byte
	tagIAD          = 0x9F10 // issuer application data (Visa: length, DKI, CVN, CVR …)
	visaCVRFromByte = 3      // the CVR's offset in Visa's issuer application data
	visaCVRLen      = 4
)

// cdol1 lists, in order, the data objects an ARQC covers in both schemes (EMV Book 2 A1.2's
// recommended minimum set), with the length each must have.
var cdol1 = [...]struct {
	tag uint32
	len int
}{
	{tagAmount, 6}, {tagAmountOther, 6}, {tagCountry, 2}, {tagTVR, 5}, {tagCurrency, 2},
	{tagDate, 3}, {tagType, 1}, {tagUN, 4}, {tagAIP, 2}, {tagATC, 2},
}

// ErrICC is wrapped by every problem with field 55's content. Its messages name a tag, never a
// value.
var ErrICC = errors.New("field 55")

// iccObject is one primitive data object of field 55.
type iccObject struct {
	tag   uint32
	value []byte
}

// parseICC decodes field 55 into its data objects (constructed objects are kept whole, not
// descended into). It never reads past its input and returns ErrICC for anything malformed.
func parseICC(field string) ([]iccObject, error) {
	if len(field) == 0 || len(field) > iccCharsMax || len(field)%2 != 0 {
		return nil, fmt.Errorf("%w: %d characters, want an even number up to %d", ErrICC, len(field), iccCharsMax)
	}
	b, err := hex.DecodeString(field)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrICC)
	}
	var objs []iccObject
	for i := 0; i < len(b); {
		if b[i] == 0x00 { // EMV Book 3 B: padding between objects carries no meaning
			i++
			continue
		}
		if len(objs) == iccObjectsMax {
			return nil, fmt.Errorf("%w: more than %d data objects", ErrICC, iccObjectsMax)
		}
		tag, n, err := readTag(b[i:])
		if err != nil {
			return nil, err
		}
		i += n
		l, n, err := readLength(b[i:])
		if err != nil {
			return nil, fmt.Errorf("%w: tag %X: %w", ErrICC, tag, err)
		}
		i += n
		if l > len(b)-i {
			return nil, fmt.Errorf("%w: tag %X: length %d past the end", ErrICC, tag, l)
		}
		objs = append(objs, iccObject{tag: tag, value: b[i : i+l]})
		i += l
	}
	return objs, nil
}

// readTag reads a BER tag: one byte, or more when its low five bits are all set, continuing while
// the high bit of the next byte is set.
func readTag(b []byte) (tag uint32, n int, err error) {
	tag, n = uint32(b[0]), 1
	if b[0]&0x1F != 0x1F {
		return tag, n, nil
	}
	for {
		if n == len(b) {
			return 0, 0, fmt.Errorf("%w: tag cut short", ErrICC)
		}
		if n == iccTagBytesMax {
			return 0, 0, fmt.Errorf("%w: tag longer than %d bytes", ErrICC, iccTagBytesMax)
		}
		tag = tag<<8 | uint32(b[n])
		n++
		if b[n-1]&0x80 == 0 {
			return tag, n, nil
		}
	}
}

// readLength reads a BER definite length: one byte below 0x80, or 0x81/0x82 and one or two
// bytes.
func readLength(b []byte) (l, n int, err error) {
	if len(b) == 0 {
		return 0, 0, errors.New("no length")
	}
	switch {
	case b[0] < 0x80:
		return int(b[0]), 1, nil
	case b[0] == 0x81 && len(b) >= 2:
		return int(b[1]), 2, nil
	case b[0] == 0x82 && len(b) >= 3:
		return int(b[1])<<8 | int(b[2]), 3, nil
	}
	return 0, 0, errors.New("bad length")
}

// arqcRequest builds the HSM request that verifies the ARQC of a request carrying field 55: the
// CDOL1 data in the scheme's order (for Visa CVN 10 followed by the CVR from 9F10), the ATC, the
// unpredictable number and the PAN sequence number (5F34, else field 23, else 00).
func arqcRequest(req *iso8583.Message, emv *EMV) (hsm.ARQCRequest, error) {
	objs, err := parseICC(req.ICC)
	if err != nil {
		return hsm.ARQCRequest{}, err
	}
	get := func(tag uint32) ([]byte, bool, error) {
		var v []byte
		found := false
		for _, o := range objs {
			if o.tag == tag {
				if found {
					return nil, false, fmt.Errorf("%w: tag %X twice", ErrICC, tag)
				}
				v, found = o.value, true
			}
		}
		return v, found, nil
	}
	out := hsm.ARQCRequest{MKAC: emv.MKAC, Scheme: emv.Scheme, PAN: req.PAN}
	data := make([]byte, 0, 33+visaCVRLen)
	for _, d := range cdol1 {
		v, ok, err := get(d.tag)
		if err != nil {
			return hsm.ARQCRequest{}, err
		}
		if !ok || len(v) != d.len {
			return hsm.ARQCRequest{}, fmt.Errorf("%w: tag %X missing or not %d bytes", ErrICC, d.tag, d.len)
		}
		data = append(data, v...)
		switch d.tag {
		case tagATC:
			out.ATC = v
		case tagUN:
			out.UnpredictableNumber = v
		}
	}
	if emv.Scheme == hsm.ARQCVisaCVN10 {
		iad, ok, err := get(tagIAD)
		if err != nil {
			return hsm.ARQCRequest{}, err
		}
		if !ok || len(iad) < visaCVRFromByte+visaCVRLen {
			return hsm.ARQCRequest{}, fmt.Errorf("%w: tag 9F10 missing or too short for a CVR", ErrICC)
		}
		data = append(data, iad[visaCVRFromByte:visaCVRFromByte+visaCVRLen]...)
	}
	out.TransactionData = data
	arqc, ok, err := get(tagARQC)
	if err != nil {
		return hsm.ARQCRequest{}, err
	}
	if !ok || len(arqc) != 8 {
		return hsm.ARQCRequest{}, fmt.Errorf("%w: tag 9F26 missing or not 8 bytes", ErrICC)
	}
	out.ARQC = arqc
	out.PANSequence, err = panSequence(req, get)
	return out, err
}

// panSequence returns the PAN sequence number as two digits: tag 5F34, else field 23's last two
// digits, else 00.
func panSequence(req *iso8583.Message, get func(uint32) ([]byte, bool, error)) (string, error) {
	v, ok, err := get(tagPSN)
	switch {
	case err != nil:
		return "", err
	case ok:
		if len(v) != 1 || v[0]>>4 > 9 || v[0]&0x0F > 9 {
			return "", fmt.Errorf("%w: tag 5F34 is not one BCD byte", ErrICC)
		}
		return string([]byte{'0' + v[0]>>4, '0' + v[0]&0x0F}), nil
	case len(req.CardSequence) == 3 && iso8583.IsDigits(req.CardSequence):
		return req.CardSequence[1:], nil
	}
	return "00", nil
}
