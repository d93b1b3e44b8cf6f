package ledger_test

import (
	"testing"

	"github.com/cardswitch/cardswitch/ledger"
)

func TestDeriveTransferID(t *testing.T) {
	a := ledger.DeriveTransferID("0100/TERM0001/000123/1126143015", "hold")
	if a != ledger.DeriveTransferID("0100/TERM0001/000123/1126143015", "hold") {
		t.Fatal("the same scope and leg must give the same id (a retry cannot post twice)")
	}
	// Ids must never change across versions: stored ids are compared with derived ones.
	if got := a.String(); got != "a4aab44f20c965ec815536295c61bdc5" {
		t.Fatalf("derived id changed: %s", got)
	}
	seen := map[ledger.TransferID]string{}
	for _, p := range [][2]string{{"ab", "c"}, {"a", "bc"}, {"abc", ""}, {"", "abc"}, {"0100/T/1", "hold"}, {"0100/T/1", "fee"}, {"0100/T/2", "hold"}} {
		id := ledger.DeriveTransferID(p[0], p[1])
		if prev, ok := seen[id]; ok {
			t.Errorf("%v and %s share id %s", p, prev, id)
		}
		seen[id] = p[0] + "|" + p[1]
	}
}

func TestParseTransferID(t *testing.T) {
	id := ledger.DeriveTransferID("x", "y")
	back, err := ledger.ParseTransferID(id.String())
	if err != nil || back != id {
		t.Fatalf("round trip: %v %v", back, err)
	}
	for _, bad := range []string{"", "00", "zz" + id.String()[2:], id.String() + "00"} {
		if _, err := ledger.ParseTransferID(bad); err == nil {
			t.Errorf("ParseTransferID(%q) accepted", bad)
		}
	}
}

func FuzzParseTransferID(f *testing.F) {
	f.Add(ledger.DeriveTransferID("x", "y").String())
	f.Add("")
	f.Add("0123456789abcdef0123456789ABCDEF")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ledger.ParseTransferID(s)
		if err != nil {
			return
		}
		again, err := ledger.ParseTransferID(id.String())
		if err != nil || again != id {
			t.Fatalf("%q parsed to %s, which does not parse back: %v", s, id, err)
		}
	})
}
