package builtin_test

import (
	"testing"

	"github.com/berthreg/berth/scan"
)

// rockyFiles is a Rocky Linux 9.3 root file system whose RPM database
// (sqlite, made by testdata/make-rpmdb.sh with rpm itself) holds
// openssl-libs 1:3.0.7-24.el9 and zlib 1.2.11-40.el9.
var rockyFiles = rootfs("rocky-9")

// TestRocky scans an RPM database: the packages with their epochs, under
// the Rocky Linux 9 ecosystem, matched against two test advisories (one
// whose fix, epoch included, is above the installed version; one fixed at
// it), and SBOMs listing them.
func TestRocky(t *testing.T) {
	s, req := scanning(t, "library/rocky", true, rockyFiles)
	r := vulnReport(t, s, req)
	if len(r.Vulnerabilities) != 1 {
		t.Fatalf("vulnerabilities %+v, want BERTH-TEST-RPM-1 alone", r.Vulnerabilities)
	}
	v := r.Vulnerabilities[0]
	if v.Package != "openssl-libs" || v.Version != "3.0.7-24.el9" || v.FixVersion != "1:3.0.7-25.el9_3" ||
		v.Severity != scan.SeverityMedium || v.VendorAttributes["ecosystem"] != "Rocky Linux:9" {
		t.Errorf("vulnerability %+v", v)
	}
	for _, st := range []string{scan.MimeSPDX, scan.MimeCycloneDX} {
		got, purls := sbomPackages(t, s, req, st)
		checkPackages(t, got, map[string]string{"openssl-libs": "3.0.7-24.el9", "zlib": "1.2.11-40.el9"})
		if !containsPrefix(purls, "pkg:rpm/rocky/openssl-libs@3.0.7-24.el9") {
			t.Errorf("%s purls %v lack openssl-libs'", st, purls)
		}
	}
}
