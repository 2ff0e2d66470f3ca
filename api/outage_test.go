package api

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/internal/faultmeta"
)

// TestMetadataOutage: while the metadata store cannot be reached, the
// API answers 503 SERVICE_UNAVAILABLE with a Retry-After, not 500, and
// not 401 for credentials it could not check (with basic credentials, a
// session, or POST /c/login), nor does it count them as failed logins;
// once the store is back the same handler serves them.
func TestMetadataOutage(t *testing.T) {
	store := faultmeta.Wrap(openStore(t))
	base, _ := newAPIOn(t, store, WithLimiter(testLimiter(t, auth.WithMaxFailures(1))), WithSessions(testSessions(t)))
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	send := func(c *http.Client, method, path, body string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			if hdr[i] == "basic" {
				user, pass, _ := strings.Cut(hdr[i+1], ":")
				req.SetBasicAuth(user, pass)
				continue
			}
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	login := url.Values{"principal": {"alice"}, "password": {"alice-password"}}.Encode()
	form := []string{"Content-Type", "application/x-www-form-urlencoded"}
	if res, out := send(browser, "POST", "/c/login", login, form...); res.StatusCode != 200 {
		t.Fatalf("login before the outage: %d %s", res.StatusCode, out)
	}
	requests := []struct {
		name               string
		client             *http.Client
		method, path, body string
		hdr                []string
	}{
		{"basic", http.DefaultClient, "GET", Prefix + "/projects", "", []string{"basic", "admin:admin-password"}},
		{"anonymous", http.DefaultClient, "GET", Prefix + "/projects", "", nil},
		{"session", browser, "GET", Prefix + "/users/current", "", nil},
		{"login", http.DefaultClient, "POST", "/c/login", login, form},
	}
	store.SetDown(true)
	for range 2 { // more than the limiter allows failures
		for _, r := range requests {
			res, out := send(r.client, r.method, r.path, r.body, r.hdr...)
			if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
				!strings.Contains(out, `"code":"SERVICE_UNAVAILABLE"`) || !strings.Contains(out, "metadata store") {
				t.Errorf("%s while the store is down: %d (Retry-After %q) %s, want 503 SERVICE_UNAVAILABLE with a Retry-After",
					r.name, res.StatusCode, res.Header.Get("Retry-After"), out)
			}
		}
	}
	store.SetDown(false)
	for _, r := range requests {
		if res, out := send(r.client, r.method, r.path, r.body, r.hdr...); res.StatusCode != http.StatusOK {
			t.Errorf("%s once the store is back: %d %s", r.name, res.StatusCode, out)
		}
	}
}
