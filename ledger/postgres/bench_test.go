package postgres_test

import (
	"testing"

	"github.com/cardswitch/cardswitch/ledger/ledgertest"
)

// The bounded version of ledger/postgres/bench (run that for sustained and open-model numbers):
//
//	go test -run '^$' -bench . -benchtime 20000x ./ledger/postgres/
func BenchmarkWriter(b *testing.B) {
	open := harness().Open
	b.Run("transfers", func(b *testing.B) { ledgertest.Benchmark(b, open, false, false) })
	b.Run("transfers-hot", func(b *testing.B) { ledgertest.Benchmark(b, open, false, true) })
	b.Run("purchases", func(b *testing.B) { ledgertest.Benchmark(b, open, true, false) })
	b.Run("purchases-hot", func(b *testing.B) { ledgertest.Benchmark(b, open, true, true) })
}
