package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// defaultTrustedProxies are the proxies trusted when
// http.trustedProxies is not set: those on this host.
var defaultTrustedProxies = []string{"127.0.0.0/8", "::1/128"}

// trustedProxies parses http.trustedProxies (addresses or CIDR
// prefixes).
func (c HTTPConfig) trustedProxies() ([]netip.Prefix, error) {
	list := c.TrustedProxies
	switch {
	case list == nil:
		list = defaultTrustedProxies
	case len(list) == 1 && strings.TrimSpace(list[0]) == "none":
		list = nil
	}
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("config: http.trustedProxies: %q is neither an address nor a CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// forwardedHeaders are the headers a proxy in front sets about the
// client's request.
var forwardedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Forwarded"}

// forwarded honours X-Forwarded-* only from a trusted proxy: the
// request's RemoteAddr becomes the client X-Forwarded-For names (the
// last address in it that is not itself a trusted proxy), its Host
// X-Forwarded-Host's, and X-Forwarded-Proto stays for what builds URLs.
// From anyone else, those headers are removed, so that no client can
// choose the address limits count it under or the host and scheme of the
// URLs it is sent.
func forwarded(h http.Handler, trusted []netip.Prefix) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := remoteAddr(r.RemoteAddr)
		if !ok || !isTrusted(peer) {
			stripForwarded(r)
			h.ServeHTTP(w, r)
			return
		}
		if client, ok := forwardedClient(r.Header.Values("X-Forwarded-For"), isTrusted); ok {
			r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		}
		if host := r.Header.Get("X-Forwarded-Host"); validHost(host) {
			r.Host = host
		}
		h.ServeHTTP(w, r)
	})
}

// stripForwarded removes the forwarded headers from r (a copy of its
// header map: the caller's stays as it was).
func stripForwarded(r *http.Request) {
	var found bool
	for _, k := range forwardedHeaders {
		if _, ok := r.Header[k]; ok {
			found = true
		}
	}
	if !found {
		return
	}
	r.Header = r.Header.Clone()
	for _, k := range forwardedHeaders {
		r.Header.Del(k)
	}
}

// remoteAddr parses a RemoteAddr ("ip:port", or a bare ip).
func remoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

// forwardedClient is the client X-Forwarded-For names: walking from the
// right (the nearest hop), the first address that is not a trusted
// proxy. ok is false when the header is absent or malformed.
func forwardedClient(values []string, isTrusted func(netip.Addr) bool) (netip.Addr, bool) {
	var hops []string
	for _, v := range values {
		hops = append(hops, strings.Split(v, ",")...)
	}
	var last netip.Addr
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, false
		}
		last = a.Unmap()
		if !isTrusted(last) {
			return last, true
		}
	}
	return last, last.IsValid() // every hop a trusted proxy: the first one
}

// validHost reports whether s is a host[:port] fit for URLs.
func validHost(s string) bool {
	if s == "" || len(s) > 255 || strings.ContainsAny(s, " /\\?#@") {
		return false
	}
	host := s
	if h, _, err := net.SplitHostPort(s); err == nil {
		host = h
	}
	return host != ""
}
