package config

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAdminTokenRequiredOffLoopback(t *testing.T) {
	for _, listen := range []string{"127.0.0.1:8080", "[::1]:8080", "localhost:8080"} {
		_, err := Parse(strings.NewReader("http: {listen: \""+listen+"\"}\n"), noEnv)
		require.NoError(t, err, listen)
	}
	for _, listen := range []string{":8080", "0.0.0.0:8080", "10.1.2.3:8080"} {
		_, err := Parse(strings.NewReader("http: {listen: \""+listen+"\"}\n"), noEnv)
		require.ErrorContains(t, err, "http.listen", listen)
		require.ErrorContains(t, err, "admin token is required", listen)
	}
	env := func(k string) string {
		if k == "CARDSWITCH_ADMIN_TOKEN" {
			return "from-the-environment-0123"
		}
		return ""
	}
	c, err := Parse(strings.NewReader("http: {listen: \":8080\"}\n"), env)
	require.NoError(t, err)
	require.Equal(t, "from-the-environment-0123", c.HTTP.Token)
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), mode))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	good := write("token", "a-long-enough-admin-token\n", 0o600)
	c, err := Parse(strings.NewReader("http: {listen: \":8080\", token_file: \""+good+"\"}\n"), noEnv)
	require.NoError(t, err)
	require.Equal(t, "a-long-enough-admin-token", c.HTTP.Token)

	open := write("open-token", "a-long-enough-admin-token\n", 0o644)
	_, err = Parse(strings.NewReader("http: {listen: \":8080\", token_file: \""+open+"\"}\n"), noEnv)
	require.ErrorContains(t, err, "http.token_file")
	require.ErrorContains(t, err, "chmod 600")

	short := write("short", "short\n", 0o600)
	_, err = Parse(strings.NewReader("http: {token_file: \""+short+"\"}\n"), noEnv)
	require.ErrorContains(t, err, "at least 16")

	_, err = Parse(strings.NewReader("http: {token_file: \""+filepath.Join(dir, "missing")+"\"}\n"), noEnv)
	require.ErrorContains(t, err, "http.token_file")

	pw := write("dbpass", "p@ss:w/rd\n", 0o600)
	c, err = Parse(strings.NewReader("ledger: {database_url: \"postgres://cardswitch@db:5432/ledger\", database_password_file: \""+pw+"\"}\n"), noEnv)
	require.NoError(t, err)
	require.Equal(t, "postgres://cardswitch:p%40ss%3Aw%2Frd@db:5432/ledger", c.Ledger.DatabaseURL)
}

func TestRedactedHidesSecrets(t *testing.T) {
	c := Default()
	c.Ledger.DatabaseURL = "postgres://cardswitch:topsecretpw@db:5432/ledger"
	c.HTTP.Token = "the-admin-token-0123456789"
	c.Terminals = []Terminal{{ID: "TERM0001", TPK: Key{Cryptogram: "U0123456789ABCDEF0123456789ABCDEF", CheckValue: "ABCDEF"}}}
	b, err := c.Redacted().YAML()
	require.NoError(t, err)
	out := string(b)
	for _, secret := range []string{"topsecretpw", "the-admin-token", "U0123456789ABCDEF0123456789ABCDEF"} {
		require.NotContains(t, out, secret)
	}
	require.Contains(t, out, "ABCDEF", "check values stay")
	require.Contains(t, out, "postgres://cardswitch:REDACTED@db:5432/ledger")
	require.Equal(t, "U0123456789ABCDEF0123456789ABCDEF", c.Terminals[0].TPK.Cryptogram, "the original is untouched")
	require.Equal(t, "topsecretpw", func() string { p, _ := urlPassword(c.Ledger.DatabaseURL); return p }())
}

func urlPassword(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return "", false
	}
	return u.User.Password()
}
