package osv

import (
	"archive/zip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/berthreg/berth/scan"
)

// records are OSV records written for the tests: a Debian advisory for
// one release with a fixed version, an Alpine one with two ranges, and a
// Go one with last_affected and events out of order.
var records = map[string]string{
	"DEB-1.json": `{"id":"TEST-DEB-1","summary":"overflow in libfoo","affected":[{"package":{"ecosystem":"Debian:12","name":"libfoo"},
	  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.2.3-2+deb12u1"}]}],"database_specific":{"severity":"high"}}],
	  "references":[{"url":"https://example.org/TEST-DEB-1"}]}`,
	"ALP-1.json": `{"id":"TEST-ALP-1","affected":[{"package":{"ecosystem":"Alpine:v3.20","name":"busybox"},
	  "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.36.1-r2"},{"introduced":"1.37.0-r0"},{"fixed":"1.37.0-r5"}]}]}],
	  "database_specific":{"severity":"CRITICAL"}}`,
	"GO-1.json": `{"id":"TEST-GO-1","affected":[{"package":{"ecosystem":"Go","name":"example.com/mod"},
	  "ranges":[{"type":"SEMVER","events":[{"last_affected":"1.4.0"},{"introduced":"1.2.0"}]}],"versions":["0.9.1"]}]}`,
}

func write(t *testing.T) string {
	dir := t.TempDir()
	for name, body := range records {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMatch(t *testing.T) {
	db, err := Load(write(t))
	if err != nil || db.Len() != 3 {
		t.Fatalf("Load: %d, %v", db.Len(), err)
	}
	for _, c := range []struct {
		p        Package
		id, fix  string
		severity scan.Severity
	}{
		{Package{"Debian:12", "libfoo", "1.2.3-1"}, "TEST-DEB-1", "1.2.3-2+deb12u1", scan.SeverityHigh},
		{Package{"Debian:12", "libfoo", "1.2.3-2+deb12u1"}, "", "", ""}, // fixed
		{Package{"Debian:11", "libfoo", "1.2.3-1"}, "", "", ""},         // other release
		{Package{"Alpine:v3.20", "busybox", "1.36.1-r1"}, "TEST-ALP-1", "1.36.1-r2", scan.SeverityCritical},
		{Package{"Alpine:v3.20", "busybox", "1.36.1-r10"}, "", "", ""}, // after the first fix (r10 > r2)
		{Package{"Alpine:v3.20", "busybox", "1.37.0-r3"}, "TEST-ALP-1", "1.37.0-r5", scan.SeverityCritical},
		{Package{"Go", "example.com/mod", "1.3.9"}, "TEST-GO-1", "", scan.SeverityUnknown},
		{Package{"Go", "example.com/mod", "1.4.1"}, "", "", ""},
		{Package{"Go", "example.com/mod", "0.9.1"}, "TEST-GO-1", "", scan.SeverityUnknown}, // listed version
		{Package{"Go", "example.com/other", "1.3.0"}, "", "", ""},
	} {
		vs, err := db.Match(c.p)
		if err != nil {
			t.Fatalf("%+v: %v", c.p, err)
		}
		switch {
		case c.id == "" && len(vs) != 0:
			t.Errorf("%+v: matched %+v, want nothing", c.p, vs)
		case c.id != "" && (len(vs) != 1 || vs[0].ID != c.id || vs[0].FixVersion != c.fix || vs[0].Severity != c.severity):
			t.Errorf("%+v: %+v, want %s fixed in %q, %s", c.p, vs, c.id, c.fix, c.severity)
		}
	}
	vs, _ := db.Match(Package{"Debian:12", "libfoo", "1.0"})
	if len(vs) != 1 || !slices.Contains(vs[0].Links, "https://example.org/TEST-DEB-1") || vs[0].Description != "overflow in libfoo" {
		t.Errorf("details: %+v", vs)
	}
}

func TestLoadZipAndBadRecords(t *testing.T) {
	dir := t.TempDir()
	zpath := filepath.Join(dir, "all.zip")
	f, _ := os.Create(zpath)
	zw := zip.NewWriter(f)
	for name, body := range records {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte(body))
	}
	_ = zw.Close()
	_ = f.Close()
	db, err := Load(zpath)
	if err != nil || db.Len() != 3 {
		t.Fatalf("Load zip: %v", err)
	}
	for _, bad := range []string{`{`, `{"affected":[]}`, `{"id":"X","affected":[{"package":{"name":"p"}}]}`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
}

// TestMatchSkipsBadAdvisory: an advisory whose versions cannot be read
// is skipped and named in the error; the others still match.
func TestMatchSkipsBadAdvisory(t *testing.T) {
	db := &DB{}
	for _, r := range []string{
		`{"id":"TEST-BAD","affected":[{"package":{"ecosystem":"Debian:12","name":"p"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":":::"}]}]}]}`,
		`{"id":"TEST-GOOD","affected":[{"package":{"ecosystem":"Debian:12","name":"p"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.0-1"}]}]}]}`,
	} {
		a, err := Parse([]byte(r))
		if err != nil {
			t.Fatal(err)
		}
		db.Add(a)
	}
	vs, err := db.Match(Package{Ecosystem: "Debian:12", Name: "p", Version: "1.0-1"})
	if len(vs) != 1 || vs[0].ID != "TEST-GOOD" || err == nil || !strings.Contains(err.Error(), "TEST-BAD") {
		t.Errorf("Match: %+v, %v; want TEST-GOOD and an error naming TEST-BAD", vs, err)
	}
}
