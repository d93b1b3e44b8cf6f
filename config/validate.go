package config

import (
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cardswitch/cardswitch/iso8583"
)

// Error is a configuration error that names its key, e.g. `issuers[1].addr: "x" must be host:port`.
type Error struct {
	Key     string
	Problem string
}

func (e *Error) Error() string { return e.Key + ": " + e.Problem }

func errf(key, format string, args ...any) *Error {
	return &Error{Key: key, Problem: fmt.Sprintf(format, args...)}
}

// Validate checks the whole configuration and returns the first problem found.
func (c *Config) Validate() error {
	for _, check := range []func() error{c.validateTop, c.validateAcceptor, c.validateIssuers,
		c.validateMerchants, c.validateTerminals, c.validateHSM, c.validateLedger, c.validateAPI} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) validateTop() error {
	if len(c.NodeID) != 1 || !strings.ContainsAny(c.NodeID, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
		return errf("node_id", "%q must be one character 0-9 or A-Z", c.NodeID)
	}
	if !digits(c.AcquirerID) || len(c.AcquirerID) > 11 {
		return errf("acquirer_id", "%q must be 1 to 11 digits", c.AcquirerID)
	}
	if err := hostPort("http.listen", c.HTTP.Listen); err != nil {
		return err
	}
	if !IsLoopback(c.HTTP.Listen) && c.HTTP.Token == "" {
		return errf("http.listen", "%q is not a loopback address: an admin token is required (http.token_file or CARDSWITCH_ADMIN_TOKEN)", c.HTTP.Listen)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		return errf("log.level", "%q must be debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "console":
	default:
		return errf("log.format", "%q must be json or console", c.Log.Format)
	}
	if c.Runtime.GCPercent < 10 || c.Runtime.GCPercent > 10000 {
		return errf("runtime.gc_percent", "%d must be 10 to 10000", c.Runtime.GCPercent)
	}
	if c.Engine.DuplicateWindow < 0 {
		return errf("engine.duplicate_window", "must not be negative")
	}
	if c.Engine.DuplicateMax < 0 {
		return errf("engine.duplicate_max", "must not be negative")
	}
	if c.SAF.Window < 1 || c.SAF.Window > 1024 {
		return errf("saf.window", "%d must be 1 to 1024", c.SAF.Window)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"saf.max_age", c.SAF.MaxAge}, {"saf.retry_min", c.SAF.RetryMin}, {"saf.retry_max", c.SAF.RetryMax},
		{"saf.timeout", c.SAF.Timeout}, {"saf.retention", c.SAF.Retention}, {"saf.intent_stale_after", c.SAF.IntentStaleAfter}} {
		if d.v <= 0 {
			return errf(d.key, "must be positive")
		}
	}
	if c.SAF.RetryMin > c.SAF.RetryMax {
		return errf("saf.retry_min", "%s must not exceed saf.retry_max (%s)", c.SAF.RetryMin, c.SAF.RetryMax)
	}
	return nil
}

func (c *Config) validateAcceptor() error {
	listens := map[string]string{}
	for i, a := range c.Listeners() {
		key := "acceptor"
		if i > 0 {
			key = fmt.Sprintf("acceptors[%d]", i-1)
		}
		if err := validListener(key, a); err != nil {
			return err
		}
		if other, dup := listens[a.Listen]; dup {
			return errf(key+".listen", "%q is already %s's", a.Listen, other)
		}
		listens[a.Listen] = key
	}
	return nil
}

func validListener(key string, a Acceptor) error {
	if err := hostPort(key+".listen", a.Listen); err != nil {
		return err
	}
	if err := framing(key+".framing", a.Framing); err != nil {
		return err
	}
	for k, v := range map[string]int{".max_connections": a.MaxConnections,
		".max_in_flight_per_conn": a.MaxInFlightPerConn, ".max_in_flight": a.MaxInFlight} {
		if v < 1 {
			return errf(key+k, "%d must be at least 1", v)
		}
	}
	if a.MaxFrame < 64 || a.MaxFrame > 65535 {
		return errf(key+".max_frame", "%d must be between 64 and 65535 bytes", a.MaxFrame)
	}
	if (a.TLSCert == "") != (a.TLSKey == "") {
		return errf(key+".tls_cert", "tls_cert and tls_key must be set together")
	}
	if a.TLSClientCA != "" && a.TLSCert == "" {
		return errf(key+".tls_client_ca", "mutual TLS needs tls_cert and tls_key")
	}
	for k, d := range map[string]int64{".idle_timeout": int64(a.IdleTimeout), ".read_timeout": int64(a.ReadTimeout),
		".write_timeout": int64(a.WriteTimeout), ".drain_timeout": int64(a.DrainTimeout)} {
		if d <= 0 {
			return errf(key+k, "must be positive")
		}
	}
	_, err := Dialect(key, a.Spec, a.Header, a.Mapping)
	return err
}

// Dialect loads and checks a link's or listener's spec, header and mapping; errors name the key
// under prefix.
func Dialect(prefix, spec, header string, mapping iso8583.MappingConfig) (*iso8583.Spec, error) {
	s, err := iso8583.LoadSpec(spec)
	if err != nil {
		return nil, errf(prefix+".spec", "%v", err)
	}
	if _, err := iso8583.ParseHeader(header); err != nil {
		return nil, errf(prefix+".header", "%v", err)
	}
	if !mapping.IsZero() {
		if _, err := iso8583.NewMapping(mapping, s); err != nil {
			return nil, errf(prefix+".mapping", "%v", err)
		}
	}
	return s, nil
}

// DialectOf builds what Dialect checked: the spec, the header and the mapping (nil when none).
func DialectOf(spec, header string, mapping iso8583.MappingConfig) (*iso8583.Spec, iso8583.Header, *iso8583.Mapping, error) {
	s, err := iso8583.LoadSpec(spec)
	if err != nil {
		return nil, iso8583.Header{}, nil, err
	}
	h, err := iso8583.ParseHeader(header)
	if err != nil {
		return nil, iso8583.Header{}, nil, err
	}
	if mapping.IsZero() {
		return s, h, nil, nil
	}
	m, err := iso8583.NewMapping(mapping, s)
	return s, h, m, err
}

func (c *Config) validateIssuers() error {
	if len(c.Issuers) == 0 {
		return errf("issuers", "at least one issuer is required")
	}
	names := map[string]bool{}
	prefixes := map[string]string{}
	for i, is := range c.Issuers {
		key := fmt.Sprintf("issuers[%d]", i)
		if is.Name == "" || strings.ContainsAny(is.Name, " :/\t\"") {
			return errf(key+".name", "%q must be a non-empty word", is.Name)
		}
		if names[is.Name] {
			return errf(key+".name", "%q is used twice", is.Name)
		}
		names[is.Name] = true
		if err := validEndpoints(key, is); err != nil {
			return err
		}
		if err := framing(key+".framing", is.Framing); err != nil {
			return err
		}
		if len(is.Prefixes) == 0 {
			return errf(key+".prefixes", "at least one prefix is required")
		}
		for j, p := range is.Prefixes {
			pk := fmt.Sprintf("%s.prefixes[%d]", key, j)
			if !digits(p) || len(p) > 11 {
				return errf(pk, "%q must be 1 to 11 digits", p)
			}
			if other, dup := prefixes[p]; dup {
				return errf(pk, "%q is already routed to %s", p, other)
			}
			prefixes[p] = is.Name
		}
		if is.Timeout <= 0 {
			return errf(key+".timeout", "must be positive")
		}
		if is.Connections < 1 || is.Connections > 64 {
			return errf(key+".connections", "%d must be 1 to 64", is.Connections)
		}
		if is.MaxInFlight < 1 {
			return errf(key+".max_in_flight", "%d must be at least 1", is.MaxInFlight)
		}
		if is.Echo() < 0 {
			return errf(key+".echo_interval", "must not be negative (0: no echo)")
		}
		if err := validIssuerDialect(key, is); err != nil {
			return err
		}
		if is.ReconnectMin <= 0 || is.ReconnectMax < is.ReconnectMin {
			return errf(key+".reconnect_max", "must be at least reconnect_min, both positive")
		}
		if is.Circuit.ConsecutiveFailures < 1 {
			return errf(key+".circuit.consecutive_failures", "%d must be at least 1", is.Circuit.ConsecutiveFailures)
		}
		if is.Circuit.OpenDuration <= 0 {
			return errf(key+".circuit.open_duration", "must be positive")
		}
		if is.StandIn.MaxAmount < 0 {
			return errf(key+".stand_in.max_amount", "must not be negative")
		}
		if is.StandIn.MaxPerCardDay < 0 {
			return errf(key+".stand_in.max_per_card_day", "must not be negative")
		}
		for j, pc := range is.StandIn.ProcessingCodes {
			if len(pc) != 2 || !iso8583.IsDigits(pc) {
				return errf(fmt.Sprintf("%s.stand_in.processing_codes[%d]", key, j), "%q must be 2 digits (field 3's transaction type)", pc)
			}
		}
		for j, mcc := range is.StandIn.MCCs {
			if len(mcc) != 4 || !iso8583.IsDigits(mcc) {
				return errf(fmt.Sprintf("%s.stand_in.mccs[%d]", key, j), "%q must be 4 digits", mcc)
			}
		}
		if is.Timeout >= c.SAF.IntentStaleAfter {
			return errf("saf.intent_stale_after", "%s must exceed %s.timeout (%s)", c.SAF.IntentStaleAfter, key, is.Timeout)
		}
		for _, k := range []struct {
			name string
			key  Key
		}{{"zpk", is.ZPK}, {"mac_key", is.MACKey}} {
			if err := validKey(key+"."+k.name, k.key); err != nil {
				return err
			}
		}
		if err := validEMV(key+".emv", is.EMV); err != nil {
			return err
		}
		if err := validIssuerTLS(key+".tls", is.TLS); err != nil {
			return err
		}
	}
	return nil
}

// maxEndpoints bounds an issuer's hosts: a primary and a few secondaries.
const maxEndpoints = 8

// validEndpoints checks addr or endpoints: one of them, each host:port.
func validEndpoints(key string, is Issuer) error {
	if len(is.Endpoints) == 0 {
		return hostPort(key+".addr", is.Addr)
	}
	if is.Addr != "" {
		return errf(key+".endpoints", "set addr (one host) or endpoints, not both")
	}
	if len(is.Endpoints) > maxEndpoints {
		return errf(key+".endpoints", "%d endpoints: at most %d", len(is.Endpoints), maxEndpoints)
	}
	seen := map[string]bool{}
	for j, e := range is.Endpoints {
		ek := fmt.Sprintf("%s.endpoints[%d].addr", key, j)
		if err := hostPort(ek, e.Addr); err != nil {
			return err
		}
		if seen[e.Addr] {
			return errf(ek, "%q is listed twice", e.Addr)
		}
		seen[e.Addr] = true
	}
	return nil
}

// validIssuerDialect checks an issuer link's spec, header, mapping and network codes, and that a
// link that signs on or echoes can send field 70 (or maps it elsewhere).
func validIssuerDialect(key string, is Issuer) error {
	spec, err := Dialect(key, is.Spec, is.Header, is.Mapping)
	if err != nil {
		return err
	}
	for k, v := range map[string]string{"sign_on": is.NetworkCodes.SignOn, "sign_off": is.NetworkCodes.SignOff, "echo": is.NetworkCodes.Echo} {
		if v != "" && (len(v) != 3 || !digits(v)) {
			return errf(key+".network_codes."+k, "%q must be 3 digits", v)
		}
	}
	if (is.SignsOn() || is.Echo() > 0) && !spec.Defines(70) && is.Mapping.IsZero() {
		return errf(key+".spec", "%s has no field 70 for sign-on and echo: set sign_on: false and echo_interval: 0, or map field 70 (mapping)", spec.Name())
	}
	return nil
}

func validIssuerTLS(key string, t IssuerTLS) error {
	if !t.Enabled {
		if t != (IssuerTLS{}) {
			return errf(key+".enabled", "must be true for the other tls keys to apply")
		}
		return nil
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return errf(key+".cert_file", "cert_file and key_file must be set together")
	}
	return nil
}

func validEMV(key string, e *EMV) error {
	if e == nil {
		return nil
	}
	if e.Scheme != EMVVisaCVN10 && e.Scheme != EMVCommon {
		return errf(key+".scheme", "%q must be %s or %s", e.Scheme, EMVVisaCVN10, EMVCommon)
	}
	if e.MKAC.IsZero() {
		return errf(key+".mk_ac", "is required")
	}
	return validKey(key+".mk_ac", e.MKAC)
}

func (c *Config) validateMerchants() error {
	if len(c.Merchants) == 0 {
		return errf("merchants", "at least one merchant is required")
	}
	ids := map[string]bool{}
	for i, m := range c.Merchants {
		key := fmt.Sprintf("merchants[%d]", i)
		if len(m.ID) != 15 {
			return errf(key+".id", "%q must be 15 characters (field 42)", m.ID)
		}
		if ids[m.ID] {
			return errf(key+".id", "%q is used twice", m.ID)
		}
		ids[m.ID] = true
		if m.Kind != KindMerchant && m.Kind != KindAgency {
			return errf(key+".kind", "%q must be merchant or agency", m.Kind)
		}
		if len(m.MCC) != 4 || !digits(m.MCC) {
			return errf(key+".mcc", "%q must be 4 digits", m.MCC)
		}
		for j, cur := range m.Currencies {
			if len(cur) != 3 || !digits(cur) {
				return errf(fmt.Sprintf("%s.currencies[%d]", key, j), "%q must be an ISO 4217 numeric code", cur)
			}
		}
		if m.FeePercent != "" {
			d, err := decimal.NewFromString(m.FeePercent)
			if err != nil || d.IsNegative() || d.GreaterThan(decimal.NewFromInt(100)) {
				return errf(key+".fee_percent", "%q must be a decimal from 0 to 100", m.FeePercent)
			}
		}
		if m.FeeFixed < 0 {
			return errf(key+".fee_fixed", "must not be negative")
		}
		if m.ConvenienceFee < 0 {
			return errf(key+".convenience_fee", "must not be negative")
		}
		if m.ConvenienceFee > 0 && m.Kind != KindAgency {
			return errf(key+".convenience_fee", "only an agency takes a convenience fee")
		}
		if m.MaxAmount < 0 {
			return errf(key+".max_amount", "must not be negative")
		}
		if !validLanguage(m.Language) {
			return errf(key+".language", "%q must be en or fr (or empty: the browser's)", m.Language)
		}
		for j, t := range m.Transactions {
			switch t {
			case TxnPreauth, TxnCompletion, TxnPurchase, TxnRefund, TxnReversal:
			default:
				return errf(fmt.Sprintf("%s.transactions[%d]", key, j), "%q must be one of preauth, completion, purchase, refund, reversal", t)
			}
		}
	}
	return nil
}

func (c *Config) validateTerminals() error {
	merchants := map[string]bool{}
	for _, m := range c.Merchants {
		merchants[m.ID] = true
	}
	ids := map[string]bool{}
	for i, t := range c.Terminals {
		key := fmt.Sprintf("terminals[%d]", i)
		if len(t.ID) != 8 {
			return errf(key+".id", "%q must be 8 characters (field 41)", t.ID)
		}
		if ids[t.ID] {
			return errf(key+".id", "%q is used twice", t.ID)
		}
		ids[t.ID] = true
		if t.Merchant != "" && !merchants[t.Merchant] {
			return errf(key+".merchant", "%q is not a configured merchant", t.Merchant)
		}
		switch t.PINFormat {
		case 0, 1, 3:
		default:
			// Format 4 is AES: the HSM's variant LMK holds no AES keys to translate it with.
			return errf(key+".pin_format", "%d must be 0, 1 or 3 (ISO 9564 formats the HSM translates)", t.PINFormat)
		}
		if !t.TPK.IsZero() && !t.BDK.IsZero() {
			return errf(key+".bdk", "a terminal has a TPK or a DUKPT BDK, not both")
		}
		for _, k := range []struct {
			name string
			key  Key
		}{{"tpk", t.TPK}, {"bdk", t.BDK}, {"mac_key", t.MACKey}} {
			if err := validKey(key+"."+k.name, k.key); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Config) validateHSM() error {
	if c.HSM.DataKey.IsZero() {
		return errf("hsm.data_key", "is required: the data encryption key (00B) that protects stored card numbers")
	}
	if err := validKey("hsm.data_key", c.HSM.DataKey); err != nil {
		return err
	}
	if c.HSM.LMK == "" {
		return errf("hsm.lmk", "must be \"test\" or an LMK file (it holds hsm.data_key, also in payshield mode)")
	}
	switch c.HSM.Mode {
	case "soft":
		if c.HSM.LMK == "" {
			return errf("hsm.lmk", "must be \"test\" or an LMK file")
		}
	case "payshield":
		if err := hostPort("hsm.addr", c.HSM.Addr); err != nil {
			return err
		}
	default:
		return errf("hsm.mode", "%q must be soft or payshield", c.HSM.Mode)
	}
	if c.HSM.HeaderLen < 0 || c.HSM.HeaderLen > 32 {
		return errf("hsm.header_len", "%d must be 0 to 32", c.HSM.HeaderLen)
	}
	if c.HSM.Timeout <= 0 {
		return errf("hsm.timeout", "must be positive")
	}
	return nil
}

func (c *Config) validateLedger() error {
	l := c.Ledger
	if l.DatabaseURL != "" && !strings.HasPrefix(l.DatabaseURL, "postgres://") && !strings.HasPrefix(l.DatabaseURL, "postgresql://") {
		return errf("ledger.database_url", "must be a postgres:// URL")
	}
	if l.DatabaseURL == "" && l.DataDir == "" {
		return errf("ledger.data_dir", "must be set when there is no database_url")
	}
	if l.BatchMax < 1 || l.BatchMax > 65536 {
		return errf("ledger.batch_max", "%d must be 1 to 65536", l.BatchMax)
	}
	if l.HoldTimeout <= 0 {
		return errf("ledger.hold_timeout", "must be positive")
	}
	if l.VerifyInterval < time.Minute {
		return errf("ledger.verify_interval", "%v must be at least 1m", l.VerifyInterval)
	}
	if _, on := l.CutoverAt(); !on && l.Cutover != "off" {
		return errf("ledger.cutover", "%q must be a time of day HH:MM (UTC) or off", l.Cutover)
	}
	return nil
}

// validKey checks the shape of a key under the LMK; the HSM checks that it decrypts and that its
// check value matches when the switch starts.
func validKey(key string, k Key) error {
	if k.IsZero() {
		return nil
	}
	cg := k.Cryptogram
	if cg == "" {
		return errf(key+".cryptogram", "is required with a check_value")
	}
	body := cg
	switch cg[0] {
	case 'U', 'X', 'T', 'Y', 'Z':
		body = cg[1:]
	}
	if _, err := hex.DecodeString(body); err != nil || (len(body) != 16 && len(body) != 32 && len(body) != 48) {
		return errf(key+".cryptogram", "must be 16, 32 or 48 hex characters, optionally after a scheme letter (U, X, T)")
	}
	if len(k.CheckValue) != 6 && len(k.CheckValue) != 16 {
		return errf(key+".check_value", "must be 6 (or 16) hex characters")
	}
	if _, err := hex.DecodeString(k.CheckValue); err != nil {
		return errf(key+".check_value", "must be hex")
	}
	return nil
}

func hostPort(key, v string) error {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return errf(key, "%q must be host:port", v)
	}
	_ = host
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return errf(key, "%q has no valid port", v)
	}
	return nil
}

func framing(key, v string) error {
	switch v {
	case "binary2", "ascii4", "bcd2":
		return nil
	}
	return errf(key, "%q must be binary2, ascii4 or bcd2", v)
}

func digits(s string) bool { return iso8583.IsDigits(s) }
