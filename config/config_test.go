package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func noEnv(string) string { return "" }

func TestDefaultIsTheContractTopology(t *testing.T) {
	c := Default()
	require.NoError(t, c.Validate())
	require.Equal(t, ":8583", c.Acceptor.Listen)
	require.Equal(t, "127.0.0.1:8080", c.HTTP.Listen)
	require.Len(t, c.Issuers, 2)
	require.Equal(t, Issuer{}.Name, "")
	alpha, beta := c.Issuers[0], c.Issuers[1]
	require.Equal(t, "alpha", alpha.Name)
	require.Equal(t, "127.0.0.1:9583", alpha.Addr)
	require.Equal(t, []string{"4"}, alpha.Prefixes)
	require.Equal(t, 5*time.Second, alpha.Timeout)
	require.Equal(t, "beta", beta.Name)
	require.Equal(t, "127.0.0.1:9584", beta.Addr)
	require.Equal(t, []string{"5"}, beta.Prefixes)
	require.Equal(t, "soft", c.HSM.Mode)
	require.Equal(t, "test", c.HSM.LMK)
	require.Equal(t, "", c.Ledger.DatabaseURL)
	require.Equal(t, "./data", c.Ledger.DataDir)
	m, g := c.Merchants[0], c.Merchants[1]
	require.Equal(t, "MERCHANT0000001", m.ID)
	require.Equal(t, "5999", m.MCC)
	require.Equal(t, "1.5", m.FeeRate().String())
	require.Equal(t, int64(10), m.FeeFixed)
	require.Equal(t, "GOVAGENCY000001", g.ID)
	require.Equal(t, KindAgency, g.Kind)
	require.Equal(t, "9311", g.MCC)
	require.Equal(t, int64(100), g.ConvenienceFee)
	require.True(t, g.FeeRate().IsZero())
	require.True(t, m.AcceptsCurrency("840"))
}

func TestExampleConfigLoads(t *testing.T) {
	c, err := Load("../deploy/cardswitch.example.yaml", noEnv)
	require.NoError(t, err)
	require.Len(t, c.Issuers, 2)
	require.Equal(t, int64(5000), c.Issuers[1].StandIn.MaxAmount)
	require.Equal(t, DefaultIssuerConnections, c.Issuers[1].Connections, "per-issuer defaults apply to a partial entry")
	require.Equal(t, []string{TxnPurchase, TxnReversal}, c.Merchants[1].Transactions)
	require.True(t, c.Merchants[1].Allows(TxnPurchase))
	require.False(t, c.Merchants[1].Allows(TxnRefund))
	require.Equal(t, "127.0.0.1:8081", c.API.Listen)
	require.True(t, c.API.TestKeysOn())
}

func TestAPITestKeysNeedLoopback(t *testing.T) {
	_, err := Parse(strings.NewReader("api: {listen: \":8081\"}\n"), noEnv)
	require.ErrorContains(t, err, "api.listen")
	c, err := Parse(strings.NewReader("api: {listen: \":8081\", test_keys: false}\n"), noEnv)
	require.NoError(t, err)
	require.Equal(t, "http://localhost:8081", c.API.BaseURL())
	c, err = Parse(strings.NewReader("api: {listen: \"off\"}\n"), noEnv)
	require.NoError(t, err)
	require.False(t, c.API.Enabled())
}

func TestIssuerEndpointsAndCircuit(t *testing.T) {
	c, err := Parse(strings.NewReader(`issuers:
  - name: alpha
    endpoints: [{addr: "10.0.0.1:9583"}, {addr: "10.0.0.2:9583"}]
    prefixes: ["4"]
    circuit: {consecutive_failures: 3}
  - {name: beta, addr: "127.0.0.1:9584", prefixes: ["5"], circuit: {enabled: false}}
`), noEnv)
	require.NoError(t, err)
	alpha, beta := c.Issuers[0], c.Issuers[1]
	require.Equal(t, []string{"10.0.0.1:9583", "10.0.0.2:9583"}, alpha.EndpointAddrs())
	require.Equal(t, []string{"127.0.0.1:9584"}, beta.EndpointAddrs(), "addr is the one-endpoint shorthand")
	require.True(t, alpha.Circuit.On())
	require.Equal(t, 3, alpha.Circuit.ConsecutiveFailures)
	require.Equal(t, DefaultCircuitOpen, alpha.Circuit.OpenDuration)
	require.False(t, beta.Circuit.On())
	require.Equal(t, DefaultCircuitFailures, beta.Circuit.ConsecutiveFailures)
}

func TestEnvironmentSelectsPostgres(t *testing.T) {
	env := func(k string) string {
		if k == "CARDSWITCH_DATABASE_URL" {
			return "postgres://postgres@127.0.0.1:5432/test"
		}
		return ""
	}
	c, err := Parse(strings.NewReader(""), env)
	require.NoError(t, err)
	require.Equal(t, "postgres://postgres@127.0.0.1:5432/test", c.Ledger.DatabaseURL)
}

func TestValidateNamesTheKey(t *testing.T) {
	cases := []struct {
		name, yaml, key string
	}{
		{"unknown key", "acceptor:\n  lisen: \":1\"\n", "field lisen not found"},
		{"bad listen", "acceptor:\n  listen: \"8583\"\n", "acceptor.listen"},
		{"bad framing", "acceptor:\n  framing: ebcdic\n", "acceptor.framing"},
		{"max frame", "acceptor:\n  max_frame: 10\n", "acceptor.max_frame"},
		{"bad prefix", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4a\"]}\n", "issuers[0].prefixes[0]"},
		{"prefix twice", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"]}\n  - {name: b, addr: \"127.0.0.1:2\", prefixes: [\"4\"]}\n", "issuers[1].prefixes[0]"},
		{"duplicate issuer", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"]}\n  - {name: a, addr: \"127.0.0.1:2\", prefixes: [\"5\"]}\n", "issuers[1].name"},
		{"issuer addr", "issuers:\n  - {name: a, addr: \"nowhere\", prefixes: [\"4\"]}\n", "issuers[0].addr"},
		{"negative timeout", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"], timeout: -1s}\n", "issuers[0].timeout"},
		{"addr and endpoints", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", endpoints: [{addr: \"127.0.0.1:2\"}], prefixes: [\"4\"]}\n", "issuers[0].endpoints"},
		{"endpoint addr", "issuers:\n  - {name: a, endpoints: [{addr: \"127.0.0.1:1\"}, {addr: \"x\"}], prefixes: [\"4\"]}\n", "issuers[0].endpoints[1].addr"},
		{"endpoint twice", "issuers:\n  - {name: a, endpoints: [{addr: \"127.0.0.1:1\"}, {addr: \"127.0.0.1:1\"}], prefixes: [\"4\"]}\n", "issuers[0].endpoints[1].addr"},
		{"no addr", "issuers:\n  - {name: a, prefixes: [\"4\"]}\n", "issuers[0].addr"},
		{"circuit failures", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"], circuit: {consecutive_failures: -1}}\n", "issuers[0].circuit.consecutive_failures"},
		{"circuit open", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"], circuit: {open_duration: -1s}}\n", "issuers[0].circuit.open_duration"},
		{"issuer tls off", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"], tls: {ca_file: ca.pem}}\n", "issuers[0].tls.enabled"},
		{"issuer tls key", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"], tls: {enabled: true, cert_file: c.pem}}\n", "issuers[0].tls.cert_file"},
		{"client ca without cert", "acceptor:\n  tls_client_ca: ca.pem\n", "acceptor.tls_client_ca"},
		{"merchant id", "merchants:\n  - {id: SHORT, mcc: \"5999\"}\n", "merchants[0].id"},
		{"fee percent", "merchants:\n  - {id: MERCHANT0000009, mcc: \"5999\", fee_percent: \"abc\"}\n", "merchants[0].fee_percent"},
		{"convenience fee on merchant", "merchants:\n  - {id: MERCHANT0000009, mcc: \"5999\", convenience_fee: 5}\n", "merchants[0].convenience_fee"},
		{"transactions", "merchants:\n  - {id: MERCHANT0000009, mcc: \"5999\", transactions: [cashback]}\n", "merchants[0].transactions[0]"},
		{"terminal id", "terminals:\n  - {id: T1}\n", "terminals[0].id"},
		{"terminal key", "terminals:\n  - {id: TERM0001, tpk: {cryptogram: \"U12\", check_value: \"ABCDEF\"}}\n", "terminals[0].tpk.cryptogram"},
		{"emv scheme", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"], emv: {scheme: cvn18}}\n", "issuers[0].emv.scheme"},
		{"emv without key", "issuers:\n  - {name: a, addr: \"127.0.0.1:1\", prefixes: [\"4\"], emv: {scheme: visa-cvn10}}\n", "issuers[0].emv.mk_ac"},
		{"terminal merchant", "terminals:\n  - {id: TERM0001, merchant: NOSUCHMERCHANT1}\n", "terminals[0].merchant"},
		{"hsm mode", "hsm:\n  mode: cloud\n", "hsm.mode"},
		{"payshield without addr", "hsm:\n  mode: payshield\n", "hsm.addr"},
		{"database url", "ledger:\n  database_url: mysql://x\n", "ledger.database_url"},
		{"node id", "node_id: \"ab\"\n", "node_id"},
		{"log level", "log:\n  level: loud\n", "log.level"},
		{"pin format 4", "terminals:\n  - {id: TERM0001, pin_format: 4}\n", "terminals[0].pin_format"},
		{"cutover", "ledger:\n  cutover: \"25:00\"\n", "ledger.cutover"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.yaml), noEnv)
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.key)
			require.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}
