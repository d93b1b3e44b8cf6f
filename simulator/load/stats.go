package load

import (
	"fmt"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latency histogram bounds: microseconds from 1 µs to the highest trackable value, 3 significant
// digits (an error of at most 0.1 %), about 100 KiB per connection.
const (
	histLowest  = 1
	histSigFigs = 3
)

// kindCounts are the counters of one kind of request.
type kindCounts struct {
	Sent       int64 `json:"sent"`
	Answered   int64 `json:"answered"`
	Approved   int64 `json:"approved"`
	Unexpected int64 `json:"unexpected"`
	Timeouts   int64 `json:"timeouts"`
}

// counters are the totals of one connection, or of a run when merged.
type counters struct {
	sent       int64
	answered   int64
	timeouts   int64 // no answer within the timeout, or in flight on a connection that was lost
	unexpected int64 // answers that are not what the request should get
	late       int64 // answers to requests already counted as timed out
	unmatched  int64 // answers that do not unpack or name no request
	skipped    int64 // open model: slots not sent within the timeout of their intended time
	unanswered int64 // in flight when the run ended (interrupted, or the drain ran out)
	connErrors int64 // connections lost (or not re-established) during the run
	dropped    int64 // follow-ups dropped because their queue was full, or not sent by the end
	reversals  int64 // reversals sent for requests that timed out
	repeats    int64 // repeats (0401, 0221) sent
	pinSent    int64 // purchases and pre-authorizations sent with a PIN block
	kinds      [kindCount]kindCounts
}

func (c *counters) add(o *counters) {
	c.sent += o.sent
	c.answered += o.answered
	c.timeouts += o.timeouts
	c.unexpected += o.unexpected
	c.late += o.late
	c.unmatched += o.unmatched
	c.skipped += o.skipped
	c.unanswered += o.unanswered
	c.connErrors += o.connErrors
	c.dropped += o.dropped
	c.reversals += o.reversals
	c.repeats += o.repeats
	c.pinSent += o.pinSent
	for i := range c.kinds {
		k, ok := &c.kinds[i], &o.kinds[i]
		k.Sent += ok.Sent
		k.Answered += ok.Answered
		k.Approved += ok.Approved
		k.Unexpected += ok.Unexpected
		k.Timeouts += ok.Timeouts
	}
}

// connStats is what one connection measured; its conn's mutex guards it.
type connStats struct {
	counters
	codes map[string]int64 // response code (field 39) → answers
	hist  *hdrhistogram.Histogram
}

func newConnStats(highest time.Duration) connStats {
	return connStats{codes: make(map[string]int64), hist: newHistogram(highest)}
}

func newHistogram(highest time.Duration) *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, max(highest.Microseconds(), 2*histLowest), histSigFigs)
}

// record adds one latency to the histogram, clamped to its range.
func (s *connStats) record(d time.Duration) {
	us := min(max(d.Microseconds(), histLowest), s.hist.HighestTrackableValue())
	s.hist.RecordValue(us)
}

// codeKey is the response-code key for the mix: the code, or "invalid" when it is not 2 characters.
func codeKey(code string) string {
	if len(code) != 2 {
		return "invalid"
	}
	return code
}

// Progress is the state of a run, reported every ProgressInterval.
type Progress struct {
	Elapsed    time.Duration // since the first request
	Duration   time.Duration // the configured sending time
	Sent       int64
	Answered   int64
	Timeouts   int64
	Unexpected int64
	InFlight   int64
	Rate       float64       // answers per second over the last interval
	P99        time.Duration // 99th percentile latency so far
}

// String is the progress line: elapsed, sent, answered, rate, p99 so far, unexpected, timeouts.
func (p Progress) String() string {
	return fmt.Sprintf("%5.1fs  sent %d  answered %d  rate %.0f/s  p99 %s  unexpected %d  timeouts %d  in flight %d",
		p.Elapsed.Seconds(), p.Sent, p.Answered, p.Rate, fmtMs(float64(p.P99.Microseconds())/1000), p.Unexpected, p.Timeouts, p.InFlight)
}

// Bar renders the progress as a bar of width cells followed by the counters, for a terminal that
// redraws it in place.
func (p Progress) Bar(width int) string {
	frac := 0.0
	if p.Duration > 0 {
		frac = min(max(p.Elapsed.Seconds()/p.Duration.Seconds(), 0), 1)
	}
	full := int(frac * float64(width))
	bar := strings.Repeat("=", full)
	if full < width {
		bar += ">" + strings.Repeat(" ", width-full-1)
	}
	return fmt.Sprintf("[%s] %3.0f%%  %4.1fs/%.0fs  %d answered  %.0f/s  p99 %s  unexpected %d  timeouts %d",
		bar, 100*frac, min(p.Elapsed, p.Duration).Seconds(), p.Duration.Seconds(), p.Answered, p.Rate,
		fmtMs(float64(p.P99.Microseconds())/1000), p.Unexpected, p.Timeouts)
}
