package payments

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Identities never repeat: within a second, across the borrow into the next second, after a
// restart (the floor), and between two instances sharing a database (node ids).
func TestIdentitiesAreUnique(t *testing.T) {
	now := time.Date(2026, 12, 6, 23, 59, 59, 0, time.UTC)
	seen := map[string]bool{}
	add := func(id identity) {
		t.Helper()
		k := id.STAN + "/" + id.Transmission + "/" + VirtualTerminal("MERCHANT0000001", time.Unix(id.Second, 0).UTC().Year())
		require.False(t, seen[k], "identity %s given twice", k)
		seen[k] = true
	}
	a := newIdentities('0', 0)
	for i := 0; i < 2*stansPerSecond+5; i++ {
		add(a.allocate(now)) // the same wall second: borrows the next ones
	}
	// A restart within the same second starts past the floor recorded before it.
	floor := a.second
	b := newIdentities('0', floor)
	first := b.allocate(now)
	require.Greater(t, first.Second, floor-1)
	require.Greater(t, first.Second, now.Unix()+1, "after the borrowed seconds")
	add(first)
	// Another instance in the same second.
	c := newIdentities('B', 0)
	id := c.allocate(now)
	require.Equal(t, "110000", id.STAN)
	add(id)
	// The same MMDDhhmmss a year later is on another terminal.
	require.NotEqual(t, VirtualTerminal("M", 2026), VirtualTerminal("M", 2027))
	require.Equal(t, "1207000001", newIdentities('0', 0).allocate(time.Date(2026, 12, 7, 0, 0, 1, 0, time.UTC)).Transmission)
}
