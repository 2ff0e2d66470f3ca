// Package netguard keeps a server's outbound HTTP calls away from internal
// addresses: the defence against server-side request forgery (SSRF) for
// every address a user of the registry may configure (webhook targets,
// replication endpoints, scanner adapters).
//
// A Guard refuses connections to loopback, private (RFC 1918, RFC 4193),
// link-local (169.254.0.0/16 with the cloud metadata address, fe80::/10),
// unspecified, multicast, shared (CGNAT, 100.64.0.0/10), documentation,
// benchmarking and reserved addresses, in their IPv4-mapped IPv6 forms
// too and inside 6to4 and NAT64 addresses, unless the operator allows
// them by host name or network.
//
// The check runs when the connection is made, on the address actually
// dialed after name resolution (net.Dialer.Control): a name that resolves
// to an internal address, a DNS answer that changes between a check and
// the dial (rebinding) and a redirect to an internal address are all
// refused, with an error wrapping ErrForbiddenAddress that names the
// address. CheckHost lets a service also reject a literal internal
// address early, when the address is configured.
//
// Transports made by a Guard use no proxy: a proxy would make the
// connection to the target itself, out of the guard's sight. A host that
// must send through a proxy sets Proxy on the transport itself, and then
// only the connection to the proxy is checked.
//
// A nil *Guard is valid and allows nothing internal.
package netguard
