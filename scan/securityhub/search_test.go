package securityhub

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

func (e *hubEnv) search(q string, pg Page) ([]Item, int) {
	e.t.Helper()
	query, err := ParseQuery(q)
	if err != nil {
		e.t.Fatalf("ParseQuery(%q): %v", q, err)
	}
	items, total, err := e.hub.Vulnerabilities(context.Background(), query, pg)
	if err != nil {
		e.t.Fatalf("%q: %v", q, err)
	}
	return items, total
}

// describe lists items as "repo cve package".
func describe(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, it.Repository+" "+it.CVE+" "+it.Package)
	}
	return out
}

// TestSearchConditions: each q key, the order of the severity index,
// what an item carries (tags, project id, description).
func TestSearchConditions(t *testing.T) {
	e := newHubEnv(t)
	app, web := digest.FromString("app"), digest.FromString("web")
	e.update(func(tx meta.Tx) error {
		for repo, d := range map[string]digest.Digest{"team/app": app, "ops/web": web} {
			if _, _, err := tx.Repositories().Ensure(repo); err != nil {
				return err
			}
			if err := tx.Manifests().Put(repo, imageManifest(d)); err != nil {
				return err
			}
		}
		if err := tx.Tags().Put("team/app", "v1", app); err != nil {
			return err
		}
		if err := tx.Tags().Put("team/app", "latest", app); err != nil {
			return err
		}
		return accounts.Projects.In(tx).Put(accounts.Project{ID: 42, Name: "team"})
	})
	e.record("team/app", app,
		vuln("CVE-1", "openssl", "3.1", scan.SeverityHigh, 7.5),
		vuln("CVE-2", "busybox", "", scan.SeverityCritical, 9.8),
		vuln("CVE-3", "openssl", "", scan.SeverityMedium, 0))
	e.record("ops/web", web,
		vuln("CVE-1", "openssl", "", scan.SeverityHigh, 7.5),
		vuln("CVE-4", "zlib", "", scan.SeverityHigh, 8.1))

	items, total := e.search("", Page{Limit: 10})
	if got, want := describe(items), []string{"team/app CVE-2 busybox", "ops/web CVE-4 zlib", "ops/web CVE-1 openssl",
		"team/app CVE-1 openssl", "team/app CVE-3 openssl"}; !slices.Equal(got, want) || total != 5 {
		t.Errorf("everything: %q (%d), want %q, most severe and highest scored first", got, total, want)
	}
	it := items[0]
	if it.ProjectID != 42 || !slices.Equal(it.Tags, []string{"latest", "v1"}) || it.Description != "about CVE-2" ||
		len(it.Links) != 1 || it.CVSS3 != 9.8 || it.Vector3 != "CVSS:3.1/AV:N" {
		t.Errorf("an item: %+v", it)
	}
	for q, want := range map[string][]string{
		"cve_id=CVE-1":                                   {"ops/web CVE-1 openssl", "team/app CVE-1 openssl"},
		"package=openssl,severity=high":                  {"ops/web CVE-1 openssl", "team/app CVE-1 openssl"},
		"package=openssl,repository_name=ops/web":        {"ops/web CVE-1 openssl"},
		"severity=Critical":                              {"team/app CVE-2 busybox"},
		"cvss_score_v3=[7.5~8.1]":                        {"ops/web CVE-4 zlib", "ops/web CVE-1 openssl", "team/app CVE-1 openssl"},
		"cvss_score_v3=[~7]":                             nil, // CVE-3 has no score
		"cvss_score_v3=[8~]":                             {"team/app CVE-2 busybox", "ops/web CVE-4 zlib"},
		"repository_name=team/app,tag=v1":                {"team/app CVE-1 openssl", "team/app CVE-2 busybox", "team/app CVE-3 openssl"},
		"repository_name=team/app,tag=v2":                nil,
		"tag=latest,severity=Medium":                     {"team/app CVE-3 openssl"},
		"digest=" + web.String():                         {"ops/web CVE-4 zlib", "ops/web CVE-1 openssl"},
		"repository_name=ops/web,digest=" + web.String(): {"ops/web CVE-1 openssl", "ops/web CVE-4 zlib"},
		"repository_name=ops/web,digest=" + app.String(): nil,
		"project_id=42":                                  {"team/app CVE-1 openssl", "team/app CVE-2 busybox", "team/app CVE-3 openssl"},
		"project_id=ops,cve_id=CVE-1":                    {"ops/web CVE-1 openssl"},
		"project_id=43":                                  nil,
		"cve_id=CVE-9":                                   nil,
	} {
		items, total := e.search(q, Page{Limit: 10})
		if got := describe(items); !slices.Equal(got, want) || total != len(want) {
			t.Errorf("%s: %q (total %d), want %q", q, got, total, want)
		}
	}
}

// TestSearchPagingAndCounts: pages split the findings without overlap;
// tune_count stops counting past TunedCount.
func TestSearchPagingAndCounts(t *testing.T) {
	e := newHubEnv(t)
	var vs []scan.Vulnerability
	for i := range TunedCount + 50 {
		vs = append(vs, vuln(fmt.Sprintf("CVE-%05d", i), "libx", "", scan.SeverityLow, 2))
	}
	e.record("team/big", digest.FromString("big"), vs...)
	seen := map[string]bool{}
	for page := range 4 {
		items, total := e.search("package=libx", Page{Offset: page * 100, Limit: 100})
		if total != len(vs) || len(items) != 100 {
			t.Fatalf("page %d: %d items, total %d", page, len(items), total)
		}
		for _, it := range items {
			if seen[it.CVE] {
				t.Fatalf("%s on two pages", it.CVE)
			}
			seen[it.CVE] = true
		}
	}
	if items, total := e.search("package=libx", Page{Limit: 10, TuneCount: true}); total != -1 || len(items) != 10 {
		t.Errorf("tune_count past %d: total %d, %d items", TunedCount, total, len(items))
	}
	if _, total := e.search("package=libx", Page{Offset: 500, Limit: 100, TuneCount: true}); total != -1 {
		t.Errorf("tune_count on a later page: total %d", total)
	}
	// A page that ends past the count's stop has counted everything.
	if items, total := e.search("package=libx", Page{Offset: TunedCount + 40, Limit: 100, TuneCount: true}); total != len(vs) || len(items) != 10 {
		t.Errorf("tune_count on the last page: total %d, %d items", total, len(items))
	}
	// The counters answer an empty query and a severity alone exactly.
	if _, total := e.search("", Page{Limit: 1, TuneCount: true}); total != len(vs) {
		t.Errorf("everything: total %d", total)
	}
	if items, total := e.search("severity=Low", Page{Offset: len(vs) - 1, Limit: 5}); total != len(vs) || len(items) != 1 {
		t.Errorf("the last Low: %d items, total %d", len(items), total)
	}
}

func TestParseQuery(t *testing.T) {
	q, err := ParseQuery("cve_id=CVE-1,package=openssl,severity=critical,repository_name=team/app,project_id=team,tag=v1,digest=" +
		digest.FromString("x").String() + ",cvss_score_v3=[7~9.5]")
	if err != nil {
		t.Fatal(err)
	}
	if q.CVE != "CVE-1" || q.Package != "openssl" || q.Severity != scan.SeverityCritical || q.Repository != "team/app" ||
		q.Project != "team" || q.Tag != "v1" || q.Digest != digest.FromString("x") || *q.CVSS != (Range{7, 9.5}) {
		t.Errorf("parsed %+v", q)
	}
	if q, err := ParseQuery("severity=None,cvss_score_v3=5"); err != nil || q.Severity != scan.SeverityNegligible || *q.CVSS != (Range{5, 5}) {
		t.Errorf("None and an exact score: %+v, %v", q, err)
	}
	for bad, key := range map[string]string{
		"name=x": "", "cve_id=~CVE": "cve_id", "cve_id=a,cve_id=b": "cve_id", "severity=scary": "severity",
		"digest=sha256:nope": "digest", "cvss_score_v3=[9~7]": "cvss_score_v3", "cvss_score_v3=[x~]": "cvss_score_v3",
		"cvss_score_v3=[1~11]": "cvss_score_v3", "package={a b}": "package", "tag=": "tag", "cvss_score_v3=[1": "",
	} {
		_, err := ParseQuery(bad)
		var qe *QueryError
		if !errors.As(err, &qe) || !errors.Is(err, ErrInvalid) || qe.Key != key || !strings.HasPrefix(err.Error(), "q: ") {
			t.Errorf("ParseQuery(%q) = %v, want a QueryError on %q", bad, err, key)
		}
	}
}

// FuzzParseQuery: no q makes the parser or a search panic; a refused q
// is a QueryError, an accepted one a query a search answers.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"", "cve_id=CVE-1", "package=a,severity=High", "cvss_score_v3=[1~2]", "cvss_score_v3=[~]",
		"digest=sha256:" + strings.Repeat("a", 64), "project_id=7", "tag=v1,repository_name=a/b", "x={", "a=[~]", ",,"} {
		f.Add(s)
	}
	store := newHubEnvTB(f)
	f.Fuzz(func(t *testing.T, s string) {
		q, err := ParseQuery(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseQuery(%q): %v is not ErrInvalid", s, err)
			}
			return
		}
		if r := q.CVSS; r != nil && !(0 <= r.Min && r.Min <= r.Max && r.Max <= 10) {
			t.Fatalf("ParseQuery(%q): range %+v", s, *r)
		}
		if q.Severity != "" && !q.Severity.Valid() {
			t.Fatalf("ParseQuery(%q): severity %q", s, q.Severity)
		}
		if _, _, err := store.Vulnerabilities(context.Background(), q, Page{Limit: 3}); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	})
}

// newHubEnvTB is a hub over a store with a scan, for the fuzz target.
func newHubEnvTB(f *testing.F) *Hub {
	e := newHubEnv(f)
	e.record("team/app", digest.FromString("app"), vuln("CVE-1", "a", "", scan.SeverityHigh, 7), vuln("CVE-2", "b", "1", scan.SeverityLow, 0))
	return e.hub
}
