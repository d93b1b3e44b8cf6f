package load

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Report is what a run measured; its JSON form is the --report file (see docs/load.md).
type Report struct {
	Target          string  `json:"target"`
	Model           string  `json:"model"` // "open" (Rate) or "closed" (Concurrency)
	Rate            int     `json:"rate,omitempty"`
	Concurrency     int     `json:"concurrency,omitempty"`
	Terminals       int     `json:"terminals"`
	Connections     int     `json:"connections"`
	Mix             string  `json:"mix"`
	Interrupted     bool    `json:"interrupted"`
	DurationSeconds float64 `json:"duration_seconds"` // time spent sending new requests
	ElapsedSeconds  float64 `json:"elapsed_seconds"`  // including the wait for the last answers

	Sent       int64 `json:"sent"`
	Answered   int64 `json:"answered"`
	Timeouts   int64 `json:"timeouts"`   // no answer within the timeout (or the connection was lost)
	Unexpected int64 `json:"unexpected"` // answers that are not what the request should get
	Late       int64 `json:"late"`       // answers that came after their request timed out
	Unmatched  int64 `json:"unmatched"`  // answers that do not unpack, or carry no valid STAN
	Skipped    int64 `json:"skipped"`    // open model: slots not sent within the timeout of their time
	Unanswered int64 `json:"unanswered"` // still in flight when the run ended
	ConnErrors int64 `json:"connection_errors"`
	Reversals  int64 `json:"timeout_reversals"` // 0400s sent for requests that timed out
	Repeats    int64 `json:"repeats"`           // 0401/0221 repeats sent
	Dropped    int64 `json:"follow_ups_dropped"`
	PINSent    int64 `json:"pin_sent,omitempty"` // purchases and pre-authorizations sent with a PIN block

	AchievedRate  float64               `json:"achieved_rate"` // answers per second of sending time
	Latency       Latency               `json:"latency_ms"`
	ResponseCodes map[string]int64      `json:"response_codes"`
	Kinds         map[string]kindCounts `json:"kinds"`
	Examples      []string              `json:"unexpected_examples,omitempty"`
}

// Latency percentiles in milliseconds, from the HDR histogram of every answer's latency (measured
// from the request's intended send time).
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99_9"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

func latencyOf(h *hdrhistogram.Histogram) Latency {
	ms := func(us int64) float64 { return float64(us) / 1000 }
	if h.TotalCount() == 0 {
		return Latency{}
	}
	return Latency{P50: ms(h.ValueAtQuantile(50)), P90: ms(h.ValueAtQuantile(90)), P99: ms(h.ValueAtQuantile(99)),
		P999: ms(h.ValueAtQuantile(99.9)), Max: ms(h.Max()), Mean: h.Mean() / 1000}
}

// report merges every connection's measurements.
func (g *generator) report(finished time.Time, interrupted bool) Report {
	cfg := &g.cfg
	r := Report{Target: cfg.Target, Model: "open", Rate: cfg.Rate, Concurrency: cfg.Concurrency, Terminals: cfg.Terminals,
		Connections: len(g.conns), Mix: cfg.Mix.String(), Interrupted: interrupted,
		ElapsedSeconds: finished.Sub(g.start).Seconds(), ResponseCodes: map[string]int64{}, Kinds: map[string]kindCounts{}}
	if g.closed() {
		r.Model = "closed"
	}
	sending := g.end
	for _, at := range []int64{g.interruptedAt.Load(), g.exhaustedAt.Load()} {
		if at != 0 && at < sending.UnixNano() {
			sending = time.Unix(0, at)
		}
	}
	r.DurationSeconds = max(sending.Sub(g.start).Seconds(), 0)
	var sum counters
	hist := newHistogram(2 * (cfg.Timeout + tickMax))
	for _, c := range g.conns {
		c.mu.Lock()
		sum.add(&c.mu.stats.counters)
		hist.Merge(c.mu.stats.hist)
		for code, n := range c.mu.stats.codes {
			r.ResponseCodes[code] += n
		}
		c.mu.Unlock()
	}
	r.Sent, r.Answered, r.Timeouts, r.Unexpected = sum.sent, sum.answered, sum.timeouts, sum.unexpected
	r.Late, r.Unmatched, r.Skipped, r.Unanswered = sum.late, sum.unmatched, sum.skipped, sum.unanswered
	r.ConnErrors, r.Reversals, r.Repeats, r.Dropped = sum.connErrors, sum.reversals, sum.repeats, sum.dropped
	r.PINSent = sum.pinSent
	for k := Kind(0); k < kindCount; k++ {
		if kc := sum.kinds[k]; kc != (kindCounts{}) {
			r.Kinds[k.String()] = kc
		}
	}
	if r.DurationSeconds > 0 {
		r.AchievedRate = float64(r.Answered) / r.DurationSeconds
	}
	r.Latency = latencyOf(hist)
	g.examples.Lock()
	r.Examples = slices.Clone(g.examples.list)
	g.examples.Unlock()
	return r
}

// WriteText writes the human-readable summary.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	model := fmt.Sprintf("open model at %d/s", r.Rate)
	if r.Model == "closed" {
		model = fmt.Sprintf("closed model, %d outstanding", r.Concurrency)
	}
	stopped := ""
	if r.Interrupted {
		stopped = " (interrupted)"
	}
	fmt.Fprintf(&b, "load on %s: %s for %.1fs%s, %d terminals on %d connections, mix %s\n",
		r.Target, model, r.DurationSeconds, stopped, r.Terminals, r.Connections, r.Mix)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  sent\t%d\tanswered\t%d\ttimeouts\t%d\tunexpected\t%d\n", r.Sent, r.Answered, r.Timeouts, r.Unexpected)
	fmt.Fprintf(tw, "  skipped\t%d\tunanswered\t%d\tlate\t%d\tunmatched\t%d\n", r.Skipped, r.Unanswered, r.Late, r.Unmatched)
	fmt.Fprintf(tw, "  reversals\t%d\trepeats\t%d\tconn errors\t%d\tdropped\t%d\n", r.Reversals, r.Repeats, r.ConnErrors, r.Dropped)
	if r.PINSent > 0 {
		fmt.Fprintf(tw, "  with PIN\t%d\n", r.PINSent)
	}
	tw.Flush()
	fmt.Fprintf(&b, "  achieved  %.1f answers/s\n", r.AchievedRate)
	l := r.Latency
	fmt.Fprintf(&b, "  latency   p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (from intended send time)\n",
		fmtMs(l.P50), fmtMs(l.P90), fmtMs(l.P99), fmtMs(l.P999), fmtMs(l.Max))
	b.WriteString("  responses")
	for _, code := range slices.Sorted(maps.Keys(r.ResponseCodes)) {
		n := r.ResponseCodes[code]
		fmt.Fprintf(&b, "  %s %d (%.1f%%)", code, n, 100*float64(n)/float64(max(r.Answered, 1)))
	}
	fmt.Fprintf(&b, "\n  %-18s %9s %9s %9s %11s %9s\n", "kind", "sent", "answered", "approved", "unexpected", "timeouts")
	for k := Kind(0); k < kindCount; k++ {
		kc, ok := r.Kinds[k.String()]
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "  %-18s %9d %9d %9d %11d %9d\n", k, kc.Sent, kc.Answered, kc.Approved, kc.Unexpected, kc.Timeouts)
	}
	for _, ex := range r.Examples {
		fmt.Fprintf(&b, "  unexpected: %s\n", ex)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtMs renders milliseconds with three significant figures or so.
func fmtMs(ms float64) string {
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.2fms", ms)
}
