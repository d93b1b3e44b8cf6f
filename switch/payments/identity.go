package payments

import (
	"fmt"
	"sync"
	"time"
)

// identities allocates the engine identity of every request the API sends: terminal (41, the
// merchant's virtual terminal), STAN (11) and transmission time (7). The engine's transaction id
// is MTI class/terminal/STAN/transmission and the ledger remembers it for ever, so no two
// requests of one terminal may share a STAN and second:
//   - within a second, STANs are handed out in order; the first digit of the STAN is the year's
//     last digit, so that the same MMDDhhmmss a year later does not collide (for ten years);
//   - after a restart, allocation starts past the last second recorded (payapi_clock, written in
//     the same transaction as each request's intent, before the request is sent).
type identities struct {
	mu     sync.Mutex
	second int64 // Unix second of the current allocation
	next   int   // next counter value within it
}

// stansPerSecond is how many requests one second can identify (the STAN's last five digits).
const stansPerSecond = 100000

// identity is one request's identity.
type identity struct {
	Second       int64
	STAN         string // n6
	Transmission string // MMDDhhmmss, UTC
	LocalTime    string // hhmmss
	LocalDate    string // MMDD
}

func newIdentities(floor int64) *identities { return &identities{second: floor} }

// allocate returns a fresh identity at or after now.
func (a *identities) allocate(now time.Time) identity {
	a.mu.Lock()
	s := now.Unix()
	if s > a.second {
		a.second, a.next = s, 0
	}
	if a.next >= stansPerSecond {
		a.second, a.next = a.second+1, 0
	}
	n := a.next
	a.next++
	sec := a.second
	a.mu.Unlock()
	t := time.Unix(sec, 0).UTC()
	return identity{
		Second:       sec,
		STAN:         fmt.Sprintf("%d%05d", t.Year()%10, n),
		Transmission: t.Format("0102150405"),
		LocalTime:    t.Format("150405"),
		LocalDate:    t.Format("0102"),
	}
}
