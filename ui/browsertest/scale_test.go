package browsertest

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/server"
)

// Sizes of the scale tests.
const (
	scaleTags     = 100_000
	scaleProjects = 10_000
)

// maxRows is the most rows one page of a list may show: the portal must
// page a large list, not render it whole.
const maxRows = 100

// maxElements bounds the elements of a page of a large list (a page
// that rendered the whole list would hold hundreds of thousands).
const maxElements = 5000

// TestScaleTags: a repository whose one artifact has 100 000 tags (one
// manifest PUT under each tag through /v2 by concurrent clients) renders
// paged: the artifact's page shows the total and a pager, one page of
// tag rows, and the next page; the repository's page is not the whole
// list either.
func TestScaleTags(t *testing.T) {
	b := startBerth(t)
	b.api(t, "POST", "/projects", `{"project_name":"big"}`, 201)
	start := time.Now()
	b.seedTags(t, "big/many", scaleTags)
	t.Logf("seeded %d tags through /v2 in %s (%d clients)", scaleTags, time.Since(start).Round(time.Millisecond), seedWorkers)

	p := b.newBrowser(t, desktopWidth, desktopHeight)
	p.signIn("admin", adminPassword)
	p.open("/projects/big")
	p.submit(p.pick(`[data-test="repo-link"]`, "big/many"))
	p.boundedPage("the repository page")
	shown, more := p.count(`[data-test="artifact-row"] [data-test="tag"]`), digits(p.text(`[data-test="artifact-row"] [data-test="more-tags"]`))
	if shown+more != scaleTags {
		t.Errorf("the repository page shows %d tags and %d more, want %d in all", shown, more, scaleTags)
	}
	p.submit(`[data-test="artifact-link"]`)
	p.boundedPage("the artifact page")
	if p.count(`[data-test="tab-tags"]`) > 0 {
		p.submit(`[data-test="tab-tags"]`)
		p.boundedPage("the artifact's tags")
	}
	p.pagedList(`[data-test="tags"]`, `[data-test="tags"] [data-test="tag"]`, scaleTags)
	p.screenshot("tags")
}

// TestScaleProjects: 10 000 projects (and one more created through the
// API at that size) render paged on /projects: the total, a pager, one
// page of rows, the next page, and the search box finds one project
// among them.
func TestScaleProjects(t *testing.T) {
	dir := t.TempDir()
	start := time.Now()
	seedProjectsInStore(t, dir, "scale", scaleProjects)
	t.Logf("seeded %d projects through accounts.Manager in %s", scaleProjects, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	b := startBerth(t, func(c *server.Config) { c.DataDir = dir })
	t.Logf("the server started on them in %s", time.Since(start).Round(time.Millisecond))
	const viaAPI = 20
	start = time.Now()
	b.seedProjects(t, "api", viaAPI)
	t.Logf("%d more through POST /api/v2.0/projects in %s", viaAPI, time.Since(start).Round(time.Millisecond))
	total := b.total(t, "/projects?page_size=1")
	if total < scaleProjects+viaAPI {
		t.Fatalf("the API counts %d projects, want at least %d", total, scaleProjects+viaAPI)
	}

	p := b.newBrowser(t, desktopWidth, desktopHeight)
	p.signIn("admin", adminPassword)
	p.open("/projects")
	p.boundedPage("/projects")
	p.pagedList(`[data-test="projects"]`, `[data-test="projects"] tbody tr`, total)
	p.screenshot("projects")

	p.open("/projects")
	p.fill(`input[name="q"]`, "scale09999")
	p.submit(`form[role="search"] button`)
	if n := p.count(`[data-test="projects"] tbody tr`); n != 1 {
		t.Fatalf("searching scale09999 shows %d rows, want 1: %s", n, p.text("main"))
	}
	if got := p.text(`[data-test="project-link"]`); got != "scale09999" {
		t.Fatalf("searching scale09999 shows %q", got)
	}
	p.screenshot("search")
}

// pagedList checks the list list (a selector) on the current page, whose
// rows rows selects: its pager (inside it or the first after it) says
// total rows in all, it shows at least one row and at most one page of
// them, and the pager's next page is page 2 with rows of its own.
func (p *browser) pagedList(list, rows string, total int) {
	p.t.Helper()
	p.waitVisible(list)
	pager := p.pagerOf(list)
	if got := p.text(pager + ` [data-test="total"]`); digits(got) != total {
		p.t.Fatalf("the pager's total is %q, want %d", got, total)
	}
	n := p.count(rows)
	if n == 0 || n > maxRows {
		p.t.Fatalf("%s shows %d rows; want one page (1 to %d)", list, n, maxRows)
	}
	first := p.text(rows)
	p.submit(pager + ` [data-test="next"]`)
	pager = p.pagerOf(list)
	if got := p.text(pager + ` [data-test="page-of"]`); !regexp.MustCompile(`^\s*2\s*/`).MatchString(got) {
		p.t.Fatalf("after next the pager says %q, want page 2", got)
	}
	if n := p.count(rows); n == 0 || n > maxRows {
		p.t.Fatalf("page 2 of %s shows %d rows", list, n)
	}
	if p.text(rows) == first {
		p.t.Fatalf("page 2 of %s starts with the row page 1 did: %q", list, first)
	}
}

// pagerOf returns a selector of the pager of the list list: the first
// pager inside it or after it.
func (p *browser) pagerOf(list string) string {
	p.t.Helper()
	return p.mark(`[data-test="pager"]`, list, `e => { const l = document.querySelector(want);
		return l.contains(e) || !!(l.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING); }`)
}

// boundedPage fails the test when the current page holds more than
// maxElements elements: a large list rendered whole.
func (p *browser) boundedPage(what string) {
	p.t.Helper()
	if n := eval[int](p, `document.getElementsByTagName('*').length`); n > maxElements {
		p.t.Fatalf("%s holds %d elements (more than %d): a list rendered whole?", what, n, maxElements)
	}
}

// digits returns the number s writes, ignoring separators (100 000,
// 100,000), or -1.
func digits(s string) int {
	n, err := strconv.Atoi(regexp.MustCompile(`\D`).ReplaceAllString(s, ""))
	if err != nil {
		return -1
	}
	return n
}

// total returns the X-Total-Count of an admin API list.
func (b *berth) total(t testing.TB, path string) int {
	t.Helper()
	code, _, hdr, err := b.call(context.Background(), "GET", path, "", "admin", adminPassword)
	if err != nil || code != 200 {
		t.Fatalf("GET %s: %d %v", path, code, err)
	}
	n, err := strconv.Atoi(hdr.Get("X-Total-Count"))
	if err != nil {
		t.Fatalf("GET %s: X-Total-Count %q", path, hdr.Get("X-Total-Count"))
	}
	return n
}

// seedProjectsInStore creates n private projects, named prefix00000
// and on, owned by the administrator (its project admin, as the API
// makes them), in the metadata store of a server not started yet
// (dataDir's meta.db), through accounts.Manager.CreateProject, the call
// behind the admin API's POST /projects, by seedWorkers at once.
//
// Not through the API itself: there each project created reloads the
// server's whole access policy (every member of every project) before it
// answers, so the n-th costs time in proportion to n (about 10 s each at
// 10 000 projects on 2 cores): the suite could not afford 10 000 of
// them. TestScaleProjects creates one more through the API at that size,
// and logs how long it took.
func seedProjectsInStore(t testing.TB, dataDir, prefix string, n int) {
	t.Helper()
	store, err := bolt.Open(filepath.Join(dataDir, "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			t.Fatal(err)
		}
	}()
	ctx := context.Background()
	m, err := accounts.New(ctx, store, accounts.WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{Kind: auth.User, Name: "admin"}
	var next atomic.Int64
	var g errgroup.Group
	for range seedWorkers {
		g.Go(func() error {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return nil
				}
				if err := m.CreateProject(ctx, admin, fmt.Sprintf("%s%05d", prefix, i), false); err != nil {
					return err
				}
			}
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}
