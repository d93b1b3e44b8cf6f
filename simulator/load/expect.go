package load

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrThreshold is wrapped by every malformed --expect threshold.
var ErrThreshold = errors.New("threshold")

// Threshold is one --expect condition, such as p99<50ms or unexpected=0.
type Threshold struct {
	Metric string
	Op     string  // <, <=, >, >=, =
	Value  float64 // milliseconds for latencies, answers per second for rate, a count otherwise
	text   string
}

// metricKind says how a metric's value is written and read.
type metricKind uint8

const (
	metricLatency metricKind = iota + 1 // a duration with its unit: 50ms, 1.5s, 800us
	metricCount                         // a whole number
	metricRate                          // answers per second
)

var metrics = map[string]metricKind{
	"p50": metricLatency, "p90": metricLatency, "p99": metricLatency, "p999": metricLatency, "p99.9": metricLatency,
	"max": metricLatency, "mean": metricLatency,
	"sent": metricCount, "answered": metricCount, "timeouts": metricCount, "unexpected": metricCount,
	"late": metricCount, "unmatched": metricCount, "skipped": metricCount, "unanswered": metricCount,
	"errors": metricCount,
	"rate":   metricRate,
}

// ParseThresholds reads a comma-separated list such as "p99<50ms,unexpected=0,rate>=4500".
func ParseThresholds(s string) ([]Threshold, error) {
	var out []Threshold
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		t, err := parseThreshold(part)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %q holds no condition", ErrThreshold, s)
	}
	return out, nil
}

func parseThreshold(s string) (Threshold, error) {
	i := strings.IndexAny(s, "<>=")
	if i <= 0 {
		return Threshold{}, fmt.Errorf("%w: %q is not metric<value, metric>=value or metric=value", ErrThreshold, s)
	}
	t := Threshold{Metric: strings.TrimSpace(s[:i]), text: s}
	rest := s[i:]
	for _, op := range []string{"<=", ">=", "==", "<", ">", "="} {
		if strings.HasPrefix(rest, op) {
			t.Op, rest = op, strings.TrimSpace(rest[len(op):])
			if op == "==" {
				t.Op = "="
			}
			break
		}
	}
	kind, ok := metrics[t.Metric]
	if !ok {
		return Threshold{}, fmt.Errorf("%w: %q: unknown metric %q (want p50, p90, p99, p999, max, mean, rate, sent, answered, timeouts, unexpected, late, unmatched, skipped, unanswered or errors)",
			ErrThreshold, s, t.Metric)
	}
	switch kind {
	case metricLatency:
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return Threshold{}, fmt.Errorf("%w: %q: %s needs a duration with its unit, such as 50ms", ErrThreshold, s, t.Metric)
		}
		t.Value = float64(d) / float64(time.Millisecond)
	case metricCount:
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil || n < 0 {
			return Threshold{}, fmt.Errorf("%w: %q: %s needs a whole number", ErrThreshold, s, t.Metric)
		}
		t.Value = float64(n)
	case metricRate:
		v, err := strconv.ParseFloat(rest, 64)
		if err != nil || v < 0 {
			return Threshold{}, fmt.Errorf("%w: %q: rate needs answers per second, such as 4500", ErrThreshold, s)
		}
		t.Value = v
	}
	return t, nil
}

// String is the threshold as written.
func (t Threshold) String() string { return t.text }

// value is the metric's value in r.
func (t Threshold) value(r Report) float64 {
	switch t.Metric {
	case "p50":
		return r.Latency.P50
	case "p90":
		return r.Latency.P90
	case "p99":
		return r.Latency.P99
	case "p999", "p99.9":
		return r.Latency.P999
	case "max":
		return r.Latency.Max
	case "mean":
		return r.Latency.Mean
	case "rate":
		return r.AchievedRate
	}
	counts := map[string]int64{"sent": r.Sent, "answered": r.Answered, "timeouts": r.Timeouts, "unexpected": r.Unexpected,
		"late": r.Late, "unmatched": r.Unmatched, "skipped": r.Skipped, "unanswered": r.Unanswered, "errors": r.ConnErrors}
	return float64(counts[t.Metric])
}

// Check returns one line per threshold that r does not meet, naming the measured value.
func Check(r Report, ts []Threshold) []string {
	var failed []string
	for _, t := range ts {
		v := t.value(r)
		var ok bool
		switch t.Op {
		case "<":
			ok = v < t.Value
		case "<=":
			ok = v <= t.Value
		case ">":
			ok = v > t.Value
		case ">=":
			ok = v >= t.Value
		default:
			ok = v == t.Value
		}
		if !ok {
			failed = append(failed, fmt.Sprintf("%s not met: %s is %s", t.text, t.Metric, t.format(v)))
		}
	}
	return failed
}

func (t Threshold) format(v float64) string {
	switch metrics[t.Metric] {
	case metricLatency:
		return fmtMs(v)
	case metricRate:
		return fmt.Sprintf("%.1f/s", v)
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}
