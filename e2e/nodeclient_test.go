package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// nodeISOVersion is the npm ISO 8583 library the acquirer client is built on.
const nodeISOVersion = "2.6.7"

// nodeISOClient returns a directory with testdata/iso8583-node-client.js and the npm iso_8583
// library installed beside it (cached in the user's cache directory). It skips the test when
// Node or npm is missing or the registry cannot be reached.
func nodeISOClient(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: no client on another language's ISO 8583 library", tool)
		}
	}
	cache, err := os.UserCacheDir()
	require.NoError(t, err)
	dir := filepath.Join(cache, "cardswitch-iso_8583-"+nodeISOVersion)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "iso_8583", "package.json")); err != nil {
		require.NoError(t, os.MkdirAll(dir, 0o750))
		out, err := exec.Command("npm", "install", "--prefix", dir, "--no-audit", "--no-fund", "iso_8583@"+nodeISOVersion).CombinedOutput()
		if err != nil {
			t.Skipf("npm install iso_8583 failed (no registry?): %v\n%s", err, out)
		}
	}
	js, err := os.ReadFile("testdata/iso8583-node-client.js")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "client.js"), js, 0o600))
	return dir
}

// TestNodeISO8583Client: terminals on the npm iso_8583 library with its default spec (ASCII
// fields behind a binary bitmap) reach the switch on a listener of their own, configured with a
// JSON spec: an echo, an approval, a decline and a hold, answered as that library reads them.
func TestNodeISO8583Client(t *testing.T) {
	dir := nodeISOClient(t)
	spec, err := filepath.Abs("../iso8583/testdata/specs/ascii-binary-bitmap.json")
	require.NoError(t, err)
	node := freePort(t)
	startSystem(t, systemOpts{extraYAML: fmt.Sprintf("acceptors:\n  - {name: node, listen: %q, spec: %q}\n", node, spec)})
	now := time.Now().UTC()
	base := func(mti, stan, amount, pc string) map[string]string {
		return map[string]string{"0": mti, "2": "4111111111111111", "3": pc, "4": amount, "7": now.Format("0102150405"),
			"11": stan, "12": now.Format("150405"), "13": now.Format("0102"), "14": fmt.Sprintf("%02d12", (now.Year()+2)%100),
			"18": "5999", "22": "810", "41": "NODEJS01", "42": "MERCHANT0000001", "49": "840"}
	}
	msgs := []map[string]string{
		{"0": "0800", "7": now.Format("0102150405"), "11": "000001", "70": "301"},
		base("0200", "000002", "000000001000", "000000"),
		base("0200", "000003", "000000001051", "000000"),
		base("0100", "000004", "000000002500", "000000"),
	}
	in, err := json.Marshal(msgs)
	require.NoError(t, err)
	cmd := exec.Command("node", filepath.Join(dir, "client.js"), node)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "node client: %s", stderr.String())
	got := map[string]map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var m map[string]string
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		got[m["11"]] = m
	}
	require.Len(t, got, 4, "%s", out)
	require.Equal(t, "0810", got["000001"]["0"])
	require.Equal(t, "00", got["000001"]["39"])
	require.Equal(t, "0210", got["000002"]["0"])
	require.Equal(t, "00", got["000002"]["39"])
	require.Len(t, got["000002"]["38"], 6, "an approval carries its code")
	require.Equal(t, "000000001000", got["000002"]["4"])
	require.Equal(t, "51", got["000003"]["39"])
	require.Equal(t, "0110", got["000004"]["0"])
	require.Equal(t, "00", got["000004"]["39"])
}
