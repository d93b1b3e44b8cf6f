package iso8583

import "testing"

func TestMACInputIsEverythingBeforeTheMAC(t *testing.T) {
	m := &Message{MTI: "0200", PAN: "4111111111111111", ProcessingCode: "000000", Amount: "000000001000",
		TransmissionDateTime: "1206120000", STAN: "000001", TerminalID: "TERM0001", MerchantID: "MERCHANT0000001",
		Currency: "840", MAC: []byte{1, 2, 3, 4, 5, 6, 7, 8}}
	packed, err := m.Pack(AcquirerSpec())
	if err != nil {
		t.Fatal(err)
	}
	in, ok := AcquirerSpec().MACInput(packed, 64)
	if !ok || len(in) != len(packed)-16 || string(packed[len(in):]) != "0102030405060708" {
		t.Fatalf("MAC input %q (%v) of %q", in, ok, packed)
	}
	if _, ok := AcquirerSpec().MACInput(packed[:10], 64); ok {
		t.Fatal("a message shorter than its MAC field has a MAC input")
	}
	if _, ok := AcquirerSpec().MACInput(packed, 63); ok {
		t.Fatal("field 63 is not a MAC field")
	}
}
