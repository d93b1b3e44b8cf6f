package ledger

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// CutoverSchedule runs the cutover every day at a time of day. Several processes may run it on one
// database: each closes the business day named by the scheduled instant's date, and the ones that
// come second find it closed and only settle it again (which moves nothing twice).
type CutoverSchedule struct {
	Backend Backend
	// At is the time of day of the cutover, as a duration after midnight (23h30m for 23:30).
	At time.Duration
	// Location is where At is read. Default UTC.
	Location *time.Location
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives each cutover's outcome. Default zap.NewNop().
	Logger *zap.Logger
	// OnReport, when set, receives each cutover's settlement report (to write it out).
	OnReport func(*SettlementReport)
	// OnError, when set, receives each cutover that failed, with the business day it was for
	// (to record it in the audit log).
	OnError func(day string, err error)
}

// NextCutover returns the first instant at or after now that is at time of day at in loc.
func NextCutover(now time.Time, at time.Duration, loc *time.Location) time.Time {
	local := now.In(loc)
	h, m, sec, ns := int(at/time.Hour), int(at%time.Hour/time.Minute), int(at%time.Minute/time.Second), int(at%time.Second)
	next := time.Date(local.Year(), local.Month(), local.Day(), h, m, sec, ns, loc) // wall clock, DST-proof
	if next.Before(local) {
		next = time.Date(local.Year(), local.Month(), local.Day()+1, h, m, sec, ns, loc)
	}
	return next
}

// Run waits for each scheduled instant and cuts over, until ctx ends. A failed cutover is logged
// and retried at the next instant (running `cardswitch ledger cutover` closes the day by hand).
func (s *CutoverSchedule) Run(ctx context.Context) error {
	if s.Backend == nil || s.At < 0 || s.At >= 24*time.Hour {
		return errors.New("cutover schedule: needs a backend and a time of day in [0, 24h)")
	}
	loc, now, log := s.Location, s.Now, s.Logger
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = zap.NewNop()
	}
	for {
		next := NextCutover(now(), s.At, loc)
		timer := time.NewTimer(next.Sub(now()))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		day := next.In(loc).Format(time.DateOnly)
		rep, err := Cutover(ctx, s.Backend, now(), day)
		if err != nil {
			log.Error("scheduled cutover failed", zap.String("business-day", day), zap.Error(err))
			if s.OnError != nil {
				s.OnError(day, err)
			}
			continue
		}
		log.Info("business day closed and settled", zap.String("business-day", rep.BusinessDay),
			zap.Int("merchants", len(rep.Merchants)), zap.Int("agencies", len(rep.Agencies)), zap.Int("issuers", len(rep.Issuers)))
		if s.OnReport != nil {
			s.OnReport(rep)
		}
	}
}
