package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestForwardedHeaders(t *testing.T) {
	trusted, err := HTTPConfig{TrustedProxies: []string{"127.0.0.0/8", "10.0.0.0/8", "::1"}}.trustedProxies()
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ remote, host, proto, xff string }
	var got seen
	h := forwarded(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got = seen{r.RemoteAddr, r.Host, r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-For")}
	}), trusted)
	for _, tc := range []struct {
		name, peer, xff, xfh string
		want                 seen
	}{
		{"through two trusted proxies", "127.0.0.1:4000", "203.0.113.9, 10.0.0.1", "registry.example.com",
			seen{"203.0.113.9:0", "registry.example.com", "https", "203.0.113.9, 10.0.0.1"}},
		{"a client's own X-Forwarded-For is not believed past the proxy", "10.1.2.3:4000", "1.2.3.4, 203.0.113.9", "",
			seen{"203.0.113.9:0", "berth.internal", "https", "1.2.3.4, 203.0.113.9"}},
		{"every hop trusted", "[::1]:4000", "10.0.0.5", "",
			seen{"10.0.0.5:0", "berth.internal", "https", "10.0.0.5"}},
		{"malformed X-Forwarded-For", "127.0.0.1:4000", "203.0.113.9, not-an-ip", "bad host/x",
			seen{"127.0.0.1:4000", "berth.internal", "https", "203.0.113.9, not-an-ip"}},
		{"an untrusted peer's headers are dropped", "198.51.100.7:4000", "203.0.113.9", "evil.example",
			seen{"198.51.100.7:4000", "berth.internal", "", ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "http://berth.internal/v2/", nil)
			r.RemoteAddr = tc.peer
			r.Header.Set("X-Forwarded-For", tc.xff)
			r.Header.Set("X-Forwarded-Proto", "https")
			if tc.xfh != "" {
				r.Header.Set("X-Forwarded-Host", tc.xfh)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != tc.want {
				t.Errorf("handler saw %+v, want %+v", got, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		list []string
		n    int
	}{{nil, 2}, {[]string{"none"}, 0}, {[]string{}, 0}, {[]string{"192.0.2.1", "2001:db8::/32"}, 2}} {
		if got, err := (HTTPConfig{TrustedProxies: tc.list}).trustedProxies(); err != nil || len(got) != tc.n {
			t.Errorf("trustedProxies %q: %v, %v; want %d prefixes", tc.list, got, err, tc.n)
		}
	}
	cfg := testConfig()
	cfg.HTTP.TrustedProxies = []string{"10.0.0.0/33"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "http.trustedProxies") {
		t.Errorf("Validate with a bad prefix: %v", err)
	}
}

// TestForwardedProtoOnlyFromTrustedProxies: the token realm a 401 names
// follows X-Forwarded-Proto from a proxy on loopback (the default), and
// ignores it once loopback is not trusted.
func TestForwardedProtoOnlyFromTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		trusted []string
		want    string
	}{{nil, `realm="https://`}, {[]string{"none"}, `realm="http://`}} {
		cfg := testConfig()
		cfg.DataDir = t.TempDir()
		cfg.Auth.AdminPassword = "admin-password-forwarded"
		cfg.HTTP.TrustedProxies = tc.trusted
		host := serve(t, cfg)
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/v2/", nil)
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("WWW-Authenticate"); !strings.Contains(got, tc.want) {
			t.Errorf("trusted %q: challenge %q, want %s", tc.trusted, got, tc.want)
		}
	}
}

// TestWebhookHost: webhook payloads name the registry by
// events.externalHost, else by externalURL (a registry behind a proxy),
// else by addr.
func TestWebhookHost(t *testing.T) {
	for _, tc := range []struct{ externalHost, externalURL, want string }{
		{"hooks.example:443", "https://registry.example.com", "hooks.example:443"},
		{"", "https://registry.example.com/", "registry.example.com"},
		{"", "https://example.com:8443/registry/", "example.com:8443/registry"},
		{"", "", "127.0.0.1:5000"},
	} {
		cfg := testConfig()
		cfg.Events.ExternalHost, cfg.ExternalURL = tc.externalHost, tc.externalURL
		if got := cfg.webhookHost(); got != tc.want {
			t.Errorf("externalHost %q, externalURL %q: %q, want %q", tc.externalHost, tc.externalURL, got, tc.want)
		}
	}
}
