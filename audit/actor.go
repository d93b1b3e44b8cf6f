package audit

import (
	"net"
	"os"
	"os/user"
	"strings"
	"unicode"
)

// How "who" is known. The switch has no user accounts of its own: it records what it can
// verify, and labels what it cannot.
//
//   - ActorCLI: a command run on a host with access to the database (`cardswitch ledger
//     cutover`): the operating-system user and the host, "cli:alice@ops1". Under sudo the user
//     who ran sudo is named: "cli:alice@ops1 (sudo root)".
//   - ActorHTTP: a request to the operators' listener: "token:<peer address>" when the admin
//     token was required and presented (the token proves the holder, not the person), or
//     "loopback:<peer address>" when no token is configured (anyone on the host could call). A
//     client may name its user in the X-Cardswitch-Actor header (the CLI sends "cli:user@host");
//     it is appended as a claim, "token:10.0.0.5 (claims cli:alice@ops1)", never trusted alone.
//   - ActorSystem: the switch itself (the cutover schedule): "system:cutover-schedule".
//   - A signal (SIGHUP) carries no sender: "signal:SIGHUP".

// ActorHeader is the HTTP header in which a client names its user (a claim, recorded as such).
const ActorHeader = "X-Cardswitch-Actor"

// ActorCLI returns the actor of a command run by a person on this host.
func ActorCLI() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	a := "cli:" + name + "@" + host
	if su := os.Getenv("SUDO_USER"); su != "" && su != name {
		a = "cli:" + su + "@" + host + " (sudo " + name + ")"
	}
	return sanitize(a, ActorMax)
}

// ActorHTTP returns the actor of a request to the operators' listener: tokenRequired says that
// the request passed the admin token check; remoteAddr is the peer (http.Request.RemoteAddr);
// claim is the client's ActorHeader, if any.
func ActorHTTP(tokenRequired bool, remoteAddr, claim string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	kind := "loopback"
	if tokenRequired {
		kind = "token"
	}
	a := kind + ":" + host
	if c := sanitize(claim, 100); c != "" {
		a += " (claims " + c + ")"
	}
	return sanitize(a, ActorMax)
}

// ActorSystem returns the actor of something the switch does by itself (a schedule).
func ActorSystem(component string) string { return sanitize("system:"+component, ActorMax) }

// ActorSignal returns the actor of an action a signal asked for: ActorSignal("SIGHUP").
func ActorSignal(name string) string { return sanitize("signal:"+name, ActorMax) }

// sanitize keeps printable characters only and at most max bytes.
func sanitize(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return -1
	}, s)
	return clean(strings.TrimSpace(s), max)
}
