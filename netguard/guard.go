package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbiddenAddress reports an outbound connection to an address the
// guard does not allow.
var ErrForbiddenAddress = errors.New("netguard: forbidden address")

// Guard decides which addresses outbound connections may reach: every
// global unicast address, plus the internal hosts and networks the
// operator allows. It is safe for concurrent use; nil allows nothing
// internal.
type Guard struct {
	hosts map[string]bool
	nets  []netip.Prefix
	// wrap wraps the transports of the calls the guard checks
	// (WithRoundTripper; nil: none).
	wrap func(http.RoundTripper) http.RoundTripper
}

// Option configures a Guard.
type Option func(*Guard)

// AllowHosts allows connections to the named hosts whatever addresses
// they resolve to (names compare without case and trailing dot). The
// name is the one a URL gives: the operator trusts its DNS.
func AllowHosts(hosts ...string) Option {
	return func(g *Guard) {
		for _, h := range hosts {
			if h = canonicalHost(h); h != "" {
				g.hosts[h] = true
			}
		}
	}
}

// AllowNetworks allows connections to any address in the given networks,
// e.g. 10.0.0.0/8 or 127.0.0.0/8 for tests.
func AllowNetworks(nets ...netip.Prefix) Option {
	return func(g *Guard) {
		for _, n := range nets {
			if n.IsValid() {
				g.nets = append(g.nets, n.Masked())
			}
		}
	}
}

// WithRoundTripper has RoundTripper wrap the guarded transports with
// wrap: what every outbound call goes through besides the guard (trace
// context propagation, say).
func WithRoundTripper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(g *Guard) { g.wrap = wrap }
}

// With returns a copy of g with opts applied as well.
func (g *Guard) With(opts ...Option) *Guard {
	c := New()
	if g != nil {
		for h := range g.hosts {
			c.hosts[h] = true
		}
		c.nets, c.wrap = append(c.nets, g.nets...), g.wrap
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// RoundTripper is t as the callers of the guard send through it: t,
// wrapped by WithRoundTripper's function if there is one. Build t with
// Transport or Wrap.
func (g *Guard) RoundTripper(t *http.Transport) http.RoundTripper {
	if g == nil || g.wrap == nil {
		return t
	}
	return g.wrap(t)
}

// New returns a Guard that allows what opts allow.
func New(opts ...Option) *Guard {
	g := &Guard{hosts: map[string]bool{}}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Parse returns a Guard allowing the listed entries, each a network in
// CIDR notation (10.0.0.0/8), an address (10.1.2.3, ::1) or a host name
// (trivy-adapter). A bad entry is an error naming it.
func Parse(entries ...string) (*Guard, error) {
	g := New()
	for _, e := range entries {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
			continue
		case strings.Contains(e, "/"):
			p, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("netguard: %q is not a network in CIDR notation", e)
			}
			AllowNetworks(p)(g)
		default:
			if a, err := netip.ParseAddr(strings.Trim(e, "[]")); err == nil {
				if a.Zone() != "" {
					return nil, fmt.Errorf("netguard: %q: an address with a zone cannot be allowed", e)
				}
				AllowNetworks(netip.PrefixFrom(a, a.BitLen()))(g)
				continue
			}
			if !validHostName(e) {
				return nil, fmt.Errorf("netguard: %q is neither a network, an address nor a host name", e)
			}
			AllowHosts(e)(g)
		}
	}
	return g, nil
}

// validHostName reports whether s looks like a DNS name (letters, digits,
// hyphens, underscores and dots).
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

func canonicalHost(h string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
}

// hostAllowed reports whether host (a name from a URL) is allowed as such.
func (g *Guard) hostAllowed(host string) bool {
	return g != nil && len(g.hosts) > 0 && g.hosts[canonicalHost(host)]
}

// netAllowed reports whether ip lies in an allowed network.
func (g *Guard) netAllowed(ip netip.Addr) bool {
	if g == nil {
		return false
	}
	for _, n := range g.nets {
		if n.Contains(ip) || n.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// CheckAddr returns nil when connections to ip are allowed, else an error
// wrapping ErrForbiddenAddress that names it and its kind.
func (g *Guard) CheckAddr(ip netip.Addr) error {
	ip = ip.WithZone("")
	kind, internal := Internal(ip)
	if !internal || g.netAllowed(ip) {
		return nil
	}
	return fmt.Errorf("%w %s (%s)", ErrForbiddenAddress, ip, kind)
}

// CheckHost is the early check of a configured address's host (a URL's
// Hostname): a literal address the guard refuses, or a name that is
// loopback by definition (localhost, *.localhost), is an error wrapping
// ErrForbiddenAddress. Other names are checked when they are dialed.
func (g *Guard) CheckHost(host string) error {
	host = strings.Trim(host, "[]")
	if g.hostAllowed(host) {
		return nil
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return g.CheckAddr(ip)
	}
	if h := canonicalHost(host); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		if g.netAllowed(netip.IPv6Loopback()) || g.netAllowed(netip.AddrFrom4([4]byte{127, 0, 0, 1})) {
			return nil
		}
		return fmt.Errorf("%w %s (loopback)", ErrForbiddenAddress, host)
	}
	return nil
}

// Control is a net.Dialer Control function: it refuses a connection to an
// address the guard does not allow, after name resolution and before the
// connection is made.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w %s (%s: not an IP address)", ErrForbiddenAddress, address, network)
	}
	return g.CheckAddr(ap.Addr())
}

// dialer is the dialer of a Transport: the settings of
// http.DefaultTransport's.
func dialer(control func(string, string, syscall.RawConn) error) *net.Dialer {
	return &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: control}
}

// DialContext dials address (host:port) as a net.Dialer would, refusing
// addresses the guard does not allow unless the host is an allowed name.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("netguard: %q: %w", address, err)
	}
	if g.hostAllowed(host) {
		return dialer(nil).DialContext(ctx, network, address)
	}
	return dialer(g.Control).DialContext(ctx, network, address)
}

// Transport returns a new transport with http.DefaultTransport's settings
// that dials through the guard and uses no proxy.
func (g *Guard) Transport() *http.Transport {
	return g.Wrap(http.DefaultTransport.(*http.Transport))
}

// Wrap returns a copy of t that dials through the guard and uses no
// proxy (its own dial functions are dropped).
func (g *Guard) Wrap(t *http.Transport) *http.Transport {
	c := t.Clone()
	c.Proxy = nil
	c.OnProxyConnectResponse = nil
	//lint:ignore SA1019 cleared so that it cannot bypass the guard
	c.Dial = nil
	//lint:ignore SA1019 cleared so that it cannot bypass the guard
	c.DialTLS = nil
	c.DialTLSContext = nil
	c.DialContext = g.DialContext
	return c
}
