package load

import "time"

// dates are the date fields of a request sent at one second: 7 (MMDDhhmmss, UTC), 12 (hhmmss) and
// 13 (MMDD), local time.
type dates struct {
	f7  [10]byte
	f12 [6]byte
	f13 [4]byte
}

// dateCache renders the date fields once per second instead of once per request.
type dateCache struct {
	sec int64
	d   dates
}

func (c *dateCache) at(t time.Time) *dates {
	if s := t.Unix(); s != c.sec || c.d.f7[0] == 0 {
		c.sec = s
		u := t.UTC()
		putDigits(c.d.f7[0:2], uint64(u.Month()))
		putDigits(c.d.f7[2:4], uint64(u.Day()))
		putDigits(c.d.f7[4:6], uint64(u.Hour()))
		putDigits(c.d.f7[6:8], uint64(u.Minute()))
		putDigits(c.d.f7[8:10], uint64(u.Second()))
		putDigits(c.d.f12[0:2], uint64(t.Hour()))
		putDigits(c.d.f12[2:4], uint64(t.Minute()))
		putDigits(c.d.f12[4:6], uint64(t.Second()))
		putDigits(c.d.f13[0:2], uint64(t.Month()))
		putDigits(c.d.f13[2:4], uint64(t.Day()))
	}
	return &c.d
}
