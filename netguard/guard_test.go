package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

func TestInternalRanges(t *testing.T) {
	refused := []string{
		"127.0.0.1", "127.255.0.9", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "0.1.2.3",
		"10.0.0.1", "172.16.5.4", "192.168.1.1", "::ffff:10.0.0.1", "fc00::1", "fd12:3456::1",
		"169.254.169.254", "::ffff:169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0",
		"100.64.0.1", "100.127.255.254", "224.0.0.1", "239.1.1.1", "ff02::1", "ff05::2",
		"255.255.255.255", "240.0.0.1", "192.0.2.1", "198.51.100.7", "203.0.113.9", "198.18.0.1",
		"192.0.0.8", "2001:db8::1", "fec0::1", "::127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
		"2002:7f00:1::1", "2002:a00:1::", "2001::1", "100::1", "64:ff9b:1::1",
	}
	for _, s := range refused {
		ip := netip.MustParseAddr(s)
		if kind, internal := Internal(ip); !internal {
			t.Errorf("Internal(%s) = false, want true", s)
		} else if kind == "" {
			t.Errorf("Internal(%s): no kind", s)
		}
		err := New().CheckAddr(ip)
		if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), ip.WithZone("").String()) {
			t.Errorf("CheckAddr(%s) = %v, want ErrForbiddenAddress naming it", s, err)
		}
		var nilGuard *Guard
		if err := nilGuard.CheckAddr(ip); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("nil guard: CheckAddr(%s) = %v", s, err)
		}
	}
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8",
		"64:ff9b::808:808", "2002:808:808::1", "100.128.0.1", "172.32.0.1", "11.0.0.1"} {
		if kind, internal := Internal(netip.MustParseAddr(s)); internal {
			t.Errorf("Internal(%s) = %q, want global", s, kind)
		}
		if err := New().CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("CheckAddr(%s) = %v", s, err)
		}
	}
}

func TestAllowList(t *testing.T) {
	g, err := Parse("127.0.0.0/8", " 10.1.2.3 ", "[::1]", "Trivy-Adapter.", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"127.0.0.1", "127.9.9.9", "::ffff:127.0.0.1", "10.1.2.3", "::1"} {
		if err := g.CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("allowed %s: %v", s, err)
		}
	}
	for _, s := range []string{"10.1.2.4", "169.254.169.254", "fe80::1", "192.168.0.1"} {
		if err := g.CheckAddr(netip.MustParseAddr(s)); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("not allowed %s: %v", s, err)
		}
	}
	if err := g.CheckHost("trivy-adapter"); err != nil {
		t.Errorf("allowed host: %v", err)
	}
	for _, h := range []string{"localhost", "LOCALHOST.", "a.localhost", "[fe80::1]", "169.254.169.254", "0.0.0.0"} {
		if err := New(AllowHosts("trivy-adapter")).CheckHost(h); !errors.Is(err, ErrForbiddenAddress) {
			t.Errorf("CheckHost(%q) = %v, want ErrForbiddenAddress", h, err)
		}
	}
	if err := g.CheckHost("localhost"); err != nil {
		t.Errorf("CheckHost(localhost) with loopback allowed = %v", err)
	}
	if err := New().CheckHost("localhost"); !errors.Is(err, ErrForbiddenAddress) {
		t.Errorf("CheckHost(localhost) = %v", err)
	}
	if err := g.CheckHost("[::1]"); err != nil {
		t.Errorf("CheckHost([::1]) = %v", err)
	}
	if err := New().CheckHost("registry.example.com"); err != nil {
		t.Errorf("a name is checked when dialed: %v", err)
	}
	for _, bad := range []string{"10.0.0.0/33", "not a host", "fe80::1%eth0", "x/y"} {
		if _, err := Parse(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("Parse(%q) = %v, want an error naming it", bad, err)
		}
	}
}

// server is a live HTTP server on addr that counts its requests.
func server(t *testing.T, addr string, h http.Handler) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h.ServeHTTP(w, r)
	})}}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &hits
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })

func TestDialRefusesLoopback(t *testing.T) {
	srv, hits := server(t, "127.0.0.1:0", ok)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	client := &http.Client{Transport: New().Transport()}
	// The literal address, and a name that resolves to it: the check is
	// on the address dialed.
	for _, u := range []string{srv.URL, "http://localhost:" + port, "http://[::ffff:127.0.0.1]:" + port} {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s went through", u)
		}
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Fatalf("GET %s: %v, want ErrForbiddenAddress", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}
	allowed := &http.Client{Transport: New(AllowNetworks(netip.MustParsePrefix("127.0.0.0/8"))).Transport()}
	resp, err := allowed.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	byName := &http.Client{Transport: New(AllowHosts("localhost")).Transport()}
	resp, err = byName.Get("http://localhost:" + port)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := hits.Load(); n != 2 {
		t.Fatalf("the server got %d requests, want 2", n)
	}
}

func TestRedirectToInternalRefused(t *testing.T) {
	inner, innerHits := server(t, "127.0.0.2:0", ok)
	outer, outerHits := server(t, "127.0.0.1:0", http.RedirectHandler(inner.URL+"/secret", http.StatusFound))
	// Only the outer server's address is allowed: it stands for a public
	// receiver that redirects inside.
	g := New(AllowNetworks(netip.MustParsePrefix("127.0.0.1/32")))
	client := &http.Client{Transport: g.Transport()}
	resp, err := client.Get(outer.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("the redirect was followed")
	}
	if !errors.Is(err, ErrForbiddenAddress) || !strings.Contains(err.Error(), "127.0.0.2") {
		t.Fatalf("err = %v, want ErrForbiddenAddress naming 127.0.0.2", err)
	}
	if outerHits.Load() != 1 || innerHits.Load() != 0 {
		t.Fatalf("outer got %d requests, inner %d; want 1 and 0", outerHits.Load(), innerHits.Load())
	}
}

func TestWrapDropsProxyAndDialers(t *testing.T) {
	proxy, proxyHits := server(t, "127.0.0.1:0", ok)
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.Proxy = func(*http.Request) (*url.URL, error) { return url.Parse(proxy.URL) }
	base.DialTLSContext = func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("own dialer") }
	tr := New().Wrap(base)
	if tr.Proxy != nil || tr.DialTLSContext != nil {
		t.Fatal("Wrap kept the proxy or the TLS dialer")
	}
	resp, err := (&http.Client{Transport: tr}).Get("http://127.0.0.1:1/")
	if err == nil {
		resp.Body.Close()
	}
	if !errors.Is(err, ErrForbiddenAddress) || proxyHits.Load() != 0 {
		t.Fatalf("err = %v, proxy hits %d", err, proxyHits.Load())
	}
}

func TestRoundTripperWrap(t *testing.T) {
	base := New(AllowHosts("scanner"))
	tr := base.Transport()
	if got := base.RoundTripper(tr); got != http.RoundTripper(tr) {
		t.Error("a guard without a wrapper changed the transport")
	}
	var nilGuard *Guard
	if got := nilGuard.RoundTripper(tr); got != http.RoundTripper(tr) {
		t.Error("a nil guard changed the transport")
	}
	type wrapped struct{ http.RoundTripper }
	g := base.With(WithRoundTripper(func(rt http.RoundTripper) http.RoundTripper { return wrapped{rt} }))
	if w, ok := g.RoundTripper(tr).(wrapped); !ok || w.RoundTripper != http.RoundTripper(tr) {
		t.Errorf("the wrapper was not applied: %T", g.RoundTripper(tr))
	}
	// The copy keeps what the original allows; the original gains no wrapper.
	if err := g.CheckHost("scanner"); err != nil {
		t.Errorf("the copy forgot an allowed host: %v", err)
	}
	if _, ok := base.RoundTripper(tr).(wrapped); ok {
		t.Error("With changed the original guard")
	}
}
