package builtin

import (
	"testing"

	"github.com/google/osv-scalibr/extractor"
	apkmeta "github.com/google/osv-scalibr/extractor/filesystem/os/apk/metadata"
	dpkgmeta "github.com/google/osv-scalibr/extractor/filesystem/os/dpkg/metadata"
	rpmmeta "github.com/google/osv-scalibr/extractor/filesystem/os/rpm/metadata"
	"github.com/google/osv-scalibr/inventory/vex"
	"github.com/google/osv-scalibr/purl"

	"github.com/berthreg/berth/scan/osv"
)

// TestLookup: the OSV ecosystem, name and version each kind of package
// is looked up by.
func TestLookup(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *extractor.Package
		want osv.Package
		ok   bool
	}{
		{"apk origin", &extractor.Package{Name: "libssl3", Version: "3.1.1-r1", PURLType: purl.TypeApk,
			Metadata: &apkmeta.Metadata{PackageName: "libssl3", OriginName: "openssl", OSID: "alpine", OSVersionID: "3.18.2"}},
			osv.Package{Ecosystem: "Alpine:v3.18", Name: "openssl", Version: "3.1.1-r1"}, true},
		{"dpkg source and source version", &extractor.Package{Name: "libexpat1", Version: "2.5.0-1+b1", PURLType: purl.TypeDebian,
			Metadata: &dpkgmeta.Metadata{PackageName: "libexpat1", SourceName: "expat", SourceVersion: "2.5.0-1", OSID: "debian", OSVersionID: "12"}},
			osv.Package{Ecosystem: "Debian:12", Name: "expat", Version: "2.5.0-1"}, true},
		{"dpkg without a release", &extractor.Package{Name: "bash", Version: "5.2-1", PURLType: purl.TypeDebian,
			Metadata: &dpkgmeta.Metadata{PackageName: "bash", OSID: "debian"}},
			osv.Package{Ecosystem: "Debian", Name: "bash", Version: "5.2-1"}, true},
		{"rpm on RHEL with epoch", &extractor.Package{Name: "openssl-libs", Version: "3.0.7-27.el9", PURLType: purl.TypeRPM,
			Metadata: &rpmmeta.Metadata{PackageName: "openssl-libs", Epoch: 1, OSID: "rhel", OSVersionID: "9.4", OSCPEName: "cpe:/o:redhat:enterprise_linux:9::baseos"}},
			osv.Package{Ecosystem: "Red Hat:enterprise_linux:9::baseos", Name: "openssl-libs", Version: "1:3.0.7-27.el9"}, true},
		{"rpm on AlmaLinux", &extractor.Package{Name: "openssl-libs", Version: "3.0.7-27.el9", PURLType: purl.TypeRPM,
			Metadata: &rpmmeta.Metadata{PackageName: "openssl-libs", Epoch: 1, OSID: "almalinux", OSVersionID: "9.4"}},
			osv.Package{Ecosystem: "AlmaLinux:9", Name: "openssl-libs", Version: "1:3.0.7-27.el9"}, true},
		{"go module", &extractor.Package{Name: "golang.org/x/net", Version: "0.17.0", PURLType: purl.TypeGolang},
			osv.Package{Ecosystem: "Go", Name: "golang.org/x/net", Version: "0.17.0"}, true},
		{"go toolchain", &extractor.Package{Name: "go", Version: "1.21.3", PURLType: purl.TypeGolang},
			osv.Package{Ecosystem: "Go", Name: "stdlib", Version: "1.21.3"}, true},
		{"go devel main module", &extractor.Package{Name: "example.com/app", Version: "(devel)", PURLType: purl.TypeGolang}, osv.Package{}, false},
		{"no ecosystem", &extractor.Package{Name: "thing", Version: "1"}, osv.Package{}, false},
	} {
		got, ok := lookup(c.p)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: %+v %v, want %+v %v", c.name, got, ok, c.want, c.ok)
		}
	}
	transitional := &extractor.Package{Name: "libssl-dummy", ExploitabilitySignals: []*vex.PackageExploitabilitySignal{{MatchesAllVulns: true}}}
	if !notPresent(transitional) || notPresent(&extractor.Package{Name: "x"}) {
		t.Error("notPresent")
	}
}

// TestChildOf: the entry directly under a directory.
func TestChildOf(t *testing.T) {
	for _, c := range []struct {
		p, dir, want string
		ok           bool
	}{
		{"lib/apk/db/installed", "lib/apk/db", "lib/apk/db/installed", true},
		{"lib/apk/db/sub/x", "lib/apk/db", "lib/apk/db/sub", true},
		{"lib/apk/db", "lib/apk/db", "", false},
		{"lib/apk/dbx/y", "lib/apk/db", "", false},
		{"etc/motd", ".", "etc", true},
	} {
		got, ok := childOf(c.p, c.dir)
		if got != c.want || ok != c.ok {
			t.Errorf("childOf(%q, %q) = %q %v, want %q %v", c.p, c.dir, got, ok, c.want, c.ok)
		}
	}
}
