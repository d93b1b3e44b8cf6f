package carddata

import (
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
)

// Guard masks card data in what is written through it and counts each finding. It is a
// prometheus.Collector (cardswitch_card_data_detections_total{source,kind}); register it with the
// process registry.
type Guard struct {
	detections *prometheus.CounterVec
}

// NewGuard returns a guard with its counters at zero.
func NewGuard() *Guard {
	g := &Guard{detections: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardswitch_card_data_detections_total",
		Help: "Card data (pan, track, cvv, pin_block) found and masked on its way out, by source (log). Must stay 0: any increase is a defect to fix at once (docs/runbook.md).",
	}, []string{"source", "kind"})}
	for _, k := range Kinds {
		g.detections.WithLabelValues("log", string(k))
	}
	return g
}

// Describe implements prometheus.Collector.
func (g *Guard) Describe(ch chan<- *prometheus.Desc) { g.detections.Describe(ch) }

// Collect implements prometheus.Collector.
func (g *Guard) Collect(ch chan<- prometheus.Metric) { g.detections.Collect(ch) }

// WriteSyncer returns ws behind the guard: each write (one log line, as zap writes them) is
// scanned, and one with card data is written masked and counted.
func (g *Guard) WriteSyncer(ws zapcore.WriteSyncer) zapcore.WriteSyncer {
	return guardedWriter{ws: ws, g: g}
}

type guardedWriter struct {
	ws zapcore.WriteSyncer
	g  *Guard
}

func (w guardedWriter) Write(p []byte) (int, error) {
	findings := Scan(p)
	if len(findings) == 0 {
		return w.ws.Write(p)
	}
	for _, f := range findings {
		w.g.detections.WithLabelValues("log", string(f.Kind)).Inc()
	}
	if _, err := w.ws.Write(Mask(p, findings)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w guardedWriter) Sync() error { return w.ws.Sync() }
