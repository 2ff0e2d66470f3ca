package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/berthreg/berth/ratelimit"
)

// slow is a rate no test outlives: a bucket, once empty, stays empty.
const slow = 0.0001

// limitedGet GETs url with basic credentials (none when user is "") and
// returns the status, Retry-After and the error code of the body.
func limitedGet(t *testing.T, url, user, password string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body struct {
		Errors []struct{ Code string } `json:"errors"`
	}
	_ = json.Unmarshal(b, &body)
	code := ""
	if len(body.Errors) > 0 {
		code = body.Errors[0].Code
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), code
}

func TestRateLimitPerAddress(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password-limits"
	cfg.HTTP.RateLimits = []ratelimit.Rule{
		{Route: "*", Per: ratelimit.PerAddress, Rate: slow, Burst: 3},
		{Route: "api", Per: ratelimit.PerAddress, Rate: slow, Burst: 1},
	}
	base := "http://" + serve(t, cfg)
	for i := range 3 {
		if status, _, _ := limitedGet(t, base+"/v2/", "", ""); status != http.StatusUnauthorized {
			t.Fatalf("ping %d: %d, want 401 (a challenge)", i, status)
		}
	}
	status, retry, code := limitedGet(t, base+"/v2/", "", "")
	if n, err := strconv.Atoi(retry); status != http.StatusTooManyRequests || err != nil || n < 1 || code != "TOOMANYREQUESTS" {
		t.Errorf("the fourth ping: %d, Retry-After %q, code %q; want 429, whole seconds, TOOMANYREQUESTS", status, retry, code)
	}
	// The admin API has a rule of its own, and Harbor's error code.
	if status, _, _ := limitedGet(t, base+"/api/v2.0/projects", "", ""); status != http.StatusOK {
		t.Errorf("first API call: %d, want 200", status)
	}
	if status, _, code := limitedGet(t, base+"/api/v2.0/projects", "", ""); status != http.StatusTooManyRequests || code != "TOO_MANY_REQUESTS" {
		t.Errorf("second API call: %d %q, want 429 TOO_MANY_REQUESTS", status, code)
	}
	// The probes and the metrics are never limited.
	for _, p := range []string{"/livez", "/healthz", "/readyz", "/livez"} {
		if status, _, _ := limitedGet(t, base+p, "", ""); status != http.StatusOK {
			t.Errorf("%s: %d, want 200", p, status)
		}
	}
}

func TestRateLimitPerPrincipal(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	const password = "admin-password-limits"
	cfg.Auth.AdminPassword = password
	cfg.HTTP.RateLimits = []ratelimit.Rule{
		{Route: "*", Per: ratelimit.PerPrincipal, Rate: slow, Burst: 2},
	}
	base := "http://" + serve(t, cfg)
	// Bad credentials are refused before the principal is known: they
	// spend nothing of the admin's budget.
	for range 3 {
		if status, _, _ := limitedGet(t, base+"/api/v2.0/users/current", "admin", "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("bad credentials: %d, want 401", status)
		}
	}
	for i := range 2 {
		if status, _, _ := limitedGet(t, base+"/api/v2.0/users/current", "admin", password); status != http.StatusOK {
			t.Fatalf("admin call %d: %d, want 200", i, status)
		}
	}
	if status, retry, code := limitedGet(t, base+"/api/v2.0/users/current", "admin", password); status != http.StatusTooManyRequests || retry == "" || code != "TOO_MANY_REQUESTS" {
		t.Errorf("third admin call: %d, Retry-After %q, %q; want 429 with Retry-After", status, retry, code)
	}
	// The registry counts the same principal once the guard named it;
	// the anonymous are not counted per principal.
	if status, retry, code := limitedGet(t, base+"/v2/library/app/tags/list", "admin", password); status != http.StatusTooManyRequests || retry == "" || code != "TOOMANYREQUESTS" {
		t.Errorf("the admin's registry call: %d, Retry-After %q, %q; want 429 TOOMANYREQUESTS", status, retry, code)
	}
	for range 3 {
		if status, _, _ := limitedGet(t, base+"/api/v2.0/projects", "", ""); status != http.StatusOK {
			t.Errorf("anonymous API call: %d, want 200", status)
		}
	}
	// A request made in process (no mark from the HTTP edge) is never
	// limited.
	if ok, _ := principalAllowed(context.Background(), "admin"); !ok {
		t.Error("an in-process request of the admin was limited")
	}
}

func TestRateLimitConfig(t *testing.T) {
	cfg := testConfig()
	if err := cfg.ApplyEnv(func(k string) string {
		if k == "BERTH_HTTP_RATE_LIMITS" {
			return "*:address=100/200,manifest:principal=5/10"
		}
		return ""
	}); err != nil {
		t.Fatal(err)
	}
	if len(cfg.HTTP.RateLimits) != 2 || cfg.HTTP.RateLimits[1] != (ratelimit.Rule{Route: "manifest", Per: ratelimit.PerPrincipal, Rate: 5, Burst: 10}) {
		t.Errorf("rules from the environment: %+v", cfg.HTTP.RateLimits)
	}
	bad := testConfig()
	err := bad.ApplyEnv(func(k string) string {
		if k == "BERTH_HTTP_RATE_LIMITS" {
			return "manifest:someone=5/10"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "BERTH_HTTP_RATE_LIMITS") {
		t.Errorf("a bad rule in the environment: %v", err)
	}
	cfg = testConfig()
	cfg.HTTP.RateLimits = []ratelimit.Rule{{Route: "blob", Per: ratelimit.PerAddress, Rate: 1, Burst: 0}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "http.rateLimits") {
		t.Errorf("a bad rule in the config: %v", err)
	}
}
