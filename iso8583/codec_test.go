package iso8583

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAcquirerSpecIsCompiled(t *testing.T) {
	require.True(t, AcquirerSpec().compiled, "the hot path must not fall back to moov-io")
}

// agree checks that the compiled codec and moov-io agree on b: both reject it, or both accept it
// with the same typed message and pack it back to the same bytes.
func agree(t testing.TB, b []byte) {
	spec := AcquirerSpec()
	mc, errC := unpackCompiled(spec, b)
	mm, _, errM := UnpackMoov(spec, b)
	switch {
	case errC != nil && errM != nil:
		return
	case errC == nil && errM != nil:
		t.Fatalf("compiled accepts what moov-io rejects (%v): %q", errM, b)
	case errC != nil && errM == nil:
		// moov-io reads length prefixes with strconv.Atoi, which takes a sign; the contract's
		// prefixes are digits only.
		if !bytes.ContainsAny(b, "+-") {
			t.Fatalf("compiled rejects (%v) what moov-io accepts: %q", errC, b)
		}
		return
	}
	if !reflect.DeepEqual(mc, mm) {
		t.Fatalf("different messages for %q:\ncompiled %+v\nmoov-io  %+v", b, mc, mm)
	}
	pc, errPC := packCompiled(spec, mc)
	pm, errPM := mm.packMoov(spec)
	if (errPC == nil) != (errPM == nil) {
		t.Fatalf("pack disagrees on %q: compiled %v, moov-io %v", b, errPC, errPM)
	}
	if !bytes.Equal(pc, pm) {
		t.Fatalf("pack differs:\ncompiled %q\nmoov-io  %q", pc, pm)
	}
}

func TestCompiledCodecAgreesWithMoov(t *testing.T) {
	for _, ex := range contractExamples(t) {
		agree(t, []byte(ex.raw))
	}
	good := contractExamples(t)[0].raw
	for i := range len(good) {
		agree(t, []byte(good[:i])) // every truncation
	}
	for _, raw := range []string{
		"0800822000000000000004000000000000001126143600000127301",
		"0100723c440000c080001641111111111111110000000000000123451126143015000123143015112628125999810WEB00001MERCHANT0000001840",
		"0200" + "0000000000000001" + "zz22334455667788",
		"0800" + "8000000000000000" + "8000000000000000" + "0000000000000000",
		"0100" + "4000000000000000" + "+9411111111",
		"0100" + "4000000000000000" + "0441\xff1",
	} {
		agree(t, []byte(raw))
	}
}

func TestCompiledPackAgreesOnBuiltMessages(t *testing.T) {
	spec := AcquirerSpec()
	for _, m := range []*Message{
		{MTI: "0200", ProcessingCode: "0", Amount: "2500"},
		{MTI: "0100", STAN: "000001", Other: []Field{{ID: 56, Value: "ABC"}, {ID: 26, Value: "12"}}},
		{MTI: "0800", NetworkCode: "301", MAC2: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{MTI: "0100", TerminalID: "SHORT"},
		{MTI: "0100", PAN: "12345678901234567890"},
		{MTI: "0200", PINBlock: []byte{1}},
		{MTI: "01"},
		{MTI: "0100", Other: []Field{{ID: 115, Value: "x"}}},
	} {
		pc, errC := packCompiled(spec, m)
		pm, errM := m.packMoov(spec)
		require.Equal(t, errM == nil, errC == nil, "%+v: compiled %v, moov-io %v", m, errC, errM)
		require.Equal(t, string(pm), string(pc))
	}
}

// FuzzCompiledMatchesMoov holds the compiled codec to moov-io/iso8583 on arbitrary input.
func FuzzCompiledMatchesMoov(f *testing.F) {
	for _, ex := range contractExamples(f) {
		f.Add([]byte(ex.raw))
	}
	f.Fuzz(func(t *testing.T, b []byte) { agree(t, b) })
}

func BenchmarkUnpackAuthorizationMoov(b *testing.B) {
	spec := AcquirerSpec()
	raw := []byte(contractExamples(b)[0].raw)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := UnpackMoov(spec, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPackAuthorizationResponseMoov(b *testing.B) {
	spec := AcquirerSpec()
	m, err := Unpack(spec, []byte(contractExamples(b)[1].raw))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.packMoov(spec); err != nil {
			b.Fatal(err)
		}
	}
}
