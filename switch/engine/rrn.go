package engine

import (
	"sync/atomic"
	"time"
)

// rrnSource assigns retrieval reference numbers (field 37, an12) when a request has none:
// Y DDD N CCCCCCC — the last digit of the year, the day of the year, the instance's node id and
// a base-36 counter. The counter starts at the number of seconds since midnight × 900,000, so an
// instance restarted the same day does not reuse the RRNs it assigned before (unless it assigned
// more than 900,000 a second), and 36^7 values last the day at any rate the switch can reach.
type rrnSource struct {
	node    byte
	day     atomic.Int64 // yyyy*1000+yday of the counter below
	counter atomic.Uint64
}

const rrnSecondsScale = 900_000

func newRRNSource(node byte, now time.Time) *rrnSource {
	s := &rrnSource{node: node}
	s.reset(now)
	return s
}

func (s *rrnSource) reset(now time.Time) {
	now = now.UTC()
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	s.counter.Store(uint64(now.Sub(midnight)/time.Second) * rrnSecondsScale)
	s.day.Store(int64(now.Year()*1000 + now.YearDay()))
}

const base36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// next returns a new RRN for a request at now.
func (s *rrnSource) next(now time.Time) string {
	now = now.UTC()
	if day := int64(now.Year()*1000 + now.YearDay()); day != s.day.Load() {
		s.reset(now) // a race at midnight only makes two callers reset to the same value
	}
	n := s.counter.Add(1)
	var b [12]byte
	b[0] = byte('0' + now.Year()%10)
	yd := now.YearDay()
	b[1], b[2], b[3] = byte('0'+yd/100), byte('0'+yd/10%10), byte('0'+yd%10)
	b[4] = s.node
	for i := 11; i >= 5; i-- {
		b[i] = base36[n%36]
		n /= 36
	}
	return string(b[:])
}

// approvalCodeFrom derives a 6-character approval code from an RRN, for stand-in approvals and
// for issuers that approve without field 38.
func approvalCodeFrom(rrn string) string {
	if len(rrn) < 6 {
		return "000000"
	}
	return rrn[len(rrn)-6:]
}
