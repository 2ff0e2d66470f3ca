package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/prometheus/client_golang/prometheus"
)

func TestRouteOf(t *testing.T) {
	for path, want := range map[string]string{
		"/v2/":                                 "v2_base",
		"/v2":                                  "v2_base",
		"/v2/_catalog":                         "catalog",
		"/v2/library/app/manifests/v1":         "manifest",
		"/v2/a/blobs/b/blobs/sha256:00":        "blob",
		"/v2/a/blobs/uploads/":                 "blob_upload",
		"/v2/a/blobs/uploads/0f3c":             "blob_upload",
		"/v2/a/manifests/x/blobs/uploads/1":    "blob_upload",
		"/v2/a/tags/list":                      "tags",
		"/v2/a/referrers/sha256:00":            "referrers",
		"/v2/a/nothing":                        "other",
		"/service/token":                       "token",
		"/api/v2.0/projects":                   "api",
		"/c/login":                             "session",
		"/livez":                               "probe",
		"/readyz":                              "probe",
		"/metrics":                             "metrics",
		"/something/else/with/manifests/x/y/z": "other",
	} {
		if got := routeOf(path, "/service/token"); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", path, got, want)
		}
	}
}

// TestHTTPMetrics pushes and pulls an image and reads what the metrics
// recorded: requests by route, method and code, body bytes in and out,
// nothing left in flight; and every metric the server registers passes
// promlint.
func TestHTTPMetrics(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.Disabled = true
	reg := prometheus.NewRegistry()
	host := serve(t, cfg, WithRegisterer(reg))

	layerBytes := pushAndPull(t, host+"/library/app:v1", 300_000, 2)
	// A request is counted once its handler returns, which may be just
	// after the client has read the whole answer: wait for the pulls'.
	eventually.True(t, "the blob GETs to be counted", func() bool {
		return counter(t, reg, "berth_http_requests_total", map[string]string{"route": "blob", "method": "get", "code": "200"}) >= 2 &&
			histogramSum(t, reg, "berth_http_response_size_bytes", map[string]string{"route": "blob", "method": "get"}) >= float64(layerBytes)
	})

	if got := counter(t, reg, "berth_http_requests_total", map[string]string{"route": "manifest", "method": "put", "code": "201"}); got != 1 {
		t.Errorf("manifest PUTs answered 201: %v, want 1", got)
	}
	if got := counter(t, reg, "berth_http_requests_total", map[string]string{"route": "blob", "method": "get", "code": "200"}); got < 2 {
		t.Errorf("blob GETs answered 200: %v, want at least the 2 layers", got)
	}
	if got := counter(t, reg, "berth_http_request_body_bytes_total", map[string]string{"route": "blob_upload"}); got < float64(layerBytes) {
		t.Errorf("upload body bytes counted: %v, want at least the layers' %d", got, layerBytes)
	}
	if got := histogramSum(t, reg, "berth_http_response_size_bytes", map[string]string{"route": "blob", "method": "get"}); got < float64(layerBytes) {
		t.Errorf("blob bytes sent: %v, want at least the layers' %d", got, layerBytes)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != "berth_http_requests_in_flight" {
			continue
		}
		for _, m := range f.GetMetric() {
			if m.GetGauge().GetValue() != 0 {
				t.Errorf("in flight after the requests ended: %v", m)
			}
		}
	}
	lintMetrics(t, reg)
}

func TestMetricsOnTheMainAddress(t *testing.T) {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password-metrics"
	cfg.Metrics.Token = "scrape-token-0123456789"
	host := serve(t, cfg, WithRegisterer(prometheus.NewRegistry()))
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+host+"/metrics", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, bad := range []string{"", "scrape-token-012345678", "scrape-token-0123456789x"} {
		if code, _ := get(bad); code != http.StatusUnauthorized {
			t.Errorf("token %q: %d, want 401", bad, code)
		}
	}
	code, body := get(cfg.Metrics.Token)
	if code != http.StatusOK || !strings.Contains(body, "berth_http_requests_total") {
		t.Errorf("with the token: %d, body without berth_http_requests_total:\n%.500s", code, body)
	}

	cfg.Metrics.Token = "short"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "metrics.token") {
		t.Errorf("a short token: %v", err)
	}
}
