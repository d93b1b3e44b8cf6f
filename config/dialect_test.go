package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDialectKeys(t *testing.T) {
	c, err := Parse(strings.NewReader(`
acceptor:
  listen: 127.0.0.1:22001
  max_connections: 10
acceptors:
  - listen: 127.0.0.1:22002
    spec: ../iso8583/testdata/specs/pos-bcd-binary.json
    header: tpdu:6000010000
    framing: bcd2
issuers:
  - name: moov
    addr: 127.0.0.1:22003
    prefixes: ["4"]
    spec: moov-spec87ascii
    sign_on: false
    echo_interval: 0
  - name: iso93
    addr: 127.0.0.1:22004
    prefixes: ["5"]
    spec: ../iso8583/testdata/specs/host-iso93.json
    mapping:
      mti: {"0100": "1100", "0800": "1804"}
      fields:
        - {op: move, from: "70", to: "24"}
    network_codes: {sign_on: "801", sign_off: "802", echo: "831"}
`), nil)
	require.NoError(t, err)
	ls := c.Listeners()
	require.Len(t, ls, 2)
	require.Equal(t, "default", ls[0].Name)
	require.Equal(t, "acceptor-1", ls[1].Name)
	require.Equal(t, 10, ls[1].MaxConnections, "a listener inherits the acceptor block's limits")
	require.Equal(t, DefaultDrainTimeout, ls[1].DrainTimeout)
	require.Equal(t, time.Duration(0), c.Issuers[0].Echo())
	require.Equal(t, DefaultEchoInterval, c.Issuers[1].Echo())
	require.Equal(t, "831", c.Issuers[1].NetworkCodes.Echo)
}

func TestDialectErrorsNameTheKey(t *testing.T) {
	base := "issuers:\n  - {name: a, addr: 127.0.0.1:22003, prefixes: [\"4\"], %s}\n"
	for _, tc := range []struct{ line, want string }{
		{"spec: moov-spec87ascii", "issuers[0].spec: moov-spec87ascii has no field 70 for sign-on and echo"},
		{"spec: nope", "issuers[0].spec: spec nope: not a built-in spec"},
		{"spec: /tmp/dialects-missing.json", "issuers[0].spec: spec /tmp/dialects-missing.json:"},
		{"header: tpdu:60", "issuers[0].header: header \"tpdu:60\""},
		{"mapping: {fields: [{op: move, from: \"48\", to: \"41.01\"}]}", "issuers[0].mapping: mapping: fields[0] (move): to \"41.01\": field 41 is not a composite field"},
		{"network_codes: {echo: \"31\"}", "issuers[0].network_codes.echo: \"31\" must be 3 digits"},
		{"echo_interval: -1s", "issuers[0].echo_interval: must not be negative"},
	} {
		_, err := Parse(strings.NewReader(strings.Replace(base, "%s", tc.line, 1)), nil)
		require.ErrorContains(t, err, tc.want, tc.line)
	}
	_, err := Parse(strings.NewReader("acceptors:\n  - {listen: \":8583\"}\n"), nil)
	require.ErrorContains(t, err, `acceptors[0].listen: ":8583" is already acceptor's`)
	_, err = Parse(strings.NewReader("acceptors:\n  - {listen: \"127.0.0.1:22009\", spec: bad.json}\n"), nil)
	require.ErrorContains(t, err, "acceptors[0].spec: spec bad.json")
}
