package browsertest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// scanLimit bounds the wait for a scan on push (a few seconds on a quiet
// machine).
const scanLimit = 3 * time.Minute

// TestAdminSetup (scenario a): signed out, a page sends the browser to
// sign in, a wrong password is refused; the administrator signs in,
// creates a private project, a user (on the admin users page), adds the
// user to the project as a guest, and creates a robot account whose
// secret the page shows once: the secret works against the registry's
// token service, and a reload of the page no longer shows it. Signing
// out ends the session.
func TestAdminSetup(t *testing.T) {
	b := startBerth(t)
	p := b.newBrowser(t, desktopWidth, desktopHeight)

	if _, at := p.navigate("/projects"); !strings.HasPrefix(at, "/login") {
		t.Fatalf("signed out, /projects ended at %s, not the sign-in page", at)
	}
	if at := p.signInHere("admin", "not-the-password"); !strings.HasPrefix(at, "/login") || p.count(`[data-test="flash-error"]`) != 1 {
		t.Fatalf("a wrong password ended at %s without an error message: %s", at, p.text("main"))
	}
	if at := p.signInHere("admin", adminPassword); at != "/projects" {
		t.Fatalf("signing in ended at %s, not /projects", at)
	}
	if who := p.text(`[data-test="who"]`); who != "admin" {
		t.Errorf("the header names %q as signed in, want admin", who)
	}

	// A private project.
	p.open("/projects")
	p.reveal(`[data-test="new-project"]`)
	p.fill(`[data-test="project-name"]`, project)
	p.check(`[data-test="project-public"]`, false)
	if at := p.submitOK(`[data-test="create-project"]`); at != "/projects/"+project {
		t.Fatalf("creating the project ended at %s", at)
	}
	var proj struct {
		Metadata struct {
			Public string `json:"public"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(b.api(t, "GET", "/projects/"+project, "", 200), &proj); err != nil || proj.Metadata.Public != "false" {
		t.Fatalf("the API has the project with public=%q (%v), want a private project", proj.Metadata.Public, err)
	}
	p.screenshot("project")

	// A user, on the admin users page.
	p.open("/admin/users")
	p.reveal(`[data-test="new-user"]`)
	form := `form:has([data-test="create-user"]) `
	p.fill(form+`input[name="username"]`, guestUser)
	p.fill(form+`input[name="email"]`, guestEmail)
	p.fill(form+`input[name="realname"]`, "Gina Guest")
	p.fill(form+`input[name="password"]`, guestPassword)
	p.submitOK(`[data-test="create-user"]`)
	p.waitVisible(`[data-test="users"]`)
	if !strings.Contains(p.text(`[data-test="users"]`), guestUser) {
		t.Fatalf("the users page does not list %s: %s", guestUser, p.text("main"))
	}
	if code, out, _, err := b.call(t.Context(), "GET", "/users/current", "", guestUser, guestPassword); err != nil || code != http.StatusOK {
		t.Fatalf("the new user cannot sign in to the API with the password given: %d %s %v", code, out, err)
	}

	// The user joins the project as a guest.
	p.open("/projects/" + project + "/members")
	p.reveal(`[data-test="new-member"]`)
	form = `form:has([data-test="add-member"]) `
	p.fill(form+`input[name="username"]`, guestUser)
	p.choose(form+`select`, "3", "Guest")
	p.submitOK(`[data-test="add-member"]`)
	p.waitVisible(`[data-test="members"]`)
	if row := p.text(p.pickNear(`[data-test="members"] tbody tr`, guestUser)); !strings.Contains(row, "Guest") {
		t.Fatalf("the members page shows %s as %q, not a guest", guestUser, row)
	}
	var members []member
	if err := json.Unmarshal(b.api(t, "GET", "/projects/"+project+"/members", "", 200), &members); err != nil {
		t.Fatal(err)
	}
	if !hasMember(members, guestUser, 3) {
		t.Fatalf("the API's members %+v: no %s as guest (3)", members, guestUser)
	}
	p.screenshot("members")

	// A robot account: its secret is shown once.
	robots := "/projects/" + project + "/robots"
	p.open(robots)
	p.reveal(`[data-test="new-robot"]`)
	p.fill(`form:has([data-test="create-robot"]) input[name="name"]`, "ci")
	p.submitOK(`[data-test="create-robot"]`)
	p.waitVisible(`[data-test="robot-secret"]`)
	secret := strings.TrimSpace(p.text(`[data-test="robot-secret"]`))
	robot := strings.TrimSpace(p.text(`[data-test="robot-name"]`))
	if secret == "" || robot == "" {
		t.Fatalf("the robot's name %q and secret %q", robot, secret)
	}
	if !strings.Contains(robot, "ci") {
		t.Errorf("the robot is named %q, not after ci", robot)
	}
	if err := b.pullToken(robot, secret, project+"/alpine"); err != nil {
		t.Fatalf("the robot's secret as shown does not get a token: %v", err)
	}
	if err := b.pullToken(robot, secret+"x", project+"/alpine"); err == nil {
		t.Fatal("a wrong secret gets a token too: the check above proves nothing")
	}
	p.screenshot("robot-secret")
	p.open(robots)
	if n := p.count(`[data-test="robot-secret"]`); n != 0 {
		t.Fatalf("the robots page shows a secret again after a reload (%d)", n)
	}
	if html := eval[string](p, `document.documentElement.outerHTML`); strings.Contains(html, secret) {
		t.Fatal("the robots page holds the secret after a reload")
	}
	if !strings.Contains(p.text(`[data-test="robots"]`), robot) {
		t.Errorf("the robots page does not list %s: %s", robot, p.text("main"))
	}

	p.signOut()
	if _, at := p.navigate("/projects"); !strings.HasPrefix(at, "/login") {
		t.Fatalf("after signing out, /projects ended at %s, not the sign-in page", at)
	}
	p.screenshot("end")
}

// member is a project member as the API lists it.
type member struct {
	Name   string `json:"entity_name"`
	RoleID int    `json:"role_id"`
}

// hasMember reports a member name with role id role.
func hasMember(members []member, name string, role int) bool {
	for _, m := range members {
		if m.Name == name && m.RoleID == role {
			return true
		}
	}
	return false
}

// sevCounts matches the scan summary of the Alpine fixture: 1 critical,
// 2 high, 4 medium, 0 low, 0 other, in the portal's order.
var sevCounts = regexp.MustCompile(`\b1\D+2\D+4\D+0\D+0\b`)

// TestPushAndScan (scenario b): an image pushed with crane into the
// project shows on its repository page with its tag and size, then,
// once the built-in scanner has scanned it on push, its scan summary;
// its page shows its digest and its vulnerabilities.
func TestPushAndScan(t *testing.T) {
	b := startBerth(t, withAutoScan)
	b.api(t, "POST", "/projects", `{"project_name":"`+project+`"}`, 201)
	digest := b.newCrane(t, "admin", adminPassword).pushAlpine(t, project+"/alpine", "3.18")

	p := b.newBrowser(t, desktopWidth, desktopHeight)
	p.signIn("admin", adminPassword)
	p.open("/projects/" + project)
	repoPage := p.submit(p.pick(`[data-test="repo-link"]`, project+"/alpine"))
	p.waitVisible(`[data-test="artifact-row"]`)
	if tags := p.text(`[data-test="artifact-row"] [data-test="tag"]`); tags != "3.18" {
		t.Errorf("the artifact's tag is %q, want 3.18", tags)
	}
	if size := p.text(`[data-test="artifact-row"] [data-test="size"]`); !regexp.MustCompile(`^\d+(\.\d)? (B|KiB|MiB)$`).MatchString(size) || size == "0 B" {
		t.Errorf("the artifact's size is %q", size)
	}
	p.reloadUntil("the scan summary on the repository page", repoPage,
		`!!document.querySelector('[data-test="artifact-row"] [data-test="sev-bar"]')`, scanLimit)
	summary := p.attr(`[data-test="artifact-row"] [data-test="sev-bar"]`, "aria-label")
	if !sevCounts.MatchString(summary) {
		t.Errorf("the scan summary says %q; want 1 critical, 2 high, 4 medium, 0 low, 0 other", summary)
	}
	p.screenshot("repository")

	p.submit(`[data-test="artifact-row"] [data-test="artifact-link"]`)
	if got := p.text(`[data-test="digest"]`); got != digest {
		t.Errorf("the artifact page shows digest %q, want %s", got, digest)
	}
	if p.count(`[data-test="vulnerabilities"]`) == 0 {
		p.submit(`[data-test="tab-vulnerabilities"]`)
	}
	p.waitVisible(`[data-test="vulnerabilities"]`)
	if n := p.count(`[data-test="vuln"]`); n != alpineVulns {
		t.Errorf("the vulnerabilities page lists %d, want %d", n, alpineVulns)
	}
	rows := eval[map[string]string](p, `Object.fromEntries([...document.querySelectorAll('[data-test="vuln"]')].map(r =>
		[r.querySelector('[data-test="cve"]').innerText.trim() + " " + r.cells[1].innerText.trim(), r.querySelector('[data-test="severity"]').innerText.trim()]))`)
	for cve, pkg := range alpineCVEs {
		if _, ok := rows[cve+" "+pkg]; !ok {
			t.Errorf("the vulnerabilities page has no %s in %s: %v", cve, pkg, rows)
		}
	}
	if sev := rows["CVE-2022-48174 busybox"]; sev != "Critical" {
		t.Errorf("CVE-2022-48174 shows severity %q, want Critical", sev)
	}
	p.screenshot("vulnerabilities")
}

// TestLabelAndTag (scenario c): a label made on the project's labels
// page is added to an artifact on the artifact's page, and one of the
// artifact's two tags is deleted (through the confirmation); the API and
// the registry agree.
func TestLabelAndTag(t *testing.T) {
	b := startBerth(t)
	tm := newTeam(t, b)
	ref := b.host + "/" + project + "/alpine"
	tm.crane.run(t, "tag", ref+":3.18", "old")

	p := b.newBrowser(t, desktopWidth, desktopHeight)
	p.signIn("admin", adminPassword)
	const qa = "qa-passed"
	p.open("/projects/" + project + "/labels")
	p.reveal(`[data-test="new-label"]`)
	p.fill(`form:has([data-test="create-label"]) input[name="name"]`, qa)
	p.submitOK(`[data-test="create-label"]`)
	p.waitVisible(`[data-test="labels"]`)
	if !strings.Contains(p.text(`[data-test="labels"]`), qa) {
		t.Fatalf("the labels page does not list %s: %s", qa, p.text("main"))
	}

	p.open("/projects/" + project)
	p.submit(p.pick(`[data-test="repo-link"]`, project+"/alpine"))
	p.submit(`[data-test="artifact-row"] [data-test="artifact-link"]`)
	artifactPage := p.path()

	p.choose(`form:has([data-test="add-label"]) select[name="label"]`, qa)
	p.submitOK(`form:has(select[name="label"]) [data-test="add-label"]`)
	p.waitVisible(`[data-test="labels"] [data-test="label"]`)
	if got := p.text(`[data-test="labels"] [data-test="label"]`); got != qa {
		t.Errorf("the artifact's labels show %q, want %s", got, qa)
	}
	if a := b.artifact(t, "alpine", tm.digest); len(a.Labels) != 1 || a.Labels[0].Name != qa {
		t.Errorf("the API has labels %+v on the artifact, want %s", a.Labels, qa)
	}
	p.screenshot("label")

	if p.path() != artifactPage {
		p.open(artifactPage)
	}
	p.reveal(`details:has(input[name="tag"][value="old"]) > summary[data-test="delete-tag"]`)
	p.submitOK(`form:has(input[name="tag"][value="old"]) [data-test="delete-tag-confirm"]`)
	if p.path() != artifactPage {
		p.open(artifactPage)
	}
	tags := eval[[]string](p, `[...document.querySelectorAll('[data-test="tags"] [data-test="tag"]')].map(e => e.innerText.trim())`)
	if strings.Join(tags, ",") != "3.18" {
		t.Errorf("after deleting old the page shows tags %v, want [3.18]", tags)
	}
	if got := tm.crane.run(t, "ls", ref); got != "3.18" {
		t.Errorf("after deleting old the registry lists tags %q, want 3.18", got)
	}
	p.screenshot("end")
}

// TestGCDryRun (scenario d): a dry run of garbage collection started on
// /admin/gc shows its status live (the page refreshes itself) until it
// says it succeeded, marked as a dry run; the API has it so.
func TestGCDryRun(t *testing.T) {
	b := startBerth(t)
	tm := newTeam(t, b)
	// Something to collect: an artifact deleted.
	b.api(t, "DELETE", "/projects/"+project+"/repositories/alpine/artifacts/"+tm.digest, "", 200)

	p := b.newBrowser(t, desktopWidth, desktopHeight)
	p.signIn("admin", adminPassword)
	p.open("/admin/gc")
	p.submitOK(`[data-test="gc-dry-run"]`)
	p.waitVisible(`[data-test="gc-status"]`)
	p.waitFor("the run to finish", `(() => { const e = document.querySelector('[data-test="gc-status"]'); return !!e && e.dataset.status !== "Pending" && e.dataset.status !== "Running"; })()`)
	if st, text := p.attr(`[data-test="gc-status"]`, "data-status"), p.text(`[data-test="gc-status"]`); st != "Success" || text != "Success" {
		t.Fatalf("the run ended %s (%q): %s", st, text, p.text("main"))
	}
	if dry := p.text(`[data-test="gc-latest-dry"], [data-test="gc-run-live"] [data-test="gc-dry"]`); dry != "Yes" {
		t.Errorf("the run shows dry run %q, want Yes", dry)
	}
	var runs []struct {
		Status string `json:"job_status"`
		Params string `json:"job_parameters"`
	}
	if err := json.Unmarshal(b.api(t, "GET", "/system/gc", "", 200), &runs); err != nil || len(runs) != 1 {
		t.Fatalf("the API has runs %+v (%v), want 1", runs, err)
	}
	if runs[0].Status != "Success" || !regexp.MustCompile(`"dry_?[rR]un":\s*true`).MatchString(runs[0].Params) {
		t.Errorf("the API's run: %+v, want a successful dry run", runs[0])
	}
	p.screenshot("end")
}

// TestLanguage (scenario e): the header's language switch turns the
// portal into Chinese (<html lang="zh-CN"> and the messages), remembered
// on the next page, and back into English.
func TestLanguage(t *testing.T) {
	b := startBerth(t)
	p := b.newBrowser(t, desktopWidth, desktopHeight)
	p.signIn("admin", adminPassword)
	p.open("/projects")
	checkLang := func(lang, h1, logout string) {
		t.Helper()
		if got := p.attr("html", "lang"); got != lang {
			t.Errorf("<html lang=%q>, want %s", got, lang)
		}
		if got := p.text("main h1"); got != h1 {
			t.Errorf("the heading is %q, want %q", got, h1)
		}
		if got := p.text(`[data-test="logout"]`); got != logout {
			t.Errorf("the sign-out button says %q, want %q", got, logout)
		}
	}
	checkLang("en", "Projects", "Sign out")
	p.submitOK(`[data-test="lang-zh"]`)
	checkLang("zh-CN", "项目", "退出")
	p.screenshot("zh")
	p.open("/admin/gc")
	if got, h1 := p.attr("html", "lang"), p.text("main h1"); got != "zh-CN" || h1 != "垃圾清理" {
		t.Errorf("the next page is in %s with heading %q: the choice is not remembered", got, h1)
	}
	p.submitOK(`[data-test="lang-en"]`)
	if got, h1 := p.attr("html", "lang"), p.text("main h1"); got != "en" || h1 != "Garbage collection" {
		t.Errorf("back in English: %s, heading %q", got, h1)
	}
	p.open("/projects")
	checkLang("en", "Projects", "Sign out")
	p.screenshot("end")
}

// deleteControls selects every control the portal marks as deleting.
const deleteControls = `[data-test^="delete"]`

// TestGuestSeesNoDelete (scenario f): a guest of the project finds no
// delete control on its repositories, repository and artifact pages,
// where the administrator finds them.
func TestGuestSeesNoDelete(t *testing.T) {
	b := startBerth(t)
	newTeam(t, b)
	p := b.newBrowser(t, desktopWidth, desktopHeight)
	visit := func(user string) (counts []int) {
		t.Helper()
		p.open("/projects/" + project)
		counts = append(counts, p.count(deleteControls))
		p.submit(p.pick(`[data-test="repo-link"]`, project+"/alpine"))
		p.waitVisible(`[data-test="artifact-row"]`)
		counts = append(counts, p.count(deleteControls))
		p.submit(`[data-test="artifact-row"] [data-test="artifact-link"]`)
		counts = append(counts, p.count(deleteControls))
		p.screenshot(user)
		return counts
	}
	p.signIn("admin", adminPassword)
	for i, n := range visit("admin") {
		if n == 0 {
			t.Fatalf("the administrator finds no delete control on page %d of 3: the guest's check would prove nothing", i+1)
		}
	}
	p.signOut()
	p.signIn(guestUser, guestPassword)
	for i, n := range visit("guest") {
		if n != 0 {
			t.Errorf("the guest finds %d delete controls on page %d of 3 (%s)", n, i+1, p.location())
		}
	}
}

// TestNarrowScreen (scenario i): on a 360 px wide screen the projects
// page, with a full page of long project names, scrolls only up and
// down.
func TestNarrowScreen(t *testing.T) {
	b := startBerth(t)
	b.seedProjects(t, "a-project-with-a-rather-long-name-", 20)
	p := b.newBrowser(t, narrowWidth, narrowHeight)
	p.signIn("admin", adminPassword)
	p.open("/projects")
	if w := eval[int](p, `innerWidth`); w != narrowWidth {
		t.Fatalf("the window is %d px wide, want %d", w, narrowWidth)
	}
	p.waitVisible(`[data-test="projects"]`)
	if sw, w := eval[int](p, `document.scrollingElement.scrollWidth`), eval[int](p, `innerWidth`); sw > w {
		t.Errorf("the projects page is %d px wide in a %d px window: it scrolls sideways", sw, w)
	}
	p.screenshot("end")
}
