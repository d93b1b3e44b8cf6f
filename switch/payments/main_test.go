package payments

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the API starts (the writer, handlers) stops with it. Idle client connections of
// http.DefaultClient are the tests' own.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"))
}
