// Package route picks the issuer for a PAN by the longest matching prefix (BIN routing).
package route

import (
	"errors"
	"fmt"
	"sort"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Prefix length limits (CONTRACT §4).
const (
	PrefixLenMin = 1
	PrefixLenMax = 11
)

// ErrNoRoute means no configured prefix matches the PAN (response code 15).
var ErrNoRoute = errors.New("no route for the card number")

// Entry routes the PANs starting with Prefix to Issuer.
type Entry struct {
	Prefix string
	Issuer string
}

// Table is an immutable longest-prefix routing table, safe for concurrent use.
type Table struct {
	// byLen[n] maps the n-digit prefixes to their issuer; lens lists the n in use, longest first.
	byLen [PrefixLenMax + 1]map[string]string
	lens  []int
}

// New builds a table. Prefixes must be 1–11 digits and unique.
func New(entries []Entry) (*Table, error) {
	t := &Table{}
	for _, e := range entries {
		if n := len(e.Prefix); n < PrefixLenMin || n > PrefixLenMax || !iso8583.IsDigits(e.Prefix) {
			return nil, fmt.Errorf("prefix %q must be %d to %d digits", e.Prefix, PrefixLenMin, PrefixLenMax)
		}
		if e.Issuer == "" {
			return nil, fmt.Errorf("prefix %q has no issuer", e.Prefix)
		}
		m := t.byLen[len(e.Prefix)]
		if m == nil {
			m = make(map[string]string)
			t.byLen[len(e.Prefix)] = m
			t.lens = append(t.lens, len(e.Prefix))
		}
		if prev, dup := m[e.Prefix]; dup {
			return nil, fmt.Errorf("prefix %q routed twice (%s and %s)", e.Prefix, prev, e.Issuer)
		}
		m[e.Prefix] = e.Issuer
	}
	sort.Sort(sort.Reverse(sort.IntSlice(t.lens)))
	return t, nil
}

// Route returns the issuer of the longest prefix that pan starts with.
func (t *Table) Route(pan string) (string, error) {
	for _, n := range t.lens {
		if len(pan) < n {
			continue
		}
		if issuer, ok := t.byLen[n][pan[:n]]; ok {
			return issuer, nil
		}
	}
	return "", ErrNoRoute
}
