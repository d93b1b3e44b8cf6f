package issuer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/cardswitch/cardswitch/iso8583"
)

// MACFunc returns the MAC (8 bytes) of data, the packed request up to its MAC field: the
// switch's HSM with the issuer's ZAK (Config.MAC).
type MACFunc func(ctx context.Context, data []byte) ([]byte, error)

// ErrMAC is wrapped when a request could not be MACed; nothing was sent.
var ErrMAC = errors.New("outbound MAC")

// macSize is the MAC's length in bytes; fields 64 and 128 carry it as 16 hex characters.
const macSize = 8

// bitmapAt is the shortest a message is before its first field: a 4-digit MTI (any MAC input is
// longer).
const bitmapAt = 4

// packMACed packs m with its MAC in the last field: field 64, or 128 when m has a field above 64
// (and so a secondary bitmap). It packs once with an all-zero MAC, MACs the bytes before the MAC
// field and writes the MAC over the zeros, as the link's spec carries it (16 hex characters, or 8
// bytes).
func (i *Issuer) packMACed(ctx context.Context, m *iso8583.Message) ([]byte, error) {
	out := *m
	secondary := hasFieldAbove64(&out)
	out.MAC, out.MAC2 = nil, nil
	field := 64
	if secondary {
		out.MAC2, field = make([]byte, macSize), 128
	} else {
		out.MAC = make([]byte, macSize)
	}
	packed, err := out.Pack(i.cfg.Spec)
	if err != nil {
		return nil, err
	}
	in, ok := i.cfg.Spec.MACInput(packed, field)
	region := packed[len(in):]
	if !ok || len(in) <= bitmapAt || !zeroMAC(region) {
		return nil, fmt.Errorf("%w: the spec does not put field %d last with a fixed length", ErrMAC, field)
	}
	mac, err := i.cfg.MAC(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMAC, err)
	}
	if len(mac) != macSize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMAC, len(mac), macSize)
	}
	if len(region) == macSize {
		copy(region, mac)
		return packed, nil
	}
	hex.Encode(region, mac)
	upper(region)
	return packed, nil
}

// zeroMAC reports whether b is an all-zero MAC as a spec carries it: 16 '0' characters, or 8 zero
// bytes.
func zeroMAC(b []byte) bool {
	switch len(b) {
	case 2 * macSize:
		return allZeroDigits(b)
	case macSize:
		return string(b) == string(make([]byte, macSize))
	}
	return false
}

// hasFieldAbove64 reports whether m carries a field numbered 66 to 127 (65 is the tertiary
// bitmap's bit, 128 the MAC itself).
func hasFieldAbove64(m *iso8583.Message) bool {
	for id := 66; id < 128; id++ {
		if m.Has(id) {
			return true
		}
	}
	return false
}

func allZeroDigits(b []byte) bool {
	for _, c := range b {
		if c != '0' {
			return false
		}
	}
	return true
}

// upper turns lower-case hex letters upper-case (fields 52, 64 and 128 are upper-case on the wire).
func upper(b []byte) {
	for k, c := range b {
		if c >= 'a' && c <= 'f' {
			b[k] = c - 'a' + 'A'
		}
	}
}
