package iso8583

import (
	"path/filepath"
	"testing"
)

func BenchmarkUnpackAuthorization(b *testing.B) {
	spec := AcquirerSpec()
	raw := []byte(contractExamples(b)[0].raw)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Unpack(spec, raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPackAuthorizationResponse(b *testing.B) {
	spec := AcquirerSpec()
	m, err := Unpack(spec, []byte(contractExamples(b)[1].raw))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Pack(spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSpecs measures, for every built-in spec and every spec under testdata/specs, the
// compiled codec against moov-io on the contract's 0100 authorization as that spec writes it.
func BenchmarkSpecs(b *testing.B) {
	for _, spec := range differentialSpecs(b) {
		raw := dialectSeeds(b, spec)[0]
		m, err := Unpack(spec, raw)
		if err != nil {
			b.Fatal(err)
		}
		name := filepath.Base(spec.Name())
		b.Run(name+"/unpack/compiled", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := unpackCompiled(spec, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/unpack/moov", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := UnpackMoov(spec, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		if _, err := m.packMoov(spec); err != nil {
			continue // moov-spec87hex: moov-io cannot pack it
		}
		b.Run(name+"/pack/compiled", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := packCompiled(spec, m); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/pack/moov", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.packMoov(spec); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
