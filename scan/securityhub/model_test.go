package securityhub

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan"
)

// model is what the hub should hold: each artifact's findings, kept by
// the test from what it recorded.
type model map[string]Artifact

// cvePool are the CVEs the generated reports draw from, each with one
// severity and score, as a scanner's database gives them.
var cvePool = func() []scan.Vulnerability {
	sevs := []scan.Severity{scan.SeverityCritical, scan.SeverityHigh, scan.SeverityMedium, scan.SeverityLow, scan.SeverityNegligible, scan.SeverityUnknown}
	var out []scan.Vulnerability
	for i := range 15 {
		v := scan.Vulnerability{ID: fmt.Sprintf("CVE-2024-%04d", i), Severity: sevs[i%len(sevs)]}
		if i%4 != 3 {
			v.PreferredCVSS = &scan.CVSS{ScoreV3: float64(10+i*6%90) / 10}
		}
		out = append(out, v)
	}
	return out
}()

// randomScan is a report of some of the pool's CVEs in some packages.
func randomScan(r *rand.Rand, repo string, d digest.Digest) Scan {
	s := Scan{Repository: repo, Digest: d, Scanner: "test"}
	for _, v := range cvePool {
		for p := range 3 {
			if r.IntN(5) != 0 {
				continue
			}
			v.Package, v.Version = fmt.Sprintf("pkg-%d", p), "1.0"
			v.FixVersion = ""
			if r.IntN(2) == 0 {
				v.FixVersion = "1.1"
			}
			s.Vulnerabilities = append(s.Vulnerabilities, v)
		}
	}
	return s
}

// op is a step of a generated history: a scan, or a forget.
type op struct {
	scan   Scan
	forget bool
}

// apply records o in the store and in m.
func (m model) apply(t *testing.T, store meta.Store, o op) {
	t.Helper()
	key := artifactKey(o.scan.Repository, o.scan.Digest)
	err := store.Update(context.Background(), func(tx meta.Tx) error {
		if o.forget {
			return Forget(tx, o.scan.Repository, o.scan.Digest)
		}
		return Record(tx, o.scan)
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.forget {
		delete(m, key)
		return
	}
	a, _ := artifactOf(o.scan)
	m[key] = a
}

// expected is the summary m implies.
func (m model) expected() Summary {
	var s Summary
	arts := slices.Collect(maps.Values(m))
	best, count := map[string]Finding{}, map[string]int{}
	for _, a := range arts {
		s.Totals = s.Totals.plus(a.totals(), 1)
		seen := map[string]bool{}
		for _, f := range a.Findings {
			if b, ok := best[f.CVE]; !ok || rankOf(f) < rankOf(b) {
				best[f.CVE] = f
			}
			if !seen[f.CVE] {
				seen[f.CVE] = true
				count[f.CVE]++
			}
		}
	}
	slices.SortFunc(arts, func(x, y Artifact) int {
		cx, cy := x.Counts(), y.Counts()
		return cmp.Or(cmp.Compare(cy.Critical, cx.Critical), cmp.Compare(cy.High, cx.High), cmp.Compare(cy.Medium, cx.Medium),
			cmp.Compare(cy.Low, cx.Low), strings.Compare(artifactKey(x.Repository, x.Digest), artifactKey(y.Repository, y.Digest)))
	})
	for _, a := range arts {
		c := a.Counts()
		if c.Critical+c.High+c.Medium+c.Low > 0 && len(s.DangerousArtifacts) < dangerous {
			s.DangerousArtifacts = append(s.DangerousArtifacts, DangerousArtifact{Repository: a.Repository, Digest: a.Digest, Counts: c})
		}
	}
	cves := slices.SortedFunc(maps.Keys(best), func(x, y string) int {
		return cmp.Or(strings.Compare(rankOf(best[x]), rankOf(best[y])), strings.Compare(x, y))
	})
	for _, id := range cves[:min(dangerous, len(cves))] {
		s.DangerousCVEs = append(s.DangerousCVEs, DangerousCVE{Finding: Finding{CVE: id, CVSS3: best[id].CVSS3}, Artifacts: count[id]})
	}
	return s
}

// check compares the hub with m: the summary, and searches by every
// CVE, package and severity of the pool.
func (m model) check(t *testing.T, hub *Hub) {
	t.Helper()
	ctx := context.Background()
	want := m.expected()
	got, err := hub.Summary(ctx, SummaryOptions{DangerousCVEs: true, DangerousArtifacts: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Totals != want.Totals {
		t.Fatalf("totals %+v, want %+v", got.Totals, want.Totals)
	}
	if g, w := artifactList(got), artifactList(want); !slices.Equal(g, w) {
		t.Fatalf("dangerous artifacts %q, want %q", g, w)
	}
	if g, w := cveList(got), cveList(want); !slices.Equal(g, w) {
		t.Fatalf("dangerous CVEs %q, want %q", g, w)
	}
	queries := []Query{{}, {Severity: scan.SeverityHigh}, {CVSS: &Range{Min: 5, Max: 8}}, {Repository: "team/a"}, {Project: "team"}}
	for _, v := range cvePool {
		queries = append(queries, Query{CVE: v.ID}, Query{CVE: v.ID, Package: "pkg-1"})
	}
	for p := range 3 {
		queries = append(queries, Query{Package: fmt.Sprintf("pkg-%d", p)}, Query{Package: fmt.Sprintf("pkg-%d", p), Severity: scan.SeverityMedium})
	}
	for _, q := range queries {
		m.checkSearch(t, hub, q)
	}
}

// checkSearch pages through q's findings and compares them with m's.
func (m model) checkSearch(t *testing.T, hub *Hub, q Query) {
	t.Helper()
	var want []string
	for _, a := range m {
		for _, f := range a.Findings {
			if selects(q, a.Repository, f) {
				want = append(want, a.Repository+"@"+a.Digest.Encoded()[:6]+" "+f.CVE+" "+f.Package)
			}
		}
	}
	slices.Sort(want)
	var got []string
	for off := 0; ; off += 7 {
		items, total, err := hub.Vulnerabilities(context.Background(), q, Page{Offset: off, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		if total != len(want) {
			t.Fatalf("%+v: total %d, want %d", q, total, len(want))
		}
		for _, it := range items {
			got = append(got, it.Repository+"@"+it.Digest.Encoded()[:6]+" "+it.CVE+" "+it.Package)
		}
		if len(items) < 7 {
			break
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("%+v: found %q, want %q", q, got, want)
	}
}

// selects is what q means, spelled out apart from the search's code.
func selects(q Query, repo string, f Finding) bool {
	return (q.CVE == "" || f.CVE == q.CVE) && (q.Package == "" || f.Package == q.Package) &&
		(q.Severity == "" || f.Severity == q.Severity) && (q.Repository == "" || repo == q.Repository) &&
		(q.Project == "" || strings.HasPrefix(repo, q.Project+"/")) &&
		(q.CVSS == nil || f.CVSS3 > 0 && f.CVSS3 >= q.CVSS.Min && f.CVSS3 <= q.CVSS.Max)
}

// TestModel: a random history of scans, rescans and deletes keeps the
// summary and every search exact at each step.
func TestModel(t *testing.T) {
	e := newHubEnv(t)
	r := rand.New(rand.NewPCG(1, 2))
	m := model{}
	repos := []string{"team/a", "team/b", "other/c"}
	for step := range 60 {
		repo := repos[r.IntN(len(repos))]
		d := digest.FromString(fmt.Sprint(r.IntN(4)))
		m.apply(t, e.store, op{scan: randomScan(r, repo, d), forget: r.IntN(4) == 0})
		t.Run(fmt.Sprint("step ", step), func(t *testing.T) { m.check(t, e.hub) })
	}
}

// TestConcurrentScans: scans and deletes in parallel transactions (the
// artifacts share CVEs and shards) leave the numbers exact.
func TestConcurrentScans(t *testing.T) {
	e := newHubEnv(t)
	const workers = 6
	models := make([]model, workers)
	var wg sync.WaitGroup
	for w := range workers {
		models[w] = model{}
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range 25 {
				d := digest.FromString(fmt.Sprintf("%d-%d", w, r.IntN(3)))
				models[w].apply(t, e.store, op{scan: randomScan(r, fmt.Sprintf("team/w%d", w), d), forget: r.IntN(5) == 0})
			}
		})
	}
	wg.Wait()
	all := model{}
	for _, m := range models {
		maps.Copy(all, m)
	}
	all.check(t, e.hub)
}
