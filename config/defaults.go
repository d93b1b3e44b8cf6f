package config

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Defaults (CONTRACT §6), named so that documentation and code agree.
const (
	DefaultAcquirerListen     = ":8583"
	DefaultHTTPListen         = "127.0.0.1:8080"
	DefaultAcquirerID         = "00000012345"
	DefaultMaxConnections     = 4096
	DefaultMaxInFlightPerConn = 256
	DefaultMaxInFlight        = 16384
	DefaultMaxFrame           = 8192
	DefaultIdleTimeout        = 5 * time.Minute
	DefaultReadTimeout        = 10 * time.Second
	DefaultWriteTimeout       = 10 * time.Second
	DefaultDrainTimeout       = 30 * time.Second
	DefaultIssuerTimeout      = 5 * time.Second
	DefaultIssuerConnections  = 2
	DefaultEchoInterval       = 30 * time.Second
	DefaultIssuerMaxInFlight  = 1024
	DefaultReconnectMin       = 100 * time.Millisecond
	DefaultReconnectMax       = 10 * time.Second
	DefaultCircuitFailures    = 5
	DefaultCircuitOpen        = 10 * time.Second
	DefaultDuplicateWindow    = 10 * time.Minute
	DefaultDuplicateMax       = 1_000_000
	DefaultSAFMaxAge          = 24 * time.Hour
	DefaultSAFRetryMin        = time.Second
	DefaultSAFRetryMax        = 5 * time.Minute
	DefaultSAFTimeout         = 10 * time.Second
	DefaultSAFWindow          = 8
	DefaultSAFRetention       = 7 * 24 * time.Hour
	intentStaleMargin         = 30 * time.Second
	DefaultHSMHeaderLen       = 4
	DefaultHSMTimeout         = 2 * time.Second
	DefaultDataDir            = "./data"
	DefaultBatchMax           = 4096
	DefaultHoldTimeout        = 7 * 24 * time.Hour
	DefaultCurrency           = "840"
	DefaultGCPercent          = 400
	DefaultVerifyInterval     = time.Hour
	DefaultSpec               = iso8583.SpecContract // the acquirer spec of CONTRACT §2
	DefaultNetworkSignOn      = iso8583.NetworkSignOn
	DefaultNetworkSignOff     = iso8583.NetworkSignOff
	DefaultNetworkEcho        = iso8583.NetworkEcho
)

// AllTransactions is what a merchant may do when its config does not say.
var allTransactions = []string{TxnPreauth, TxnCompletion, TxnPurchase, TxnRefund, TxnReversal}

// Default returns the default topology of CONTRACT §6: the acquirer listener on :8583, HTTP on
// 127.0.0.1:8080, issuers alpha (127.0.0.1:9583, prefix 4) and beta (127.0.0.1:9584, prefix 5) with 5 s
// timeouts, the in-process software HSM with the Thales test LMK, the embedded ledger in ./data,
// and the merchants MERCHANT0000001 (e-commerce, MCC 5999, fee 1.50% + 0.10) and
// GOVAGENCY000001 (government, MCC 9311, convenience fee 1.00), currency 840.
func Default() *Config {
	c := &Config{
		NodeID:     "0",
		AcquirerID: DefaultAcquirerID,
		Acceptor:   Acceptor{Listen: DefaultAcquirerListen, Framing: "binary2"},
		HTTP:       HTTP{Listen: DefaultHTTPListen},
		Issuers: []Issuer{
			{Name: "alpha", Addr: "127.0.0.1:9583", Prefixes: []string{"4"}, Timeout: DefaultIssuerTimeout},
			{Name: "beta", Addr: "127.0.0.1:9584", Prefixes: []string{"5"}, Timeout: DefaultIssuerTimeout},
		},
		Merchants: []Merchant{
			{ID: "MERCHANT0000001", Name: "Example e-commerce merchant", Kind: KindMerchant, MCC: "5999",
				FeePercent: "1.50", FeeFixed: 10},
			{ID: "GOVAGENCY000001", Name: "Example government agency", Kind: KindAgency, MCC: "9311",
				ConvenienceFee: 100},
		},
		HSM:    HSM{Mode: "soft", LMK: "test", DataKey: TestDataKey},
		Ledger: Ledger{DataDir: DefaultDataDir},
		Log:    Log{Level: "info", Format: "json"},
	}
	c.applyDefaults()
	return c
}

// applyDefaults fills every zero value that has a default.
func (c *Config) applyDefaults() {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	dur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	str := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	str(&c.NodeID, "0")
	str(&c.AcquirerID, DefaultAcquirerID)
	a := &c.Acceptor
	str(&a.Name, "default")
	str(&a.Spec, DefaultSpec)
	str(&a.Listen, DefaultAcquirerListen)
	str(&a.Framing, "binary2")
	def(&a.MaxConnections, DefaultMaxConnections)
	def(&a.MaxInFlightPerConn, DefaultMaxInFlightPerConn)
	def(&a.MaxInFlight, DefaultMaxInFlight)
	def(&a.MaxFrame, DefaultMaxFrame)
	dur(&a.IdleTimeout, DefaultIdleTimeout)
	dur(&a.ReadTimeout, DefaultReadTimeout)
	dur(&a.WriteTimeout, DefaultWriteTimeout)
	dur(&a.DrainTimeout, DefaultDrainTimeout)
	for i := range c.Acceptors {
		x := &c.Acceptors[i]
		str(&x.Name, fmt.Sprintf("acceptor-%d", i+1))
		str(&x.Spec, DefaultSpec)
		str(&x.Framing, "binary2")
		def(&x.MaxConnections, a.MaxConnections)
		def(&x.MaxInFlightPerConn, a.MaxInFlightPerConn)
		def(&x.MaxInFlight, a.MaxInFlight)
		def(&x.MaxFrame, a.MaxFrame)
		dur(&x.IdleTimeout, a.IdleTimeout)
		dur(&x.ReadTimeout, a.ReadTimeout)
		dur(&x.WriteTimeout, a.WriteTimeout)
		dur(&x.DrainTimeout, a.DrainTimeout)
	}
	str(&c.HTTP.Listen, DefaultHTTPListen)
	dur(&c.Engine.DuplicateWindow, DefaultDuplicateWindow)
	def(&c.Engine.DuplicateMax, DefaultDuplicateMax)
	dur(&c.SAF.MaxAge, DefaultSAFMaxAge)
	dur(&c.SAF.RetryMin, DefaultSAFRetryMin)
	dur(&c.SAF.RetryMax, DefaultSAFRetryMax)
	dur(&c.SAF.Timeout, DefaultSAFTimeout)
	def(&c.SAF.Window, DefaultSAFWindow)
	dur(&c.SAF.Retention, DefaultSAFRetention)
	if c.SAF.IntentStaleAfter == 0 {
		longest := time.Duration(0)
		for _, is := range c.Issuers {
			longest = max(longest, is.Timeout)
		}
		c.SAF.IntentStaleAfter = max(longest, DefaultIssuerTimeout) + intentStaleMargin
	}
	for i := range c.Issuers {
		is := &c.Issuers[i]
		str(&is.Framing, "binary2")
		dur(&is.Timeout, DefaultIssuerTimeout)
		def(&is.Connections, DefaultIssuerConnections)
		str(&is.Spec, DefaultSpec)
		str(&is.NetworkCodes.SignOn, DefaultNetworkSignOn)
		str(&is.NetworkCodes.SignOff, DefaultNetworkSignOff)
		str(&is.NetworkCodes.Echo, DefaultNetworkEcho)
		if is.EchoInterval == nil {
			is.EchoInterval = new(Interval(DefaultEchoInterval))
		}
		def(&is.MaxInFlight, DefaultIssuerMaxInFlight)
		dur(&is.ReconnectMin, DefaultReconnectMin)
		dur(&is.ReconnectMax, DefaultReconnectMax)
		def(&is.Circuit.ConsecutiveFailures, DefaultCircuitFailures)
		dur(&is.Circuit.OpenDuration, DefaultCircuitOpen)
	}
	for i := range c.Merchants {
		m := &c.Merchants[i]
		str(&m.Kind, KindMerchant)
		if len(m.Currencies) == 0 {
			m.Currencies = []string{DefaultCurrency}
		}
		if len(m.Transactions) == 0 {
			m.Transactions = append([]string(nil), allTransactions...)
		}
	}
	str(&c.HSM.Mode, "soft")
	if c.HSM.Mode == "soft" {
		str(&c.HSM.LMK, "test")
	}
	def(&c.HSM.HeaderLen, DefaultHSMHeaderLen)
	dur(&c.HSM.Timeout, DefaultHSMTimeout)
	str(&c.Ledger.DataDir, DefaultDataDir)
	def(&c.Ledger.BatchMax, DefaultBatchMax)
	dur(&c.Ledger.HoldTimeout, DefaultHoldTimeout)
	dur(&c.Ledger.VerifyInterval, DefaultVerifyInterval)
	str(&c.Ledger.Cutover, "00:00")
	str(&c.Ledger.SettlementDir, filepath.Join(c.Ledger.DataDir, "settlement"))
	def(&c.Runtime.GCPercent, DefaultGCPercent)
	str(&c.Log.Level, "info")
	str(&c.Log.Format, "json")
	c.applyAPIDefaults()
}

// TestDataKey is the default topology's data encryption key: the clear test key
// 0123456789ABCDEF FEDCBA9876543210 under the Thales test LMK. Like the test LMK, it is public:
// production configures its own (hsm.data_key).
var TestDataKey = Key{Cryptogram: "UA5F7447E8D9068513B94C51EF06E64EF", CheckValue: "08D7B4"}
