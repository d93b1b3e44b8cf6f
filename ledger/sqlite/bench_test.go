package sqlite_test

import (
	"testing"

	"github.com/cardswitch/cardswitch/ledger/ledgertest"
)

// go test -run '^$' -bench . -benchtime 5000x ./ledger/sqlite/
func BenchmarkWriter(b *testing.B) {
	open := harness().Open
	b.Run("transfers", func(b *testing.B) { ledgertest.Benchmark(b, open, false, false) })
	b.Run("purchases", func(b *testing.B) { ledgertest.Benchmark(b, open, true, false) })
	b.Run("purchases-hot", func(b *testing.B) { ledgertest.Benchmark(b, open, true, true) })
}
