package issuer

import (
	"testing"
	"time"

	moov "github.com/moov-io/iso8583"

	"github.com/cardswitch/cardswitch/iso8583"
)

var auth = class{'0', '1', '0'}

func TestSTANWrapsAndSkipsThoseInUse(t *testing.T) {
	tab := newSTANTable(time.Minute)
	tab.mu.next = stanMax - 2
	tab.mu.entries[1] = entry{class: auth} // still in flight from before the wrap
	var got []uint32
	for range 4 {
		n, ok := tab.allocate(auth, nil)
		if !ok {
			t.Fatal("allocate failed")
		}
		got = append(got, n)
	}
	want := []uint32{999998, 999999, 2, 3}
	for k := range want {
		if got[k] != want[k] {
			t.Fatalf("STANs %v, want %v (wrap after 999999, skip 000001 in flight)", got, want)
		}
	}
	if formatSTAN(2) != "000002" || formatSTAN(999999) != "999999" {
		t.Fatalf("formatSTAN: %q %q", formatSTAN(2), formatSTAN(999999))
	}
}

func TestSTANNotReusedWhileALateAnswerMayCome(t *testing.T) {
	tab := newSTANTable(time.Minute)
	now := fixedNow()
	a, _ := tab.allocate(auth, nil)
	tab.expire(a, now)
	tab.mu.next = a - 1 // the numbering comes round to a again
	b, _ := tab.allocate(auth, nil)
	if b == a {
		t.Fatalf("STAN %d reused while its late answer may still come", a)
	}
	tab.sweep(now.Add(time.Minute))
	tab.mu.next = a - 1
	if c, _ := tab.allocate(auth, nil); c != a {
		t.Fatalf("STAN %d not reused after the late window (got %d)", a, c)
	}
}

func TestLateAnswers(t *testing.T) {
	resp := moov.NewMessage(iso8583.AcquirerSpec().Moov())
	req := &iso8583.Message{MTI: "0100"}
	rev := class{'0', '4', '0'}
	now := fixedNow()
	t.Run("after the timeout: matched once", func(t *testing.T) {
		tab := newSTANTable(time.Minute)
		n, _ := tab.allocate(auth, req)
		tab.expire(n, now)
		if res, got := tab.late(rev, n, resp); res != lateUnmatched || got != nil {
			t.Fatalf("an 0410 matched a timed-out 0100")
		}
		if res, got := tab.late(auth, n, resp); res != lateMatched || got != req {
			t.Fatalf("late: %v %v, want matched to the request", res, got)
		}
		if res, _ := tab.late(auth, n, resp); res != lateUnmatched {
			t.Fatalf("a second late answer matched")
		}
	})
	t.Run("between the library's timeout and the link's: held for expire", func(t *testing.T) {
		tab := newSTANTable(time.Minute)
		n, _ := tab.allocate(auth, req)
		if res, _ := tab.late(auth, n, resp); res != lateHeld {
			t.Fatalf("late before expire: %v, want held", res)
		}
		late, got := tab.expire(n, now)
		if late != resp || got != req {
			t.Fatalf("expire did not return the held answer")
		}
		if w, to := tab.counts(); w != 0 || to != 0 {
			t.Fatalf("counts %d/%d after the held answer was taken", w, to)
		}
	})
	t.Run("after the late window: unmatched", func(t *testing.T) {
		tab := newSTANTable(time.Minute)
		n, _ := tab.allocate(auth, req)
		tab.expire(n, now)
		tab.sweep(now.Add(time.Minute))
		if res, _ := tab.late(auth, n, resp); res != lateUnmatched {
			t.Fatalf("matched after the window: %v", res)
		}
	})
	t.Run("late window zero: forgotten at once", func(t *testing.T) {
		tab := newSTANTable(-1)
		n, _ := tab.allocate(auth, req)
		tab.expire(n, now)
		if w, to := tab.counts(); w != 0 || to != 0 {
			t.Fatalf("counts %d/%d, want nothing remembered", w, to)
		}
	})
}

func TestTimedOutMemoryIsBounded(t *testing.T) {
	tab := newSTANTable(time.Hour)
	now := fixedNow()
	first, _ := tab.allocate(auth, nil)
	tab.expire(first, now)
	for range lateRememberMax {
		n, _ := tab.allocate(auth, nil)
		tab.expire(n, now)
	}
	if _, to := tab.counts(); to != lateRememberMax {
		t.Fatalf("remembered %d, want the bound %d", to, lateRememberMax)
	}
	if res, _ := tab.late(auth, first, nil); res != lateUnmatched {
		t.Fatalf("the oldest was not forgotten")
	}
	if len(tab.mu.expired) > lateRememberMax {
		t.Fatalf("expiry queue %d long", len(tab.mu.expired))
	}
}

func TestMatchClass(t *testing.T) {
	for _, tc := range []struct {
		mti  string
		want string
		ok   bool
	}{
		{"0100", "010", true}, {"0101", "010", true}, {"0110", "010", true}, {"0200", "020", true},
		{"0210", "020", true}, {"0220", "022", true}, {"0230", "022", true}, {"0400", "040", true},
		{"0410", "040", true}, {"0420", "042", true}, {"0430", "042", true}, {"0800", "080", true},
		{"0810", "080", true}, {"010", "", false}, {"01A0", "", false},
	} {
		got, ok := matchClass(tc.mti)
		if ok != tc.ok || ok && string(got[:]) != tc.want {
			t.Errorf("matchClass(%q) = %q, %v; want %q, %v", tc.mti, got[:], ok, tc.want, tc.ok)
		}
	}
}
