package builtin_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthreg/berth/scan"
	"github.com/berthreg/berth/scan/osv"
)

// Alpine 3.18.2 (June 2023), from testdata/rootfs/alpine-3.18 (which the
// example server's and the e2e scanning tests push too): its os-release,
// and the apk database records of five packages as that release shipped
// them (busybox 1.36.1-r0, musl 1.2.4-r0, zlib 1.2.13-r1, openssl's
// libcrypto3 and libssl3 3.1.1-r1).
var alpineFiles = rootfs("alpine-3.18")

// alpinePackages are the packages alpineFiles installs.
var alpinePackages = map[string]string{"musl": "1.2.4-r0", "busybox": "1.36.1-r0", "zlib": "1.2.13-r1", "libcrypto3": "3.1.1-r1", "libssl3": "3.1.1-r1"}

// Debian 12.1 (July 2023), from testdata/rootfs/debian-12: its
// os-release and dpkg status stanzas as the release shipped them, with a
// package left in the config-files state by an upgrade from Debian 11
// (not installed: must not count).
var debianFiles = rootfs("debian-12")

// debianPackages are the packages debianFiles has installed.
var debianPackages = map[string]string{"base-files": "12.4+deb12u1", "libc-bin": "2.36-9+deb12u1", "libc6": "2.36-9+deb12u1",
	"libssl3": "3.0.9-1", "openssl": "3.0.9-1", "zlib1g": "1:1.2.13.dfsg-1"}

// finding is what the tests expect of one reported vulnerability.
type finding struct {
	id, pkg, version, fix string
	severity              scan.Severity
	score                 float64 // CVSS v3 base score
	osvID, source         string  // VendorAttributes osv_id, source_package
}

// The findings the testdata advisories must yield, exactly. Not there:
// ALPINE-CVE-2022-3996 and DEBIAN-CVE-2023-0286 (fixed below the
// installed versions), the other releases' entries of every record, and
// libssl1.1 (not installed).
var (
	alpineFindings = []finding{
		{"CVE-2022-48174", "busybox", "1.36.1-r0", "1.36.1-r1", scan.SeverityCritical, 9.8, "ALPINE-CVE-2022-48174", ""},
		{"CVE-2023-2975", "libcrypto3", "3.1.1-r1", "3.1.1-r2", scan.SeverityMedium, 5.3, "ALPINE-CVE-2023-2975", "openssl"},
		{"CVE-2023-2975", "libssl3", "3.1.1-r1", "3.1.1-r2", scan.SeverityMedium, 5.3, "ALPINE-CVE-2023-2975", "openssl"},
		{"CVE-2023-3446", "libcrypto3", "3.1.1-r1", "3.1.1-r3", scan.SeverityMedium, 5.3, "ALPINE-CVE-2023-3446", "openssl"},
		{"CVE-2023-3446", "libssl3", "3.1.1-r1", "3.1.1-r3", scan.SeverityMedium, 5.3, "ALPINE-CVE-2023-3446", "openssl"},
		{"CVE-2023-5363", "libcrypto3", "3.1.1-r1", "3.1.4-r0", scan.SeverityHigh, 7.5, "ALPINE-CVE-2023-5363", "openssl"},
		{"CVE-2023-5363", "libssl3", "3.1.1-r1", "3.1.4-r0", scan.SeverityHigh, 7.5, "ALPINE-CVE-2023-5363", "openssl"},
	}
	debianFindings = []finding{
		{"CVE-2023-4911", "libc-bin", "2.36-9+deb12u1", "2.36-9+deb12u3", scan.SeverityHigh, 7.8, "DEBIAN-CVE-2023-4911", "glibc"},
		{"CVE-2023-4911", "libc6", "2.36-9+deb12u1", "2.36-9+deb12u3", scan.SeverityHigh, 7.8, "DEBIAN-CVE-2023-4911", "glibc"},
		{"CVE-2023-5363", "libssl3", "3.0.9-1", "3.0.11-1~deb12u2", scan.SeverityHigh, 7.5, "DEBIAN-CVE-2023-5363", "openssl"},
		{"CVE-2023-5363", "openssl", "3.0.9-1", "3.0.11-1~deb12u2", scan.SeverityHigh, 7.5, "DEBIAN-CVE-2023-5363", ""},
	}
)

// checkFindings asserts r lists exactly want, in order, and its
// severity is the highest of them.
func checkFindings(want []finding, top scan.Severity) func(*testing.T, scan.VulnerabilityReport) {
	return func(t *testing.T, r scan.VulnerabilityReport) {
		t.Helper()
		if r.Severity != top {
			t.Errorf("report severity %s, want %s", r.Severity, top)
		}
		if len(r.Vulnerabilities) != len(want) {
			t.Errorf("%d vulnerabilities, want %d:", len(r.Vulnerabilities), len(want))
			for _, v := range r.Vulnerabilities {
				t.Logf("  got %s %s %s fix %q %s", v.ID, v.Package, v.Version, v.FixVersion, v.Severity)
			}
			return
		}
		for i, w := range want {
			v := r.Vulnerabilities[i]
			if v.ID != w.id || v.Package != w.pkg || v.Version != w.version || v.FixVersion != w.fix || v.Severity != w.severity {
				t.Errorf("[%d] %s %s %s fix %q %s, want %s %s %s fix %q %s", i, v.ID, v.Package, v.Version, v.FixVersion, v.Severity,
					w.id, w.pkg, w.version, w.fix, w.severity)
			}
			if v.PreferredCVSS == nil || v.PreferredCVSS.ScoreV3 != w.score {
				t.Errorf("[%d] %s: preferred_cvss %+v, want v3 score %v", i, v.ID, v.PreferredCVSS, w.score)
			}
			if got, _ := v.VendorAttributes["osv_id"].(string); got != w.osvID {
				t.Errorf("[%d] %s: osv_id %q, want %q", i, v.ID, got, w.osvID)
			}
			if got, _ := v.VendorAttributes["source_package"].(string); got != w.source {
				t.Errorf("[%d] %s: source_package %q, want %q", i, v.ID, got, w.source)
			}
		}
	}
}

var (
	checkAlpine = checkFindings(alpineFindings, scan.SeverityCritical)
	checkDebian = checkFindings(debianFindings, scan.SeverityHigh)
)

// testDB is the OSV database of testdata/osv.
func testDB(t testing.TB) *osv.DB {
	t.Helper()
	db, err := osv.Load("testdata/osv")
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// rootfs is the files of the root file system testdata/rootfs/name.
func rootfs(name string) []file {
	dir := filepath.Join("testdata", "rootfs", name)
	var out []file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out = append(out, file{name: filepath.ToSlash(rel), body: b})
		return err
	})
	if err != nil {
		panic(err)
	}
	return out
}
