package issuer

import (
	"sync"
	"time"

	moov "github.com/moov-io/iso8583"

	"github.com/cardswitch/cardswitch/iso8583"
)

// stanMax is the largest STAN: field 11 is six digits; numbering wraps from 999999 to 000001.
const stanMax = 999_999

// class is the match class of a message: the MTI's version, class and function digits with the
// response bit cleared, so that a request and its response (0100/0101/0110 → "010", 0400/0410 →
// "040", 0420/0430 → "042", 0800/0810 → "080") share it and an 0410 never matches an 0100.
type class [3]byte

// matchClass returns the match class of mti.
func matchClass(mti string) (class, bool) {
	if len(mti) != 4 || !iso8583.IsDigits(mti) {
		return class{}, false
	}
	return class{mti[0], mti[1], '0' + (mti[2]-'0')&^1}, true
}

// parseSTAN reads field 11 as a number 1..999999 (a spec may render it with or without its
// leading zeros).
func parseSTAN(s string) (uint32, bool) {
	if s == "" || len(s) > 6 {
		return 0, false
	}
	var n uint32
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint32(c-'0')
	}
	return n, n >= 1 && n <= stanMax
}

// formatSTAN renders n as the six digits of field 11.
func formatSTAN(n uint32) string {
	var b [6]byte
	for i := 5; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:])
}

// entryState is where a numbered request is in its life.
type entryState uint8

const (
	waiting  entryState = iota // sent (or being sent), its Send still waiting
	timedOut                   // its Send gave up; remembered until expiry to recognise a late answer
)

// entry is one STAN in use on the link.
type entry struct {
	class   class
	state   entryState
	req     *iso8583.Message // the caller's request, handed to OnLate
	late    *moov.Message    // an answer that came after the library gave up, before the link did
	expires int64            // unix nanoseconds; for timedOut entries
}

// expiry is a timed-out STAN in the order it is forgotten.
type expiry struct {
	stan    uint32
	expires int64
}

// stanTable numbers a link's requests (000001…999999, wrapping) and remembers each STAN while its
// request is in flight and, after a timeout, for the late window, so that a STAN is never reused
// while an answer to it may still come and a late answer can be mapped back to its request.
type stanTable struct {
	window time.Duration
	mu     struct {
		sync.Mutex
		next    uint32
		entries map[uint32]entry
		expired []expiry // FIFO, oldest first, at most lateRememberMax long
		nTimed  int      // entries in state timedOut
	}
}

func newSTANTable(window time.Duration) *stanTable {
	t := &stanTable{window: window}
	t.mu.entries = make(map[uint32]entry, 1024)
	return t
}

// allocate numbers a request of class c. It fails only when every STAN is in use, which the link's
// in-flight and late-memory limits make impossible in practice.
func (t *stanTable) allocate(c class, req *iso8583.Message) (uint32, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for range stanMax {
		t.mu.next = t.mu.next%stanMax + 1
		if _, used := t.mu.entries[t.mu.next]; !used {
			t.mu.entries[t.mu.next] = entry{class: c, req: req}
			return t.mu.next, true
		}
	}
	return 0, false
}

// release frees a STAN whose request was answered or never sent.
func (t *stanTable) release(stan uint32) {
	t.mu.Lock()
	delete(t.mu.entries, stan)
	t.mu.Unlock()
}

// expire records that the Send of stan gave up at now. If the answer already came in (between the
// library's timeout and this call), it returns that answer and the request and frees the STAN;
// otherwise the STAN is remembered for the late window.
func (t *stanTable) expire(stan uint32, now time.Time) (late *moov.Message, req *iso8583.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.mu.entries[stan]
	if !ok {
		return nil, nil
	}
	if e.late != nil || t.window <= 0 {
		delete(t.mu.entries, stan)
		return e.late, e.req
	}
	t.forgetExpiredLocked(now)
	if len(t.mu.expired) >= lateRememberMax {
		t.forgetOldestLocked()
	}
	e.state = timedOut
	e.expires = now.Add(t.window).UnixNano()
	t.mu.entries[stan] = e
	t.mu.nTimed++
	t.mu.expired = append(t.mu.expired, expiry{stan: stan, expires: e.expires})
	return nil, nil
}

// lateResult is what became of an answer that the library could not match to a waiting Send.
type lateResult uint8

const (
	lateUnmatched lateResult = iota // no request of that class and STAN is waiting or remembered
	lateHeld                        // its Send has not yet recorded the timeout; expire returns it
	lateMatched                     // its request timed out: the caller reports it to OnLate
)

// late records an answer of class c for stan that the library could not match.
func (t *stanTable) late(c class, stan uint32, resp *moov.Message) (lateResult, *iso8583.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.mu.entries[stan]
	if !ok || e.class != c {
		return lateUnmatched, nil
	}
	if e.state == waiting {
		if e.late != nil {
			return lateUnmatched, nil // a second answer to the same request
		}
		e.late = resp
		t.mu.entries[stan] = e
		return lateHeld, nil
	}
	delete(t.mu.entries, stan)
	t.mu.nTimed--
	return lateMatched, e.req
}

// sweep forgets timed-out requests whose late window has passed.
func (t *stanTable) sweep(now time.Time) {
	t.mu.Lock()
	t.forgetExpiredLocked(now)
	t.mu.Unlock()
}

func (t *stanTable) forgetExpiredLocked(now time.Time) {
	n := now.UnixNano()
	for len(t.mu.expired) > 0 && t.mu.expired[0].expires <= n {
		t.forgetOldestLocked()
	}
}

// forgetOldestLocked drops the head of the expiry FIFO. The STAN may meanwhile have been answered
// late and reused by a new request: only the timed-out entry with the same expiry is deleted.
func (t *stanTable) forgetOldestLocked() {
	x := t.mu.expired[0]
	t.mu.expired[0] = expiry{}
	t.mu.expired = t.mu.expired[1:]
	if len(t.mu.expired) == 0 {
		t.mu.expired = t.mu.expired[:0:0] // let the backing array go once drained
	}
	if e, ok := t.mu.entries[x.stan]; ok && e.state == timedOut && e.expires == x.expires {
		delete(t.mu.entries, x.stan)
		t.mu.nTimed--
	}
}

// counts returns the number of requests waiting and remembered after a timeout.
func (t *stanTable) counts() (waitingN, timedOutN int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.mu.entries) - t.mu.nTimed, t.mu.nTimed
}
