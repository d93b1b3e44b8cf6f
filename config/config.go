// Package config is the switch's configuration: a YAML file whose defaults are the topology of
// CONTRACT §6, validated with errors that name the offending key.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"go.yaml.in/yaml/v3"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Config is everything `cardswitch serve` needs. Zero values are replaced by defaults (Default).
type Config struct {
	// NodeID tells apart switch instances that share one database: one character [0-9A-Z], part of
	// every RRN the instance assigns. Default "0".
	NodeID string `yaml:"node_id"`
	// AcquirerID is sent in field 32 of every issuer request: up to 11 digits.
	AcquirerID string `yaml:"acquirer_id"`

	Acceptor Acceptor `yaml:"acceptor"`
	// Acceptors are further acquirer listeners, each with its own address, framing, header, spec
	// and TLS (terminals of another dialect on a port of their own); all reach the same engine.
	// A limit left out is the acceptor block's.
	Acceptors []Acceptor `yaml:"acceptors"`
	HTTP      HTTP       `yaml:"http"`
	Engine    Engine     `yaml:"engine"`
	SAF       SAF        `yaml:"saf"`
	Issuers   []Issuer   `yaml:"issuers"`
	Merchants []Merchant `yaml:"merchants"`
	Terminals []Terminal `yaml:"terminals"`
	HSM       HSM        `yaml:"hsm"`
	Ledger    Ledger     `yaml:"ledger"`
	API       API        `yaml:"api"` // the payments API (api.go)
	Log       Log        `yaml:"log"`
	Runtime   Runtime    `yaml:"runtime"`
}

// Runtime tunes the Go runtime of the switch process.
type Runtime struct {
	// GCPercent is the garbage collector's target heap growth (GOGC). The switch's live heap is
	// small and its allocation rate high, so collecting less often saves CPU for little memory.
	// Default 400; the GOGC environment variable, when set, wins.
	GCPercent int `yaml:"gc_percent"`
}

// Acceptor is the ISO 8583 listener for terminals and gateways.
type Acceptor struct {
	// Name tells listeners apart in logs; default "default" for the acceptor block and
	// "acceptor-N" for acceptors[N-1].
	Name    string `yaml:"name"`
	Listen  string `yaml:"listen"`  // host:port; default ":8583"
	Framing string `yaml:"framing"` // length header: binary2 (default), ascii4 or bcd2
	// Spec is the terminals' ISO 8583 spec: contract (default), moov-spec87ascii,
	// moov-spec87hex, or the path of a JSON spec in moov-io's format (docs/iso8583.md).
	Spec string `yaml:"spec"`
	// Header is a message header after the length: tpdu:<10 hex digits> (answered with its NIIs
	// swapped), hex:<bytes> or ascii:<text>. Default none.
	Header string `yaml:"header"`
	// Mapping translates the terminals' MTIs and fields to the engine's form and back.
	Mapping iso8583.MappingConfig `yaml:"mapping,omitempty"`
	// MaxConnections bounds open terminal connections; one over it is closed at once. Default 4096.
	MaxConnections int `yaml:"max_connections"`
	// MaxInFlightPerConn bounds requests read but not yet answered on one connection; the reader
	// stops reading (TCP back-pressure) when it is reached. Default 256.
	MaxInFlightPerConn int `yaml:"max_in_flight_per_conn"`
	// MaxInFlight bounds requests in flight across all connections. Default 16384.
	MaxInFlight int `yaml:"max_in_flight"`
	// MaxFrame is the largest message accepted, in bytes; a larger length header closes the
	// connection (the stream cannot be resynchronised). Default 8192.
	MaxFrame int `yaml:"max_frame"`
	// IdleTimeout closes a connection that sent nothing for this long (terminals echo with 0800).
	// Default 5m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ReadTimeout bounds the time to receive the rest of a frame once its header arrived. Default 10s.
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// WriteTimeout bounds one write of responses to a terminal. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// DrainTimeout is how long a graceful stop waits for in-flight requests. Default 30s.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// TLS enables TLS on the listener when both files are set (PEM: the certificate chain and its
	// private key).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSClientCA, a PEM bundle of CA certificates, turns on mutual TLS: every terminal must
	// present a certificate signed by one of them, or its handshake is refused. Needs tls_cert.
	TLSClientCA string `yaml:"tls_client_ca"`
}

// HTTP is the metrics, health and admin API listener.
type HTTP struct {
	// Listen is host:port; default "127.0.0.1:8080". On any address other than loopback an admin
	// token is required (TokenFile or CARDSWITCH_ADMIN_TOKEN): serve refuses to start without one.
	Listen string `yaml:"listen"`
	// Pprof serves the Go profiler under /debug/pprof/ on this listener (behind the token when
	// there is one). Default false.
	Pprof bool `yaml:"pprof"`
	// TokenFile holds the admin bearer token (at least 16 characters; the file must not be
	// readable by group or others). The environment variable CARDSWITCH_ADMIN_TOKEN overrides it.
	// With a token, every /v1/... request needs "Authorization: Bearer <token>" (else 401);
	// /metrics, /livez and /readyz stay open.
	TokenFile string `yaml:"token_file"`
	// Token is the admin token read from TokenFile or the environment; never printed or logged.
	Token string `yaml:"-"`
}

// IsLoopback reports whether a listen address host:port binds only the loopback interface.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Engine holds the transaction state machine's limits.
type Engine struct {
	// DuplicateWindow is how long a processed request is remembered to answer retransmissions with
	// the original response. Default 10m.
	DuplicateWindow time.Duration `yaml:"duplicate_window"`
	// DuplicateMax bounds the remembered requests (oldest forgotten first). Default 1,000,000.
	DuplicateMax int `yaml:"duplicate_max"`
}

// SAF tunes the store-and-forward queue: the reversals, completions and advices owed to issuers,
// kept in the ledger's database until the issuer answers.
type SAF struct {
	// MaxAge is how long an item may wait for its issuer before it is parked for an operator
	// (`cardswitch saf list|retry|park`). Default 24h.
	MaxAge time.Duration `yaml:"max_age"`
	// RetryMin and RetryMax bound the exponential backoff between attempts. Defaults 1s and 5m.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// Timeout bounds one delivery attempt. Default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Window bounds the deliveries in flight per issuer (never two of one transaction). Default 8.
	Window int `yaml:"window"`
	// Retention is how long delivered items are kept for look-ups. Default 168h.
	Retention time.Duration `yaml:"retention"`
	// IntentStaleAfter is the age past which a request's intent that nothing resolved (the ledger
	// failed at its commit) is recovered: its reversal queued. It must exceed the longest issuer
	// timeout plus the ledger's commit time. Default: the longest issuer timeout + 30s.
	IntentStaleAfter time.Duration `yaml:"intent_stale_after"`
}

// Issuer is one issuer host and the card ranges routed to it.
type Issuer struct {
	Name string `yaml:"name"`
	// Addr is the issuer host's host:port: the shorthand for one endpoint. Set addr or endpoints.
	Addr string `yaml:"addr"`
	// Endpoints are the issuer's hosts in priority order, primary first (at most 8): traffic goes
	// to the first whose circuit is closed and which has a connection signed on; each gets
	// `connections` connections.
	Endpoints []Endpoint `yaml:"endpoints"`
	Prefixes  []string   `yaml:"prefixes"` // PAN prefixes of 1 to 11 digits
	Framing   string     `yaml:"framing"`  // binary2 (default), ascii4, bcd2
	// Timeout is how long a request waits for the issuer's answer before 91. Default 5s.
	Timeout time.Duration `yaml:"timeout"`
	// Connections is the number of TCP connections kept to each endpoint. Default 2.
	Connections int `yaml:"connections"`
	// EchoInterval is the period of 0800/301 echoes on each connection; 0 sends none (a host
	// whose spec has no field 70). Default 30s.
	EchoInterval *Interval `yaml:"echo_interval"`
	// SignOn sends 0800/001 on connect and 0800/002 on close. Default true.
	SignOn *bool `yaml:"sign_on"`
	// Spec is the host's ISO 8583 spec: contract (default), moov-spec87ascii, moov-spec87hex,
	// or the path of a JSON spec in moov-io's format (docs/iso8583.md).
	Spec string `yaml:"spec"`
	// Header is a message header after the length: tpdu:<10 hex digits>, hex:<bytes> or
	// ascii:<text>. Default none.
	Header string `yaml:"header"`
	// Mapping translates MTIs and fields between the engine's form and the host's, out and back.
	Mapping iso8583.MappingConfig `yaml:"mapping,omitempty"`
	// NetworkCodes are the field 70 codes the host wants. Defaults 001, 002, 301.
	NetworkCodes NetworkCodes `yaml:"network_codes"`
	// MaxInFlight bounds requests awaiting an answer on one connection. Default 1024.
	MaxInFlight int `yaml:"max_in_flight"`
	// ReconnectMin and ReconnectMax bound the reconnect backoff. Defaults 100ms and 10s.
	ReconnectMin time.Duration `yaml:"reconnect_min"`
	ReconnectMax time.Duration `yaml:"reconnect_max"`
	// ZPK is the zone PIN key shared with the issuer, under the LMK; PIN blocks are translated to it.
	ZPK Key `yaml:"zpk"`
	// MACKey, when set, makes the switch MAC every request to this issuer.
	MACKey Key `yaml:"mac_key"`
	// Circuit is the circuit breaker of each endpoint (docs/issuers.md).
	Circuit Circuit `yaml:"circuit"`
	// TLS makes every connection to the issuer's endpoints TLS (docs/security.md).
	TLS IssuerTLS `yaml:"tls"`
	// StandIn approves on the issuer's behalf when it is unavailable (never for PIN transactions).
	StandIn StandIn `yaml:"stand_in"`
	// EMV, when set, makes the switch verify the ARQC of every request to this issuer that
	// carries field 55 (docs/hsm-switch.md).
	EMV *EMV `yaml:"emv"`
}

// Endpoint is one host of an issuer.
type Endpoint struct {
	Addr string `yaml:"addr"` // host:port
}

// IssuerTLS is TLS on an issuer link, from PEM files.
type IssuerTLS struct {
	// Enabled turns TLS on for every endpoint of the issuer. Default false.
	Enabled bool `yaml:"enabled"`
	// CAFile is the bundle of CA certificates that sign the issuer host's certificate. Default:
	// the system's roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate and key the switch presents (mutual TLS).
	// Default: none.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName is the name the host's certificate must carry. Default: the host part of each
	// endpoint's address (a name, or an IP address the certificate lists).
	ServerName string `yaml:"server_name"`
}

// Circuit is an issuer's circuit breaker, one per endpoint: it opens after ConsecutiveFailures
// timeouts or transport errors in a row; while open, nothing is sent to the endpoint (with no
// other endpoint to take it, a request is answered 91 or stood in at once); after OpenDuration one
// probe (an echo, or a request) closes it again or reopens it.
type Circuit struct {
	// Enabled turns the breaker on. Default true.
	Enabled *bool `yaml:"enabled"`
	// ConsecutiveFailures that open the circuit: timeouts, unreadable answers, lost connections,
	// failed dials and sign-ons. Default 5.
	ConsecutiveFailures int `yaml:"consecutive_failures"`
	// OpenDuration is how long the circuit stays open before it is probed. Default 10s.
	OpenDuration time.Duration `yaml:"open_duration"`
}

// On reports the effective enabled setting.
func (c Circuit) On() bool { return c.Enabled == nil || *c.Enabled }

// EMV is an issuer's EMV cryptogram check.
type EMV struct {
	MKAC Key `yaml:"mk_ac"` // the issuer master key for application cryptograms (MK-AC), under the LMK
	// Scheme is how the card's key is derived: visa-cvn10 (Visa CVN 10) or emv-common (EMV
	// common session key from the ATC).
	Scheme string `yaml:"scheme"`
}

// EMV cryptogram schemes.
const (
	EMVVisaCVN10 = "visa-cvn10"
	EMVCommon    = "emv-common"
)

// StandIn is the stand-in policy for one issuer: the switch approves in its stead when it cannot be
// reached (no link up, every link at its limit, its circuit open), never on a timeout and never
// with a PIN, and advises the issuer of each approval (0120/0220) when it is back.
type StandIn struct {
	Enabled bool `yaml:"enabled"`
	// MaxAmount is the largest amount approved in stand-in per transaction, in minor units.
	MaxAmount int64 `yaml:"max_amount"`
	// MaxPerCardDay bounds one card's stand-in approvals per UTC day, in minor units; 0: no bound.
	// Counted in memory by a keyed hash of the card (a restart starts the day's count again).
	MaxPerCardDay int64 `yaml:"max_per_card_day"`
	// ProcessingCodes are the transaction types allowed (field 3's first two digits); default
	// ["00"]: purchases and authorizations.
	ProcessingCodes []string `yaml:"processing_codes"`
	// MCCs are the merchant category codes allowed; empty: any merchant.
	MCCs []string `yaml:"mccs"`
}

// Merchant kinds.
const (
	KindMerchant = "merchant"
	KindAgency   = "agency" // a government agency: e-government payments
)

// Transaction types a merchant may be allowed.
const (
	TxnPreauth    = "preauth"    // 0100 hold
	TxnCompletion = "completion" // 0220 capture of a hold
	TxnPurchase   = "purchase"   // 0200 processing code 00
	TxnRefund     = "refund"     // 0200 processing code 20
	TxnReversal   = "reversal"   // 0400, 0420
)

// Merchant is a card acceptor: a shop, an e-commerce site or a government agency.
type Merchant struct {
	ID   string `yaml:"id"` // field 42, 15 characters
	Name string `yaml:"name"`
	Kind string `yaml:"kind"` // merchant (default) or agency
	MCC  string `yaml:"mcc"`  // 4 digits
	// Currencies accepted, ISO 4217 numeric. Default ["840"].
	Currencies []string `yaml:"currencies"`
	// FeePercent is the merchant discount rate in percent, a decimal string ("1.50").
	FeePercent string `yaml:"fee_percent"`
	// FeeFixed is the fixed part of the merchant fee per transaction, in minor units.
	FeeFixed int64 `yaml:"fee_fixed"`
	// ConvenienceFee is paid by the payer on top of an agency's amount (field 4 includes it), in
	// minor units.
	ConvenienceFee int64 `yaml:"convenience_fee"`
	// MaxAmount is the largest amount accepted, in minor units; 0 means no limit.
	MaxAmount int64 `yaml:"max_amount"`
	// Transactions allowed; default all: preauth, completion, purchase, refund, reversal.
	Transactions []string `yaml:"transactions"`
	// Language is the hosted payment page's language for this merchant's payers: en or fr;
	// default the payer's browser's.
	Language string `yaml:"language"`
}

// Terminal carries the keys of one terminal (field 41); terminals without keys need no entry.
type Terminal struct {
	ID       string `yaml:"id"`       // field 41, 8 characters
	Merchant string `yaml:"merchant"` // the merchant it belongs to, when it must be enforced
	// TPK is the terminal PIN key; BDK and PIN blocks with a KSN in field 62 mean DUKPT instead.
	TPK Key `yaml:"tpk"`
	BDK Key `yaml:"bdk"`
	// PINFormat is the ISO 9564 format of the terminal's PIN blocks: 0 (default), 1 or 3.
	PINFormat int `yaml:"pin_format"`
	// MACKey, when set, makes the switch verify field 64/128 on every request from the terminal.
	MACKey Key `yaml:"mac_key"`
}

// Key is a key as it may appear in configuration: a cryptogram under the LMK and its check value.
// Its type (TPK, ZPK, TAK, BDK …) follows from where it is configured.
type Key struct {
	Cryptogram string `yaml:"cryptogram"`  // e.g. "U" + 32 hex characters
	CheckValue string `yaml:"check_value"` // 6 (or 16) hex characters
}

// IsZero reports whether no key is configured.
func (k Key) IsZero() bool { return k.Cryptogram == "" && k.CheckValue == "" }

// HSM selects the hardware security module.
type HSM struct {
	// Mode is "soft" (in-process software HSM, default) or "payshield" (host protocol over TCP:
	// `cardswitch hsm` or a real payShield).
	Mode      string        `yaml:"mode"`
	LMK       string        `yaml:"lmk"`        // soft: "test" (default) or an LMK file
	Addr      string        `yaml:"addr"`       // payshield: host:port
	HeaderLen int           `yaml:"header_len"` // payshield: message header length. Default 4.
	Timeout   time.Duration `yaml:"timeout"`    // payshield: per command. Default 2s.
	// DataKey is the data encryption key (DEK, type 00B) under the LMK from which the switch's
	// data protector derives the keys that seal the card numbers it must keep (reversals and
	// advices waiting for their issuer) and hash cards for look-ups. It is held by the in-process
	// software HSM with the LMK of hsm.lmk, also in payshield mode. Default: a test key under the
	// test LMK (replace both in production).
	DataKey Key `yaml:"data_key"`
}

// Ledger selects and tunes the ledger store.
type Ledger struct {
	// DatabaseURL selects PostgreSQL; empty means the embedded store under DataDir.
	// CARDSWITCH_DATABASE_URL overrides it. Keep the password out of it: use
	// DatabasePasswordFile or the environment variable.
	DatabaseURL string `yaml:"database_url"`
	// DatabasePasswordFile holds the database user's password, put into DatabaseURL when the
	// switch starts (the file must not be readable by group or others).
	DatabasePasswordFile string `yaml:"database_password_file"`
	DataDir              string `yaml:"data_dir"` // default "./data"
	// BatchMax bounds the transfers committed in one database transaction. Default 4096.
	BatchMax int `yaml:"batch_max"`
	// HoldTimeout is how long an authorization hold stays pending before it expires. Default 168h.
	HoldTimeout time.Duration `yaml:"hold_timeout"`
	// Cutover is the time of day (UTC, "HH:MM") at which the business day is closed and settled;
	// "off" disables the schedule (`cardswitch ledger cutover` still does it by hand). Default "00:00".
	Cutover string `yaml:"cutover"`
	// VerifyInterval is how often the running switch checks every ledger invariant (the same
	// checks as `cardswitch ledger verify`, on a read snapshot) and publishes the outcome as
	// cardswitch_ledger_verify_* metrics; the first check runs at start. Default 1h.
	VerifyInterval time.Duration `yaml:"verify_interval"`
	// SettlementDir receives each scheduled cutover's settlement report as <day>.json and <day>.csv.
	// Default "<data_dir>/settlement".
	SettlementDir string `yaml:"settlement_dir"`
}

// CutoverAt returns the cutover's time of day after midnight, and false when the schedule is off.
func (l Ledger) CutoverAt() (time.Duration, bool) {
	if l.Cutover == "off" {
		return 0, false
	}
	t, err := time.Parse("15:04", l.Cutover)
	if err != nil {
		return 0, false
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json (default) or console
}

// Load reads a YAML file over the defaults, applies the environment and validates.
func Load(path string, getenv func(string) string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return Parse(f, getenv)
}

// Parse reads YAML over the defaults, applies the environment and validates. Unknown keys are
// errors (a typo must not silently fall back to a default).
func Parse(r io.Reader, getenv func(string) string) (*Config, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxConfigBytes))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c := Default()
	if len(bytes.TrimSpace(raw)) > 0 {
		// Lists replace the defaults' lists entirely: a file that names issuers names all of them.
		c.Issuers, c.Merchants = nil, nil
		dec := yaml.NewDecoder(bytes.NewReader(raw))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			return nil, yamlError(err)
		}
		if len(c.Issuers) == 0 {
			c.Issuers = Default().Issuers
		}
		if len(c.Merchants) == 0 {
			c.Merchants = Default().Merchants
		}
	}
	c.ApplyEnv(getenv)
	c.applyDefaults()
	if err := c.LoadSecrets(); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// maxConfigBytes bounds the size of a config file (a guard against reading the wrong file).
const maxConfigBytes = 8 << 20

// ApplyEnv applies the environment variables that override the file (CARDSWITCH_DATABASE_URL,
// CARDSWITCH_ADMIN_TOKEN).
func (c *Config) ApplyEnv(getenv func(string) string) {
	if getenv == nil {
		return
	}
	if v := getenv("CARDSWITCH_DATABASE_URL"); v != "" {
		c.Ledger.DatabaseURL = v
	}
	if v := getenv("CARDSWITCH_ADMIN_TOKEN"); v != "" {
		c.HTTP.Token = strings.TrimSpace(v)
	}
}

// minTokenLen is the shortest admin token accepted: a guessable token is no access control.
const minTokenLen = 16

// LoadSecrets reads the secrets that the file names but does not hold: the admin token
// (http.token_file, unless CARDSWITCH_ADMIN_TOKEN already set it) and the database password
// (ledger.database_password_file, put into the database URL). A file readable by group or
// others is refused.
func (c *Config) LoadSecrets() error {
	if c.HTTP.TokenFile != "" && c.HTTP.Token == "" {
		b, err := readSecretFile(c.HTTP.TokenFile)
		if err != nil {
			return errf("http.token_file", "%v", err)
		}
		c.HTTP.Token = strings.TrimSpace(string(b))
	}
	if c.HTTP.Token != "" && len(c.HTTP.Token) < minTokenLen {
		return errf("http.token_file", "the admin token must be at least %d characters", minTokenLen)
	}
	if c.Ledger.DatabasePasswordFile != "" && c.Ledger.DatabaseURL != "" {
		b, err := readSecretFile(c.Ledger.DatabasePasswordFile)
		if err != nil {
			return errf("ledger.database_password_file", "%v", err)
		}
		u, err := url.Parse(c.Ledger.DatabaseURL)
		if err != nil || u.User == nil {
			return errf("ledger.database_password_file", "needs a database URL with a user name (postgres://user@host/db)")
		}
		u.User = url.UserPassword(u.User.Username(), strings.TrimRight(string(b), "\r\n"))
		c.Ledger.DatabaseURL = u.String()
	}
	return nil
}

// secretFileMax bounds a secret file's size (a guard against naming the wrong file).
const secretFileMax = 4096

func readSecretFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by group or others (%v): chmod 600 it", path, fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, secretFileMax+1))
	if err != nil {
		return nil, err
	}
	if len(b) > secretFileMax {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, secretFileMax)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return b, nil
}

// FeeRate returns the merchant's fee percent as a decimal (0 when unset).
func (m Merchant) FeeRate() decimal.Decimal {
	if m.FeePercent == "" {
		return decimal.Zero
	}
	d, err := decimal.NewFromString(m.FeePercent)
	if err != nil {
		return decimal.Zero // Validate rejects it first
	}
	return d
}

// Allows reports whether the merchant may do txn.
func (m Merchant) Allows(txn string) bool {
	for _, t := range m.Transactions {
		if t == txn {
			return true
		}
	}
	return false
}

// AcceptsCurrency reports whether the merchant accepts currency (ISO 4217 numeric).
func (m Merchant) AcceptsCurrency(currency string) bool {
	for _, c := range m.Currencies {
		if c == currency {
			return true
		}
	}
	return false
}

// SignsOn reports the effective sign-on setting.
func (i Issuer) SignsOn() bool { return i.SignOn == nil || *i.SignOn }

// EndpointAddrs returns the issuer's hosts in priority order: addr alone, or the endpoints.
func (i Issuer) EndpointAddrs() []string {
	if len(i.Endpoints) == 0 {
		return []string{i.Addr}
	}
	out := make([]string, len(i.Endpoints))
	for n, e := range i.Endpoints {
		out[n] = e.Addr
	}
	return out
}

// Echo is the effective echo interval: 0 means no echo.
func (i Issuer) Echo() time.Duration {
	if i.EchoInterval == nil {
		return DefaultEchoInterval
	}
	return time.Duration(*i.EchoInterval)
}

// Interval is a duration ("30s") that also reads a bare 0, which means off.
type Interval time.Duration

// UnmarshalYAML reads a Go duration or 0.
func (d *Interval) UnmarshalYAML(n *yaml.Node) error {
	if n.Value == "0" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (e.g. 30s, or 0 for off)", n.Line, n.Value)
	}
	*d = Interval(v)
	return nil
}

// MarshalYAML writes the duration as Go writes it ("30s").
func (d Interval) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// NetworkCodes are an issuer host's network management codes (field 70), 3 digits each.
type NetworkCodes struct {
	SignOn  string `yaml:"sign_on"`  // default 001
	SignOff string `yaml:"sign_off"` // default 002
	Echo    string `yaml:"echo"`     // default 301
}

// Listeners returns every acquirer listener: the acceptor block first, then acceptors[], each
// with the acceptor block's limits where it leaves them out.
func (c *Config) Listeners() []Acceptor {
	out := []Acceptor{c.Acceptor}
	for _, a := range c.Acceptors {
		out = append(out, a)
	}
	return out
}

// yamlError turns the YAML decoder's multi-line report into one line.
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return fmt.Errorf("config: %s", te.Errors[0])
	}
	return fmt.Errorf("config: %s", strings.Join(strings.Fields(err.Error()), " "))
}
