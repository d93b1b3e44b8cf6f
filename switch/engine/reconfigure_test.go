package engine

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/cardswitch/cardswitch/hsm"
	"github.com/cardswitch/cardswitch/ledger"
	"github.com/cardswitch/cardswitch/switch/route"
)

// running returns the configuration v's engine was built with, to edit for Reconfigure.
func (v *env) running() Config {
	c := v.e.cfg
	c.Merchants = append([]Merchant(nil), c.Merchants...)
	c.Terminals = append([]Terminal(nil), c.Terminals...)
	c.Issuers = append([]Issuer(nil), c.Issuers...)
	return c
}

func routes(t *testing.T, entries ...route.Entry) Router {
	t.Helper()
	r, err := route.New(entries)
	require.NoError(t, err)
	return r
}

func TestReconfigureAppliesToTheNextRequests(t *testing.T) {
	v := newEnv(t, nil)
	var fees []string
	var mu sync.Mutex
	v.ledger.refuse = func(ev ledger.Event) *ledger.Reason {
		mu.Lock()
		fees = append(fees, ev.Payee.Fee.Percent.String())
		mu.Unlock()
		return nil
	}
	require.Equal(t, "00", v.handle(v.purchase(visa, 1001)).ResponseCode)

	cfg := v.running()
	cfg.Merchants[0].Fee.Percent = decimal.RequireFromString("2.25")
	gamma := &fakeIssuer{}
	cfg.Issuers = append(cfg.Issuers, Issuer{Name: "gamma", Link: gamma, Timeout: cfg.Issuers[0].Timeout})
	cfg.Terminals = append(cfg.Terminals, Terminal{ID: "WEB00001", MACKey: hsm.Key{Cryptogram: "U4567"}, MACAlg: hsm.MACRetail})
	require.NoError(t, v.e.Reconfigure(cfg, routes(t, route.Entry{Prefix: "4", Issuer: "gamma"}, route.Entry{Prefix: "5", Issuer: "beta"})))

	require.Equal(t, "63", v.handle(v.purchase(visa, 1001)).ResponseCode, "the terminal's new MAC key applies: an unMACed request is refused")
	cfg.Terminals = cfg.Terminals[:len(cfg.Terminals)-1]
	require.NoError(t, v.e.Reconfigure(cfg, routes(t, route.Entry{Prefix: "4", Issuer: "gamma"}, route.Entry{Prefix: "5", Issuer: "beta"})))
	alphaCalls := v.alpha.calls.Load()
	require.Equal(t, "00", v.handle(v.purchase(visa, 1001)).ResponseCode)
	require.Equal(t, int64(1), gamma.calls.Load(), "prefix 4 is routed to the new issuer")
	require.Equal(t, alphaCalls, v.alpha.calls.Load(), "the old route is gone")
	mu.Lock()
	require.Equal(t, []string{"1.5", "2.25"}, fees, "the new fee applies to the request after the reload")
	mu.Unlock()

	cfg.Merchants = cfg.Merchants[1:]
	require.NoError(t, v.e.Reconfigure(cfg, routes(t, route.Entry{Prefix: "4", Issuer: "gamma"})))
	require.Equal(t, "03", v.handle(v.purchase(visa, 1001)).ResponseCode, "a removed merchant is unknown")
	require.Equal(t, "15", func() string {
		m := v.purchase(mc, 1001)
		m.MerchantID = "GOVAGENCY000001"
		return v.handle(m).ResponseCode
	}(), "a removed route: no such issuer")
}

func TestReconfigureRefusesWhatNeedsARestart(t *testing.T) {
	v := newEnv(t, nil)
	r := routes(t, route.Entry{Prefix: "4", Issuer: "alpha"})
	for name, edit := range map[string]func(*Config){
		"node id":      func(c *Config) { c.NodeID = '7' },
		"acquirer id":  func(c *Config) { c.AcquirerID = "1" },
		"duplicates":   func(c *Config) { c.DuplicateMax++ },
		"hold timeout": func(c *Config) { c.HoldTimeout *= 2 },
		"issuer link":  func(c *Config) { c.Issuers[0].Link = nil },
	} {
		cfg := v.running()
		edit(&cfg)
		require.Error(t, v.e.Reconfigure(cfg, r), name)
	}
	require.Error(t, v.e.Reconfigure(v.running(), nil), "no router")
	require.Equal(t, "00", v.handle(v.purchase(visa, 1001)).ResponseCode, "a refused reconfiguration changes nothing")
}

// TestReconfigureUnderLoad: requests keep flowing while the configuration is swapped back and
// forth; every one is answered 00 (run with -race: no lock is needed on the hot path).
func TestReconfigureUnderLoad(t *testing.T) {
	v := newEnv(t, nil)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var answered atomic.Int64
	errs := make(chan string, 8)
	base := v.purchase(visa, 1001)
	for w := range 4 {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				req := *base
				req.TerminalID, req.STAN = "WEBLOAD"+string(rune('0'+w)), stanOf(n%999_999+1)
				if rc := v.e.Handle(t.Context(), &req).ResponseCode; rc != "00" && rc != "94" {
					select {
					case errs <- rc:
					default:
					}
					return
				}
				answered.Add(1)
			}
		})
	}
	r := routes(t, route.Entry{Prefix: "4", Issuer: "alpha"}, route.Entry{Prefix: "5", Issuer: "beta"})
	swaps := 0
	for k := 0; answered.Load() < 2000 && len(errs) == 0; k++ {
		swaps++
		cfg := v.running()
		cfg.Merchants[0].Fee.Percent = decimal.NewFromInt(int64(k % 3))
		require.NoError(t, v.e.Reconfigure(cfg, r))
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for rc := range errs {
		t.Fatalf("a request answered %s during reconfiguration", rc)
	}
	require.Greater(t, swaps, 10, "the configuration changed while requests flowed")
}

func stanOf(n int) string {
	b := []byte("000000")
	for i := 5; i >= 0 && n > 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}
