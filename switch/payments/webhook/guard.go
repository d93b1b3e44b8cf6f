package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrPrivateAddress: an endpoint URL resolves to an address the switch must not call.
var ErrPrivateAddress = errors.New("the address is on a loopback, private or link-local network")

// Guard decides which endpoint addresses the switch may call. Webhook URLs come from outside: left
// alone, one could make the switch call its own admin listener or a cloud metadata service.
type Guard struct {
	// AllowPrivate lets endpoints on loopback and private networks through (one-machine setups).
	AllowPrivate bool
	// Resolver resolves host names (nil: net.DefaultResolver).
	Resolver *net.Resolver
}

// blocked reports whether an address must not be called.
func (g *Guard) blocked(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return true
	}
	if g.AllowPrivate {
		return false
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() {
		return true
	}
	for _, p := range extraBlocked {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// extraBlocked are special-purpose ranges beyond the standard library's predicates: carrier-grade
// NAT, "this network", benchmarking, IETF protocol assignments, and the NAT64 well-known prefix.
var extraBlocked = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
}

// CheckURL refuses an endpoint URL that is not http(s), has credentials, or whose host resolves
// to a blocked address (at creation; Dial checks again at delivery, against DNS rebinding).
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("the URL must be an absolute http or https URL")
	}
	if u.User != nil {
		return errors.New("the URL must not carry credentials")
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		if !g.AllowPrivate {
			return ErrPrivateAddress
		}
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if g.blocked(ip) {
			return ErrPrivateAddress
		}
		return nil
	}
	r := g.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return fmt.Errorf("the URL's host does not resolve")
	}
	for _, a := range addrs {
		if g.blocked(a) {
			return ErrPrivateAddress
		}
	}
	return nil
}

// Control is a net.Dialer Control function that refuses to connect to a blocked address: the
// address checked is the one actually dialled, after resolution.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	if g.blocked(ap.Addr()) {
		return ErrPrivateAddress
	}
	return nil
}
