package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testscan"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/builtin"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/scan/osv"
	"github.com/berthreg/berth/scan/pluggable"
	"github.com/berthreg/berth/webhook"
)

// The scanner fixtures: a real Alpine 3.18.2 root file system (its
// os-release and apk database) and real OSV advisories for its packages.
const (
	alpineRootFS = "../scan/builtin/testdata/rootfs/alpine-3.18"
	osvFixtures  = "../scan/builtin/testdata/osv"
)

// alpineCVEs are the vulnerabilities of the Alpine fixture, with the
// fixed versions of its advisories.
var alpineCVEs = map[string]string{
	"CVE-2022-48174": "busybox 1.36.1-r1 Critical",
	"CVE-2023-2975":  "libcrypto3 3.1.1-r2 Medium", "CVE-2023-3446": "libcrypto3 3.1.1-r3 Medium",
	"CVE-2023-5363": "libcrypto3 3.1.4-r0 High",
}

// recordingScanner passes scans on and keeps the requests.
type recordingScanner struct {
	scan.Scanner
	mu   sync.Mutex
	reqs []scan.Request
}

func (s *recordingScanner) Scan(ctx context.Context, req scan.Request) (string, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	return s.Scanner.Scan(ctx, req)
}

func (s *recordingScanner) requests() []scan.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.reqs)
}

// TestScanning: against a server with its built-in scanner on
// the OSV fixtures, an image of a real Alpine root file system pushed to a
// project with auto_scan is scanned (the exact CVEs and fixes in the API,
// the report and the SBOM as referrers, a SCANNING_COMPLETED webhook with
// the scan overview); the project's pull gate refuses it at High and lets
// it through once the blocking CVEs are allowlisted. A second project
// scans with a Harbor scanner adapter over HTTP (the built-in scanner
// behind the Pluggable Scanner API): the adapter pulls from the
// registry's address with a token that can pull that one repository and
// nothing else.
func TestScanning(t *testing.T) {
	hooks := startReceiver(t, 200)
	db, err := osv.Load(osvFixtures)
	if err != nil {
		t.Fatal(err)
	}
	inner := builtin.New(db)
	defer inner.Close()
	rec := &recordingScanner{Scanner: inner}
	adapterSrv := httptest.NewServer(testscan.Server(t, rec, pluggable.WithRequiredAuthorization("Bearer adapter-key")))
	defer adapterSrv.Close()

	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	cfg.Scan.OSVDB = osvFixtures
	host := serve(t, cfg)
	apiURL := "http://" + host + "/api/v2.0"
	must := adminCaller(t, apiURL, "admin-password")
	must("POST", "/users", `{"username":"alice","password":"alice-password"}`, 201)
	must("POST", "/projects", `{"project_name":"team","metadata":{"auto_scan":"true"}}`, 201)
	must("POST", "/projects/team/members", `{"role_id":2,"member_user":{"username":"alice"}}`, 201)
	must("POST", "/projects/team/webhook/policies", `{"name":"scans","event_types":["SCANNING_COMPLETED"],"enabled":true,
		"targets":[{"type":"http","address":"`+hooks.url+`"}]}`, 201)

	admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})
	img := testscan.RootfsImage(t, alpineRootFS)
	d, _ := img.Digest()
	ref, _ := name.ParseReference(host+"/team/alpine:3.18", name.Insecure)
	if err := remote.Write(ref, img, admin); err != nil {
		t.Fatal(err)
	}
	artifact := "/projects/team/repositories/alpine/artifacts/3.18"
	var art struct {
		ScanOverview map[string]scan.Overview `json:"scan_overview"`
	}
	eventually.True(t, "the scan on push", func() bool {
		_ = json.Unmarshal([]byte(must("GET", artifact, "", 200)), &art)
		o := art.ScanOverview[scan.MimeVulnReport]
		if o.ScanStatus == "Error" {
			t.Fatalf("the scan failed: %+v", o)
		}
		return o.ScanStatus == "Success"
	})
	o := art.ScanOverview[scan.MimeVulnReport]
	if o.Severity != scan.SeverityCritical || o.Summary == nil || o.Summary.Total != 7 || o.Summary.Fixable != 7 ||
		o.Summary.Summary[scan.SeverityHigh] != 2 || o.Scanner == nil || o.Scanner.Name != builtin.Name {
		t.Errorf("scan overview %+v (summary %+v)", o, o.Summary)
	}
	var reports map[string]scan.VulnerabilityReport
	if err := json.Unmarshal([]byte(must("GET", artifact+"/additions/vulnerabilities", "", 200)), &reports); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range reports[scan.MimeVulnReport].Vulnerabilities {
		if v.Package != "libssl3" { // libssl3 has the same CVEs as libcrypto3 (one source package)
			got[v.ID] = v.Package + " " + v.FixVersion + " " + string(v.Severity)
		}
	}
	if !mapsEqual(got, alpineCVEs) {
		t.Errorf("vulnerabilities %v, want %v", got, alpineCVEs)
	}
	// The report and the SBOM are referrers of the image.
	idx, err := remote.Referrers(ref.Context().Digest(d.String()), admin)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := idx.IndexManifest()
	var types []string
	for _, m := range im.Manifests {
		types = append(types, m.ArtifactType)
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{engine.ArtifactTypeVulnReport, engine.ArtifactTypeSBOM}) {
		t.Errorf("referrers %v", types)
	}
	eventually.True(t, "the SCANNING_COMPLETED webhook", func() bool { return hooks.count() == 1 })
	body, _ := hooks.last()
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.Type != "SCANNING_COMPLETED" || len(p.EventData.Resources) != 1 ||
		!strings.Contains(string(p.EventData.Resources[0].ScanOverview), `"severity":"Critical"`) {
		t.Errorf("webhook %s (%v)", body, err)
	}

	// The pull gate.
	alice := remote.WithAuth(&authn.Basic{Username: "alice", Password: "alice-password"})
	pull := func() error { _, err := remote.Get(ref, alice); return err }
	if err := pull(); err != nil {
		t.Fatalf("a pull before the gate: %v", err)
	}
	must("PUT", "/projects/team", `{"metadata":{"prevent_vul":"true","severity":"high"}}`, 200)
	err = pull()
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("a pull at the High gate: %v, want 412", err)
	}
	if err == nil || !strings.Contains(err.Error(), "PROJECTPOLICYVIOLATION") || !strings.Contains(err.Error(), "CVE-2023-5363 (High)") ||
		!strings.Contains(err.Error(), "CVE-2022-48174 (Critical)") || strings.Contains(err.Error(), "CVE-2023-2975") {
		t.Errorf("a pull at the High gate: %v", err)
	}
	must("PUT", "/projects/team", `{"cve_allowlist":{"items":[{"cve_id":"CVE-2023-5363"}]}}`, 200)
	if err := pull(); err == nil || strings.Contains(err.Error(), "CVE-2023-5363") {
		t.Errorf("a pull with one of two blocking CVEs allowed: %v", err)
	}
	must("PUT", "/projects/team", `{"cve_allowlist":{"items":[{"cve_id":"CVE-2023-5363"},{"cve_id":"CVE-2022-48174"}]}}`, 200)
	if err := pull(); err != nil {
		t.Errorf("a pull with the blocking CVEs allowed: %v", err)
	}

	// A project scanning through a scanner adapter.
	must("POST", "/scanners", `{"name":"adapter","url":"`+adapterSrv.URL+`","auth":"Bearer","access_credential":"adapter-key"}`, 201)
	must("POST", "/projects", `{"project_name":"ext"}`, 201)
	must("PUT", "/projects/ext/scanner", `{"uuid":"adapter"}`, 200)
	extRef, _ := name.ParseReference(host+"/ext/alpine:v1", name.Insecure)
	if err := remote.Write(extRef, img, admin); err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref.Context().Tag("other"), img, admin); err != nil {
		t.Fatal(err)
	}
	must("POST", "/projects/ext/repositories/alpine/artifacts/v1/scan", "", 202)
	eventually.True(t, "the adapter's scan", func() bool {
		_ = json.Unmarshal([]byte(must("GET", "/projects/ext/repositories/alpine/artifacts/v1", "", 200)), &art)
		return art.ScanOverview[scan.MimeVulnReport].ScanStatus == "Success"
	})
	if n := art.ScanOverview[scan.MimeVulnReport].Summary.Total; n != 7 {
		t.Errorf("the adapter found %d vulnerabilities, want 7", n)
	}
	reqs := rec.requests()
	if len(reqs) != 1 || reqs[0].Registry.URL != "http://"+host || reqs[0].Artifact.Repository != "ext/alpine" || reqs[0].Artifact.Digest != d.String() {
		t.Fatalf("adapter requests %+v", reqs)
	}
	checkScannerToken(t, host, reqs[0].Registry.Authorization, d.String(), cfg.Scan.TokenLifetime)
}

// checkScannerToken: the token a scanner got pulls ext/alpine and nothing
// else, and lasts the configured lifetime.
func checkScannerToken(t *testing.T, host, authz, digest string, lifetime time.Duration) {
	t.Helper()
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	if !ok {
		t.Fatalf("the scanner's Authorization %q is not a bearer token", authz)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Sub    string `json:"sub"`
		Exp    int64  `json:"exp"`
		Iat    int64  `json:"iat"`
		Access []struct {
			Type, Name string
			Actions    []string
		} `json:"access"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	if claims.Sub != scannerSubject+"adapter" || time.Duration(claims.Exp-claims.Iat)*time.Second != lifetime ||
		len(claims.Access) != 1 || claims.Access[0].Name != "ext/alpine" || !slices.Equal(claims.Access[0].Actions, []string{"pull"}) {
		t.Errorf("claims %s", raw)
	}
	do := func(method, path string) int {
		req, _ := http.NewRequest(method, "http://"+host+path, nil)
		req.Header.Set("Authorization", authz)
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := do("GET", "/v2/ext/alpine/manifests/"+digest); code != 200 {
		t.Errorf("the scanner's token pulls its repository: %d", code)
	}
	if code := do("GET", "/v2/team/alpine/manifests/other"); code != 401 {
		t.Errorf("the scanner's token pulls another repository: %d", code)
	}
	if code := do("POST", "/v2/ext/alpine/blobs/uploads/"); code != 401 {
		t.Errorf("the scanner's token pushes: %d", code)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
