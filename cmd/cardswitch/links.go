package main

// The running issuer links, which a configuration reload adds, replaces and retires while traffic
// flows, and the store-and-forward queue, rebuilt when the set of issuers changes.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/cardswitch/cardswitch/config"
	"github.com/cardswitch/cardswitch/iso8583"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/issuer"
	"github.com/cardswitch/cardswitch/switch/saf"
)

// liveLink is one issuer's link and the configuration it was built from.
type liveLink struct {
	cfg    config.Issuer
	files  string // fingerprint of its TLS files: a renewed certificate is a changed link
	link   *issuer.Issuer
	cancel context.CancelFunc // nil until started
}

// linkSet holds the links in configuration order. Readers (the engine's adapters, the queue's
// sender, /readyz, /v1/issuers) take the current list without a lock; set replaces it.
type linkSet struct {
	log  *zap.Logger
	cur  atomic.Pointer[[]*liveLink]
	mu   sync.Mutex      // start, set and wait
	ctx  context.Context // the links' parent, from start; nil before
	runs sync.WaitGroup  // every link's Run, retired ones included
}

func newLinkSet(log *zap.Logger, links []*liveLink) *linkSet {
	s := &linkSet{log: log}
	s.cur.Store(&links)
	return s
}

func (s *linkSet) list() []*liveLink { return *s.cur.Load() }

// get returns the named issuer's link, nil when there is none.
func (s *linkSet) get(name string) *issuer.Issuer {
	for _, l := range s.list() {
		if l.cfg.Name == name {
			return l.link
		}
	}
	return nil
}

// start runs every link under ctx; links set later run under it too.
func (s *linkSet) start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ctx = ctx
	for _, l := range s.list() {
		s.runLocked(l)
	}
}

func (s *linkSet) runLocked(l *liveLink) {
	ctx, cancel := context.WithCancel(s.ctx)
	l.cancel = cancel
	s.runs.Go(func() {
		if err := l.link.Run(ctx); err != nil {
			s.log.Error("issuer link stopped", zap.String("issuer", l.cfg.Name), zap.Error(err))
		}
	})
}

// begin starts the links of next that are not running yet (built by a reload), before they are
// published: their connections come up while the old links still carry the traffic.
func (s *linkSet) begin(next []*liveLink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range next {
		if l.cancel == nil && s.ctx != nil {
			s.runLocked(l)
		}
	}
}

// set publishes next and stops retired (links replaced or removed): each finishes the requests
// it has in flight, signs off and closes, while the new ones take the traffic.
func (s *linkSet) set(next, retired []*liveLink) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cur.Store(&next)
	for _, l := range retired {
		if l.cancel != nil {
			l.cancel()
		}
	}
}

// wait returns when every link ever started has stopped (after the parent context ended).
func (s *linkSet) wait() { s.runs.Wait() }

// tlsFiles fingerprints the TLS files of an issuer: the same paths with new contents (a renewed
// certificate) make a changed link.
func tlsFiles(t config.IssuerTLS) string {
	if !t.Enabled {
		return ""
	}
	h := sha256.New()
	for _, p := range []string{t.CAFile, t.CertFile, t.KeyFile} {
		if p == "" {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			h.Write([]byte("unreadable:" + p)) // building the link reports the error
			continue
		}
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// safSender delivers store-and-forward items over the current issuer links.
type safSender struct{ links *linkSet }

func (s safSender) Send(ctx context.Context, name string, msg *iso8583.Message) (*iso8583.Message, error) {
	l := s.links.get(name)
	if l == nil {
		return nil, fmt.Errorf("store-and-forward item for unknown issuer %q", name)
	}
	return l.Send(ctx, msg)
}

// safHolder runs the store-and-forward queue and replaces it when a reload changes the issuers
// or the queue's settings: the old queue's loops stop (its items stay in the database), the new
// one's start. Wake and Snapshot go to the current queue.
type safHolder struct {
	cur atomic.Pointer[saf.Queue]
	mu  sync.Mutex
	// stop ends the running queue's Run (nil when none runs); replaced tells Run to start the
	// next queue instead of returning.
	stop     context.CancelFunc
	replaced bool
}

func newSAFHolder(q *saf.Queue) *safHolder {
	h := &safHolder{}
	h.cur.Store(q)
	return h
}

func (h *safHolder) queue() *saf.Queue { return h.cur.Load() }
func (h *safHolder) Wake()             { h.queue().Wake() }

func (h *safHolder) Snapshot(ctx context.Context, f ledger.SAFFilter) (saf.Snapshot, error) {
	return h.queue().Snapshot(ctx, f)
}

// Run runs the current queue until ctx ends, starting the next one each time Replace swaps it.
func (h *safHolder) Run(ctx context.Context) error {
	for {
		h.mu.Lock()
		qctx, cancel := context.WithCancel(ctx)
		h.stop, h.replaced = cancel, false
		q := h.cur.Load()
		h.mu.Unlock()
		err := q.Run(qctx)
		cancel()
		h.mu.Lock()
		again := h.replaced && ctx.Err() == nil
		h.stop = nil
		h.mu.Unlock()
		if !again {
			return err
		}
	}
}

// Replace makes q the queue: the running one stops and q starts.
func (h *safHolder) Replace(q *saf.Queue) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cur.Store(q)
	if h.stop != nil {
		h.replaced = true
		h.stop()
	}
}
