package payments

import (
	"fmt"
	"sync"
	"time"
)

// identities allocates the engine identity of every request the API sends: STAN (11) and
// transmission time (7), on the payment's virtual terminal (41; the year is part of it, see
// VirtualTerminal). The engine's transaction id is MTI class/terminal/STAN/transmission and the
// ledger remembers it for ever, so no two requests of one terminal may share a STAN and second:
//   - the STAN's first two digits are the instance's node (node_id 0-9A-Z as 00-35), so that
//     instances sharing one database never collide; the last four count within the second (an
//     instance past 10,000 requests in a second borrows the next second);
//   - after a restart, allocation starts past the last second recorded (payapi_clock, written in
//     the same transaction as each request's intent, before the request is sent).
type identities struct {
	node   int
	mu     sync.Mutex
	second int64 // Unix second of the current allocation
	next   int   // next counter value within it
}

// stansPerSecond is how many requests one second can identify (the STAN's last four digits).
const stansPerSecond = 10000

// identity is one request's identity.
type identity struct {
	Second       int64
	STAN         string // n6
	Transmission string // MMDDhhmmss, UTC
	LocalTime    string // hhmmss
	LocalDate    string // MMDD
}

func newIdentities(node byte, floor int64) *identities {
	// The floor second may have been used before the restart: start after it.
	return &identities{node: nodeSlot(node), second: floor, next: stansPerSecond}
}

// nodeSlot maps a node id 0-9A-Z to 0-35.
func nodeSlot(node byte) int {
	switch {
	case node >= '0' && node <= '9':
		return int(node - '0')
	case node >= 'A' && node <= 'Z':
		return int(node-'A') + 10
	}
	return 0
}

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
		STAN:         fmt.Sprintf("%02d%04d", a.node, n),
		Transmission: t.Format("0102150405"),
		LocalTime:    t.Format("150405"),
		LocalDate:    t.Format("0102"),
	}
}
