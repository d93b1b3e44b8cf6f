package engine

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// dupCache remembers recent requests by identity (MTI class, terminal, STAN, transmission
// date-time) with a fingerprint of their content and, once decided, their response. It is
// sharded so that no lock is global, and bounded: each shard keeps at most max/shards entries
// for at most window, oldest forgotten first.
type dupCache struct {
	window time.Duration
	seed   maphash.Seed
	shards [dupShards]dupShard
}

const dupShards = 64

type dupShard struct {
	mu      sync.Mutex
	entries map[string]*dupEntry
	ring    []dupRingItem // insertion order, for eviction when the shard is full
	head    int
	size    int
}

type dupRingItem struct {
	key   string
	entry *dupEntry
}

// dupEntry is one remembered request and, once decided, the decision its retransmissions get
// again. It keeps the decision in fixed-size arrays rather than the response message, so that a
// million of them cost little memory and little garbage-collector work.
type dupEntry struct {
	fingerprint uint64
	at          int64         // unix nanoseconds of the first transmission
	done        chan struct{} // closed when decision is set
	decision    dupDecision
}

// dupDecision is what a duplicate's response repeats: the response code, the approval code and
// the RRN the original response carried.
type dupDecision struct {
	code     [2]byte
	approval [6]byte
	rrn      [12]byte
	rrnLen   uint8
}

func newDupDecision(resp *iso8583.Message) dupDecision {
	var d dupDecision
	copy(d.code[:], resp.ResponseCode)
	copy(d.approval[:], resp.ApprovalCode)
	d.rrnLen = uint8(copy(d.rrn[:], resp.RRN))
	return d
}

// response rebuilds the original response for a duplicate request.
func (d *dupDecision) response(req *iso8583.Message) *iso8583.Message {
	resp := respond(req, string(d.code[:]))
	if d.approval != [6]byte{} {
		resp.ApprovalCode = string(d.approval[:])
	}
	if d.rrnLen > 0 {
		resp.RRN = string(d.rrn[:d.rrnLen])
	}
	return resp
}

func newDupCache(max int, window time.Duration) *dupCache {
	per := max / dupShards
	if per < 1 {
		per = 1
	}
	c := &dupCache{window: window, seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].entries = make(map[string]*dupEntry)
		c.shards[i].ring = make([]dupRingItem, per)
	}
	return c
}

// fingerprint hashes what must be equal for a retransmission to be a duplicate rather than a
// different request under the same key: PAN, processing code and amount.
func (c *dupCache) fingerprint(req *iso8583.Message) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(req.PAN)
	h.WriteByte(0)
	h.WriteString(req.ProcessingCode)
	h.WriteByte(0)
	h.WriteString(req.Amount)
	return h.Sum64()
}

// begin registers key. When the key is new it returns (entry, false) and the caller must call
// finish. When it is known it returns the first entry and true.
func (c *dupCache) begin(key string, fp uint64, now time.Time) (*dupEntry, bool) {
	s := &c.shards[maphash.String(c.seed, key)%dupShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok && now.UnixNano()-e.at <= int64(c.window) {
		return e, true
	}
	e := &dupEntry{fingerprint: fp, at: now.UnixNano(), done: make(chan struct{})}
	if s.size == len(s.ring) {
		old := s.ring[s.head]
		if s.entries[old.key] == old.entry {
			delete(s.entries, old.key)
		}
		s.ring[s.head] = dupRingItem{}
		s.head = (s.head + 1) % len(s.ring)
		s.size--
	}
	s.ring[(s.head+s.size)%len(s.ring)] = dupRingItem{key: key, entry: e}
	s.size++
	s.entries[key] = e
	return e, false
}

// finish records the decision of an entry begun by this caller and wakes duplicates waiting on it.
func (c *dupCache) finish(e *dupEntry, resp *iso8583.Message) {
	e.decision = newDupDecision(resp)
	close(e.done)
}

// forget drops a key whose processing must not be remembered (a failure that a retransmission
// should retry, such as a ledger error).
func (c *dupCache) forget(key string, e *dupEntry) {
	s := &c.shards[maphash.String(c.seed, key)%dupShards]
	s.mu.Lock()
	if s.entries[key] == e {
		delete(s.entries, key)
	}
	s.mu.Unlock()
}
