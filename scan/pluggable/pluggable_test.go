package pluggable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/scantest"
)

// slowScanner is a scan.Scanner for the protocol tests: each scan's
// reports are "not ready" at the first poll and ready after.
type slowScanner struct {
	mu    sync.Mutex
	scans map[string]scan.Request
	polls map[string]int
}

func (s *slowScanner) init() {
	if s.scans == nil {
		s.scans, s.polls = map[string]scan.Request{}, map[string]int{}
	}
}

func (s *slowScanner) Metadata(context.Context) (scan.Metadata, error) {
	return scan.Metadata{Scanner: scan.Info{Name: "slow", Vendor: "berth tests", Version: "1"},
		Capabilities: []scan.Capability{
			{Type: scan.CapabilityVulnerability, ConsumesMimeTypes: []string{scan.MimeOCIManifest}, ProducesMimeTypes: []string{scan.MimeVulnReport}},
			{Type: scan.CapabilitySBOM, ConsumesMimeTypes: []string{scan.MimeOCIManifest}, ProducesMimeTypes: []string{scan.MimeSBOMReport},
				AdditionalAttributes: map[string][]string{"sbom_media_types": {scan.MimeSPDX, scan.MimeCycloneDX}}},
		}}, nil
}

func (s *slowScanner) Scan(_ context.Context, req scan.Request) (string, error) {
	if err := req.Check(); err != nil {
		return "", fmt.Errorf("%w: %w", scan.ErrInvalid, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.init()
	id := fmt.Sprintf("scan-%d", len(s.scans)+1)
	s.scans[id] = req
	return id, nil
}

func (s *slowScanner) Report(_ context.Context, id, mimeType, sbomType string) ([]byte, error) {
	s.mu.Lock()
	s.init()
	req, ok := s.scans[id]
	s.polls[id+mimeType+sbomType]++
	n := s.polls[id+mimeType+sbomType]
	s.mu.Unlock()
	if !ok {
		return nil, scan.ErrUnknownScan
	}
	if mimeType != scan.MimeVulnReport && mimeType != scan.MimeSBOMReport {
		return nil, scan.ErrUnsupported
	}
	if n == 1 {
		return nil, &scan.NotReady{RetryAfter: 10 * time.Millisecond}
	}
	if mimeType == scan.MimeSBOMReport {
		return json.Marshal(scan.SBOMReport{GeneratedAt: time.Now(), Artifact: req.Artifact, Scanner: scan.Info{Name: "slow"},
			MediaType: sbomType, SBOM: map[string]any{"bomFormat": "x"}})
	}
	vs := []scan.Vulnerability{{ID: "CVE-2024-0001", Package: "openssl", Version: "3.0.1", FixVersion: "3.0.2", Severity: scan.SeverityHigh},
		{ID: "CVE-2024-0002", Package: "zlib", Version: "1.2", Severity: scan.SeverityLow}}
	return json.Marshal(scan.VulnerabilityReport{GeneratedAt: time.Now(), Artifact: req.Artifact, Scanner: scan.Info{Name: "slow"},
		Severity: scan.Highest(vs), Vulnerabilities: vs})
}

var request = scan.Request{Registry: scan.Registry{URL: "http://127.0.0.1:5000", Authorization: "Bearer t"},
	Artifact: scan.Artifact{Repository: "team/app", Digest: "sha256:" + strings.Repeat("a", 64), MimeType: scan.MimeOCIManifest}}

func wantVulns(t *testing.T, r scan.VulnerabilityReport) {
	if len(r.Vulnerabilities) != 2 || r.Vulnerabilities[0].FixVersion != "3.0.2" || r.Severity != scan.SeverityHigh {
		t.Errorf("report %+v", r)
	}
}

// TestSuiteDirect: the in-test scanner passes scantest.
func TestSuiteDirect(t *testing.T) {
	scantest.Run(t, &slowScanner{}, request, wantVulns)
}

// TestSuiteOverTheAPI: the same scanner served by Server and reached by
// Client passes scantest: the Pluggable Scanner API path end to end,
// including 302 with Refresh-After while a report is made.
func TestSuiteOverTheAPI(t *testing.T) {
	srv := httptest.NewServer(newServer(t, &slowScanner{}, WithRequiredAuthorization("Bearer adapter-secret")))
	defer srv.Close()
	scantest.Run(t, newClient(t, srv.URL, WithAuthorization("Bearer adapter-secret")), request, wantVulns)
}

// TestProtocol checks the wire format: media types, 302 and
// Refresh-After, the error shape and statuses, and authorization.
func TestProtocol(t *testing.T) {
	srv := httptest.NewServer(newServer(t, &slowScanner{}, WithRequiredAuthorization("Bearer s")))
	defer srv.Close()
	call := func(method, path, body string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer s")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	if res := call("GET", "/api/v1/metadata", ""); res.StatusCode != 200 || res.Header.Get("Content-Type") != mimeMetadata {
		t.Errorf("metadata: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	body, _ := json.Marshal(request)
	res := call("POST", "/api/v1/scan", string(body), "Content-Type", mimeScanRequest)
	var sr struct{ ID string }
	_ = json.NewDecoder(res.Body).Decode(&sr)
	if res.StatusCode != 202 || res.Header.Get("Content-Type") != mimeScanResponse || sr.ID == "" {
		t.Fatalf("scan: %d %s %q", res.StatusCode, res.Header.Get("Content-Type"), sr.ID)
	}
	res = call("GET", "/api/v1/scan/"+sr.ID+"/report", "", "Accept", scan.MimeVulnReport)
	if res.StatusCode != 302 || res.Header.Get("Refresh-After") != "1" {
		t.Errorf("first poll: %d, Refresh-After %q", res.StatusCode, res.Header.Get("Refresh-After"))
	}
	res = call("GET", "/api/v1/scan/"+sr.ID+"/report", "", "Accept", scan.MimeVulnReport)
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != scan.MimeVulnReport {
		t.Errorf("second poll: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res = call("GET", "/api/v1/scan/"+sr.ID+"/report", "", "Accept", scan.MimeSBOMReport)
	if res.StatusCode != 400 {
		t.Errorf("SBOM report without sbom_media_type: %d, want 400", res.StatusCode)
	}
	for _, c := range []struct {
		body, ct string
		status   int
	}{
		{"{", mimeScanRequest, 400},
		{`{"registry":{"url":"http://r"},"artifact":{"repository":"a"}}`, mimeScanRequest, 422},
		{string(body), "text/plain", 400},
	} {
		res := call("POST", "/api/v1/scan", c.body, "Content-Type", c.ct)
		var e struct{ Error struct{ Message string } }
		_ = json.NewDecoder(res.Body).Decode(&e)
		if res.StatusCode != c.status || res.Header.Get("Content-Type") != mimeError || e.Error.Message == "" {
			t.Errorf("POST /scan %q (%s): %d %s %+v, want %d with an error message", c.body, c.ct, res.StatusCode, res.Header.Get("Content-Type"), e, c.status)
		}
	}
	if res := call("GET", "/api/v1/scan/nope/report", ""); res.StatusCode != 404 {
		t.Errorf("unknown scan: %d", res.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/metadata", nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
		t.Errorf("no credentials: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	c := newClient(t, srv.URL, WithAuthorization("Bearer wrong"))
	if _, err := c.Metadata(context.Background()); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("client with a wrong token: %v", err)
	}
	c = newClient(t, srv.URL, WithAuthorization("Bearer s"))
	if _, err := c.Report(context.Background(), "nope", scan.MimeVulnReport, ""); !errors.Is(err, scan.ErrUnknownScan) {
		t.Errorf("client, unknown scan: %v", err)
	}
}

func newServer(t testing.TB, s scan.Scanner, opts ...ServerOption) *Server {
	t.Helper()
	srv, err := NewServer(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv
}

func newClient(t testing.TB, url string, opts ...ClientOption) *Client {
	t.Helper()
	c, err := NewClient(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRefusesMissingParts(t *testing.T) {
	if _, err := NewServer(nil); err == nil {
		t.Error("NewServer(nil) accepted")
	}
	if _, err := NewClient(""); err == nil {
		t.Error(`NewClient("") accepted`)
	}
}
