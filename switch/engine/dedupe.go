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

// dupEntry is one remembered request; done closes when resp is set.
type dupEntry struct {
	fingerprint uint64
	at          time.Time
	done        chan struct{}
	resp        *iso8583.Message
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
	if e, ok := s.entries[key]; ok && now.Sub(e.at) <= c.window {
		return e, true
	}
	e := &dupEntry{fingerprint: fp, at: now, done: make(chan struct{})}
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

// finish records the response of an entry begun by this caller and wakes duplicates waiting on it.
func (c *dupCache) finish(e *dupEntry, resp *iso8583.Message) {
	e.resp = resp
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
