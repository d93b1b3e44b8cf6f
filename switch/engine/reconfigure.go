package engine

import (
	"errors"
	"fmt"
)

// snapshot is what a reload may change: the merchants, terminals and issuers and the routing
// table. A snapshot is never modified once published; Reconfigure replaces it whole.
type snapshot struct {
	merchants map[string]*Merchant
	terminals map[string]*Terminal
	issuers   map[string]*Issuer
	router    Router
}

// newSnapshot indexes cfg's merchants, terminals and issuers (copies: the caller's slices may be
// reused) with router.
func newSnapshot(cfg Config, router Router) (*snapshot, error) {
	if router == nil {
		return nil, errors.New("engine: a router is required")
	}
	s := &snapshot{
		merchants: make(map[string]*Merchant, len(cfg.Merchants)),
		terminals: make(map[string]*Terminal, len(cfg.Terminals)),
		issuers:   make(map[string]*Issuer, len(cfg.Issuers)),
		router:    router,
	}
	for _, m := range cfg.Merchants {
		s.merchants[m.ID] = &m
	}
	for _, t := range cfg.Terminals {
		s.terminals[t.ID] = &t
	}
	for _, is := range cfg.Issuers {
		if is.Link == nil {
			return nil, fmt.Errorf("engine: issuer %q has no link", is.Name)
		}
		s.issuers[is.Name] = &is
	}
	return s, nil
}

// Reconfigure replaces the merchants, terminals and issuers of cfg and the router, all at once
// and without a lock on the hot path: every look-up of a request reads the set current at that
// moment, so requests in progress finish undisturbed (one that straddles the swap may see the old
// merchant and the new issuer, each whole). The rest of cfg must equal the running configuration:
// those settings (identity, duplicate cache, hold timeout) need a restart.
func (e *Engine) Reconfigure(cfg Config, router Router) error {
	switch {
	case cfg.AcquirerID != e.cfg.AcquirerID, cfg.NodeID != e.cfg.NodeID:
		return errors.New("engine: the acquirer and node ids cannot change while running")
	case cfg.DuplicateWindow != e.cfg.DuplicateWindow, cfg.DuplicateMax != e.cfg.DuplicateMax:
		return errors.New("engine: the duplicate window and bound cannot change while running")
	case cfg.HoldTimeout != e.cfg.HoldTimeout:
		return errors.New("engine: the hold timeout cannot change while running")
	}
	s, err := newSnapshot(cfg, router)
	if err != nil {
		return err
	}
	e.conf.Store(s)
	return nil
}

func (e *Engine) merchant(id string) *Merchant { return e.conf.Load().merchants[id] }
func (e *Engine) terminal(id string) *Terminal { return e.conf.Load().terminals[id] }
func (e *Engine) issuer(name string) *Issuer   { return e.conf.Load().issuers[name] }

// route picks the issuer for a PAN with the current routing table.
func (e *Engine) route(pan string) (string, error) { return e.conf.Load().router.Route(pan) }
