package route

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestRouteGolden(t *testing.T) {
	table, err := New([]Entry{
		{"4", "alpha"},
		{"5", "beta"},
		{"45", "gamma"},
		{"4571", "delta"},
		{"45710", "epsilon"},
		{"22213456789", "eleven"},
		{"2221", "mc2"},
	})
	require.NoError(t, err)
	pans := []string{
		"4111111111111111", "4500000000000000", "4571999999999999", "4571000000000000",
		"5105105105105100", "2221345678900000", "2221000000000000", "2222000000000000",
		"6011000000000000", "3", "", "457",
	}
	var got strings.Builder
	for _, pan := range pans {
		issuer, err := table.Route(pan)
		if err != nil {
			issuer = "15 " + err.Error()
		}
		fmt.Fprintf(&got, "%s -> %s\n", pan, issuer)
	}
	golden := "testdata/routes.golden"
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(got.String()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), got.String())
}

func TestNewRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []Entry
	}{
		{"empty prefix", []Entry{{"", "a"}}},
		{"twelve digits", []Entry{{"123456789012", "a"}}},
		{"letters", []Entry{{"4a", "a"}}},
		{"no issuer", []Entry{{"4", ""}}},
		{"duplicate", []Entry{{"4", "a"}, {"4", "b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.entries)
			require.Error(t, err)
		})
	}
}

func BenchmarkRoute(b *testing.B) {
	var entries []Entry
	sc := bufio.NewScanner(strings.NewReader("4\n5\n45\n4571\n457100\n51051051\n22213456789\n"))
	for i := 0; sc.Scan(); i++ {
		entries = append(entries, Entry{sc.Text(), fmt.Sprint("issuer", i)})
	}
	for i := range 2000 { // a realistic BIN table: a few thousand 6- and 8-digit BINs
		entries = append(entries, Entry{fmt.Sprintf("6%05d", i), "bulk"}, Entry{fmt.Sprintf("3%07d", i), "bulk8"})
	}
	table, err := New(entries)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := table.Route("4571000000000000"); err != nil {
			b.Fatal(err)
		}
	}
}
