package config

import (
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// API is the payments API for e-commerce sites and government portals (CONTRACT §12).
type API struct {
	// Listen is host:port; default "127.0.0.1:8081"; "off" disables the API. With the test keys on,
	// it must be a loopback address (serve refuses to start otherwise).
	Listen string `yaml:"listen"`
	// TLSCert and TLSKey enable TLS on the listener when both are set.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// PublicURL is the API's address as merchants and payers reach it, for links.next_url.
	// Default "http://" + Listen ("https://" with TLS).
	PublicURL string `yaml:"public_url"`
	// TestKeys stores the public test keys sk_test_<merchant id> of every configured merchant,
	// with every scope. Default true (the default topology, CONTRACT §6); never on a listener
	// that other machines can reach.
	TestKeys *bool `yaml:"test_keys"`
	// RateLimit is the requests per second allowed per API key (429 beyond). Default 20000.
	RateLimit int `yaml:"rate_limit"`
	// MaxBodyBytes bounds a request body. Default 65536.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// CardKeyFile holds the 32-byte AES key that seals the card numbers kept for refunds; created
	// (mode 0600) when missing. Default "<data_dir>/card-data.key".
	CardKeyFile string `yaml:"card_key_file"`
	// CreatedExpiry is how long a payment created without a card waits for its payer. Default 90m.
	CreatedExpiry time.Duration `yaml:"created_expiry"`
	// DatabaseFile, with the embedded store, puts the API's tables in a SQLite file of their own
	// instead of the ledger's (two files: two writers that never wait for each other). Default "":
	// the ledger's file.
	DatabaseFile string `yaml:"database_file"`
	// WriteBatchMax bounds the API writes committed in one database transaction. Default 512.
	WriteBatchMax int      `yaml:"write_batch_max"`
	Webhooks      Webhooks `yaml:"webhooks"`
	// Page is the hosted payment page (page.go).
	Page Page `yaml:"page"`
}

// Webhooks configures webhook delivery.
type Webhooks struct {
	// AllowPrivateNetworks lets endpoint URLs resolve to loopback, private and link-local
	// addresses. Default true (the default topology runs on one machine); set false in production.
	AllowPrivateNetworks *bool `yaml:"allow_private_networks"`
	// Workers bounds deliveries in flight. Default 16.
	Workers int `yaml:"workers"`
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

// Defaults of the payments API.
const (
	DefaultAPIListen        = "127.0.0.1:8081"
	DefaultAPIRateLimit     = 20000
	DefaultAPIMaxBodyBytes  = 64 << 10
	DefaultAPICreatedExpiry = 90 * time.Minute
	DefaultAPIWriteBatchMax = 512
	DefaultWebhookWorkers   = 16
	DefaultWebhookTimeout   = 10 * time.Second
)

// BaseURL is PublicURL, or the listener's own address (localhost for a wildcard host).
func (a API) BaseURL() string {
	if a.PublicURL != "" {
		return strings.TrimSuffix(a.PublicURL, "/")
	}
	scheme := "http://"
	if a.TLSCert != "" {
		scheme = "https://"
	}
	host, port, err := net.SplitHostPort(a.Listen)
	if err != nil {
		return scheme + a.Listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return scheme + net.JoinHostPort(host, port)
}

// CardKeyPath is CardKeyFile, or card-data.key in the ledger's data directory.
func (c *Config) CardKeyPath() string {
	if c.API.CardKeyFile != "" {
		return c.API.CardKeyFile
	}
	return filepath.Join(c.Ledger.DataDir, "card-data.key")
}

// Enabled reports whether the API listens.
func (a API) Enabled() bool { return a.Listen != "off" }

// TestKeysOn reports whether the test keys are stored.
func (a API) TestKeysOn() bool { return a.TestKeys == nil || *a.TestKeys }

// PrivateNetworksAllowed reports whether webhook endpoints may be on private networks.
func (w Webhooks) PrivateNetworksAllowed() bool {
	return w.AllowPrivateNetworks == nil || *w.AllowPrivateNetworks
}

func (c *Config) applyAPIDefaults() {
	a := &c.API
	if a.Listen == "" {
		a.Listen = DefaultAPIListen
	}
	if a.RateLimit == 0 {
		a.RateLimit = DefaultAPIRateLimit
	}
	if a.MaxBodyBytes == 0 {
		a.MaxBodyBytes = DefaultAPIMaxBodyBytes
	}
	if a.CreatedExpiry == 0 {
		a.CreatedExpiry = DefaultAPICreatedExpiry
	}
	if a.WriteBatchMax == 0 {
		a.WriteBatchMax = DefaultAPIWriteBatchMax
	}
	if a.Webhooks.Workers == 0 {
		a.Webhooks.Workers = DefaultWebhookWorkers
	}
	if a.Webhooks.Timeout == 0 {
		a.Webhooks.Timeout = DefaultWebhookTimeout
	}
	a.Page.applyDefaults()
}

func (c *Config) validateAPI() error {
	a := c.API
	if !a.Enabled() {
		return nil
	}
	if err := hostPort("api.listen", a.Listen); err != nil {
		return err
	}
	if a.TestKeysOn() && !IsLoopback(a.Listen) {
		return errf("api.listen", "%q is not a loopback address: the public test keys must be off (api.test_keys: false)", a.Listen)
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		return errf("api.tls_cert", "api.tls_cert and api.tls_key go together")
	}
	if u, err := url.Parse(a.BaseURL()); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errf("api.public_url", "%q must be an absolute http(s) URL", a.PublicURL)
	}
	if a.RateLimit < -1 || a.RateLimit > 10_000_000 {
		return errf("api.rate_limit", "%d must be -1 (no limit) or 1 to 10000000", a.RateLimit)
	}
	if a.MaxBodyBytes < 1024 || a.MaxBodyBytes > 16<<20 {
		return errf("api.max_body_bytes", "%d must be 1024 to 16777216", a.MaxBodyBytes)
	}
	if a.CreatedExpiry < time.Minute {
		return errf("api.created_expiry", "%v must be at least 1m", a.CreatedExpiry)
	}
	if a.WriteBatchMax < 1 || a.WriteBatchMax > 8192 {
		return errf("api.write_batch_max", "%d must be 1 to 8192", a.WriteBatchMax)
	}
	if a.Webhooks.Workers < 1 || a.Webhooks.Workers > 1024 {
		return errf("api.webhooks.workers", "%d must be 1 to 1024", a.Webhooks.Workers)
	}
	if a.Webhooks.Timeout < time.Second || a.Webhooks.Timeout > time.Minute {
		return errf("api.webhooks.timeout", "%v must be 1s to 1m", a.Webhooks.Timeout)
	}
	return a.Page.validate()
}
