package ui_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
)

// psSetup starts a server with project "team" (private), user "gus" its
// guest, and the admin signed in; it returns the host, the admin's
// browser and the guest's.
func psSetup(t *testing.T) (string, *browser, *browser) {
	t.Helper()
	host := startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"team"}`, 201)
	mustAPI(t, host, "POST", "/users", `{"username":"gus","password":"gus-password-1"}`, 201)
	mustAPI(t, host, "POST", "/projects/team/members", `{"role_id":3,"member_user":{"username":"gus"}}`, 201)
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	g := newBrowser(t, host)
	g.signIn("gus", "gus-password-1")
	return host, b, g
}

// psRefused checks that a forged form of the guest came back with the
// API's refusal.
func psRefused(t *testing.T, what string, code int, body string) {
	t.Helper()
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("%s: the guest's forged form was not refused: %d\n%s", what, code, body)
	}
}

// psMembers returns the project's members by name with their role ids
// and member ids, through the API.
func psMembers(t *testing.T, host, project string) map[string][2]int64 {
	t.Helper()
	var list []struct {
		ID     int64  `json:"id"`
		Name   string `json:"entity_name"`
		RoleID int64  `json:"role_id"`
	}
	if err := json.Unmarshal([]byte(mustAPI(t, host, "GET", "/projects/"+project+"/members?page_size=100", "", 200)), &list); err != nil {
		t.Fatal(err)
	}
	out := map[string][2]int64{}
	for _, m := range list {
		out[m.Name] = [2]int64{m.RoleID, m.ID}
	}
	return out
}

// Members added in the portal are the API's and the other way round; a
// project admin changes roles and removes members; a guest sees the list
// only, and the API refuses the guest's forged forms.
func TestProjectSettingsMembers(t *testing.T) {
	host, b, g := psSetup(t)
	mustAPI(t, host, "POST", "/users", `{"username":"alice","password":"alice-password-1"}`, 201)
	mustAPI(t, host, "POST", "/users", `{"username":"bob","password":"bob-password-1"}`, 201)

	code, body := b.post("/projects/team/members", url.Values{"username": {"alice"}, "role_id": {"2"}, "back": {"/projects/team/members"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, `data-test="member-role-alice">Developer<`) {
		t.Fatalf("adding alice: %d\n%s", code, body)
	}
	if m := psMembers(t, host, "team"); m["alice"][0] != 2 {
		t.Fatalf("the API's members: %v", m)
	}
	mustAPI(t, host, "POST", "/projects/team/members", `{"role_id":4,"member_user":{"username":"bob"}}`, 201)
	body = b.page("/projects/team/members")
	for _, want := range []string{`data-test="member-role-bob">Maintainer<`, `data-test="member-form"`, `data-test="delete-member"`, `aria-current="page">Members`} {
		if !strings.Contains(body, want) {
			t.Errorf("the members page lacks %s:\n%s", want, body)
		}
	}
	// An unknown user: the API's message.
	_, body = b.post("/projects/team/members", url.Values{"username": {"nobody"}, "role_id": {"2"}, "back": {"/projects/team/members"}})
	if !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("adding an unknown user: %s", body)
	}

	// Change bob's role, remove alice.
	m := psMembers(t, host, "team")
	b.post("/projects/team/members/"+itoa(m["bob"][1])+"/role", url.Values{"role_id": {"5"}, "back": {"/projects/team/members"}})
	b.post("/projects/team/members/"+itoa(m["alice"][1])+"/delete", url.Values{"back": {"/projects/team/members"}})
	m = psMembers(t, host, "team")
	if m["bob"][0] != 5 {
		t.Errorf("bob's role: %v", m)
	}
	if _, ok := m["alice"]; ok {
		t.Errorf("alice was not removed: %v", m)
	}

	// The guest sees the members, no form.
	body = g.page("/projects/team/members")
	if !strings.Contains(body, `data-test="member-role-gus">Guest<`) || strings.Contains(body, `data-test="delete`) || strings.Contains(body, `data-test="member-form"`) || strings.Contains(body, `data-test="change-role"`) {
		t.Errorf("the guest's members page:\n%s", body)
	}
	code, body = g.post("/projects/team/members", url.Values{"username": {"alice"}, "role_id": {"1"}, "back": {"/projects/team/members"}})
	psRefused(t, "adding a member", code, body)
	code, body = g.post("/projects/team/members/"+itoa(m["bob"][1])+"/delete", url.Values{"back": {"/projects/team/members"}})
	psRefused(t, "removing a member", code, body)
	if m := psMembers(t, host, "team"); len(m) != 3 || m["bob"][0] != 5 {
		t.Errorf("the guest changed the members: %v", m)
	}
}

// itoa writes an int64.
func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// secretRE finds the secret shown once.
var secretRE = regexp.MustCompile(`data-test="robot-secret">([^<]+)<`)

// robotNameRE finds the robot's account name shown with its secret.
var robotNameRE = regexp.MustCompile(`data-test="robot-name">([^<]+)<`)

// psRobotGET calls GET /api/v2.0/projects as a robot and returns the
// status.
func psRobotGET(t *testing.T, host, user, secret string) int {
	t.Helper()
	code, _ := api(t, host, user, secret, "GET", "/projects", "")
	return code
}

// A robot made in the portal shows its secret once, in the answer to
// the form; the robot then signs in to the API with it; a reload does
// not show it; disabling, a new secret and deleting work through the
// API; a guest sees no form, and the API refuses the guest's forms.
func TestProjectSettingsRobots(t *testing.T) {
	host, b, g := psSetup(t)
	code, body := b.post("/projects/team/robots", url.Values{"name": {"ci"}, "description": {"the CI"}, "days": {"30"},
		"pull": {"on"}, "push": {"on"}, "back": {"/projects/team/robots"}})
	sm, nm := secretRE.FindStringSubmatch(body), robotNameRE.FindStringSubmatch(body)
	if code != http.StatusOK || sm == nil || nm == nil || !strings.Contains(body, "will not be shown again") || !strings.Contains(body, `data-copy="robot-secret"`) {
		t.Fatalf("creating a robot: %d\n%s", code, body)
	}
	robot, secret := html.UnescapeString(nm[1]), html.UnescapeString(sm[1])
	if robot != "robot$team+ci" {
		t.Errorf("the robot's name: %q", robot)
	}
	if c := psRobotGET(t, host, robot, secret); c != http.StatusOK {
		t.Errorf("the robot signing in: %d", c)
	}
	body = html.UnescapeString(b.page("/projects/team/robots"))
	if strings.Contains(body, secret) || strings.Contains(body, `data-test="robot-secret"`) || !strings.Contains(body, `data-test="robot-row-name">robot$team+ci`) ||
		!strings.Contains(body, "repository:push") || !strings.Contains(body, `data-test="delete-robot"`) {
		t.Errorf("the robots page after a reload:\n%s", body)
	}
	out := mustAPI(t, host, "GET", "/robots/"+url.PathEscape(robot), "", 200)
	if !strings.Contains(out, `"level":"project"`) || !strings.Contains(out, `"action":"pull"`) || strings.Contains(out, `"action":"delete"`) {
		t.Errorf("the API's robot: %s", out)
	}
	// A robot of the API shows too.
	mustAPI(t, host, "POST", "/robots", `{"name":"ops","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team","access":[{"resource":"repository","action":"pull"}]}]}`, 201)
	if body = html.UnescapeString(b.page("/projects/team/robots")); !strings.Contains(body, "robot$team+ops") || !strings.Contains(body, "Never") {
		t.Errorf("the API's robot on the page:\n%s", body)
	}

	// Disable, enable.
	b.post("/projects/team/robots/enabled", url.Values{"name": {robot}, "disable": {"true"}, "back": {"/projects/team/robots"}})
	if out := mustAPI(t, host, "GET", "/robots/"+url.PathEscape(robot), "", 200); !strings.Contains(out, `"disable":true`) {
		t.Errorf("after disabling: %s", out)
	}
	if c := psRobotGET(t, host, robot, secret); c == http.StatusOK {
		t.Errorf("a disabled robot signed in")
	}
	b.post("/projects/team/robots/enabled", url.Values{"name": {robot}, "disable": {"false"}, "back": {"/projects/team/robots"}})
	if out := mustAPI(t, host, "GET", "/robots/"+url.PathEscape(robot), "", 200); !strings.Contains(out, `"disable":false`) {
		t.Errorf("after enabling: %s", out)
	}

	// A new secret, shown once; the old one stops working.
	_, body = b.post("/projects/team/robots/refresh", url.Values{"name": {robot}, "back": {"/projects/team/robots"}})
	sm = secretRE.FindStringSubmatch(body)
	if sm == nil {
		t.Fatalf("refreshing the secret:\n%s", body)
	}
	fresh := html.UnescapeString(sm[1])
	if c := psRobotGET(t, host, robot, fresh); fresh == secret || c != http.StatusOK {
		t.Errorf("the new secret: %d", c)
	}
	if c := psRobotGET(t, host, robot, secret); c == http.StatusOK {
		t.Errorf("the old secret still works")
	}

	// The guest: no robot is shown, no form, and the API refuses.
	body = html.UnescapeString(g.page("/projects/team/robots"))
	if strings.Contains(body, `data-test="delete`) || strings.Contains(body, `data-test="robot-form"`) || strings.Contains(body, "robot$team+ci") {
		t.Errorf("the guest's robots page:\n%s", body)
	}
	code, body = g.post("/projects/team/robots", url.Values{"name": {"evil"}, "pull": {"on"}, "back": {"/projects/team/robots"}})
	psRefused(t, "creating a robot", code, body)
	if strings.Contains(body, `data-test="robot-secret"`) {
		t.Errorf("the guest got a secret:\n%s", body)
	}
	code, body = g.post("/projects/team/robots/delete", url.Values{"name": {robot}, "back": {"/projects/team/robots"}})
	psRefused(t, "deleting a robot", code, body)
	mustAPI(t, host, "GET", "/robots/"+url.PathEscape(robot), "", 200)

	// The admin deletes it.
	b.post("/projects/team/robots/delete", url.Values{"name": {robot}, "back": {"/projects/team/robots"}})
	mustAPI(t, host, "GET", "/robots/"+url.PathEscape(robot), "", 404)
}

// Labels made in the portal are the API's, and go when deleted; a guest
// sees them, with no form, and the API refuses the guest's forms.
func TestProjectSettingsLabels(t *testing.T) {
	host, b, g := psSetup(t)
	code, body := b.post("/projects/team/labels", url.Values{"name": {"qa-ok"}, "color": {"#14532d"}, "description": {"passed QA"}, "back": {"/projects/team/labels"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, "qa-ok") || !strings.Contains(body, "ps-c1") {
		t.Fatalf("creating a label: %d\n%s", code, body)
	}
	var list []struct {
		ID    int64  `json:"id"`
		Name  string `json:"name"`
		Color string `json:"color"`
		Scope string `json:"scope"`
	}
	out := mustAPI(t, host, "GET", "/labels?scope=p&project_name=team", "", 200)
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].Name != "qa-ok" || list[0].Color != "#14532d" || list[0].Scope != "p" {
		t.Fatalf("the API's labels: %s", out)
	}
	mustAPI(t, host, "POST", "/labels", `{"name":"from-api","scope":"p","project_name":"team","color":"#123456"}`, 201)
	body = g.page("/projects/team/labels")
	if !strings.Contains(body, "qa-ok") || !strings.Contains(body, "from-api") || strings.Contains(body, `data-test="delete`) || strings.Contains(body, `data-test="label-form"`) {
		t.Errorf("the guest's labels page:\n%s", body)
	}
	id := itoa(list[0].ID)
	code, body = g.post("/projects/team/labels", url.Values{"name": {"evil"}, "back": {"/projects/team/labels"}})
	psRefused(t, "creating a label", code, body)
	code, body = g.post("/projects/team/labels/"+id+"/delete", url.Values{"back": {"/projects/team/labels"}})
	psRefused(t, "deleting a label", code, body)
	mustAPI(t, host, "GET", "/labels/"+id, "", 200)

	body = b.page("/projects/team/labels")
	if !strings.Contains(body, `data-test="delete-label"`) || !strings.Contains(body, `data-test="label-form"`) {
		t.Errorf("the admin's labels page:\n%s", body)
	}
	b.post("/projects/team/labels/"+id+"/delete", url.Values{"back": {"/projects/team/labels"}})
	mustAPI(t, host, "GET", "/labels/"+id, "", 404)
	if body = b.page("/projects/team/labels"); strings.Contains(body, "qa-ok") {
		t.Errorf("the deleted label is still shown:\n%s", body)
	}
}

// The project's log shows a push, and its search filters by operation.
func TestProjectSettingsLogs(t *testing.T) {
	host, b, g := psSetup(t)
	pushRandom(t, host, "team/app", "v1")
	var body string
	eventually.True(t, "the push in the project's log", func() bool {
		body = b.page("/projects/team/logs")
		return strings.Contains(body, `data-test="log-op">PUSH_ARTIFACT<`)
	})
	if !strings.Contains(body, "team/app") || !strings.Contains(body, `aria-current="page">Logs`) {
		t.Errorf("the log page:\n%s", body)
	}
	body = b.page("/projects/team/logs?operation=DELETE_TAG")
	if strings.Contains(body, `data-test="log-row"`) || !strings.Contains(body, `<option value="DELETE_TAG" selected>`) {
		t.Errorf("filtering by another operation:\n%s", body)
	}
	body = b.page("/projects/team/logs?operation=PUSH_ARTIFACT&resource=app&username=admin")
	if !strings.Contains(body, `data-test="log-op">PUSH_ARTIFACT<`) || strings.Contains(body, `data-test="log-op">CREATE_PROJECT<`) {
		t.Errorf("filtering by push:\n%s", body)
	}
	// A guest reads the members, so the log too.
	if body = g.page("/projects/team/logs"); !strings.Contains(body, "PUSH_ARTIFACT") {
		t.Errorf("the guest's log page:\n%s", body)
	}
}

// A webhook made in the portal is the API's; a push is delivered to it
// and shows in its delivery log, and redelivering makes another
// delivery; a guest may not see or change the webhooks.
func TestProjectSettingsWebhooks(t *testing.T) {
	host, b, g := psSetup(t)
	var hits atomic.Int32
	var auth atomic.Value
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		auth.Store(r.Header.Get("Authorization"))
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(recv.Close)

	code, body := b.post("/projects/team/webhooks", url.Values{"name": {"notify"}, "address": {recv.URL + "/hook"}, "auth_header": {"Bearer s3cret"},
		"event_type": {"PUSH_ARTIFACT", "DELETE_TAG"}, "back": {"/projects/team/webhooks"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, `data-test="webhook-link">notify<`) || strings.Contains(body, "s3cret") {
		t.Fatalf("creating a webhook: %d\n%s", code, body)
	}
	out := mustAPI(t, host, "GET", "/projects/team/webhook/policies/notify", "", 200)
	if !strings.Contains(out, recv.URL+"/hook") || !strings.Contains(out, `"auth_header_set":true`) || !strings.Contains(out, "DELETE_TAG") || !strings.Contains(out, `"enabled":true`) {
		t.Fatalf("the API's policy: %s", out)
	}

	pushRandom(t, host, "team/app", "v1")
	eventually.True(t, "a succeeded delivery in the delivery log", func() bool {
		body = b.page("/projects/team/webhooks/notify")
		return strings.Contains(body, `data-status="succeeded"`)
	})
	if !strings.Contains(body, `data-test="delivery-code">200<`) || !strings.Contains(body, "PUSH_ARTIFACT") || auth.Load() != "Bearer s3cret" {
		t.Errorf("the delivery log (auth %v):\n%s", auth.Load(), body)
	}
	m := regexp.MustCompile(`data-test="delivery-row" data-id="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no delivery id:\n%s", body)
	}
	code, body = b.post("/projects/team/webhooks/notify/redeliver", url.Values{"id": {html.UnescapeString(m[1])}, "back": {"/projects/team/webhooks/notify"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Fatalf("redelivering: %d\n%s", code, body)
	}
	eventually.True(t, "a second succeeded delivery", func() bool {
		var list []struct {
			Status string `json:"status"`
		}
		out = mustAPI(t, host, "GET", "/projects/team/webhook/policies/notify/deliveries", "", 200)
		_ = json.Unmarshal([]byte(out), &list)
		return len(list) == 2 && list[0].Status == "succeeded" && list[1].Status == "succeeded" && hits.Load() >= 2
	})
	if body = b.page("/projects/team/webhooks/notify"); strings.Count(body, `data-test="delivery-row"`) != 2 || strings.Contains(body, "data-poll") {
		t.Errorf("the delivery log after redelivering:\n%s", body)
	}

	// Disable keeps the auth header.
	b.post("/projects/team/webhooks/notify/enabled", url.Values{"enabled": {"false"}, "back": {"/projects/team/webhooks"}})
	out = mustAPI(t, host, "GET", "/projects/team/webhook/policies/notify", "", 200)
	if !strings.Contains(out, `"enabled":false`) || !strings.Contains(out, `"auth_header_set":true`) {
		t.Errorf("after disabling: %s", out)
	}
	if body = b.page("/projects/team/webhooks"); !strings.Contains(body, `data-test="enable-webhook"`) || !strings.Contains(body, `data-test="delete-webhook"`) {
		t.Errorf("the webhooks page:\n%s", body)
	}

	// The guest may not read them, nor change them.
	code, body = g.get("/projects/team/webhooks")
	if code != http.StatusForbidden || strings.Contains(body, `data-test="delete`) || strings.Contains(body, `data-test="webhook-form"`) {
		t.Errorf("the guest's webhooks page: %d\n%s", code, body)
	}
	code, body = g.post("/projects/team/webhooks", url.Values{"name": {"evil"}, "address": {recv.URL}, "event_type": {"PUSH_ARTIFACT"}, "back": {"/projects/team/labels"}})
	psRefused(t, "creating a webhook", code, body)
	code, body = g.post("/projects/team/webhooks/notify/delete", url.Values{"back": {"/projects/team/labels"}})
	psRefused(t, "deleting a webhook", code, body)
	mustAPI(t, host, "GET", "/projects/team/webhook/policies/evil", "", 404)

	b.post("/projects/team/webhooks/notify/delete", url.Values{"back": {"/projects/team/webhooks"}})
	mustAPI(t, host, "GET", "/projects/team/webhook/policies/notify", "", 404)
	if out := mustAPI(t, host, "GET", "/projects/team/webhook/policies", "", 200); slices.Contains(names(t, out), "notify") {
		t.Errorf("still listed: %s", out)
	}
}
