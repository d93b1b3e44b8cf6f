package iso8583

import "testing"

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
