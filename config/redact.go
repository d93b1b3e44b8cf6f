package config

import (
	"net/url"

	"go.yaml.in/yaml/v3"
)

// redacted replaces a secret in printed configuration.
const redacted = "REDACTED"

// Redacted returns a copy of c that is safe to print: the database password is replaced, key
// cryptograms are replaced (their check values stay, to tell keys apart), and the admin token is
// never part of the YAML.
func (c *Config) Redacted() *Config {
	r := *c
	if u, err := url.Parse(c.Ledger.DatabaseURL); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redacted)
			r.Ledger.DatabaseURL = u.String()
		}
	} else if err != nil {
		r.Ledger.DatabaseURL = redacted
	}
	hide := func(k *Key) {
		if k.Cryptogram != "" {
			k.Cryptogram = redacted
		}
	}
	r.Issuers = append([]Issuer(nil), c.Issuers...)
	for i := range r.Issuers {
		is := &r.Issuers[i]
		hide(&is.ZPK)
		hide(&is.MACKey)
		if is.EMV != nil {
			emv := *is.EMV
			hide(&emv.MKAC)
			is.EMV = &emv
		}
	}
	r.Terminals = append([]Terminal(nil), c.Terminals...)
	for i := range r.Terminals {
		t := &r.Terminals[i]
		hide(&t.TPK)
		hide(&t.BDK)
		hide(&t.MACKey)
	}
	r.HTTP.Token = ""
	return &r
}

// YAML returns the configuration as YAML (print it Redacted).
func (c *Config) YAML() ([]byte, error) { return yaml.Marshal(c) }
