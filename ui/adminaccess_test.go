package ui_test

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
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// accPages are the administrator's pages of users, robots, registries,
// replication and configuration.
var accPages = []string{"/admin/users", "/admin/robots", "/admin/registries", "/admin/replication",
	"/admin/replication/new", "/admin/replication/executions", "/admin/config"}

// Users made in the portal sign in through the API, are listed and
// searched, made administrators, get a new password and are deleted; a
// non-administrator gets an error page (403) on every admin page, with
// none of their data, and their forged forms change nothing.
func TestAdminUsers(t *testing.T) {
	host := startServer(t)
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)

	code, body := b.post("/admin/users", url.Values{"username": {"carol"}, "email": {"carol@example.com"}, "realname": {"Carol C"},
		"password": {"carol-password-1"}, "back": {"/admin/users"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) || !strings.Contains(body, `data-test="user">carol<`) {
		t.Fatalf("creating a user: %d\n%s", code, body)
	}
	if code, out := api(t, host, "carol", "carol-password-1", "GET", "/users/current", ""); code != 200 || !strings.Contains(out, `"realname":"Carol C"`) {
		t.Fatalf("the portal's user signing in: %d %s", code, out)
	}
	mustAPI(t, host, "POST", "/users", `{"username":"dave","password":"dave-password-1"}`, 201)
	body = b.page("/admin/users?q=carol")
	if !strings.Contains(body, `data-test="user">carol<`) || strings.Contains(body, `data-test="user">dave<`) || !strings.Contains(body, `data-test="delete-user"`) {
		t.Errorf("searching users: %s", body)
	}
	// A bad form: the API's message on the page.
	code, body = b.post("/admin/users", url.Values{"username": {"nopass"}, "back": {"/admin/users"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a user without a password: %d\n%s", code, body)
	}

	b.post("/admin/users/carol/sysadmin", url.Values{"admin": {"true"}, "back": {"/admin/users"}})
	if out := mustAPI(t, host, "GET", "/users/carol", "", 200); !strings.Contains(out, `"sysadmin_flag":true`) {
		t.Errorf("after making carol an administrator: %s", out)
	}
	body = b.page("/admin/users?q=carol")
	if !strings.Contains(body, `data-test="drop-admin"`) {
		t.Errorf("an administrator's row: %s", body)
	}
	b.post("/admin/users/carol/password", url.Values{"password": {"carol-password-2"}, "back": {"/admin/users"}})
	if code, _ := api(t, host, "carol", "carol-password-2", "GET", "/users/current", ""); code != 200 {
		t.Errorf("the new password: %d", code)
	}

	// Data a non-administrator must not see.
	mustAPI(t, host, "POST", "/registries", `{"name":"secret-endpoint","type":"berth","url":"http://`+host+`"}`, 201)
	mustAPI(t, host, "POST", "/labels", `{"name":"secret-label","scope":"g"}`, 201)
	mustAPI(t, host, "POST", "/robots", `{"name":"secret-robot","level":"system","permissions":[{"kind":"project","namespace":"*","access":[{"resource":"repository","action":"pull"}]}]}`, 201)
	d := newBrowser(t, host)
	d.signIn("dave", "dave-password-1")
	for _, p := range accPages {
		code, body := d.get(p)
		if code != http.StatusForbidden || !strings.Contains(body, `data-test="error"`) {
			t.Errorf("a non-administrator at %s: %d\n%s", p, code, body)
		}
		for _, secret := range []string{"carol", "secret-endpoint", "secret-label", "secret-robot", `data-test="delete`} {
			if strings.Contains(body, secret) {
				t.Errorf("a non-administrator at %s sees %s", p, secret)
			}
		}
	}
	for _, forged := range []struct {
		path string
		form url.Values
	}{
		{"/admin/users", url.Values{"username": {"forged"}, "password": {"forged-password-1"}}},
		{"/admin/users/carol/delete", nil},
		{"/admin/users/dave/sysadmin", url.Values{"admin": {"true"}}},
		{"/admin/robots", url.Values{"name": {"forged"}, "pull": {"on"}}},
		{"/admin/registries/secret-endpoint/delete", nil},
	} {
		form := forged.form
		if form == nil {
			form = url.Values{}
		}
		form.Set("back", "/projects")
		if code, body := d.post(forged.path, form); code != http.StatusOK || !strings.Contains(body, `data-test="flash-error"`) {
			t.Errorf("a non-administrator posting %s: %d\n%s", forged.path, code, body)
		}
	}
	mustAPI(t, host, "GET", "/users/forged", "", 404)
	mustAPI(t, host, "GET", "/registries/secret-endpoint", "", 200)
	if out := mustAPI(t, host, "GET", "/users/dave", "", 200); !strings.Contains(out, `"sysadmin_flag":false`) {
		t.Errorf("dave made himself an administrator: %s", out)
	}

	code, body = b.post("/admin/users/carol/delete", url.Values{"back": {"/admin/users"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) || strings.Contains(body, `data-test="user">carol<`) {
		t.Errorf("deleting carol: %d\n%s", code, body)
	}
	mustAPI(t, host, "GET", "/users/carol", "", 404)
}

// accSecret finds the robot secret shown on a page.
var accSecret = regexp.MustCompile(`data-test="robot-secret">([^<]+)<`)

// A system robot made in the portal shows its secret once, which works
// with basic auth; it may be limited to chosen projects, disabled and
// deleted.
func TestAdminRobots(t *testing.T) {
	host := startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"p1"}`, 201)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"p2"}`, 201)
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)

	code, body := b.post("/admin/robots", url.Values{"name": {"ci"}, "description": {"builds"}, "days": {"-1"}, "scope": {"all"},
		"pull": {"on"}, "push": {"on"}, "back": {"/admin/robots"}})
	m := accSecret.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil || !strings.Contains(body, `data-copy="robot-secret"`) {
		t.Fatalf("creating a robot: %d\n%s", code, body)
	}
	secret := m[1]
	var robots []struct {
		Name        string `json:"name"`
		Level       string `json:"level"`
		Disable     bool   `json:"disable"`
		Permissions []struct {
			Namespace string `json:"namespace"`
		} `json:"permissions"`
	}
	if err := json.Unmarshal([]byte(mustAPI(t, host, "GET", "/robots", "", 200)), &robots); err != nil || len(robots) != 1 || robots[0].Level != "system" {
		t.Fatalf("robots: %v %+v", err, robots)
	}
	robot := robots[0].Name
	if err := accPush(host, "p2/by-robot:v1", robot, secret); err != nil {
		t.Errorf("pushing with the robot's secret: %v", err)
	}
	if err := accPush(host, "p2/by-robot:v2", robot, secret+"x"); err == nil {
		t.Error("a wrong secret pushes")
	}
	body = b.page("/admin/robots")
	if strings.Contains(body, secret) || strings.Contains(body, `data-test="robot-secret"`) || !strings.Contains(body, `data-test="robot">`+robot+`<`) {
		t.Errorf("the robots page shows the secret again, or not the robot: %s", body)
	}

	// Chosen projects.
	b.post("/admin/robots", url.Values{"name": {"p1-only"}, "scope": {"chosen"}, "projects": {"p1"}, "pull": {"on"}, "back": {"/admin/robots"}})
	_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/robots", "", 200)), &robots)
	found := false
	for _, r := range robots {
		if strings.Contains(r.Name, "p1-only") {
			found = len(r.Permissions) == 1 && r.Permissions[0].Namespace == "p1"
		}
	}
	if !found {
		t.Errorf("the p1 robot: %+v", robots)
	}
	// No action chosen: refused with a message.
	if _, body := b.post("/admin/robots", url.Values{"name": {"nothing"}, "back": {"/admin/robots"}}); !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("a robot without actions: %s", body)
	}

	b.post("/admin/robots/"+url.PathEscape(robot)+"/disable", url.Values{"disable": {"true"}, "back": {"/admin/robots"}})
	if out := mustAPI(t, host, "GET", "/robots/"+url.PathEscape(robot), "", 200); !strings.Contains(out, `"disable":true`) {
		t.Errorf("after disabling: %s", out)
	}
	if err := accPush(host, "p2/by-robot:v3", robot, secret); err == nil {
		t.Error("a disabled robot still pushes")
	}
	body = b.page("/admin/robots")
	if !strings.Contains(body, `data-test="enable-robot"`) {
		t.Errorf("a disabled robot's row: %s", body)
	}
	b.post("/admin/robots/"+url.PathEscape(robot)+"/delete", url.Values{"back": {"/admin/robots"}})
	mustAPI(t, host, "GET", "/robots/"+url.PathEscape(robot), "", 404)
}

// Global labels are managed on the configuration page, which shows the
// server's configuration as the API tells it.
func TestAdminConfig(t *testing.T) {
	host := startServer(t)
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	body := b.page("/admin/config")
	if !strings.Contains(body, `data-test="auth-mode">Database`) || !strings.Contains(body, `data-test="config-note"`) {
		t.Errorf("the configuration page: %s", body)
	}
	code, body := b.post("/admin/config/labels", url.Values{"name": {"gold"}, "description": {"the best"}, "color": {"#aabbcc"}, "back": {"/admin/config"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="label">gold<`) {
		t.Fatalf("creating a label: %d\n%s", code, body)
	}
	var labels []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/labels?scope=g", "", 200)), &labels)
	if len(labels) != 1 || labels[0].Name != "gold" {
		t.Fatalf("labels: %+v", labels)
	}
	b.post(fmt.Sprintf("/admin/config/labels/%d/delete", labels[0].ID), url.Values{"back": {"/admin/config"}})
	mustAPI(t, host, "GET", fmt.Sprintf("/labels/%d", labels[0].ID), "", 404)
}

// Registry endpoints are made, tested and edited in the portal; a
// replication policy from project a to a second server, made in the
// portal and run from it, copies the image; the execution's page shows
// its tasks and their logs.
func TestAdminReplication(t *testing.T) {
	host, other := startServer(t), startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"a"}`, 201)
	mustAPI(t, other, "POST", "/projects", `{"project_name":"a"}`, 201)
	if err := accPush(host, "a/app:v1", "admin", adminPassword); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)

	code, body := b.post("/admin/registries", url.Values{"name": {"self"}, "type": {"berth"}, "url": {"http://" + host},
		"access_key": {"admin"}, "access_secret": {adminPassword}, "back": {"/admin/registries"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="registry">self<`) {
		t.Fatalf("creating an endpoint: %d\n%s", code, body)
	}
	if out := mustAPI(t, host, "GET", "/registries/self", "", 200); !strings.Contains(out, `"access_key":"admin"`) {
		t.Errorf("the endpoint: %s", out)
	}
	code, body = b.post("/admin/registries/ping", url.Values{"name": {"self"}, "back": {"/admin/registries"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Errorf("pinging: %d\n%s", code, body)
	}
	// A wrong password fails the test, with the API's reason.
	b.post("/admin/registries", url.Values{"name": {"wrong"}, "type": {"berth"}, "url": {"http://" + host},
		"access_key": {"admin"}, "access_secret": {"nope"}, "back": {"/admin/registries"}})
	if _, body = b.post("/admin/registries/ping", url.Values{"name": {"wrong"}, "back": {"/admin/registries"}}); !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("pinging with a wrong password: %s", body)
	}
	b.post("/admin/registries/wrong/delete", url.Values{"back": {"/admin/registries"}})
	mustAPI(t, host, "GET", "/registries/wrong", "", 404)

	b.post("/admin/registries", url.Values{"name": {"b"}, "type": {"berth"}, "url": {"http://" + other},
		"access_key": {"admin"}, "access_secret": {adminPassword}, "back": {"/admin/registries"}})
	// Editing keeps the stored password when none is given.
	body = b.page("/admin/registries/b")
	if !strings.Contains(body, `value="http://`+other+`"`) {
		t.Errorf("the edit page: %s", body)
	}
	b.post("/admin/registries/b", url.Values{"type": {"berth"}, "url": {"http://" + other}, "description": {"the second"},
		"access_key": {"admin"}, "back": {"/admin/registries/b"}})
	if out := mustAPI(t, host, "GET", "/registries/b", "", 200); !strings.Contains(out, `"description":"the second"`) {
		t.Errorf("after editing: %s", out)
	}
	mustAPI(t, host, "POST", "/registries/ping", `{"name":"b"}`, 200)

	body = b.page("/admin/replication/new")
	if !strings.Contains(body, `<option value="b"`) {
		t.Errorf("the policy form: %s", body)
	}
	code, body = b.post("/admin/replication/policies", url.Values{"name": {"to-b"}, "dest_registry": {"b"}, "f_name": {"a/**"},
		"f_tag": {"v*"}, "trigger": {"manual"}, "override": {"on"}, "enabled": {"on"}, "back": {"/admin/replication/new"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="policy">to-b<`) {
		t.Fatalf("creating a policy: %d\n%s", code, body)
	}
	out := mustAPI(t, host, "GET", "/replication/policies/to-b", "", 200)
	if !strings.Contains(out, `"dest_registry":{"name":"b"}`) || !strings.Contains(out, `"a/**"`) || !strings.Contains(out, `"override":true`) {
		t.Errorf("the policy: %s", out)
	}
	// Editing keeps the filters the form shows.
	body = b.page("/admin/replication/policies/to-b")
	if !strings.Contains(body, `value="a/**"`) {
		t.Errorf("the policy's edit page: %s", body)
	}
	b.post("/admin/replication/policies/to-b", url.Values{"description": {"copy a"}, "dest_registry": {"b"}, "f_name": {"a/**"},
		"trigger": {"manual"}, "override": {"on"}, "enabled": {"on"}, "back": {"/admin/replication/policies/to-b"}})
	out = mustAPI(t, host, "GET", "/replication/policies/to-b", "", 200)
	if !strings.Contains(out, `"description":"copy a"`) || !strings.Contains(out, `"a/**"`) || strings.Contains(out, `"v*"`) {
		t.Errorf("the edited policy: %s", out)
	}

	code, body = b.post("/admin/replication/policies/to-b/run", url.Values{"back": {"/admin/replication"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="execution-live"`) {
		t.Fatalf("running the policy: %d\n%s", code, body)
	}
	var execs []struct {
		ID     uint64 `json:"id"`
		Status string `json:"status"`
	}
	eventually.Within(t, 90*time.Second, "the execution of to-b to end", func() bool {
		_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/replication/executions?policy_name=to-b", "", 200)), &execs)
		return len(execs) == 1 && execs[0].Status != "Pending" && execs[0].Status != "InProgress"
	})
	if execs[0].Status != "Succeed" {
		t.Fatalf("execution: %+v", execs[0])
	}
	page := fmt.Sprintf("/admin/replication/executions/%d", execs[0].ID)
	body = b.page(page)
	for _, want := range []string{`data-test="task-row"`, "a/app:v1", `data-test="task-log"`, `data-status="Succeed"`, `<progress`} {
		if !strings.Contains(body, want) {
			t.Errorf("the execution page lacks %s: %s", want, body)
		}
	}
	if strings.Contains(body, "data-poll") || regexp.MustCompile(`data-test="task-log">\s*</pre>`).MatchString(body) {
		t.Errorf("a finished execution still polls, or its log is empty: %s", body)
	}
	// The live part alone, for the script.
	_, frag := b.fragment(page)
	if !strings.HasPrefix(strings.TrimSpace(string(frag)), `<section class="card" id="execution-live"`) {
		t.Errorf("the fragment: %s", frag)
	}
	body = b.page("/admin/replication/executions?policy=to-b")
	if !strings.Contains(body, fmt.Sprintf(`data-test="execution">%d<`, execs[0].ID)) {
		t.Errorf("the executions page: %s", body)
	}
	if out := mustAPI(t, other, "GET", "/projects/a/repositories", "", 200); !strings.Contains(out, `"a/app"`) {
		t.Errorf("at the destination: %s", out)
	}
	// Stopping an ended execution: the API's refusal on the page.
	if _, body := b.post(page+"/stop", url.Values{"back": {page}}); !strings.Contains(body, `data-test="flash-error"`) {
		t.Errorf("stopping an ended execution: %s", body)
	}

	b.post("/admin/replication/policies/to-b/delete", url.Values{"back": {"/admin/replication"}})
	mustAPI(t, host, "GET", "/replication/policies/to-b", "", 404)
	b.post("/admin/registries/b/delete", url.Values{"back": {"/admin/registries"}})
	mustAPI(t, host, "GET", "/registries/b", "", 404)
}

// accPush pushes a small random image to host as user.
func accPush(host, ref, user, pass string) error {
	img, err := random.Image(512, 1)
	if err != nil {
		return err
	}
	r, err := name.ParseReference(host+"/"+ref, name.Insecure)
	if err != nil {
		return err
	}
	return remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: user, Password: pass}))
}

// accWaitExecution polls the API until the newest execution of policy
// is in one of the states wanted, and returns its id.
func accWaitExecution(t *testing.T, host, policy string, states ...string) uint64 {
	t.Helper()
	var execs []struct {
		ID     uint64 `json:"id"`
		Status string `json:"status"`
	}
	eventually.Within(t, 90*time.Second, fmt.Sprintf("the execution of %s to be %v", policy, states), func() bool {
		_ = json.Unmarshal([]byte(mustAPI(t, host, "GET", "/replication/executions?policy_name="+policy, "", 200)), &execs)
		return len(execs) > 0 && slices.Contains(states, execs[0].Status)
	})
	return execs[0].ID
}

// A running execution's page refreshes itself and can be stopped; a
// failed one's failed tasks run again from its page.
func TestAdminReplicationStopRetry(t *testing.T) {
	host := startServer(t)
	mustAPI(t, host, "POST", "/projects", `{"project_name":"a"}`, 201)
	if err := accPush(host, "a/app:v1", "admin", adminPassword); err != nil {
		t.Fatal(err)
	}
	// An endpoint that refuses connections: copies fail and are retried.
	mustAPI(t, host, "POST", "/registries", `{"name":"dead","type":"berth","url":"http://127.0.0.1:1"}`, 201)
	b := newBrowser(t, host)
	b.signIn("admin", adminPassword)
	b.post("/admin/replication/policies", url.Values{"name": {"slow"}, "dest_registry": {"dead"}, "f_name": {"a/**"},
		"trigger": {"manual"}, "enabled": {"on"}, "back": {"/admin/replication/new"}})
	code, body := b.post("/admin/replication/policies/slow/run", url.Values{"back": {"/admin/replication"}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="execution-live"`) {
		t.Fatalf("running: %d\n%s", code, body)
	}
	id := accWaitExecution(t, host, "slow", "InProgress")
	page := fmt.Sprintf("/admin/replication/executions/%d", id)
	body = b.page(page)
	if !strings.Contains(body, `data-poll="2000"`) || !strings.Contains(body, `data-test="stop-execution"`) {
		t.Errorf("a running execution's page: %s", body)
	}
	if body = b.page("/admin/replication/executions"); !strings.Contains(body, `data-poll="2000"`) {
		t.Errorf("the executions page while one runs: %s", body)
	}
	code, body = b.post(page+"/stop", url.Values{"back": {page}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Errorf("stopping: %d\n%s", code, body)
	}
	accWaitExecution(t, host, "slow", "Stopped")
	body = b.page(page)
	if strings.Contains(body, "data-poll") || !strings.Contains(body, `data-status="Stopped"`) {
		t.Errorf("a stopped execution's page: %s", body)
	}

	// One attempt per task: the execution fails, and is retried.
	mustAPI(t, host, "POST", "/registries", `{"name":"badcred","type":"berth","url":"http://`+host+`","credential":{"type":"basic","access_key":"admin","access_secret":"nope"}}`, 201)
	mustAPI(t, host, "POST", "/replication/policies", `{"name":"fast","dest_registry":{"name":"badcred"},"dest_namespace":"b","filters":[{"type":"name","value":"a/**"}],
		"trigger":{"type":"manual"},"enabled":true,"task_attempts":1}`, 201)
	b.post("/admin/replication/policies/fast/run", url.Values{"back": {"/admin/replication"}})
	id = accWaitExecution(t, host, "fast", "Failed")
	page = fmt.Sprintf("/admin/replication/executions/%d", id)
	body = b.page(page)
	if !strings.Contains(body, `data-test="retry-execution"`) || !strings.Contains(body, `data-test="task-log"`) {
		t.Fatalf("a failed execution's page: %s", body)
	}
	code, body = b.post(page+"/retry", url.Values{"back": {page}})
	if code != http.StatusOK || !strings.Contains(body, `data-test="flash-ok"`) {
		t.Errorf("retrying: %d\n%s", code, body)
	}
	accWaitExecution(t, host, "fast", "Failed", "InProgress", "Pending")
	// Editing through the portal keeps what the form does not show.
	b.post("/admin/replication/policies/fast", url.Values{"dest_registry": {"badcred"}, "dest_namespace": {"b"}, "f_name": {"a/**"}, "trigger": {"manual"},
		"back": {"/admin/replication/policies/fast"}})
	if out := mustAPI(t, host, "GET", "/replication/policies/fast", "", 200); !strings.Contains(out, `"task_attempts":1`) || !strings.Contains(out, `"enabled":false`) {
		t.Errorf("the edited policy: %s", out)
	}
}
