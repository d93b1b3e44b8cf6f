package load

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/iso8583"
)

// DefaultPIN is the PIN every simulated cardholder enters: the one `cardswitch issuer-sim --zpk`
// expects by default.
const DefaultPIN = "1234"

// Keys are the terminals' keys, for load with PIN blocks and MACs. The generator is a test tool:
// it holds test keys (cryptograms under the LMK of HSM) and asks the software HSM to encrypt and
// MAC as a PIN pad and a terminal would. Every terminal of the run uses the same keys, so the
// switch must configure each terminal ID with them.
type Keys struct {
	HSM *hsm.Soft // holds the LMK the keys are under
	// TPK is the terminal PIN key: a PIN block is ISO format 0 of PIN with the card's PAN under it.
	TPK hsm.Key
	PIN string // the cardholder's PIN, 4 to 12 digits (default 1234)
	// PINShare is the percentage (0..100) of purchases and pre-authorizations sent with a PIN block
	// (field 52, field 22 saying the terminal takes PINs).
	PINShare int
	// TAK, when set, makes every request carry the terminal's MAC (ISO 9797-1 algorithm 3) in field
	// 64, or 128 when it has a secondary bitmap.
	TAK hsm.Key
}

func (k *Keys) withDefaults() {
	if k.PIN == "" {
		k.PIN = DefaultPIN
	}
	k.TPK.Type, k.TAK.Type = hsm.KeyTypeTPK, hsm.KeyTypeTAK
}

// validate checks the keys with the HSM (parity under the LMK and check value) and the share.
func (k *Keys) validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: Keys.%s %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case k.HSM == nil:
		return bad("HSM", "is required")
	case k.PINShare < 0 || k.PINShare > 100:
		return bad("PINShare", "%d must be 0..100", k.PINShare)
	case k.PINShare > 0 && k.TPK.Cryptogram == "":
		return bad("TPK", "is required for a PIN share")
	case len(k.PIN) < 4 || len(k.PIN) > 12 || !iso8583.IsDigits(k.PIN):
		return bad("PIN", "must be 4 to 12 digits")
	}
	for _, key := range []struct {
		name string
		key  hsm.Key
	}{{"TPK", k.TPK}, {"TAK", k.TAK}} {
		if key.key.Cryptogram == "" {
			continue
		}
		if err := k.HSM.CheckKey(context.Background(), key.key); err != nil {
			return bad(key.name, "%v", err)
		}
	}
	return nil
}

// posEntryModePIN is field 22 of a PIN transaction: PAN key-entered (01) at a terminal that
// takes PINs (1).
const posEntryModePIN = "011"

// pinBlockChars is field 52 on the wire: 8 bytes as 16 hex characters.
const pinBlockChars = 16

// preparePINs computes every card's PIN block once: ISO format 0 has no random fill, so a card's
// block under the TPK never changes, and the run does not spend the generator's CPU on it.
func (g *generator) preparePINs() error {
	k := g.cfg.Keys
	if k == nil || k.PINShare == 0 {
		return nil
	}
	for i := range g.cards {
		b, err := k.HSM.EncryptPIN(context.Background(), k.TPK, hsm.PINFormatISO0, k.PIN, g.cards[i].pan)
		if err != nil {
			return fmt.Errorf("%w: PIN block: %w", ErrConfig, err)
		}
		hex.Encode(g.cards[i].pinBlock[:], b)
		upperHex(g.cards[i].pinBlock[:])
	}
	return nil
}

// wantsPIN draws whether a purchase or pre-authorization carries a PIN block. It draws from the
// rng only when PINs are on, so that a run without them is the same as before they existed.
func (c *conn) wantsPIN() bool {
	k := c.g.cfg.Keys
	return k != nil && k.PINShare > 0 && c.rng.IntN(100) < k.PINShare
}

// macs reports whether requests carry a MAC.
func (g *generator) macs() bool { return g.cfg.Keys != nil && g.cfg.Keys.TAK.Cryptogram != "" }

// withMACPlaceholder gives m an all-zero MAC in its last field: 128 when m has a field above 64
// (field 90 here), 64 otherwise. Templates are packed with it; each request's MAC replaces it.
func withMACPlaceholder(m *iso8583.Message) {
	if m.OriginalData != "" || m.NetworkCode != "" || m.ReplacementAmounts != "" {
		m.MAC2 = make([]byte, 8)
		return
	}
	m.MAC = make([]byte, 8)
}

// macSpan is one framed request in the write buffer that needs its MAC: the message starts at
// from, its MAC field at at.
type macSpan struct{ from, at int }

// macFrames writes each pending request's MAC over its placeholder (outside the connection's
// lock: the reader goes on matching answers meanwhile).
func (c *conn) macFrames() error {
	k := c.g.cfg.Keys
	for _, sp := range c.macs {
		mac, err := k.HSM.GenerateMAC(context.Background(), k.TAK, hsm.MACRetail, c.out[sp.from:sp.at])
		if err != nil {
			return fmt.Errorf("MAC: %w", err)
		}
		hex.Encode(c.out[sp.at:sp.at+2*len(mac)], mac)
		upperHex(c.out[sp.at : sp.at+2*len(mac)])
	}
	c.macs = c.macs[:0]
	return nil
}

// upperHex turns lower-case hex letters upper-case (52, 64 and 128 are upper-case on the wire).
func upperHex(b []byte) {
	for i, ch := range b {
		if ch >= 'a' && ch <= 'f' {
			b[i] = ch - 'a' + 'A'
		}
	}
}
