package browsertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/chromedp/chromedp"
)

// maxA11yPages bounds the pages the accessibility crawl visits per theme.
const maxA11yPages = 80

// a11ySeeds are the pages the accessibility check visits first, signed
// in as the administrator, on the team fixture: every page of the
// scenarios; the crawl adds what they link to (the repository and
// artifact pages, the artifact's tabs, a GC run, ...).
var a11ySeeds = []string{
	"/projects",
	"/projects/" + project,
	"/projects/" + project + "/members",
	"/projects/" + project + "/robots",
	"/projects/" + project + "/labels",
	"/projects/" + project + "/policies",
	"/projects/" + project + "/webhooks",
	"/projects/" + project + "/logs",
	"/admin/users",
	"/admin/robots",
	"/admin/registries",
	"/admin/replication",
	"/admin/gc",
	"/admin/scanners",
	"/admin/jobs",
	"/admin/security",
	"/admin/config",
	"/admin/audit",
}

// TestAccessibility (scenario g): axe-core finds no serious or critical
// violation on any page of the scenarios, nor on any page they link to,
// in the light theme and in the dark one; the sign-in page included.
func TestAccessibility(t *testing.T) {
	b := startBerth(t, withAutoScan)
	tm := newTeam(t, b)
	b.api(t, "POST", "/robots", `{"name":"ci","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"`+project+
		`","access":[{"resource":"repository","action":"pull"}]}]}`, 201)
	var labels []struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b.api(t, "GET", fmt.Sprintf("/labels?scope=p&project_id=%d", tm.id), "", 200), &labels); err != nil || len(labels) != 1 {
		t.Fatalf("the project's labels: %+v %v", labels, err)
	}
	b.api(t, "POST", "/projects/"+project+"/repositories/alpine/artifacts/"+tm.digest+"/labels", fmt.Sprintf(`{"id":%d}`, labels[0].ID), 201)
	b.api(t, "POST", "/system/gc/schedule", `{"schedule":{"type":"Manual"},"parameters":{"dry_run":true}}`, 201)
	b.waitScanned(t, "alpine", tm.digest)

	p := b.newBrowser(t, desktopWidth, desktopHeight)
	p.open("/login")
	for _, theme := range []string{"dark", "light"} {
		p.setTheme(theme)
		p.axe("/login (" + theme + ")")
	}
	p.signIn("admin", adminPassword)
	for _, theme := range []string{"light", "dark"} {
		p.setTheme(theme)
		start := time.Now()
		visited := p.crawlAxe(theme)
		t.Logf("%s theme: axe on %d pages in %s: %s", theme, len(visited), time.Since(start).Round(time.Millisecond), strings.Join(visited, " "))
		for _, want := range []string{"/repository?", "/artifact?"} {
			if !slices.ContainsFunc(visited, func(u string) bool { return strings.Contains(u, want) }) {
				t.Errorf("the crawl never reached a %s page: %v", want, visited)
			}
		}
		if i := slices.IndexFunc(visited, func(u string) bool { return strings.Contains(u, "/artifact?") }); i >= 0 {
			p.open(visited[i])
			p.screenshot("artifact-" + theme)
		}
	}
	p.open("/projects/" + project)
	p.screenshot("end")
}

// setTheme switches the portal to theme (light or dark) with the
// header's theme button and checks <html data-theme>.
func (p *browser) setTheme(theme string) {
	p.t.Helper()
	for range 2 {
		if p.attr("html", "data-theme") == theme {
			return
		}
		p.submitOK(`[data-test="theme"]`)
	}
	if got := p.attr("html", "data-theme"); got != theme {
		p.t.Fatalf("after the theme switch <html data-theme=%q>, want %s", got, theme)
	}
}

// crawlAxe runs axe (in the theme named) on the seed pages and on every
// page of the portal they lead to through links (downloads aside), one
// page per kind (pageKind), up to maxA11yPages; it returns the pages
// visited. A link to a page that does not answer 200 fails the test too.
func (p *browser) crawlAxe(theme string) []string {
	p.t.Helper()
	type link struct{ to, from string }
	var queue []link
	for _, s := range a11ySeeds {
		queue = append(queue, link{to: s})
	}
	seen := map[string]bool{}
	var visited []string
	for len(queue) > 0 && len(visited) < maxA11yPages {
		l := queue[0]
		queue = queue[1:]
		kind := pageKind(l.to)
		if seen[kind] {
			continue
		}
		seen[kind] = true
		status, at := p.navigate(l.to)
		switch {
		case status != http.StatusOK && l.from == "":
			p.t.Errorf("GET %s answers %d: %.300s", l.to, status, p.text("main"))
			continue
		case status != http.StatusOK:
			p.t.Errorf("the link to %s on %s answers %d: %.300s", l.to, l.from, status, p.text("main"))
			continue
		case l.from == "" && !strings.HasPrefix(at, strings.SplitN(l.to, "?", 2)[0]):
			p.t.Errorf("GET %s ended at %s", l.to, at)
			continue
		}
		visited = append(visited, l.to)
		p.axe(l.to + " (" + theme + ")")
		hrefs := eval[[]string](p, `[...document.querySelectorAll('a[href]:not([download])')].map(a => a.getAttribute('href'))`)
		for _, h := range hrefs {
			if to, ok := portalLink(h); ok {
				queue = append(queue, link{to: to, from: l.to})
			}
		}
	}
	return visited
}

// notPortal are the prefixes of this origin's paths that are not pages
// of the portal (APIs, the registry, files, downloads).
var notPortal = []string{"/api/", "/v2/", "/v2", "/c/", "/static/", "/service/", "/metrics", "/livez", "/healthz", "/readyz"}

// portalLink returns the path and query of a link to a page of the
// portal, or false (another site, an API, a download, a fragment).
func portalLink(href string) (string, bool) {
	u, err := url.Parse(href)
	if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(href, "//") {
		return "", false
	}
	for _, pre := range notPortal {
		if strings.HasPrefix(u.Path, pre) {
			return "", false
		}
	}
	if strings.Contains(u.Path, "/download") {
		return "", false
	}
	u.Fragment = ""
	return u.RequestURI(), true
}

// numeric matches a path segment of digits (an id).
var numeric = regexp.MustCompile(`/\d+(/|$)`)

// volatile are the query parameters that select within a page (its
// rows, their order) rather than another kind of page.
var volatile = map[string]bool{"page": true, "page_size": true, "sort": true, "q": true, "severity": true, "fixable": true}

// pageKind names the kind of page a portal path shows: its path with ids
// and project names generalized, and the names of its query parameters
// (with the value of tab, which picks another view).
func pageKind(path string) string {
	u, err := url.Parse(path)
	if err != nil {
		return path
	}
	p := numeric.ReplaceAllString(u.Path, "/#$1")
	if rest, ok := strings.CutPrefix(p, "/projects/"); ok {
		_, tail, _ := strings.Cut(rest, "/")
		p = "/projects/*/" + tail
	}
	var keys []string
	for k, v := range u.Query() {
		switch {
		case volatile[k]:
		case k == "tab":
			keys = append(keys, k+"="+v[0])
		default:
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return p + "?" + strings.Join(keys, "&")
}

// waitScanned waits until the scan of an artifact of the team project
// has succeeded (as the API says), for up to scanLimit.
func (b *berth) waitScanned(t *testing.T, repo, digest string) {
	t.Helper()
	eventually.Within(t, scanLimit, "the scan of "+digest, func() bool {
		var a struct {
			Overview map[string]struct {
				Status string `json:"scan_status"`
			} `json:"scan_overview"`
		}
		if err := json.Unmarshal(b.api(t, "GET", "/projects/"+project+"/repositories/"+repo+"/artifacts/"+digest+"?with_scan_overview=true", "", 200), &a); err != nil {
			t.Fatal(err)
		}
		for _, o := range a.Overview {
			switch o.Status {
			case "Success":
				return true
			case "Error":
				t.Fatalf("the scan of %s failed", digest)
			}
		}
		return false
	})
}

// TestHarnessCatches checks the checks: on the sign-in page spoiled
// with an image without a text alternative and a button without a name,
// axe reports both as serious or critical, and an exception a script
// throws is caught; so clean reports on the portal's pages mean
// something.
func TestHarnessCatches(t *testing.T) {
	b := startBerth(t)
	p := b.newBrowser(t, desktopWidth, desktopHeight)
	p.open("/login")
	if vs := p.axeViolations("/login"); slices.ContainsFunc(vs, axeViolation.serious) {
		t.Fatalf("the sign-in page has serious violations already: %+v", vs)
	}
	eval[chromedp.Void](p, `(() => { const m = document.querySelector("main");
		const img = document.createElement("img"); img.src = "data:image/gif;base64,R0lGODlhAQABAAAAACw="; m.append(img);
		m.append(document.createElement("button")); })()`)
	found := map[string]bool{}
	for _, v := range p.axeViolations("/login, spoiled") {
		found[v.ID] = v.serious()
	}
	for _, id := range []string{"image-alt", "button-name"} {
		if !found[id] {
			t.Errorf("axe did not report %s as serious or critical: %v", id, found)
		}
	}

	eval[chromedp.Void](p, `setTimeout(() => { throw new Error("thrown by the harness test"); }, 0)`)
	eventually.Within(t, stepTimeout, "the exception thrown", func() bool {
		got := p.takeExceptions()
		if len(got) > 0 && (len(got) != 1 || !strings.Contains(got[0], "thrown by the harness test")) {
			t.Fatalf("uncaught exceptions seen: %q, want the one thrown", got)
		}
		return len(got) == 1
	})
}
