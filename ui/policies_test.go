package ui_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
)

// projectIDOf returns a project's id through the API.
func projectIDOf(t *testing.T, host, project string) string {
	t.Helper()
	var p struct {
		ID uint64 `json:"project_id"`
	}
	if err := json.Unmarshal([]byte(mustAPI(t, host, "GET", "/projects/"+project, "", 200)), &p); err != nil {
		t.Fatal(err)
	}
	return strconv.FormatUint(p.ID, 10)
}

// publicKeyPEM returns a fresh ECDSA public key in PEM.
func publicKeyPEM(t *testing.T) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Each policy form of the portal changes what the API answers, and the
// page shows it: quota, immutability, content trust, scanning settings,
// the CVE allowlist and the scanner.
func TestPoliciesForms(t *testing.T) {
	host := startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"pol"}`, 201)
	id := projectIDOf(t, host, "pol")
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	body := b.page("/projects/pol/policies")
	for _, want := range []string{`aria-current="page">Policies`, `data-test="quota-save"`, `data-test="retention-none"`, `data-test="immutable-add"`, `data-test="trust-save"`, `data-test="scanning-save"`, `data-test="allowlist-save"`} {
		if !strings.Contains(body, want) {
			t.Errorf("policies page lacks %s:\n%s", want, body)
		}
	}

	// Quota.
	code, body := b.post("/projects/pol/policies/quota", url.Values{"storage_limit": {"2"}, "back": {"/projects/pol/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, "2.0 GiB") {
		t.Errorf("setting the quota: %d\n%s", code, body)
	}
	if out := mustAPI(t, host, "GET", "/quotas/"+id, "", 200); !strings.Contains(out, `"hard":{"storage":2147483648}`) {
		t.Errorf("quota after the form: %s", out)
	}
	_, body = b.post("/projects/pol/policies/quota", url.Values{"storage_limit": {"lots"}, "back": {"/projects/pol/policies"}})
	if !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a bad quota: %s", body)
	}

	// Immutability: a rule made in the portal holds in the registry.
	pushRandom(t, host, "pol/app", "v1")
	code, body = b.post("/projects/pol/policies/immutable", url.Values{"repo_dec": {"matches"}, "repo": {"**"}, "tag_dec": {"matches"}, "tag": {"v*"}, "back": {"/projects/pol/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, "<code>v*</code>") || !strings.Contains(body, `data-test="delete-immutable-rule"`) {
		t.Fatalf("adding an immutability rule: %d\n%s", code, body)
	}
	var rules []struct {
		ID           int64 `json:"id"`
		Disabled     bool  `json:"disabled"`
		TagSelectors []struct {
			Pattern string `json:"pattern"`
		} `json:"tag_selectors"`
	}
	if err := json.Unmarshal([]byte(mustAPI(t, host, "GET", "/projects/pol/immutabletagrules", "", 200)), &rules); err != nil || len(rules) != 1 || rules[0].TagSelectors[0].Pattern != "v*" {
		t.Fatalf("rules after the form: %+v %v", rules, err)
	}
	if code, out := api(t, host, "admin", adminPassword, "DELETE", "/projects/pol/repositories/app/artifacts/v1/tags/v1", ""); code == 200 {
		t.Errorf("deleting an immutable tag: %d %s", code, out)
	}
	rid := strconv.FormatInt(rules[0].ID, 10)
	_, body = b.post("/projects/pol/policies/immutable/"+rid+"/toggle", url.Values{"disabled": {"true"}, "back": {"/projects/pol/policies"}})
	if !strings.Contains(body, `data-test="immutable-enable"`) {
		t.Errorf("after disabling the rule: %s", body)
	}
	if out := mustAPI(t, host, "GET", "/projects/pol/immutabletagrules", "", 200); !strings.Contains(out, `"disabled":true`) {
		t.Errorf("rule after disabling: %s", out)
	}
	b.post("/projects/pol/policies/immutable/"+rid+"/toggle", url.Values{"disabled": {"false"}, "back": {"/projects/pol/policies"}})
	if out := mustAPI(t, host, "GET", "/projects/pol/immutabletagrules", "", 200); !strings.Contains(out, `"disabled":false`) {
		t.Errorf("rule after enabling: %s", out)
	}
	_, body = b.post("/projects/pol/policies/immutable/"+rid+"/delete", url.Values{"back": {"/projects/pol/policies"}})
	if strings.Contains(body, `data-test="delete-immutable-rule"`) {
		t.Errorf("after deleting the rule: %s", body)
	}
	if out := mustAPI(t, host, "GET", "/projects/pol/immutabletagrules", "", 200); out != "[]" && strings.TrimSpace(out) != "[]" {
		t.Errorf("rules after deleting: %s", out)
	}

	// Content trust: a key, then required.
	key := publicKeyPEM(t)
	code, body = b.post("/projects/pol/policies/trust", url.Values{"enabled": {"on"}, "keys": {key}, "identities": {""}, "back": {"/projects/pol/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, "Signatures required · 1 keys") {
		t.Errorf("setting content trust: %d\n%s", code, body)
	}
	var tr struct {
		Enabled bool     `json:"enabled"`
		Keys    []string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(mustAPI(t, host, "GET", "/projects/pol/trust", "", 200)), &tr); err != nil || !tr.Enabled || len(tr.Keys) != 1 || strings.TrimSpace(tr.Keys[0]) != strings.TrimSpace(key) {
		t.Errorf("trust after the form: %+v %v", tr, err)
	}
	_, body = b.post("/projects/pol/policies/trust", url.Values{"enabled": {"on"}, "keys": {"not a key"}, "back": {"/projects/pol/policies"}})
	if !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a bad key: %s", body)
	}
	b.post("/projects/pol/policies/trust", url.Values{"keys": {""}, "back": {"/projects/pol/policies"}})
	if out := mustAPI(t, host, "GET", "/projects/pol/trust", "", 200); !strings.Contains(out, `"enabled":false`) {
		t.Errorf("trust after turning it off: %s", out)
	}

	// Scanning settings.
	code, body = b.post("/projects/pol/policies/scanning", url.Values{"auto_scan": {"on"}, "prevent_vul": {"on"}, "severity": {"high"}, "back": {"/projects/pol/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, `name="auto_scan" checked`) || !strings.Contains(body, `<option value="high" selected>`) {
		t.Errorf("scanning settings: %d\n%s", code, body)
	}
	out := mustAPI(t, host, "GET", "/projects/pol", "", 200)
	for _, want := range []string{`"auto_scan":"true"`, `"prevent_vul":"true"`, `"severity":"high"`, `"prevent_unscanned":"false"`} {
		if !strings.Contains(out, want) {
			t.Errorf("project after the scanning form lacks %s: %s", want, out)
		}
	}

	// The CVE allowlist.
	code, body = b.post("/projects/pol/policies/allowlist", url.Values{"ids": {"CVE-2024-0001\r\nCVE-2024-0002\r\n"}, "expires": {"2030-01-02"}, "back": {"/projects/pol/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, "CVE-2024-0001\nCVE-2024-0002</textarea>") || !strings.Contains(body, `value="2030-01-02"`) {
		t.Errorf("the allowlist: %d\n%s", code, body)
	}
	out = mustAPI(t, host, "GET", "/projects/pol", "", 200)
	want := strconv.FormatInt(time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC).Unix(), 10)
	if !strings.Contains(out, `"cve_id":"CVE-2024-0001"`) || !strings.Contains(out, `"cve_id":"CVE-2024-0002"`) || !strings.Contains(out, `"expires_at":`+want) {
		t.Errorf("project after the allowlist form: %s", out)
	}

	// The scanner: the admin picks among the registered ones.
	var scanners []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal([]byte(mustAPI(t, host, "GET", "/scanners", "", 200)), &scanners); err != nil || len(scanners) == 0 {
		t.Fatalf("scanners: %v %v", scanners, err)
	}
	code, body = b.post("/projects/pol/policies/scanner", url.Values{"scanner": {scanners[0].Name}, "back": {"/projects/pol/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, `data-test="scanner-current">`+scanners[0].Name+"<") {
		t.Errorf("choosing the scanner: %d\n%s", code, body)
	}
	if out := mustAPI(t, host, "GET", "/projects/pol/scanner", "", 200); !strings.Contains(out, `"name":"`+scanners[0].Name+`"`) {
		t.Errorf("project scanner: %s", out)
	}

	// In Chinese.
	_, body = b.post("/prefs", url.Values{"lang": {"zh-CN"}, "back": {"/projects/pol/policies"}})
	for _, want := range []string{"<h2 id=\"immutable\">不可变 Tag</h2>", "CVE 白名单", "严重"} {
		if !strings.Contains(body, want) {
			t.Errorf("the Chinese page lacks %s:\n%s", want, body)
		}
	}
}

// A retention policy made in the portal, dry run from the portal: the
// run is listed as a dry run with its repositories, and nothing is
// deleted.
func TestPoliciesRetention(t *testing.T) {
	host := startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"keep"}`, 201)
	id := projectIDOf(t, host, "keep")
	for _, tag := range []string{"a", "b", "c"} {
		pushRandom(t, host, "keep/app", tag)
	}
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)

	// No rule: refused by the portal, nothing made.
	_, body := b.post("/projects/keep/policies/retention", url.Values{"rows": {"2"}, "back": {"/projects/keep/policies"}})
	if !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a policy without rules: %s", body)
	}
	mustAPI(t, host, "GET", "/retentions/"+id, "", 404)

	form := url.Values{"rows": {"2"}, "back": {"/projects/keep/policies"},
		"rule_0_template": {"latestPushedK"}, "rule_0_count": {"1"}, "rule_0_repo_dec": {"matches"}, "rule_0_repo": {"**"}, "rule_0_tag_dec": {"matches"}, "rule_0_tag": {"**"},
		"rule_1_template": {""}, "rule_1_repo": {"**"}, "rule_1_tag": {"**"}, "schedule": {"0 0 0 * * *"}}
	code, body := b.post("/projects/keep/policies/retention", form)
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, `data-test="rule-keep">the most recently pushed 1 artifacts<`) || !strings.Contains(body, `data-test="retention-schedule">0 0 0 * * *<`) {
		t.Fatalf("saving the retention policy: %d\n%s", code, body)
	}
	out := mustAPI(t, host, "GET", "/retentions/"+id, "", 200)
	for _, w := range []string{`"template":"latestPushedK"`, `"params":{"latestPushedK":1}`, `"pattern":"**"`, `"cron":"0 0 0 * * *"`} {
		if !strings.Contains(out, w) {
			t.Errorf("policy after the form lacks %s: %s", w, out)
		}
	}
	// Editing keeps it one policy (updated, not made again).
	form.Set("rule_0_id", "1")
	form.Set("rule_0_count", "2")
	b.post("/projects/keep/policies/retention", form)
	if out := mustAPI(t, host, "GET", "/retentions/"+id, "", 200); !strings.Contains(out, `"params":{"latestPushedK":2}`) || strings.Count(out, `"template"`) != 1 {
		t.Errorf("policy after editing: %s", out)
	}
	form.Set("rule_0_count", "1")
	b.post("/projects/keep/policies/retention", form)

	// Dry run from the portal: it goes to the run's page.
	code, body = b.post("/projects/keep/policies/retention/run", url.Values{"dry_run": {"true"}, "back": {"/projects/keep/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="run-detail"`) || !strings.Contains(body, `data-test="run-kind">Dry run<`) {
		t.Fatalf("starting a dry run: %d\n%s", code, body)
	}
	var runs []struct {
		ID     uint64 `json:"id"`
		Status string `json:"status"`
		DryRun bool   `json:"dry_run"`
	}
	eventually.True(t, "the dry run to finish", func() bool {
		if err := json.Unmarshal([]byte(mustAPI(t, host, "GET", "/retentions/"+id+"/executions", "", 200)), &runs); err != nil || len(runs) != 1 {
			t.Fatalf("runs: %+v %v", runs, err)
		}
		return runs[0].Status == "Succeed" || runs[0].Status == "Failed"
	})
	if runs[0].Status != "Succeed" || !runs[0].DryRun {
		t.Fatalf("the dry run: %+v", runs)
	}
	eid := strconv.FormatUint(runs[0].ID, 10)

	body = b.page("/projects/keep/policies")
	if !strings.Contains(body, `data-test="run-kind">Dry run<`) || !strings.Contains(body, `data-test="run-status">Succeeded<`) || !strings.Contains(body, `/policies/retention/`+eid+`"`) {
		t.Errorf("the runs on the policies page: %s", body)
	}
	// A finished run's live part no longer asks to be refreshed.
	_, f := b.fragment("/projects/keep/policies")
	if !strings.HasPrefix(f, `<div class="scroll" id="retention-runs"`) || strings.Contains(f, "data-poll") || strings.Contains(f, "<html") {
		t.Errorf("the live part of the runs: %s", f)
	}

	body = b.page("/projects/keep/policies/retention/" + eid)
	if !strings.Contains(body, `data-test="run-kind">Dry run<`) || !strings.Contains(body, `data-test="task-repo">keep/app<`) ||
		!strings.Contains(body, `data-test="task-counts">1 / 3<`) || !strings.Contains(body, `data-test="run-deleted">2<`) || strings.Contains(body, "data-poll") {
		t.Errorf("the run's page: %s", body)
	}
	// Nothing was deleted.
	if out := mustAPI(t, host, "GET", "/projects/keep/repositories/app/artifacts", "", 200); strings.Count(out, `"digest"`) < 3 {
		t.Errorf("artifacts after a dry run: %s", out)
	}
	var arts []json.RawMessage
	if err := json.Unmarshal([]byte(mustAPI(t, host, "GET", "/projects/keep/repositories/app/artifacts", "", 200)), &arts); err != nil || len(arts) != 3 {
		t.Errorf("artifacts after a dry run: %d %v", len(arts), err)
	}
	code, _ = b.get("/projects/keep/policies/retention/999999")
	if code != http.StatusNotFound {
		t.Errorf("a missing run: %d", code)
	}

	// Deleting the policy.
	b.post("/projects/keep/policies/retention/delete", url.Values{"back": {"/projects/keep/policies"}})
	mustAPI(t, host, "GET", "/retentions/"+id, "", 404)
}

// A developer does not see the policies tab nor any button on the
// policies page, and the API refuses their forged forms.
func TestPoliciesRights(t *testing.T) {
	host := startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"team"}`, 201)
	id := projectIDOf(t, host, "team")
	mustAPI(t, host, "POST", "/users", `{"username":"dev","password":"dev-password-1"}`, 201)
	mustAPI(t, host, "POST", "/projects/team/members", `{"role_id":2,"member_user":{"username":"dev"}}`, 201)
	mustAPI(t, host, "POST", "/projects/team/immutabletagrules", `{"tag_selectors":[{"kind":"doublestar","decoration":"matches","pattern":"v*"}],"scope_selectors":{"repository":[{"kind":"doublestar","decoration":"repoMatches","pattern":"**"}]}}`, 201)
	d := newBrowser(t, host)
	d.signIn("dev", "dev-password-1")
	body := d.page("/projects/team")
	if strings.Contains(body, "/policies") {
		t.Errorf("the developer sees the policies tab: %s", body)
	}
	body = d.page("/projects/team/policies")
	for _, no := range []string{`data-test="delete`, `data-test="immutable-add"`, `data-test="retention-save"`, `data-test="trust-save"`, `data-test="scanning-save"`, `data-test="quota-save"`, `data-test="immutable-disable"`} {
		if strings.Contains(body, no) {
			t.Errorf("the developer's policies page has %s", no)
		}
	}
	for path, form := range map[string]url.Values{
		"/projects/team/policies/immutable":          {"repo": {"**"}, "tag": {"x"}},
		"/projects/team/policies/immutable/1/delete": {},
		"/projects/team/policies/retention":          {"rows": {"1"}, "rule_0_template": {"always"}},
		"/projects/team/policies/scanning":           {"auto_scan": {"on"}},
		"/projects/team/policies/quota":              {"storage_limit": {"1"}},
		"/projects/team/policies/trust":              {"keys": {""}},
	} {
		form.Set("back", "/projects/team/policies")
		code, body := d.post(path, form)
		if code != 200 || !strings.Contains(body, `data-test="flash-error"`) {
			t.Errorf("a developer's %s: %d\n%s", path, code, body)
		}
	}
	if out := mustAPI(t, host, "GET", "/projects/team/immutabletagrules", "", 200); strings.Count(out, `"id"`) != 1 || strings.Contains(out, `"pattern":"x"`) {
		t.Errorf("rules after the developer's forms: %s", out)
	}
	mustAPI(t, host, "GET", "/retentions/"+id, "", 404)
	if out := mustAPI(t, host, "GET", "/projects/team", "", 200); strings.Contains(out, `"auto_scan":"true"`) {
		t.Errorf("project after the developer's form: %s", out)
	}
	if out := mustAPI(t, host, "GET", "/quotas/"+id, "", 200); strings.Contains(out, `"storage":1073741824`) {
		t.Errorf("quota after the developer's form: %s", out)
	}

	// A project admin manages the policies and sees the quota, but does
	// not change it (a system administrator's).
	mustAPI(t, host, "POST", "/users", `{"username":"boss","password":"boss-password-1"}`, 201)
	mustAPI(t, host, "POST", "/projects/team/members", `{"role_id":1,"member_user":{"username":"boss"}}`, 201)
	a := newBrowser(t, host)
	a.signIn("boss", "boss-password-1")
	body = a.page("/projects/team/policies")
	if !strings.Contains(body, `href="/projects/team/policies" aria-current="page"`) || !strings.Contains(body, `data-test="delete-immutable-rule"`) ||
		!strings.Contains(body, `data-test="retention-save"`) || strings.Contains(body, `data-test="quota-save"`) || !strings.Contains(body, `data-test="quota"`) {
		t.Errorf("the project admin's policies page: %s", body)
	}
	code, body := a.post("/projects/team/policies/quota", url.Values{"storage_limit": {"1"}, "back": {"/projects/team/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a project admin's quota: %d\n%s", code, body)
	}
	code, body = a.post("/projects/team/policies/scanning", url.Values{"prevent_unscanned": {"on"}, "severity": {"critical"}, "back": {"/projects/team/policies"}})
	if code != 200 || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Errorf("a project admin's scanning settings: %d\n%s", code, body)
	}
	if out := mustAPI(t, host, "GET", "/projects/team", "", 200); !strings.Contains(out, `"prevent_unscanned":"true"`) {
		t.Errorf("project after the project admin's form: %s", out)
	}
}
