package iso8583

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	moov "github.com/moov-io/iso8583"
	moverr "github.com/moov-io/iso8583/errors"
	"github.com/moov-io/iso8583/field"
)

// Message is one ISO 8583 message as typed fields. Strings hold the field's characters as on the
// wire (fixed numeric fields at full width, zero-padded); an empty string or nil slice means the
// field is absent. Fields 52, 64 and 128 are binary (8 bytes) and travel as 16 hex characters.
type Message struct {
	MTI                  string
	PAN                  string // 2, n..19
	ProcessingCode       string // 3, n6
	Amount               string // 4, n12, minor units of Currency
	TransmissionDateTime string // 7, MMDDhhmmss (UTC)
	STAN                 string // 11, n6
	LocalTime            string // 12, hhmmss
	LocalDate            string // 13, MMDD
	Expiry               string // 14, YYMM
	MCC                  string // 18, n4
	POSEntryMode         string // 22, n3
	CardSequence         string // 23, n3
	POSCondition         string // 25, n2
	AcquirerID           string // 32, n..11
	ForwardingID         string // 33, n..11
	Track2               string // 35, z..37
	RRN                  string // 37, an12
	ApprovalCode         string // 38, an6
	ResponseCode         string // 39, an2
	TerminalID           string // 41, ans8
	MerchantID           string // 42, ans15
	CardAcceptorName     string // 43, ans40
	AdditionalResponse   string // 44, ans..25
	Track1               string // 45, ans..76
	AdditionalData       string // 48, ans...999: payment reference (bill or order number)
	Currency             string // 49, n3 ISO 4217 numeric
	PINBlock             []byte // 52, b8
	SecurityControl      string // 53, n16
	AdditionalAmounts    string // 54, an...120
	ICC                  string // 55, EMV data
	Private60            string // 60
	Private61            string // 61
	Private62            string // 62: the DUKPT KSN as 20 hex characters when a PIN is under DUKPT
	Private63            string // 63
	MAC                  []byte // 64, b8
	NetworkCode          string // 70, n3: 001 sign-on, 002 sign-off, 301 echo
	OriginalData         string // 90, n42: original MTI, STAN, transmission date-time, acquirer, forwarder
	ReplacementAmounts   string // 95, an42
	MAC2                 []byte // 128, b8
	Other                []Field
	// MACInput is what the acceptor received before the MAC field (64 or 128), in the listener's
	// own dialect: the bytes a terminal's MAC covers. Nil when the message carries no MAC, or was
	// not received (a message built in code is MACed as the acquirer spec packs it). Never packed.
	MACInput []byte
}

// Field is a field the typed message has no name for, kept so that it can be forwarded.
type Field struct {
	ID    int
	Value string
}

// FieldError is a problem with one field. Its message names the field and never its content, so it
// is safe to log even when the field holds card data.
type FieldError struct {
	Field  int // 0 is the MTI, 1 the bitmap
	Reason string
	Err    error
}

func (e *FieldError) Error() string {
	switch e.Field {
	case 0:
		return "MTI: " + e.Reason
	case 1:
		return "bitmap: " + e.Reason
	case -1:
		return "message: " + e.Reason
	}
	return "field " + strconv.Itoa(e.Field) + ": " + e.Reason
}

func (e *FieldError) Unwrap() error { return e.Err }

// ErrUnpack is the error every unpack failure wraps.
var ErrUnpack = errors.New("unpack")

// ErrPack is the error every pack failure wraps.
var ErrPack = errors.New("pack")

// stringField maps a field number to the typed message's string field, for the fields that are
// strings. Binary fields (52, 64, 128) are handled apart.
func (m *Message) stringField(id int) *string {
	switch id {
	case 2:
		return &m.PAN
	case 3:
		return &m.ProcessingCode
	case 4:
		return &m.Amount
	case 7:
		return &m.TransmissionDateTime
	case 11:
		return &m.STAN
	case 12:
		return &m.LocalTime
	case 13:
		return &m.LocalDate
	case 14:
		return &m.Expiry
	case 18:
		return &m.MCC
	case 22:
		return &m.POSEntryMode
	case 23:
		return &m.CardSequence
	case 25:
		return &m.POSCondition
	case 32:
		return &m.AcquirerID
	case 33:
		return &m.ForwardingID
	case 35:
		return &m.Track2
	case 37:
		return &m.RRN
	case 38:
		return &m.ApprovalCode
	case 39:
		return &m.ResponseCode
	case 41:
		return &m.TerminalID
	case 42:
		return &m.MerchantID
	case 43:
		return &m.CardAcceptorName
	case 44:
		return &m.AdditionalResponse
	case 45:
		return &m.Track1
	case 48:
		return &m.AdditionalData
	case 49:
		return &m.Currency
	case 53:
		return &m.SecurityControl
	case 54:
		return &m.AdditionalAmounts
	case 55:
		return &m.ICC
	case 60:
		return &m.Private60
	case 61:
		return &m.Private61
	case 62:
		return &m.Private62
	case 63:
		return &m.Private63
	case 70:
		return &m.NetworkCode
	case 90:
		return &m.OriginalData
	case 95:
		return &m.ReplacementAmounts
	}
	return nil
}

func (m *Message) binaryField(id int) *[]byte {
	switch id {
	case 52:
		return &m.PINBlock
	case 64:
		return &m.MAC
	case 128:
		return &m.MAC2
	}
	return nil
}

// namedFields lists, in order, every field number the typed message names.
var namedFields = [...]int{2, 3, 4, 7, 11, 12, 13, 14, 18, 22, 23, 25, 32, 33, 35, 37, 38, 39, 41, 42, 43, 44,
	45, 48, 49, 52, 53, 54, 55, 60, 61, 62, 63, 64, 70, 90, 95, 128}

// Has reports whether field id is present.
func (m *Message) Has(id int) bool {
	if p := m.stringField(id); p != nil {
		return *p != ""
	}
	if p := m.binaryField(id); p != nil {
		return *p != nil
	}
	for _, f := range m.Other {
		if f.ID == id {
			return true
		}
	}
	return false
}

// Unpack decodes one message (without its length header) with spec. The result holds copies of
// the data: b may be reused afterwards.
func Unpack(spec *Spec, b []byte) (*Message, error) {
	if spec.compiled {
		return unpackCompiled(spec, b)
	}
	m, _, err := UnpackMoov(spec, b)
	return m, err
}

// UnpackMoov is Unpack through moov-io/iso8583 alone, which also returns the moov-io message it
// decoded (the reference the compiled codec is tested against, and the codec of specs it cannot
// compile). Neither result aliases b.
func UnpackMoov(spec *Spec, b []byte) (*Message, *moov.Message, error) {
	mm := moov.NewMessage(spec.moov)
	if err := mm.Unpack(b); err != nil {
		if mtiErr := moovMTI(spec, b); mtiErr != nil {
			return nil, nil, mtiErr
		}
		return nil, nil, unpackError(err)
	}
	if err := moovMTI(spec, b); err != nil {
		return nil, nil, err
	}
	m, err := fromMoov(spec, mm)
	if err != nil {
		return nil, nil, err
	}
	if size := moovSize(spec, mm, b); size != len(b) {
		return nil, nil, &FieldError{Field: -1, Reason: fmt.Sprintf("%d bytes after the last field", len(b)-size), Err: ErrUnpack}
	}
	return m, mm, nil
}

// moovMTI checks, as moov-io reads it, that b starts with a 4-digit MTI.
func moovMTI(spec *Spec, b []byte) error {
	f := field.NewInstanceOf(spec.moov.Fields[0])
	if _, err := f.Unpack(b); err != nil {
		return &FieldError{Field: 0, Reason: "message shorter than an MTI", Err: ErrUnpack}
	}
	v, err := f.Bytes()
	if err != nil || len(v) != 4 || !isDigits(v) {
		return &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrUnpack}
	}
	return nil
}

// moovSize is the number of bytes moov-io read for mm from b (moov-io ignores what follows): it
// walks the fields again with moov-io's own field definitions.
func moovSize(spec *Spec, mm *moov.Message, b []byte) int {
	pos := 0
	for _, id := range []int{0, 1} {
		n, err := field.NewInstanceOf(spec.moov.Fields[id]).Unpack(b[pos:])
		if err != nil {
			return -1
		}
		pos += n
	}
	bm := mm.Bitmap()
	for id := 2; id <= bm.Len(); id++ {
		if bm.IsBitmapPresenceBit(id) || !bm.IsSet(id) {
			continue
		}
		n, err := field.NewInstanceOf(spec.moov.Fields[id]).Unpack(b[pos:])
		if err != nil {
			return -1
		}
		pos += n
	}
	return pos
}

// UnpackPartial is Unpack that, on failure, also returns what it could read before the bad field
// (at least the MTI when it is 4 digits), so that an error response can echo the STAN and terminal.
// The partial message is nil when not even the MTI was readable.
func UnpackPartial(spec *Spec, b []byte) (*Message, error) {
	if spec.compiled {
		m := &Message{}
		if err := decodeInto(spec, b, m); err != nil {
			if m.MTI == "" {
				return nil, err
			}
			return m, err
		}
		return m, nil
	}
	m, err := Unpack(spec, b)
	if err == nil {
		return m, nil
	}
	if moovMTI(spec, b) != nil {
		return nil, err
	}
	mm := moov.NewMessage(spec.moov)
	_ = mm.Unpack(b) // moov-io keeps the fields it read before the failure
	mti, _ := mm.GetMTI()
	partial := &Message{MTI: mti}
	for id, f := range mm.GetFields() {
		if id < 2 || id > maxField || spec.bitmap.presence(id) {
			continue
		}
		_ = partial.setFromMoov(spec, id, f)
	}
	return partial, err
}

// FromMoov converts a message that moov-io unpacked with spec (as iso8583-connection hands them
// over) into a typed message.
func FromMoov(spec *Spec, mm *moov.Message) (*Message, error) {
	if _, err := mm.GetMTI(); err != nil {
		return nil, &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrUnpack}
	}
	return fromMoov(spec, mm)
}

func fromMoov(spec *Spec, mm *moov.Message) (*Message, error) {
	mti, err := mm.GetMTI()
	if err != nil || len(mti) != 4 || !IsDigits(mti) {
		return nil, &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrUnpack}
	}
	bm := mm.Bitmap()
	if bm.Len() > maxField {
		return nil, &FieldError{Field: 1, Reason: "a tertiary bitmap is not supported", Err: ErrUnpack}
	}
	m := &Message{MTI: mti}
	for id := 2; id <= bm.Len(); id++ {
		if bm.IsBitmapPresenceBit(id) || !bm.IsSet(id) {
			continue
		}
		f := mm.GetField(id)
		if f == nil {
			return nil, &FieldError{Field: id, Reason: "not defined in the spec", Err: ErrUnpack}
		}
		if err := m.setFromMoov(spec, id, f); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// setFromMoov stores moov-io's value of field id: the content bytes for a typed binary field,
// upper-case hex for a binary field, the characters otherwise (a fixed field at its full width).
func (m *Message) setFromMoov(spec *Spec, id int, f field.Field) error {
	raw, err := f.Bytes()
	if err != nil {
		return &FieldError{Field: id, Reason: "unreadable", Err: ErrUnpack}
	}
	if p := m.binaryField(id); p != nil {
		*p = append([]byte{}, raw...)
		return nil
	}
	w := &spec.wire[id]
	if w.binary {
		m.setString(id, string(appendUpperHex(nil, raw)))
		return nil
	}
	v := []byte(string(raw))
	if !w.fallback && !w.variable() {
		v = w.restorePadding(v, 0)
	}
	m.setString(id, string(v))
	return nil
}

func unpackError(err error) error {
	id := -1
	var ue *moverr.UnpackError
	if errors.As(err, &ue) {
		if n, convErr := strconv.Atoi(ue.FieldID); convErr == nil {
			id = n
		}
	}
	return &FieldError{Field: id, Reason: "malformed or truncated", Err: ErrUnpack}
}

// packFieldID digs the field number out of moov-io's pack error text ("failed to pack field N ...").
func packFieldID(err error) int {
	const marker = "pack field "
	msg := err.Error()
	i := strings.Index(msg, marker)
	if i < 0 {
		return -1
	}
	j := i + len(marker)
	k := j
	for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
		k++
	}
	n, convErr := strconv.Atoi(msg[j:k])
	if convErr != nil {
		return -1
	}
	return n
}

// Pack encodes the message with spec (without a length header).
func (m *Message) Pack(spec *Spec) ([]byte, error) {
	if spec.compiled {
		return packCompiled(spec, m)
	}
	return m.packMoov(spec)
}

// packMoov encodes the message through moov-io/iso8583 (the reference the compiled codec is
// tested against, and the codec of specs it cannot compile).
func (m *Message) packMoov(spec *Spec) ([]byte, error) {
	mm, err := m.Moov(spec)
	if err != nil {
		return nil, err
	}
	b, err := mm.Pack()
	if err != nil {
		return nil, &FieldError{Field: packFieldID(err), Reason: "does not fit the spec", Err: ErrPack}
	}
	return b, nil
}

// Moov builds the moov-io message for spec (as iso8583-connection sends them).
func (m *Message) Moov(spec *Spec) (*moov.Message, error) {
	if len(m.MTI) != 4 || !IsDigits(m.MTI) {
		return nil, &FieldError{Field: 0, Reason: "not 4 digits", Err: ErrPack}
	}
	mm := moov.NewMessage(spec.moov)
	mm.MTI(m.MTI)
	for _, id := range namedFields {
		if p := m.stringField(id); p != nil {
			if *p == "" {
				continue
			}
			if err := setMoov(spec, mm, id, *p, nil, false); err != nil {
				return nil, err
			}
			continue
		}
		if p := m.binaryField(id); p != nil && *p != nil {
			if err := setMoov(spec, mm, id, "", *p, true); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range m.Other {
		if err := setMoov(spec, mm, f.ID, f.Value, nil, false); err != nil {
			return nil, err
		}
	}
	return mm, nil
}

// setMoov sets field id of mm from its typed value: bin (a typed binary field) or str.
func setMoov(spec *Spec, mm *moov.Message, id int, str string, bin []byte, isBin bool) error {
	if id < 2 || id > maxField || !spec.wire[id].defined || spec.bitmap.presence(id) ||
		(spec.bitmap.noExpand && id > spec.bitmap.unitBits()) {
		return &FieldError{Field: id, Reason: "not defined in the spec", Err: ErrPack}
	}
	raw := bin
	if !isBin {
		raw = []byte(str)
		if spec.wire[id].binary {
			var err error
			if raw, err = hex.DecodeString(str); err != nil {
				return &FieldError{Field: id, Reason: "not hex", Err: ErrPack}
			}
		}
	}
	if err := mm.BinaryField(id, raw); err != nil {
		return &FieldError{Field: id, Reason: "does not fit the spec", Err: ErrPack}
	}
	return nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// IsDigits reports whether s is non-empty and all ASCII digits.
func IsDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func zeroPad(v string, n int) string {
	if len(v) >= n {
		return v
	}
	b := make([]byte, n)
	pad := n - len(v)
	for i := range pad {
		b[i] = '0'
	}
	copy(b[pad:], v)
	return string(b)
}

// AmountMaxDigits is the width of field 4.
const AmountMaxDigits = 12

// ParseAmount parses an amount field (4, or an amount of 95) in minor units. It fails on an empty,
// non-numeric or over-long value; zero is returned as 0 for the caller to judge.
func ParseAmount(s string) (int64, error) {
	if !IsDigits(s) || len(s) > AmountMaxDigits {
		return 0, errors.New("amount not numeric")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		n = n*10 + int64(s[i]-'0')
	}
	return n, nil
}

// FormatAmount renders minor units as the 12-digit field 4.
func FormatAmount(n int64) string {
	return zeroPad(strconv.FormatInt(n, 10), AmountMaxDigits)
}

// OriginalData is field 90 (n42): the original message's MTI, STAN, transmission date-time,
// acquiring and forwarding institution IDs.
type OriginalData struct {
	MTI                  string
	STAN                 string
	TransmissionDateTime string
	AcquirerID           string // 11 digits, zero-padded
	ForwarderID          string // 11 digits, zero-padded
}

// ParseOriginalData decodes field 90.
func ParseOriginalData(s string) (OriginalData, error) {
	if len(s) != 42 || !IsDigits(s) {
		return OriginalData{}, &FieldError{Field: 90, Reason: "must be 42 digits"}
	}
	return OriginalData{MTI: s[0:4], STAN: s[4:10], TransmissionDateTime: s[10:20], AcquirerID: s[20:31], ForwarderID: s[31:42]}, nil
}

// String encodes field 90.
func (o OriginalData) String() string {
	return o.MTI + o.STAN + o.TransmissionDateTime + zeroPad(o.AcquirerID, 11) + zeroPad(o.ForwarderID, 11)
}

// Clear removes field id from the message.
func (m *Message) Clear(id int) {
	if p := m.stringField(id); p != nil {
		*p = ""
		return
	}
	if p := m.binaryField(id); p != nil {
		*p = nil
		return
	}
	m.Other = slices.DeleteFunc(m.Other, func(f Field) bool { return f.ID == id })
}

// Field returns field id as text: binary fields as upper-case hex.
func (m *Message) Field(id int) (string, bool) { return m.text(id) }

// SetField sets field id from text (binary fields from hex); "" removes it.
func (m *Message) SetField(id int, v string) { m.setText(id, v) }

// Fields lists the fields present, in field order, as text.
func (m *Message) Fields() []Field {
	var out []Field
	for id := 2; id <= maxField; id++ {
		if v, ok := m.text(id); ok {
			out = append(out, Field{ID: id, Value: v})
		}
	}
	return out
}

// FieldName is the spec's description of field id ("" when it does not define it).
func (s *Spec) FieldName(id int) string {
	if !s.Defines(id) {
		return ""
	}
	return s.moov.Fields[id].Spec().Description
}
