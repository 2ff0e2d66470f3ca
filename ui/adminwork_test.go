package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testscan"
	"github.com/berthreg/berth/scan/builtin"
	"github.com/berthreg/berth/server"
)

// The built-in scanner's fixtures: a real Alpine 3.18.2 root file system
// and real OSV advisories for its packages.
const (
	awAlpineRootFS = "../scan/builtin/testdata/rootfs/alpine-3.18"
	awOSVFixtures  = "../scan/builtin/testdata/osv"
)

// awUser makes a non-admin account and returns its signed-in browser.
func awUser(t *testing.T, host string) *browser {
	t.Helper()
	mustAPI(t, host, "POST", "/users", `{"username":"norm","password":"norm-password-1"}`, 201)
	u := newBrowser(t, host)
	u.signIn("norm", "norm-password-1")
	return u
}

// awRefused checks that a non-admin gets the API's 403 as the error page,
// with no data and no button of the page.
func awRefused(t *testing.T, u *browser, path string) {
	t.Helper()
	code, body := u.get(path)
	if code != http.StatusForbidden || !strings.Contains(body, `data-test="error"`) || strings.Contains(body, `<table`) ||
		strings.Contains(body, `data-test="delete`) || strings.Contains(body, `data-poll`) {
		t.Errorf("a non-admin on %s: %d\n%s", path, code, body)
	}
}

// Garbage collection: a dry run started in the portal finishes, the
// page and its live part show it finished and dry, its own page shows
// its log; the schedule is set through the portal; a non-admin gets
// the API's refusal.
func TestAdminGC(t *testing.T) {
	host := startServer(t)
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)

	body := b.page("/admin/gc")
	for _, want := range []string{`data-test="gc-run"`, `data-test="gc-dry-run"`, `data-test="gc-schedule"`, `data-test="gc-none"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the empty page lacks %s:\n%s", want, body)
		}
	}
	code, body := b.post("/admin/gc/run", url.Values{"dry_run": {"1"}, "back": {"/admin/gc"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Fatalf("starting a dry run: %d\n%s", code, body)
	}
	var runs []struct {
		ID        uint64 `json:"id"`
		JobStatus string `json:"job_status"`
	}
	eventually.True(t, "the dry run to finish", func() bool {
		_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/system/gc", "", 200)), &runs)
		return len(runs) == 1 && (runs[0].JobStatus == "Success" || runs[0].JobStatus == "Error" || runs[0].JobStatus == "Stopped")
	})
	if runs[0].JobStatus != "Success" {
		t.Errorf("the dry run ended %s", runs[0].JobStatus)
	}
	id := jsonID(runs[0].ID)
	body = b.page("/admin/gc")
	if strings.Count(body, `data-test="gc-row"`) != 1 || !regexp.MustCompile(`data-test="gc-dry">Yes<`).MatchString(body) ||
		!strings.Contains(body, `data-test="gc-status" data-status="Success">Success<`) || !strings.Contains(body, `href="/admin/gc/`+id+`"`) {
		t.Errorf("the finished dry run on the page:\n%s", body)
	}
	code, frag := b.fragment("/admin/gc")
	if code != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(frag), `<div class="card gc-live" id="gc-live"`) ||
		strings.Contains(frag, "<html") || strings.Contains(frag, "data-poll") || !strings.Contains(frag, `data-status="Success"`) {
		t.Errorf("the live part of a finished run: %d\n%s", code, frag)
	}
	body = b.page("/admin/gc/" + id)
	if !strings.Contains(body, `data-test="gc-log"`) || !strings.Contains(body, "dry run: true") || strings.Contains(body, "data-poll") ||
		strings.Contains(body, `data-test="gc-stop"`) {
		t.Errorf("the run's page:\n%s", body)
	}
	// Stopping a finished run: the API's refusal, back on the page.
	code, body = b.post("/admin/gc/"+id+"/stop", url.Values{"back": {"/admin/gc/" + id}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("stopping a finished run: %d\n%s", code, body)
	}

	// The schedule.
	code, body = b.post("/admin/gc/schedule", url.Values{"type": {"Daily"}, "delete_untagged": {"on"}, "back": {"/admin/gc"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Fatalf("setting the schedule: %d\n%s", code, body)
	}
	out := mustAPI(t, host, "GET", "/system/gc/schedule", "", 200)
	if !strings.Contains(out, `"type":"Daily"`) || !strings.Contains(out, `"delete_untagged":true`) {
		t.Errorf("the schedule in the API: %s", out)
	}
	if body = b.page("/admin/gc"); !strings.Contains(body, `<option value="Daily" selected>`) {
		t.Errorf("the schedule on the page:\n%s", body)
	}

	// A non-admin sees the refusal, and the API refuses a forged form.
	u := awUser(t, host)
	awRefused(t, u, "/admin/gc")
	awRefused(t, u, "/admin/gc/"+id)
	code, body = u.post("/admin/gc/run", url.Values{"back": {"/projects"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a non-admin running GC: %d\n%s", code, body)
	}
	if n := len(names(t, mustAPI(t, host, "GET", "/system/gc", "", 200))); n != 1 {
		t.Errorf("%d runs after the forged form, want 1", n)
	}
}

// jsonID writes an id.
func jsonID(id uint64) string { b, _ := json.Marshal(id); return string(b) }

// Scanners, scan-all, the job queue, the vulnerabilities and the CVE
// export: the built-in scanner is listed; a scan-all started in the
// portal scans a pushed Alpine image with real CVEs; the jobs page lists
// the scan jobs; the summary counts the CVEs; an export started in the
// portal finishes and downloads as CSV through the portal; a non-admin
// sees none of it.
func TestAdminScanning(t *testing.T) {
	host := startServer(t, func(c *server.Config) { c.Scan.OSVDB = awOSVFixtures })
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"vulns"}`, 201)
	push(t, host, "vulns/alpine", "3.18", testscan.RootfsImage(t, awAlpineRootFS))

	// The scanners page lists the built-in scanner, healthy, as default.
	body := b.page("/admin/scanners")
	if !strings.Contains(body, `data-test="scanner-link">builtin<`) || !strings.Contains(body, `data-test="scanner-builtin"`) || !strings.Contains(body, "Healthy") ||
		strings.Contains(body, `data-test="delete-scanner"`) || !strings.Contains(body, `data-test="scan-all-now"`) {
		t.Errorf("the scanners page:\n%s", body)
	}
	body = b.page("/admin/scanners/builtin")
	if !strings.Contains(body, `data-test="scanner-metadata"`) || !strings.Contains(body, `data-test="meta-name">`+builtin.Name) {
		t.Errorf("the scanner's metadata:\n%s", body)
	}
	// A registration added, disabled and deleted through the portal.
	code, body := b.post("/admin/scanners", url.Values{"name": {"remote"}, "url": {"http://127.0.0.1:9/"}, "auth": {"Bearer"},
		"access_credential": {"key-1"}, "back": {"/admin/scanners"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, `data-test="delete-scanner"`) {
		t.Fatalf("adding a scanner: %d\n%s", code, body)
	}
	b.post("/admin/scanners/remote/enabled", url.Values{"disabled": {"true"}, "back": {"/admin/scanners"}})
	if out := mustAPI(t, host, "GET", "/scanners/remote", "", 200); !strings.Contains(out, `"disabled":true`) {
		t.Errorf("after disabling: %s", out)
	}
	b.post("/admin/scanners/remote/delete", url.Values{"back": {"/admin/scanners"}})
	mustAPI(t, host, "GET", "/scanners/remote", "", 404)

	// Scan-all from the portal scans the image.
	code, body = b.post("/admin/scanners/scan-all", url.Values{"back": {"/admin/scanners"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Fatalf("scan all: %d\n%s", code, body)
	}
	var art struct {
		ScanOverview map[string]struct {
			ScanStatus string `json:"scan_status"`
		} `json:"scan_overview"`
	}
	eventually.True(t, "the scan-all's scan of the image", func() bool {
		_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/projects/vulns/repositories/alpine/artifacts/3.18", "", 200)), &art)
		for _, o := range art.ScanOverview {
			if o.ScanStatus == "Error" {
				t.Fatalf("the scan failed: %+v", art)
			}
			if o.ScanStatus == "Success" {
				return true
			}
		}
		return false
	})
	eventually.True(t, "the scan-all job to finish", func() bool {
		return strings.Contains(mustAPI(t, host, "GET", "/jobs?kind=scan.all&state=succeeded", "", 200), `"scan.all"`) &&
			strings.TrimSpace(mustAPI(t, host, "GET", "/jobs?kind=scan.artifact&state=running", "", 200)) == "[]" &&
			strings.TrimSpace(mustAPI(t, host, "GET", "/jobs?kind=scan.artifact&state=pending", "", 200)) == "[]"
	})
	body = b.page("/admin/scanners")
	if !strings.Contains(body, `data-test="scan-all-state">Succeeded<`) || !regexp.MustCompile(`data-test="scan-done">[1-9]`).MatchString(body) {
		t.Errorf("scan-all's progress:\n%s", body)
	}
	if _, frag := b.fragment("/admin/scanners"); !strings.HasPrefix(strings.TrimSpace(frag), `<section class="card" id="scan-all-live"`) || strings.Contains(frag, "data-poll") {
		t.Errorf("the live part of a finished scan-all:\n%s", frag)
	}
	code, body = b.post("/admin/scanners/scan-all/schedule", url.Values{"type": {"Custom"}, "cron": {"0 0 5 * * *"}, "back": {"/admin/scanners"}})
	if out := mustAPI(t, host, "GET", "/system/scanAll/schedule", "", 200); code != http.StatusOK || !strings.Contains(out, `"cron":"0 0 5 * * *"`) {
		t.Errorf("the scan-all schedule: %s\n%s", out, body)
	}

	// The job queue lists the scan jobs; a job's page; retrying a
	// succeeded job is the API's refusal.
	body = b.page("/admin/jobs")
	if !strings.Contains(body, "<code>scan.all</code>") || !strings.Contains(body, "<code>scan.artifact</code>") {
		t.Errorf("the job queue:\n%s", body)
	}
	body = b.page("/admin/jobs?state=succeeded&kind=scan.all")
	m := regexp.MustCompile(`href="/admin/jobs/(\d+)" data-test="job-link"`).FindStringSubmatch(body)
	if m == nil || strings.Contains(body, "<code>scan.artifact</code>") {
		t.Fatalf("the succeeded scan.all jobs:\n%s", body)
	}
	body = b.page("/admin/jobs/" + m[1])
	if !strings.Contains(body, `data-test="job-state">Succeeded<`) || strings.Contains(body, `data-test="job-retry"`) || strings.Contains(body, `data-test="job-cancel"`) {
		t.Errorf("a job's page:\n%s", body)
	}
	code, body = b.post("/admin/jobs/"+m[1]+"/retry", url.Values{"back": {"/admin/jobs/" + m[1]}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("retrying a succeeded job: %d\n%s", code, body)
	}
	if body = b.page("/admin/jobs?state=dead"); strings.Contains(body, `data-test="job-row"`) {
		t.Errorf("dead jobs where there are none:\n%s", body)
	}

	// The vulnerability summary and the search.
	body = b.page("/admin/security")
	if !regexp.MustCompile(`data-test="vul-count-Critical">[1-9]`).MatchString(body) || !regexp.MustCompile(`data-test="vul-count-High">[1-9]`).MatchString(body) ||
		!strings.Contains(body, "CVE-2022-48174") || !strings.Contains(body, `data-test="dangerous-artifact"`) {
		t.Errorf("the summary:\n%s", body)
	}
	body = b.page("/admin/security?cve_id=CVE-2023-5363&severity=High")
	if _, results, _ := strings.Cut(body, `data-test="vul-results"`); strings.Count(results, `data-test="vul-row"`) != 2 || strings.Contains(results, "CVE-2023-2975") {
		t.Errorf("searching a CVE:\n%s", body)
	}
	if body = b.page("/admin/security?severity=Bogus"); !strings.Contains(body, `data-test="vul-search-error"`) {
		t.Errorf("a bad search:\n%s", body)
	}

	// The CVE export, started, finished, downloaded through the portal.
	code, body = b.post("/admin/security/exports", url.Values{"project": {"vulns"}, "cve_ids": {"CVE-2022-48174"}, "back": {"/admin/security/exports"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Fatalf("starting an export: %d\n%s", code, body)
	}
	var ex struct {
		Items []struct {
			ID     uint64 `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	eventually.True(t, "the export to finish", func() bool {
		_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/export/cve/executions", "", 200)), &ex)
		return len(ex.Items) == 1 && ex.Items[0].Status != "Pending" && ex.Items[0].Status != "Running"
	})
	exID := jsonID(ex.Items[0].ID)
	body = b.page("/admin/security/exports")
	if ex.Items[0].Status != "Success" || !strings.Contains(body, `href="/admin/security/exports/`+exID+`/download"`) || strings.Contains(body, "data-poll") {
		t.Fatalf("the finished export (%s):\n%s", ex.Items[0].Status, body)
	}
	resp, err := b.c.Get("http://" + host + "/admin/security/exports/" + exID + "/download")
	if err != nil {
		t.Fatal(err)
	}
	csv, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(csv), "CVE-2022-48174") ||
		strings.Contains(string(csv), "CVE-2023-5363") {
		t.Errorf("the download: %d %v\n%s", resp.StatusCode, resp.Header, csv)
	}

	// A job canceled and retried through the portal: a scan through an
	// adapter that does not answer stays active (retried with backoff).
	mustAPI(t, host, "POST", "/scanners", `{"name":"silent","url":"http://127.0.0.1:9/"}`, 201)
	mustAPI(t, host, "PUT", "/projects/vulns/scanner", `{"uuid":"silent"}`, 200)
	mustAPI(t, host, "POST", "/projects/vulns/repositories/alpine/artifacts/3.18/scan", "", 202)
	var jobs []struct {
		ID    uint64 `json:"id"`
		State string `json:"state"`
	}
	eventually.True(t, "the scan job", func() bool {
		_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/jobs?kind=scan.artifact&page_size=100", "", 200)), &jobs)
		return len(jobs) > 0 && (jobs[len(jobs)-1].State == "pending" || jobs[len(jobs)-1].State == "running")
	})
	jobID := jsonID(jobs[len(jobs)-1].ID)
	if body = b.page("/admin/jobs/" + jobID); !strings.Contains(body, `data-test="job-cancel"`) {
		t.Errorf("an active job's page:\n%s", body)
	}
	code, body = b.post("/admin/jobs/"+jobID+"/cancel", url.Values{"back": {"/admin/jobs/" + jobID}})
	if out := mustAPI(t, host, "GET", "/jobs/"+jobID, "", 200); code != http.StatusOK || !strings.Contains(out, `"state":"canceled"`) ||
		!strings.Contains(body, `data-test="job-retry"`) {
		t.Fatalf("canceling a job: %d %s\n%s", code, out, body)
	}
	if body = b.page("/admin/jobs?state=canceled"); !strings.Contains(body, `href="/admin/jobs/`+jobID+`"`) || !strings.Contains(body, `data-test="job-retry"`) {
		t.Errorf("the canceled jobs:\n%s", body)
	}
	code, body = b.post("/admin/jobs/"+jobID+"/retry", url.Values{"back": {"/admin/jobs/" + jobID}})
	if out := mustAPI(t, host, "GET", "/jobs/"+jobID, "", 200); code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) || strings.Contains(out, `"state":"canceled"`) {
		t.Errorf("retrying a canceled job: %d %s\n%s", code, out, body)
	}
	api(t, host, "admin", adminPassword, "POST", "/jobs/"+jobID+"/cancel", "")

	// A non-admin sees none of it.
	u := awUser(t, host)
	for _, p := range []string{"/admin/scanners", "/admin/scanners/builtin", "/admin/jobs", "/admin/jobs/" + m[1], "/admin/security", "/admin/security/exports"} {
		awRefused(t, u, p)
	}
	if code, _ := u.get("/admin/security/exports/" + exID + "/download"); code != http.StatusNotFound {
		t.Errorf("a non-admin downloading the admin's export: %d", code)
	}
	code, body = u.post("/admin/scanners/scan-all", url.Values{"back": {"/projects"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a non-admin scanning all: %d\n%s", code, body)
	}
}

// The audit log lists the project's creation, filters by operation, and
// purges through the portal; a non-admin gets the API's refusal.
func TestAdminAudit(t *testing.T) {
	host := startServer(t)
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	b.post("/projects", url.Values{"name": {"audited"}, "back": {"/projects"}})
	mustAPI(t, host, "GET", "/projects/audited", "", 200)
	eventually.True(t, "the audit entry", func() bool {
		return strings.Contains(mustAPI(t, host, "GET", "/audit-logs?q=operation=CREATE_PROJECT", "", 200), "audited")
	})
	body := b.page("/admin/audit")
	if !strings.Contains(body, `data-test="audit-op">CREATE_PROJECT<`) || !strings.Contains(body, "audited") || !strings.Contains(body, `data-test="total"`) {
		t.Errorf("the audit log:\n%s", body)
	}
	body = b.page("/admin/audit?operation=CREATE_PROJECT&resource=audit")
	if strings.Count(body, `data-test="audit-row"`) != 1 || !strings.Contains(body, `<option value="CREATE_PROJECT" selected>`) {
		t.Errorf("filtering the audit log:\n%s", body)
	}
	if body = b.page("/admin/audit?operation=DELETE_PROJECT"); strings.Contains(body, `data-test="audit-row"`) {
		t.Errorf("filtering on a missing operation:\n%s", body)
	}
	// Filtered pages go on by the API's cursor.
	for i := range 16 {
		mustAPI(t, host, "POST", "/projects", `{"project_name":"many-`+jsonID(uint64(i))+`"}`, 201)
	}
	eventually.True(t, "the audit entries", func() bool {
		return strings.Contains(mustAPI(t, host, "GET", "/audit-logs?q=resource%3D~many-15", "", 200), "many-15")
	})
	body = b.page("/admin/audit?operation=CREATE_PROJECT")
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(body)
	if strings.Count(body, `data-test="audit-row"`) != 15 || next == nil {
		t.Fatalf("the first filtered page:\n%s", body)
	}
	body = b.page(strings.ReplaceAll(next[1], "&amp;", "&"))
	if n := strings.Count(body, `data-test="audit-row"`); n < 2 || !strings.Contains(body, `data-test="first"`) || !strings.Contains(body, ">audited<") {
		t.Errorf("the next filtered page (%d rows):\n%s", n, body)
	}
	code, body := b.post("/admin/audit/purge", url.Values{"hours": {"1000"}, "back": {"/admin/audit"}})
	if code != http.StatusOK || !strings.Contains(body, "Audit log purged: 0 entries deleted.") {
		t.Errorf("purging: %d\n%s", code, body)
	}
	u := awUser(t, host)
	awRefused(t, u, "/admin/audit")
	code, body = u.post("/admin/audit/purge", url.Values{"hours": {"0"}, "back": {"/projects"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a non-admin purging: %d\n%s", code, body)
	}
}
