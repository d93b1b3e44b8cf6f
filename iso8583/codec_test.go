package iso8583

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAcquirerSpecIsCompiled(t *testing.T) {
	compiled, fallback := AcquirerSpec().Compiled()
	require.True(t, compiled, "the hot path must not fall back to moov-io")
	require.Empty(t, fallback, "the hot path must not fall back to moov-io")
}

// differentialSpecs are the specs the compiled codec is held equal to moov-io on: every built-in
// and every JSON spec under testdata/specs.
func differentialSpecs(t testing.TB) []*Spec {
	t.Helper()
	var out []*Spec
	for _, name := range BuiltinSpecNames() {
		s, err := LoadSpec(name)
		require.NoError(t, err)
		out = append(out, s)
	}
	files, err := filepath.Glob("testdata/specs/*.json")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		s, err := LoadSpec(f)
		require.NoError(t, err, f)
		out = append(out, s)
	}
	return out
}

// agree checks that the compiled codec and moov-io agree on b: both reject it, or both accept it
// with the same typed message and pack it back to the same bytes.
func agree(t testing.TB, spec *Spec, b []byte) {
	t.Helper()
	mc, errC := unpackCompiled(spec, b)
	mm, _, errM := UnpackMoov(spec, b)
	switch {
	case errC != nil && errM != nil:
		return
	case errC == nil && errM != nil:
		t.Fatalf("%s: compiled accepts what moov-io rejects (%v): %q", spec.Name(), errM, b)
	case errC != nil && errM == nil:
		// moov-io reads ASCII and EBCDIC length prefixes with strconv.Atoi, which takes a sign;
		// the contract's prefixes are digits only.
		if !bytes.ContainsAny(b, "+-\x4e\x60") {
			t.Fatalf("%s: compiled rejects (%v) what moov-io accepts: %q", spec.Name(), errC, b)
		}
		return
	}
	if !reflect.DeepEqual(mc, mm) {
		t.Fatalf("%s: different messages for %q:\ncompiled %+v\nmoov-io  %+v", spec.Name(), b, mc, mm)
	}
	agreePack(t, spec, mc)
}

// agreePack checks that both codecs pack m alike: both fail, or both give the same bytes.
func agreePack(t testing.TB, spec *Spec, m *Message) {
	t.Helper()
	pc, errPC := packCompiled(spec, m)
	pm, errPM := m.packMoov(spec)
	if (errPC == nil) != (errPM == nil) {
		t.Fatalf("%s: pack disagrees on %+v: compiled %v, moov-io %v", spec.Name(), m, errPC, errPM)
	}
	if !bytes.Equal(pc, pm) {
		t.Fatalf("%s: pack differs:\ncompiled %q\nmoov-io  %q", spec.Name(), pc, pm)
	}
}

// dialectSeeds are the contract examples as each spec writes them (dropping what moov-io cannot
// pack in that spec), plus messages with tagged and TLV private fields, so that the differential
// tests start from valid messages of every dialect.
func dialectSeeds(t testing.TB, spec *Spec) [][]byte {
	t.Helper()
	var msgs []*Message
	for _, ex := range contractExamples(t) {
		m, err := Unpack(AcquirerSpec(), []byte(ex.raw))
		require.NoError(t, err)
		msgs = append(msgs, m)
	}
	msgs = append(msgs,
		&Message{MTI: "0100", PAN: "4111111111111111", ProcessingCode: "000000", Amount: "000000001000", STAN: "000321",
			AdditionalData: "0115TAX-2026-000457", ICC: "9F2608AABBCCDDEEFF00119F360200419F100706010A03A00000",
			Private62: "0108CUST000102003WEB", TerminalID: "TERM0001", Track2: "4111111111111111=28121010000000000000"},
		&Message{MTI: "0110", STAN: "000321", ResponseCode: "00", Private62: "0203POS", ICC: "9F36020041"},
	)
	var out [][]byte
	for _, m := range msgs {
		for id := 2; id <= maxField; id++ {
			if m.Has(id) && !spec.Defines(id) {
				m.Clear(id)
			}
		}
		for range 8 {
			b, err := m.packMoov(spec)
			if err == nil {
				out = append(out, b)
				break
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field < 2 {
				break
			}
			m.Clear(fe.Field)
		}
	}
	if spec.Name() == SpecMoov87Hex { // moov-io unpacks it but cannot pack it: seeds by hand
		out = append(out, []byte("30383030"+"0220000000000000"+hex.EncodeToString([]byte("1126143600000127"))),
			[]byte("30313030"+"4000000000000000"+"0010"+hex.EncodeToString([]byte("4111111111111111"))))
	}
	return out
}

func TestCompiledCodecAgreesWithMoov(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, spec := range differentialSpecs(t) {
		t.Run(spec.Name(), func(t *testing.T) {
			seeds := dialectSeeds(t, spec)
			for _, ex := range contractExamples(t) {
				seeds = append(seeds, []byte(ex.raw))
			}
			for _, seed := range seeds {
				agree(t, spec, seed)
				for i := range len(seed) {
					agree(t, spec, seed[:i]) // every truncation
				}
				for range 300 { // and random damage
					b := bytes.Clone(seed)
					for range 1 + rng.IntN(3) {
						b[rng.IntN(len(b))] = byte(rng.IntN(256))
					}
					agree(t, spec, b)
				}
			}
		})
	}
	for _, raw := range []string{
		"0800822000000000000004000000000000001126143600000127301",
		"0100723c440000c080001641111111111111110000000000000123451126143015000123143015112628125999810WEB00001MERCHANT0000001840",
		"0200" + "0000000000000001" + "zz22334455667788",
		"0800" + "8000000000000000" + "8000000000000000" + "0000000000000000",
		"0100" + "4000000000000000" + "+9411111111",
		"0100" + "4000000000000000" + "0441\xff1",
	} {
		agree(t, AcquirerSpec(), []byte(raw))
	}
}

func TestEveryDialectSeedUnpacks(t *testing.T) {
	for _, spec := range differentialSpecs(t) {
		seeds := dialectSeeds(t, spec)
		require.GreaterOrEqual(t, len(seeds), 2, spec.Name())
		for _, b := range seeds {
			m, err := Unpack(spec, b)
			require.NoError(t, err, "%s: %q", spec.Name(), b)
			if spec.Name() == SpecMoov87Hex {
				continue // moov-io cannot pack its MTI (Hex.Fixed)
			}
			out, err := m.Pack(spec)
			require.NoError(t, err, spec.Name())
			require.Equal(t, b, out, spec.Name())
		}
	}
}

func TestCompiledPackAgreesOnBuiltMessages(t *testing.T) {
	built := []*Message{
		{MTI: "0200", ProcessingCode: "0", Amount: "2500"},
		{MTI: "0100", STAN: "000001", Other: []Field{{ID: 56, Value: "ABC"}, {ID: 26, Value: "12"}}},
		{MTI: "0800", NetworkCode: "301", MAC2: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{MTI: "0100", TerminalID: "SHORT"},
		{MTI: "0100", PAN: "12345678901234567890"},
		{MTI: "0100", PAN: "411111111111111"},
		{MTI: "0200", PINBlock: []byte{1}},
		{MTI: "0200", PINBlock: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{MTI: "01"},
		{MTI: "0100", Other: []Field{{ID: 115, Value: "x"}}},
		{MTI: "0100", STAN: "-00012", Amount: "+5"},
		{MTI: "0100", ICC: "9F2608AABBCCDDEEFF0011", AdditionalData: "0112TAX-2026-0001"},
		{MTI: "0100", ICC: "9F2608AABBCCDDEEFF00", AdditionalData: "01"},
		{MTI: "0100", Track2: "4111111111111111=28121010000000000000"},
		{MTI: "0100", CardAcceptorName: "SHOP"},
		{MTI: "0100", Private62: "0105REF01"},
	}
	for _, spec := range differentialSpecs(t) {
		for _, m := range built {
			agreePack(t, spec, m)
		}
	}
}

// FuzzCompiledMatchesMoov holds the compiled codec to moov-io/iso8583 on arbitrary input, for
// every built-in spec and every spec under testdata/specs.
func FuzzCompiledMatchesMoov(f *testing.F) {
	all := differentialSpecs(f)
	for i, spec := range all {
		for _, b := range dialectSeeds(f, spec) {
			f.Add(uint8(i), b)
		}
	}
	for _, ex := range contractExamples(f) {
		f.Add(uint8(0), []byte(ex.raw))
	}
	f.Fuzz(func(t *testing.T, which uint8, b []byte) { agree(t, all[int(which)%len(all)], b) })
}

func TestTestdataSpecsRoundTripThroughMoovJSON(t *testing.T) {
	files, err := filepath.Glob("testdata/specs/*.json")
	require.NoError(t, err)
	for _, f := range files {
		raw, err := os.ReadFile(f)
		require.NoError(t, err)
		s, err := ParseSpecJSON(f, raw)
		require.NoError(t, err)
		out, err := s.ExportJSON()
		require.NoError(t, err)
		require.JSONEq(t, string(raw), string(out), "%s: moov-io's export of the imported spec differs", f)
	}
}
