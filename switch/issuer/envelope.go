package issuer

import (
	"errors"

	moov "github.com/moov-io/iso8583"
	"github.com/moov-io/iso8583/encoding"
	"github.com/moov-io/iso8583/field"
	"github.com/moov-io/iso8583/prefix"

	"github.com/cardswitch/cardswitch/iso8583"
)

// iso8583-connection matches, times out and delivers *moov.Message values. The link hands it
// envelopes: moov-io messages that hold only what the library reads (the MTI, and the STAN for the
// match key) and carry the real message beside them — the bytes already packed by the compiled
// codec on the way out, the typed message already unpacked on the way in. The connection's
// MessageWriter and MessageReader (codec.go) are the only ones that look inside, so each message
// is encoded and decoded once, by the compiled codec, instead of once more through moov-io's
// field objects.

// carrierID is the envelope field holding the carrier; envelopes are never packed by moov-io, so
// the number only has to differ from the MTI, bitmap and STAN.
const carrierID = 2

// envelopeSpec defines what an envelope may hold.
var envelopeSpec = &moov.MessageSpec{
	Name: "cardswitch issuer-link envelope",
	Fields: map[int]field.Field{
		0:         field.NewString(&field.Spec{Length: 4, Description: "MTI", Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed}),
		1:         field.NewBitmap(&field.Spec{Length: 8, Description: "Bitmap", Enc: encoding.BytesToASCIIHex, Pref: prefix.Hex.Fixed}),
		11:        field.NewString(&field.Spec{Length: 6, Description: "STAN", Enc: encoding.ASCII, Pref: prefix.ASCII.Fixed}),
		carrierID: &carrier{spec: &field.Spec{Description: "carrier"}},
	},
}

// carrier is the envelope field that carries the message.
type carrier struct {
	spec   *field.Spec
	packed []byte           // outbound: the frame body, packed by the compiled codec
	typed  *iso8583.Message // inbound: the message, unpacked by the compiled codec
}

var errEnvelope = errors.New("an issuer-link envelope is not packed by moov-io")

func (c *carrier) NewInstance() field.Field                  { return &carrier{spec: c.spec} }
func (c *carrier) Spec() *field.Spec                         { return c.spec }
func (c *carrier) SetSpec(s *field.Spec)                     { c.spec = s }
func (c *carrier) Pack() ([]byte, error)                     { return nil, errEnvelope }
func (c *carrier) Unpack([]byte) (int, error)                { return 0, errEnvelope }
func (c *carrier) SetBytes([]byte) error                     { return nil }
func (c *carrier) Bytes() ([]byte, error)                    { return c.packed, nil }
func (c *carrier) SetData(any) error                         { return errEnvelope }
func (c *carrier) Unmarshal(any) error                       { return errEnvelope }
func (c *carrier) Marshal(any) error                         { return errEnvelope }
func (c *carrier) String() (string, error)                   { return "", nil }
func (c *carrier) set(packed []byte, typed *iso8583.Message) { c.packed, c.typed = packed, typed }

// newEnvelope wraps a message for the library: its MTI and STAN, and the packed bytes (outbound)
// or the typed message (inbound).
func newEnvelope(mti, stan string, packed []byte, typed *iso8583.Message) *moov.Message {
	mm := moov.NewMessage(envelopeSpec)
	mm.MTI(mti)
	if stan != "" {
		mm.Field(11, stan)
	}
	mm.Field(carrierID, "")
	mm.GetField(carrierID).(*carrier).set(packed, typed)
	return mm
}

// carrierOf returns an envelope's carrier, nil for any other moov-io message.
func carrierOf(mm *moov.Message) *carrier {
	if mm == nil || mm.GetSpec() != envelopeSpec {
		return nil
	}
	c, _ := mm.GetField(carrierID).(*carrier)
	return c
}

// typedOf returns the typed message an inbound envelope carries.
func typedOf(mm *moov.Message) (*iso8583.Message, error) {
	if c := carrierOf(mm); c != nil && c.typed != nil {
		return c.typed, nil
	}
	return nil, &iso8583.FieldError{Field: -1, Reason: "not an inbound issuer message", Err: iso8583.ErrUnpack}
}
