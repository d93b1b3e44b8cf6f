package load

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Requests are pre-encoded: each message shape is packed once by the iso8583 codec with
// placeholder values, and every request is that packing with its own values written over the
// placeholders. This is only done for fields whose width never changes (fixed fields, and the
// PAN, whose length is the same for every test card), so the bitmap and length prefixes the codec
// wrote stay right. Where the placeholders sit is learnt from the codec itself (pack twice with
// different placeholder values and compare), and each template is checked once by unpacking a
// patched message and comparing it field by field; so the wire format has one definition, the
// codec's.

// patch names a field the generator writes into a pre-encoded message.
type patch uint8

const (
	pPAN    patch = iota // 2
	pPC                  // 3
	pAmount              // 4
	pF7                  // 7, transmission date and time (UTC)
	pSTAN                // 11
	pF12                 // 12, local time
	pF13                 // 13, local date
	pExpiry              // 14
	pRRN                 // 37, the original's RRN (completions and reversals)
	pRef                 // 48, the payment reference
	pOrig                // 90, original data elements
	pPIN                 // 52, the PIN block as 16 hex characters (keys.go)
	patchCount
)

var patchWidth = [patchCount]int{pPAN: -1, pPC: 6, pAmount: 12, pF7: 10, pSTAN: 6, pF12: 6, pF13: 4, pExpiry: 4,
	pRRN: 12, pRef: refLen, pOrig: 42, pPIN: pinBlockChars}

// set stores v as the value of p in m.
func (p patch) set(m *iso8583.Message, v string) {
	switch p {
	case pPAN:
		m.PAN = v
	case pPC:
		m.ProcessingCode = v
	case pAmount:
		m.Amount = v
	case pF7:
		m.TransmissionDateTime = v
	case pSTAN:
		m.STAN = v
	case pF12:
		m.LocalTime = v
	case pF13:
		m.LocalDate = v
	case pExpiry:
		m.Expiry = v
	case pRRN:
		m.RRN = v
	case pRef:
		m.AdditionalData = v
	case pOrig:
		m.OriginalData = v
	case pPIN:
		m.PINBlock, _ = hex.DecodeString(v) // placeholders are hex digits
	}
}

// refLen is the length of the payment reference in field 48: the terminal ID and the STAN.
const refLen = terminalIDLen + 6

// terminalIDLen is the width of field 41 (ans8).
const terminalIDLen = 8

// mtiLen is the MTI's width: 4 ASCII digits at the start of every message (CONTRACT §2).
const mtiLen = 4

// shape is a message layout: which fields a request carries.
type shape uint8

const (
	shapeFinancial    shape = iota // 0100 / 0200: 2 3 4 7 11 12 13 14 22 41 42 48 49
	shapeAdvice                    // 0220 / 0400 of a known original: 2 3 4 7 11 12 13 22 37 41 42 49 90
	shapeAdviceNoRRN               // 0400 of a request that was never answered: as above without 37
	shapeFinancialPIN              // 0100 / 0200 with a PIN block: as shapeFinancial and 52
	shapeCount
)

var shapePatches = [shapeCount][]patch{
	shapeFinancial:    {pPAN, pPC, pAmount, pF7, pSTAN, pF12, pF13, pExpiry, pRef},
	shapeAdvice:       {pPAN, pPC, pAmount, pF7, pSTAN, pF12, pF13, pRRN, pOrig},
	shapeAdviceNoRRN:  {pPAN, pPC, pAmount, pF7, pSTAN, pF12, pF13, pOrig},
	shapeFinancialPIN: {pPAN, pPC, pAmount, pF7, pSTAN, pF12, pF13, pExpiry, pRef, pPIN},
}

// posEntryMode is field 22: PAN entered by an e-commerce gateway (81), no PIN entry capability (0).
const posEntryMode = "810"

// template is one shape packed for one terminal and merchant, with where each patch goes. In a
// spec whose fields do not sit at fixed places as characters (BCD numerics, binary lengths), the
// template is packed: every request is packed by the codec instead.
type template struct {
	header []byte // the message header, before body
	body   []byte // the header and the message
	packed *packedShape
	off    [patchCount]int // offset in body; -1 when the shape does not carry the field
	wid    [patchCount]int
	// macAt is the offset of the MAC field (the last, 16 hex characters, zero until a request's
	// MAC is written over it); -1 when requests carry no MAC.
	macAt int
}

// packedShape is what a packed template builds each request from.
type packedShape struct {
	spec                         *iso8583.Spec
	sh                           shape
	terminal, merchant, currency string
}

// newTemplate packs sh for terminal and merchant with placeholder values and finds where each
// patched field sits; with mac, the message ends with an all-zero MAC field. A spec where the
// patches have no fixed place gets a packed template (not with a MAC).
func newTemplate(spec *iso8583.Spec, h iso8583.Header, sh shape, terminal, merchant, currency string, panLength int, mac bool) (*template, error) {
	t, err := newPatchedTemplate(spec, sh, terminal, merchant, currency, panLength, mac)
	if err != nil && !mac {
		if _, perr := shapeBase(sh, terminal, merchant, currency).Pack(spec); perr != nil {
			return nil, fmt.Errorf("template: %w", perr)
		}
		t = &template{macAt: -1, packed: &packedShape{spec: spec, sh: sh, terminal: terminal, merchant: merchant, currency: currency}}
		err = nil
	}
	if err != nil {
		return nil, err
	}
	t.header = h.Request()
	t.body = append(append([]byte(nil), t.header...), t.body...)
	return t, nil
}

func newPatchedTemplate(spec *iso8583.Spec, sh shape, terminal, merchant, currency string, panLength int, mac bool) (*template, error) {
	t := &template{macAt: -1}
	for i := range t.off {
		t.off[i] = -1
	}
	widths := patchWidth
	widths[pPAN] = panLength
	base := shapeBase(sh, terminal, merchant, currency)
	for _, p := range shapePatches[sh] {
		p.set(base, strings.Repeat("0", widths[p]))
	}
	if mac {
		withMACPlaceholder(base)
	}
	body, err := base.Pack(spec)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	for _, p := range shapePatches[sh] {
		variant := *base
		p.set(&variant, strings.Repeat("1", widths[p]))
		other, err := variant.Pack(spec)
		if err != nil {
			return nil, fmt.Errorf("template: %w", err)
		}
		off, n := diffRange(body, other)
		if len(other) != len(body) || n != widths[p] {
			return nil, fmt.Errorf("template: field of patch %d does not have a fixed place on the wire", p)
		}
		t.off[p], t.wid[p] = off, n
	}
	if len(body) < mtiLen || !bytes.Equal(body[:mtiLen], []byte(base.MTI)) {
		return nil, fmt.Errorf("template: the message does not start with its MTI")
	}
	if mac {
		t.macAt = len(body) - 2*8
		if t.macAt < mtiLen || !bytes.Equal(body[t.macAt:], []byte(strings.Repeat("0", 2*8))) {
			return nil, fmt.Errorf("template: the MAC is not the message's last field")
		}
	}
	t.body = body
	return t, nil
}

// shapeBase is the typed message of a shape with every constant field set.
func shapeBase(sh shape, terminal, merchant, currency string) *iso8583.Message {
	m := &iso8583.Message{
		MTI:          iso8583.MTIFinancial,
		POSEntryMode: posEntryMode,
		TerminalID:   terminal,
		MerchantID:   merchant,
		Currency:     currency,
	}
	switch sh {
	case shapeAdvice, shapeAdviceNoRRN:
		m.MTI = iso8583.MTIReversal
	case shapeFinancialPIN:
		m.POSEntryMode = posEntryModePIN
	}
	return m
}

// diffRange returns the offset and length of the span where a and b differ.
func diffRange(a, b []byte) (off, n int) {
	n0 := min(len(a), len(b))
	i := 0
	for i < n0 && a[i] == b[i] {
		i++
	}
	if i == n0 {
		return i, 0
	}
	j := n0 - 1
	for j > i && a[j] == b[j] {
		j--
	}
	return i, j - i + 1
}

// fields holds the per-request values written into a template.
type fields struct {
	mti    string
	pan    string
	pc     string
	amount int64
	f7     *[10]byte
	stan   uint32
	f12    *[6]byte
	f13    *[4]byte
	expiry *[4]byte
	rrn    string // 12 characters when the shape carries 37
	ref    *[refLen]byte
	orig   *[42]byte
	pin    *[pinBlockChars]byte // the PIN block as hex, when the shape carries 52
}

// appendTo appends the framed request to dst.
func (t *template) appendTo(dst []byte, f iso8583.Framing, v *fields) ([]byte, error) {
	start := len(dst)
	if p := t.packed; p != nil {
		b, err := messageOf(p.sh, p.terminal, p.merchant, p.currency, v, t).Pack(p.spec)
		if err != nil {
			return dst, err
		}
		return iso8583.AppendFrame(dst, f, append(append([]byte(nil), t.header...), b...))
	}
	dst, err := iso8583.AppendFrame(dst, f, t.body)
	if err != nil {
		return dst[:start], err
	}
	b := dst[start+f.HeaderLen()+len(t.header):]
	copy(b[:mtiLen], v.mti)
	t.put(b, pPAN, v.pan)
	t.put(b, pPC, v.pc)
	if o := t.off[pAmount]; o >= 0 {
		putDigits(b[o:o+t.wid[pAmount]], uint64(v.amount))
	}
	t.putBytes(b, pF7, v.f7[:])
	if o := t.off[pSTAN]; o >= 0 {
		putDigits(b[o:o+6], uint64(v.stan))
	}
	t.putBytes(b, pF12, v.f12[:])
	t.putBytes(b, pF13, v.f13[:])
	if v.expiry != nil {
		t.putBytes(b, pExpiry, v.expiry[:])
	}
	t.put(b, pRRN, v.rrn)
	if v.ref != nil {
		t.putBytes(b, pRef, v.ref[:])
	}
	if v.orig != nil {
		t.putBytes(b, pOrig, v.orig[:])
	}
	if v.pin != nil {
		t.putBytes(b, pPIN, v.pin[:])
	}
	return dst, nil
}

func (t *template) put(b []byte, p patch, v string) {
	if o := t.off[p]; o >= 0 {
		copy(b[o:o+t.wid[p]], v)
	}
}

func (t *template) putBytes(b []byte, p patch, v []byte) {
	if o := t.off[p]; o >= 0 {
		copy(b[o:o+t.wid[p]], v)
	}
}

// selfCheck patches sample values into the template and checks that the codec reads back exactly
// those values (and the constant ones), so that a spec where patching would be wrong is caught
// before the first request.
func (t *template) selfCheck(spec *iso8583.Spec, sh shape, terminal, merchant, currency string, v *fields) error {
	frame, err := t.appendTo(nil, iso8583.Binary2{}, v)
	if err != nil {
		return err
	}
	got, err := iso8583.Unpack(spec, frame[2+len(t.header):])
	if err != nil {
		return fmt.Errorf("template self-check: %w", err)
	}
	want := messageOf(sh, terminal, merchant, currency, v, t)
	if id := firstDifference(got, want); id >= 0 {
		return fmt.Errorf("template self-check: field %d of a patched message does not read back as written", id)
	}
	return nil
}

// messageOf is the typed request of shape sh with the values v, the fields t carries.
func messageOf(sh shape, terminal, merchant, currency string, v *fields, t *template) *iso8583.Message {
	m := shapeBase(sh, terminal, merchant, currency)
	m.MTI, m.PAN, m.ProcessingCode = v.mti, v.pan, v.pc
	m.Amount = iso8583.FormatAmount(v.amount)
	m.TransmissionDateTime, m.STAN = string(v.f7[:]), stanString(v.stan)
	m.LocalTime, m.LocalDate = string(v.f12[:]), string(v.f13[:])
	carries := func(p patch) bool {
		if t.packed != nil {
			return slices.Contains(shapePatches[sh], p)
		}
		return t.off[p] >= 0
	}
	if carries(pExpiry) && v.expiry != nil {
		m.Expiry = string(v.expiry[:])
	}
	if carries(pRRN) {
		m.RRN = v.rrn
	}
	if carries(pRef) && v.ref != nil {
		m.AdditionalData = string(v.ref[:])
	}
	if carries(pOrig) && v.orig != nil {
		m.OriginalData = string(v.orig[:])
	}
	if carries(pPIN) && v.pin != nil {
		m.PINBlock, _ = hex.DecodeString(string(v.pin[:]))
	}
	if t.macAt >= 0 {
		withMACPlaceholder(m)
	}
	return m
}

// firstDifference returns the number of the first field (0: the MTI) where a and b differ, or -1.
// It names the field and never shows a value, which may be a PAN.
func firstDifference(a, b *iso8583.Message) int {
	if a.MTI != b.MTI {
		return 0
	}
	for id := 2; id <= 128; id++ {
		if a.Has(id) != b.Has(id) {
			return id
		}
	}
	pairs := []struct {
		id   int
		x, y string
	}{
		{2, a.PAN, b.PAN}, {3, a.ProcessingCode, b.ProcessingCode}, {4, a.Amount, b.Amount},
		{7, a.TransmissionDateTime, b.TransmissionDateTime}, {11, a.STAN, b.STAN}, {12, a.LocalTime, b.LocalTime},
		{13, a.LocalDate, b.LocalDate}, {14, a.Expiry, b.Expiry}, {22, a.POSEntryMode, b.POSEntryMode},
		{37, a.RRN, b.RRN}, {41, a.TerminalID, b.TerminalID}, {42, a.MerchantID, b.MerchantID},
		{48, a.AdditionalData, b.AdditionalData}, {49, a.Currency, b.Currency}, {52, string(a.PINBlock), string(b.PINBlock)},
		{90, a.OriginalData, b.OriginalData}, {64, string(a.MAC), string(b.MAC)}, {128, string(a.MAC2), string(b.MAC2)},
	}
	for _, p := range pairs {
		if p.x != p.y {
			return p.id
		}
	}
	return -1
}

// stanString renders a STAN as field 11.
func stanString(s uint32) string {
	var b [6]byte
	putDigits(b[:], uint64(s))
	return string(b[:])
}
