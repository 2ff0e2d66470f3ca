package ui_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testscan"
	"github.com/berthreg/berth/server"
)

// artAdmin is the admin's registry credential for pushing.
var artAdmin = remote.WithAuth(&authn.Basic{Username: "admin", Password: adminPassword})

// artPushIndex pushes an index of two images (linux/amd64 and
// linux/arm64) as repo:tag and returns its digest.
func artPushIndex(t *testing.T, host, repo, tag string) string {
	t.Helper()
	amd, _ := random.Image(256, 1)
	arm, _ := random.Image(256, 1)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}})
	ref, _ := name.ParseReference(host+"/"+repo+":"+tag, name.Insecure)
	if err := remote.WriteIndex(ref, idx, artAdmin); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d.String()
}

// artRows counts the artifact rows of a repository page.
func artRows(body string) int { return strings.Count(body, `data-test="artifact-row"`) }

// The repository page lists images and an index with their tags, sizes
// and platforms; tags, labels and artifacts are added and deleted
// through the portal (checked through the API); a guest sees no button
// and the API refuses a forged form.
func TestArtifactsRepositoryPage(t *testing.T) {
	host := startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"shop"}`, 201)
	img1, _ := random.Image(2048, 2)
	img2, _ := random.Image(1024, 1)
	d1 := push(t, host, "shop/app", "v1", img1)
	d2 := push(t, host, "shop/app", "v2", img2)
	di := artPushIndex(t, host, "shop/app", "multi")

	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	body := b.page("/projects/shop/repository?name=app")
	if artRows(body) != 3 || !strings.Contains(body, `<h2 data-test="repo-name">app</h2>`) {
		t.Fatalf("the repository page: %s", body)
	}
	for _, want := range []string{">v1<", ">v2<", ">multi<", "linux/amd64", "linux/arm64", ">Index", ">Image",
		`data-test="delete-artifact"`, `data-test="add-tag"`, "docker pull " + host + "/shop/app@" + d1, "crane pull " + host + "/shop/app@" + d2,
		`data-copy="pull-0"`, `href="/projects/shop/artifact?repo=app&amp;ref=` + url.QueryEscape(di) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the repository page lacks %q", want)
		}
	}
	if strings.Count(body, `data-test="size">`) != 3 || !strings.Contains(body, " KiB</td>") {
		t.Errorf("the sizes: %s", body)
	}
	if strings.Contains(body, `style=`) {
		t.Error("an inline style")
	}
	// Search by tag.
	body = b.page("/projects/shop/repository?name=app&q=v1")
	if artRows(body) != 1 || !strings.Contains(body, d1[:19]) {
		t.Errorf("searching v1: %s", body)
	}
	// Oldest first.
	body = b.page("/projects/shop/repository?name=app&sort=push_time")
	if i1, ii := strings.Index(body, ">v1<"), strings.Index(body, ">multi<"); i1 < 0 || ii < 0 || i1 > ii {
		t.Errorf("oldest first: v1 at %d, multi at %d", i1, ii)
	}

	// The description.
	b.post("/projects/shop/repository/description", url.Values{"name": {"app"}, "description": {"the shop's app"}, "back": {"/projects/shop/repository?name=app"}})
	if out := mustAPI(t, host, "GET", "/projects/shop/repositories/app", "", 200); !strings.Contains(out, `"description":"the shop's app"`) {
		t.Errorf("description: %s", out)
	}

	// Add a tag, then delete it.
	back := "/projects/shop/repository?name=app"
	code, body := b.post("/projects/shop/artifact/tags", url.Values{"repo": {"app"}, "ref": {d1}, "tag": {"stable"}, "back": {back}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, ">stable<") {
		t.Fatalf("adding a tag: %d\n%s", code, body)
	}
	if out := mustAPI(t, host, "GET", "/projects/shop/repositories/app/artifacts/stable", "", 200); !strings.Contains(out, d1) {
		t.Errorf("the new tag: %s", out)
	}
	art := "/projects/shop/artifact?repo=app&ref=" + url.QueryEscape(d1)
	body = b.page(art)
	if !strings.Contains(body, `data-test="delete-tag"`) || !strings.Contains(body, ">stable<") || !strings.Contains(body, d1) {
		t.Errorf("the artifact page: %s", body)
	}
	b.post("/projects/shop/artifact/tags/delete", url.Values{"repo": {"app"}, "ref": {d1}, "tag": {"stable"}, "back": {art}})
	mustAPI(t, host, "GET", "/projects/shop/repositories/app/artifacts/stable", "", 404)

	// Add a label made through the API, then remove it.
	mustAPI(t, host, "POST", "/labels", `{"name":"qa-passed","scope":"g","color":"#00aa00"}`, 201)
	var labels []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/labels?scope=g", "", 200)), &labels)
	if len(labels) != 1 {
		t.Fatalf("labels %+v", labels)
	}
	id := strconv.FormatInt(labels[0].ID, 10)
	if body = b.page(art); !strings.Contains(body, `<option value="`+id+`">qa-passed</option>`) {
		t.Errorf("the label to choose: %s", body)
	}
	code, body = b.post("/projects/shop/artifact/labels", url.Values{"repo": {"app"}, "ref": {d1}, "label": {id}, "back": {art}})
	if code != 200 || !strings.Contains(body, `data-test="label">qa-passed<`) {
		t.Errorf("adding a label: %d\n%s", code, body)
	}
	if out := mustAPI(t, host, "GET", "/projects/shop/repositories/app/artifacts/"+d1+"?with_label=true", "", 200); !strings.Contains(out, `"qa-passed"`) {
		t.Errorf("the label in the API: %s", out)
	}
	if body = b.page(back); !strings.Contains(body, `data-test="label">qa-passed<`) {
		t.Errorf("the label on the repository page: %s", body)
	}
	b.post("/projects/shop/artifact/labels/delete", url.Values{"repo": {"app"}, "ref": {d1}, "label": {id}, "back": {art}})
	if out := mustAPI(t, host, "GET", "/projects/shop/repositories/app/artifacts/"+d1+"?with_label=true", "", 200); strings.Contains(out, `"qa-passed"`) {
		t.Errorf("the label stayed: %s", out)
	}

	// The index's page links its children with their platforms.
	body = b.page("/projects/shop/artifact?repo=app&ref=multi")
	if strings.Count(body, `data-test="child-link"`) != 2 || !strings.Contains(body, "linux/arm64") {
		t.Errorf("the index's page: %s", body)
	}

	// A guest sees no button, and the API refuses a forged form.
	mustAPI(t, host, "POST", "/users", `{"username":"gina","password":"gina-password-1"}`, 201)
	mustAPI(t, host, "POST", "/projects/shop/members", `{"role_id":3,"member_user":{"username":"gina"}}`, 201)
	g := newBrowser(t, host)
	g.signIn("gina", "gina-password-1")
	for _, page := range []string{back, art} {
		body = g.page(page)
		for _, no := range []string{`data-test="delete`, `data-test="add-tag"`, `data-test="add-label"`, `data-test="scan"`, `data-test="edit-description"`} {
			if strings.Contains(body, no) {
				t.Errorf("the guest sees %s on %s", no, page)
			}
		}
	}
	code, body = g.post("/projects/shop/artifact/delete", url.Values{"repo": {"app"}, "ref": {d2}, "back": {back}})
	if code != 200 || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a guest deleting: %d\n%s", code, body)
	}
	mustAPI(t, host, "GET", "/projects/shop/repositories/app/artifacts/"+d2, "", 200)

	// The admin deletes it.
	code, body = b.post("/projects/shop/artifact/delete", url.Values{"repo": {"app"}, "ref": {d2}, "back": {art}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || artRows(body) != 2 {
		t.Errorf("deleting: %d\n%s", code, body)
	}
	mustAPI(t, host, "GET", "/projects/shop/repositories/app/artifacts/"+d2, "", 404)
}

// A repository of 200 artifacts shows one page of 15 rows and the total;
// an artifact with many tags shows a few and how many more.
func TestArtifactsPaging(t *testing.T) {
	host := startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"big"}`, 201)
	base, _ := random.Image(64, 1)
	var last string
	for i := range 200 {
		img := mutate.Annotations(base, map[string]string{"n": strconv.Itoa(i)}).(v1.Image)
		last = push(t, host, "big/many", "t"+strconv.Itoa(i), img)
	}
	for i := range 20 {
		mustAPI(t, host, "POST", "/projects/big/repositories/many/artifacts/"+last+"/tags", `{"name":"extra`+strconv.Itoa(i)+`"}`, 201)
	}
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	body := b.page("/projects/big/repository?name=many")
	if artRows(body) != 15 || !strings.Contains(body, `data-test="total">200<`) || !strings.Contains(body, `data-test="page-of">1 / 14<`) {
		t.Fatalf("the first page: %s", body)
	}
	if !strings.Contains(body, `data-test="more-tags">&#43;18 more<`) {
		t.Errorf("the newest artifact's tags: %s", body)
	}
	body = b.page("/projects/big/repository?name=many&page=14")
	if artRows(body) != 5 {
		t.Errorf("the last page: %d rows", artRows(body))
	}
	// The artifact's own page pages its 21 tags, 15 at a time.
	art := "/projects/big/artifact?repo=many&ref=" + url.QueryEscape(last)
	body = b.page(art)
	if n := strings.Count(body, `data-test="tag"`); n != 15 || !strings.Contains(body, `data-test="page-of">1 / 2<`) || !strings.Contains(body, `data-test="total">21<`) {
		t.Errorf("the artifact's first page of tags: %d tags\n%s", n, body)
	}
	body = b.page(art + "&tpage=2")
	if n := strings.Count(body, `data-test="tag"`); n != 6 || !strings.Contains(body, `data-test="page-of">2 / 2<`) {
		t.Errorf("the artifact's second page of tags: %d tags", n)
	}
}

// Scanning through the portal: the page shows the scan's progress, then
// the severity bar; the vulnerabilities tab lists the Alpine fixture's
// CVEs and filters them by severity; the SBOM is an accessory.
func TestArtifactsScan(t *testing.T) {
	host := startServer(t, func(c *server.Config) { c.Scan.OSVDB = "../scan/builtin/testdata/osv" })
	mustAPI(t, host, "POST", "/projects", `{"project_name":"team"}`, 201)
	d := push(t, host, "team/alpine", "3.18", testscan.RootfsImage(t, "../scan/builtin/testdata/rootfs/alpine-3.18"))
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	back := "/projects/team/repository?name=alpine"
	body := b.page(back)
	if !strings.Contains(body, `data-test="not-scanned"`) || !strings.Contains(body, `data-test="scan"`) {
		t.Fatalf("before the scan: %s", body)
	}
	code, body := b.post("/projects/team/artifact/scan", url.Values{"repo": {"alpine"}, "ref": {d}, "back": {back}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Fatalf("scanning: %d\n%s", code, body)
	}
	eventually.True(t, "the scan to succeed", func() bool {
		var art struct {
			ScanOverview map[string]struct {
				ScanStatus string `json:"scan_status"`
			} `json:"scan_overview"`
		}
		_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/projects/team/repositories/alpine/artifacts/"+d, "", 200)), &art)
		status := ""
		for _, o := range art.ScanOverview {
			status = o.ScanStatus
		}
		if status == "Error" {
			t.Fatalf("the scan: %q", status)
		}
		// Meanwhile the page polls for the scan's progress.
		if status == "Pending" || status == "Running" {
			if _, live := b.get(back); !strings.Contains(live, `data-poll="2000"`) {
				t.Errorf("a running scan without live progress: %s", live)
			}
		}
		return status == "Success"
	})
	body = b.page(back)
	if !strings.Contains(body, `data-test="sev-bar"`) || !strings.Contains(body, `class="sev-critical w-`) || strings.Contains(body, `data-poll=`) {
		t.Errorf("the severity bar: %s", body)
	}
	// The live fragment alone.
	_, frag := b.fragment(back)
	if !strings.HasPrefix(frag, `<div id="artifacts"`) || strings.Contains(frag, "<html") {
		t.Errorf("the fragment: %s", frag)
	}

	art := "/projects/team/artifact?repo=alpine&ref=3.18"
	_, frag = b.fragment(art)
	if !strings.HasPrefix(frag, `<div id="scan-state"`) || !strings.Contains(frag, `data-test="show-report"`) || strings.Contains(frag, "data-poll") {
		t.Errorf("the artifact's fragment: %s", frag)
	}
	// In Chinese too.
	req, _ := http.NewRequest("GET", "http://"+host+art, nil)
	req.Header.Set("Accept-Language", "zh-CN")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	zh, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(zh), "严重") {
		t.Errorf("in Chinese: %d %s", resp.StatusCode, zh)
	}
	body = b.page(art)
	for _, want := range []string{"CVE-2022-48174", "CVE-2023-5363", "busybox", `data-test="sev-bar"`, `aria-current="page" data-test="tab-vulnerabilities"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the vulnerabilities tab lacks %q", want)
		}
	}
	body = b.page(art + "&tab=vulnerabilities&severity=Critical")
	if !strings.Contains(body, "CVE-2022-48174") || strings.Contains(body, "CVE-2023-5363") || strings.Contains(body, "CVE-2023-2975") {
		t.Errorf("critical only: %s", body)
	}
	body = b.page(art + "&tab=vulnerabilities&severity=High&fixable=on")
	if strings.Contains(body, "CVE-2022-48174") || !strings.Contains(body, "CVE-2023-5363") {
		t.Errorf("high and fixable: %s", body)
	}
	body = b.page(art + "&tab=accessories")
	if !strings.Contains(body, `data-test="accessory"`) || !strings.Contains(body, "SBOM") {
		t.Errorf("the accessories: %s", body)
	}
	body = b.page(art + "&tab=sbom")
	if !strings.Contains(body, `data-test="sbom"`) || !strings.Contains(body, "oras pull "+host+"/team/alpine@sha256:") {
		t.Errorf("the SBOM tab: %s", body)
	}
	// The download link gives the scanner's SBOM document itself.
	link := regexp.MustCompile(`href="(/projects/team/artifact/sbom\?[^"]+)"`).FindStringSubmatch(body)
	if link == nil {
		t.Fatalf("no SBOM download link: %s", body)
	}
	code, doc := b.get(html.UnescapeString(link[1]))
	if code != http.StatusOK || !strings.Contains(doc, "alpine") || !(strings.Contains(doc, "spdxVersion") || strings.Contains(doc, "bomFormat")) {
		t.Errorf("the SBOM download: %d %.300s", code, doc)
	}
	body = b.page(art + "&tab=build-history")
	if !strings.Contains(body, `aria-current="page" data-test="tab-build-history"`) {
		t.Errorf("the build history tab: %s", body)
	}
}
