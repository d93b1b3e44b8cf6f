package e2e

import (
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "cardswitch-e2e-shared") }

// startServeOnFreePorts starts `cardswitch serve` with the config that write returns for a fresh
// set of free ports, and waits until it is ready at the HTTP address write returned. A port taken
// by another process between freePort and the switch's bind makes serve exit at once; it is tried
// again on new ports, at most three times.
func startServeOnFreePorts(t *testing.T, name string, write func() (configPath, httpAddr string)) *proc {
	t.Helper()
	for attempt := 1; ; attempt++ {
		path, httpAddr := write()
		p := start(t, name, []string{"CARDSWITCH_DATABASE_URL="}, "serve", "--config", path)
		ready := func() bool {
			select {
			case <-p.done:
				return true
			default:
			}
			code, _ := httpGet(t, "http://"+httpAddr+"/readyz")
			return code == http.StatusOK
		}
		require.Eventually(t, ready, 30*time.Second, 50*time.Millisecond, "the switch never became ready")
		select {
		case <-p.done:
			if attempt < 3 && strings.Contains(p.out.String(), "address already in use") {
				t.Logf("serve found a port taken (attempt %d), trying new ports", attempt)
				continue
			}
			t.Fatalf("serve exited: %s", tail(p.out.String(), 2000))
		default:
		}
		return p
	}
}
