package builtin_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/registrytest"
	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/builtin"
)

// newScanner is a builtin scanner on the testdata database, polled fast,
// closed when the test ends.
func newScanner(t testing.TB, opts ...builtin.Option) *builtin.Scanner {
	t.Helper()
	s := builtin.New(testDB(t), append([]builtin.Option{builtin.WithRetryAfter(20 * time.Millisecond)}, opts...)...)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// scanning pushes an image of layers to a new registry as repo and
// returns a scanner on the testdata database with the request that scans
// it.
func scanning(t testing.TB, repo string, oci bool, layers ...[]file) (*builtin.Scanner, scan.Request) {
	t.Helper()
	reg := registrytest.New(t)
	digest := push(t, reg.Host, repo, image(t, oci, layers...))
	return newScanner(t), request(reg.URL, repo, digest)
}

func request(url, repo, digest string) scan.Request {
	return scan.Request{Registry: scan.Registry{URL: url, Authorization: "Bearer pull-only"},
		Artifact: scan.Artifact{Repository: repo, Digest: digest}}
}

// report scans req and waits for one of its reports.
func report(t testing.TB, s scan.Scanner, req scan.Request, mimeType, sbomType string) ([]byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, err := s.Scan(ctx, req)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return scan.Wait(ctx, s, id, mimeType, sbomType)
}

func vulnReport(t testing.TB, s scan.Scanner, req scan.Request) scan.VulnerabilityReport {
	t.Helper()
	b, err := report(t, s, req, scan.MimeVulnReport, "")
	if err != nil {
		t.Fatalf("vulnerability report: %v", err)
	}
	var r scan.VulnerabilityReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// sbomPackages scans req and returns name → version of the packages its
// SBOM of type sbomType lists (SPDX packages, CycloneDX components), and
// their package URLs.
func sbomPackages(t testing.TB, s scan.Scanner, req scan.Request, sbomType string) (map[string]string, []string) {
	t.Helper()
	b, err := report(t, s, req, scan.MimeSBOMReport, sbomType)
	if err != nil {
		t.Fatalf("SBOM %s: %v", sbomType, err)
	}
	var r struct {
		MediaType string `json:"media_type"`
		SBOM      struct {
			SPDXVersion string `json:"spdxVersion"`
			BOMFormat   string `json:"bomFormat"`
			Packages    []struct {
				Name, VersionInfo string
				ExternalRefs      []struct{ ReferenceType, ReferenceLocator string }
			} `json:"packages"`
			Components []struct{ Name, Version, Purl string } `json:"components"`
		} `json:"sbom"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if r.MediaType != sbomType {
		t.Errorf("media_type %q, want %q", r.MediaType, sbomType)
	}
	got, purls := map[string]string{}, []string(nil)
	switch sbomType {
	case scan.MimeSPDX:
		if r.SBOM.SPDXVersion != "SPDX-2.3" {
			t.Errorf("spdxVersion %q", r.SBOM.SPDXVersion)
		}
		for _, p := range r.SBOM.Packages {
			if p.Name == "main" { // the document's root package
				continue
			}
			got[p.Name] = p.VersionInfo
			for _, ref := range p.ExternalRefs {
				if ref.ReferenceType == "purl" {
					purls = append(purls, ref.ReferenceLocator)
				}
			}
		}
	case scan.MimeCycloneDX:
		if r.SBOM.BOMFormat != "CycloneDX" {
			t.Errorf("bomFormat %q", r.SBOM.BOMFormat)
		}
		for _, c := range r.SBOM.Components {
			got[c.Name] = c.Version
			purls = append(purls, c.Purl)
		}
	}
	return got, purls
}

func checkPackages(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("packages %v, want %v", got, want)
	}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("package %s: version %q, want %q", name, got[name], v)
		}
	}
}

// TestAlpine scans a real Alpine 3.18.2 package database against real
// Alpine advisories: exactly the expected CVEs, fix versions and
// severities, and SBOMs listing the packages.
func TestAlpine(t *testing.T) {
	s, req := scanning(t, "library/alpine", true, alpineFiles)
	digest := req.Artifact.Digest

	r := vulnReport(t, s, req)
	checkAlpine(t, r)
	if r.Artifact.Digest != digest || r.Artifact.MimeType != scan.MimeOCIManifest || r.Scanner.Name != builtin.Name || r.GeneratedAt.IsZero() {
		t.Errorf("report header: %+v %+v %v", r.Artifact, r.Scanner, r.GeneratedAt)
	}
	for _, v := range r.Vulnerabilities {
		if v.VendorAttributes["ecosystem"] != "Alpine:v3.18" || !strings.HasPrefix(v.Links[0], "https://security.alpinelinux.org/vuln/") {
			t.Errorf("%s %s: ecosystem %v, links %v", v.ID, v.Package, v.VendorAttributes["ecosystem"], v.Links)
		}
	}
	for _, st := range []string{scan.MimeSPDX, scan.MimeCycloneDX} {
		got, purls := sbomPackages(t, s, req, st)
		checkPackages(t, got, alpinePackages)
		if !containsPrefix(purls, "pkg:apk/alpine/libcrypto3@3.1.1-r1") {
			t.Errorf("%s purls %v lack libcrypto3's", st, purls)
		}
	}
}

// TestDebian does the same for a real Debian 12 dpkg database: glibc's
// "Looney Tunables" and OpenSSL advisories keyed by source package,
// reported on the binary packages; a removed package is not counted.
func TestDebian(t *testing.T) {
	s, req := scanning(t, "library/debian", false, debianFiles)

	r := vulnReport(t, s, req)
	checkDebian(t, r)
	if r.Artifact.MimeType != scan.MimeDockerManifest {
		t.Errorf("artifact mime type %q", r.Artifact.MimeType)
	}
	for _, v := range r.Vulnerabilities {
		if v.VendorAttributes["ecosystem"] != "Debian:12" || v.VendorAttributes["path"] != "var/lib/dpkg/status" {
			t.Errorf("%s %s: vendor attributes %v", v.ID, v.Package, v.VendorAttributes)
		}
	}
	for _, st := range []string{scan.MimeSPDX, scan.MimeCycloneDX} {
		got, purls := sbomPackages(t, s, req, st)
		checkPackages(t, got, debianPackages)
		if !containsPrefix(purls, "pkg:deb/debian/libc6@2.36-9%2Bdeb12u1") {
			t.Errorf("%s purls %v lack libc6's", st, purls)
		}
	}
}

func containsPrefix(ss []string, prefix string) bool {
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}
