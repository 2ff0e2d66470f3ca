package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/webhook"
)

type client struct {
	t    *testing.T
	url  string
	user string
	pass string
}

func newAPI(t *testing.T, opts ...Option) (string, *accounts.Manager) {
	t.Helper()
	return newAPIOn(t, openStore(t), opts...)
}

// openStore opens a throw-away metadata store for the test.
func openStore(t *testing.T) meta.Store {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// newAPIOn serves the API over store, with users admin (a system
// administrator), alice and bob, each with password <name>-password.
func newAPIOn(t *testing.T, store meta.Store, opts ...Option) (string, *accounts.Manager) {
	t.Helper()
	m, err := accounts.New(t.Context(), store, accounts.WithHashCost(bcrypt.MinCost), accounts.WithProjectCleanup(webhook.DeleteProjectPolicies))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"admin", "alice", "bob"} {
		if err := m.SetUser(t.Context(), u, u+"-password", u == "admin"); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(New(m, store, m, nil, opts...))
	t.Cleanup(srv.Close)
	return srv.URL, m
}

func (c client) do(method, path, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+Prefix+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// want checks a status, and for errors Harbor's error shape and code.
func (c client) want(method, path, body string, status int, code string) (*http.Response, string) {
	c.t.Helper()
	resp, out := c.do(method, path, body)
	if resp.StatusCode != status {
		c.t.Fatalf("%s %s as %q: %d %s, want %d", method, path, c.user, resp.StatusCode, out, status)
	}
	if code != "" {
		var e struct {
			Errors []struct{ Code, Message string }
		}
		if err := json.Unmarshal([]byte(out), &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Code != code || e.Errors[0].Message == "" {
			c.t.Fatalf("%s %s: error body %s, want code %s", method, path, out, code)
		}
	}
	return resp, out
}

func names(t *testing.T, body string) []string {
	t.Helper()
	var ps []projectJSON
	if err := json.Unmarshal([]byte(body), &ps); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestProjectsAndMembers(t *testing.T) {
	url, _ := newAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	anon := client{t: t, url: url}

	admin.want("POST", "/projects", `{"project_name":"library","metadata":{"public":"true"}}`, 201, "")
	resp, _ := alice.want("POST", "/projects", `{"project_name":"team","metadata":{"public":"false"}}`, 201, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/projects/team" {
		t.Errorf("Location %q", loc)
	}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 409, "CONFLICT")
	_, out := alice.want("POST", "/projects", `{"project_name":"x","colour":"red"}`, 400, "BAD_REQUEST")
	if !strings.Contains(out, "colour") {
		t.Errorf("unknown field not named: %s", out)
	}
	_, out = alice.want("POST", "/projects", `{"project_name":"x","metadata":{"public":"yes"}}`, 400, "BAD_REQUEST")
	if !strings.Contains(out, "metadata.public") {
		t.Errorf("bad public flag not named: %s", out)
	}
	alice.want("POST", "/projects", `{"project_name":"Bad Name"}`, 400, "BAD_REQUEST")
	anon.want("POST", "/projects", `{"project_name":"anon"}`, 401, "UNAUTHORIZED")
	client{t, url, "alice", "wrong"}.want("GET", "/projects", "", 401, "UNAUTHORIZED")

	// Visibility: anonymous and non-members see public projects only; a
	// private project is 404 to them, not 403.
	if _, out := anon.want("GET", "/projects", "", 200, ""); fmt.Sprint(names(t, out)) != "[library]" {
		t.Errorf("anonymous list: %s", out)
	}
	bob.want("GET", "/projects/team", "", 404, "NOT_FOUND")
	bob.want("HEAD", "/projects?project_name=team", "", 404, "")
	alice.want("HEAD", "/projects?project_name=team", "", 200, "")
	_, out = alice.want("GET", "/projects/team", "", 200, "")
	var p projectJSON
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Metadata.Public != "false" || p.CurrentUserRoleID != 1 || p.OwnerName != "alice" {
		t.Errorf("GET team: %s", out)
	}

	// Members: alice (projectAdmin) adds bob as developer; bob then sees
	// the project but may not manage members.
	bob.want("POST", "/projects/team/members", `{"role_id":2,"member_user":{"username":"bob"}}`, 404, "NOT_FOUND")
	resp, _ = alice.want("POST", "/projects/team/members", `{"role_id":2,"member_user":{"username":"bob"}}`, 201, "")
	if loc := resp.Header.Get("Location"); loc != Prefix+"/projects/team/members/2" {
		t.Errorf("member Location %q", loc)
	}
	alice.want("POST", "/projects/team/members", `{"role_id":9,"member_user":{"username":"bob"}}`, 400, "BAD_REQUEST")
	admin.want("POST", "/projects/team/members", `{"role_id":2,"member_user":{"username":"nobody"}}`, 404, "NOT_FOUND") // only an admin is told
	alice.want("POST", "/projects/team/members", `{"role_id":3,"member_group":{"group_name":"devs"}}`, 201, "")
	_, out = bob.want("GET", "/projects/team/members", "", 200, "")
	var ms []memberJSON
	if err := json.Unmarshal([]byte(out), &ms); err != nil || len(ms) != 3 || ms[1] != (memberJSON{2, "bob", "u", 2, "developer"}) || ms[2].EntityType != "g" {
		t.Errorf("members: %s", out)
	}
	bob.want("POST", "/projects/team/members", `{"role_id":1,"member_user":{"username":"bob"}}`, 403, "FORBIDDEN")
	bob.want("PUT", "/projects/team", `{"metadata":{"public":"true"}}`, 403, "FORBIDDEN")
	alice.want("PUT", "/projects/team/members/2", `{"role_id":3}`, 200, "")
	_, out = alice.want("GET", "/projects/team/members?entityname=bob", "", 200, "")
	if !strings.Contains(out, `"role_name":"guest"`) {
		t.Errorf("after the role change: %s", out)
	}
	alice.want("DELETE", "/projects/team/members/2", "", 200, "")
	alice.want("DELETE", "/projects/team/members/2", "", 404, "NOT_FOUND")
	bob.want("GET", "/projects/team", "", 404, "NOT_FOUND")

	// Update and delete.
	alice.want("PUT", "/projects/team", `{"metadata":{"public":"true"}}`, 200, "")
	if _, out := anon.want("GET", "/projects?public=true", "", 200, ""); fmt.Sprint(names(t, out)) != "[library team]" {
		t.Errorf("public projects after the update: %s", out)
	}
	alice.want("PUT", "/projects/team", `{"project_name":"renamed"}`, 400, "BAD_REQUEST")
	alice.want("DELETE", "/projects/team", "", 200, "")
	alice.want("GET", "/projects/team", "", 404, "NOT_FOUND")
}

func TestProjectPaging(t *testing.T) {
	url, _ := newAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	for i := range 12 {
		admin.want("POST", "/projects", fmt.Sprintf(`{"project_name":"p%02d"}`, i), 201, "")
	}
	resp, out := admin.want("GET", "/projects?page=2&page_size=5", "", 200, "")
	if got := fmt.Sprint(names(t, out)); got != "[p05 p06 p07 p08 p09]" {
		t.Errorf("page 2: %s", got)
	}
	if resp.Header.Get("X-Total-Count") != "12" {
		t.Errorf("X-Total-Count %q", resp.Header.Get("X-Total-Count"))
	}
	link := resp.Header.Get("Link")
	if !strings.Contains(link, `page=1&page_size=5>; rel="prev"`) || !strings.Contains(link, `page=3&page_size=5>; rel="next"`) {
		t.Errorf("Link %q", link)
	}
	resp, out = admin.want("GET", "/projects?page=3&page_size=5", "", 200, "")
	if got := fmt.Sprint(names(t, out)); got != "[p10 p11]" || strings.Contains(resp.Header.Get("Link"), "next") {
		t.Errorf("last page: %s, Link %q", got, resp.Header.Get("Link"))
	}
	if _, out := admin.want("GET", "/projects?page=9", "", 200, ""); out != "[]\n" {
		t.Errorf("a page past the end: %q", out)
	}
	admin.want("GET", "/projects?page_size=1000", "", 400, "BAD_REQUEST")
	admin.want("GET", "/projects?page=0", "", 400, "BAD_REQUEST")
}

func TestUsers(t *testing.T) {
	url, m := newAPI(t)
	admin := client{t, url, "admin", "admin-password"}
	alice := client{t, url, "alice", "alice-password"}
	anon := client{t: t, url: url}

	alice.want("POST", "/users", `{"username":"carol","password":"carol-password"}`, 403, "FORBIDDEN")
	anon.want("GET", "/users", "", 401, "UNAUTHORIZED")
	resp, _ := admin.want("POST", "/users", `{"username":"carol","email":"c@example.org","realname":"Carol","password":"carol-password"}`, 201, "")
	if resp.Header.Get("Location") != Prefix+"/users/carol" {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	admin.want("POST", "/users", `{"username":"carol","password":"carol-password"}`, 409, "CONFLICT")
	_, out := admin.want("POST", "/users", `{"username":"dan","password":"short"}`, 400, "BAD_REQUEST")
	if !strings.Contains(out, "password") {
		t.Errorf("short password not named: %s", out)
	}
	carol := client{t, url, "carol", "carol-password"}
	_, out = carol.want("GET", "/users/current", "", 200, "")
	var u userJSON
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Username != "carol" || u.Email != "c@example.org" || u.Realname != "Carol" || u.SysadminFlag {
		t.Errorf("current user: %s", out)
	}
	resp, out = admin.want("GET", "/users?page_size=2", "", 200, "")
	if resp.Header.Get("X-Total-Count") != "4" || strings.Count(out, `"username"`) != 2 {
		t.Errorf("user list: %s (total %s)", out, resp.Header.Get("X-Total-Count"))
	}
	alice.want("GET", "/users/carol", "", 403, "FORBIDDEN")

	// Passwords: the owner needs the old one; an admin does not.
	carol.want("PUT", "/users/carol/password", `{"old_password":"wrong","new_password":"carol-new-password"}`, 400, "BAD_REQUEST")
	carol.want("PUT", "/users/carol/password", `{"old_password":"carol-password","new_password":"carol-new-password"}`, 200, "")
	carol.want("GET", "/users/current", "", 401, "UNAUTHORIZED")
	admin.want("PUT", "/users/carol/password", `{"new_password":"carol-third-password"}`, 200, "")
	if _, err := m.Authenticate(t.Context(), "carol", "carol-third-password"); err != nil {
		t.Errorf("after the admin's reset: %v", err)
	}

	admin.want("PUT", "/users/carol/sysadmin", `{"sysadmin_flag":true}`, 200, "")
	if p, err := m.Authenticate(t.Context(), "carol", "carol-third-password"); err != nil || !p.Admin {
		t.Errorf("carol after sysadmin: %+v, %v", p, err)
	}
	admin.want("DELETE", "/users/admin", "", 400, "BAD_REQUEST")
	admin.want("DELETE", "/users/carol", "", 200, "")
	admin.want("DELETE", "/users/carol", "", 404, "NOT_FOUND")
	admin.want("GET", "/users/carol", "", 404, "NOT_FOUND")
}

func TestRobots(t *testing.T) {
	url, m := newAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	admin := client{t, url, "admin", "admin-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 201, "")

	body := `{"name":"ci","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull","pattern":"team/app-*"},{"resource":"repository","action":"push","pattern":"team/app-*"}]}]}`
	resp, out := alice.want("POST", "/robots", body, 201, "")
	var created struct {
		Name, Secret string
		ExpiresAt    int64 `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Name != "robot$team+ci" || created.Secret == "" || created.ExpiresAt != -1 {
		t.Fatalf("created: %s", out)
	}
	if resp.Header.Get("Location") != Prefix+"/robots/robot$team+ci" {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	p, err := m.Authenticate(t.Context(), created.Name, created.Secret)
	if err != nil {
		t.Fatalf("the robot logs in: %v", err)
	}
	for repo, want := range map[string]int{"team/app-web": 2, "team/db": 0} {
		got, _ := m.Authorizer().Allowed(t.Context(), p, authResource(repo), []string{"pull", "push", "delete"})
		if len(got) != want {
			t.Errorf("robot on %s: %v", repo, got)
		}
	}
	_, out = alice.want("GET", "/robots/robot$team+ci", "", 200, "")
	if strings.Contains(out, "secret") || !strings.Contains(out, `"pattern":"team/app-*"`) || !strings.Contains(out, `"level":"project"`) {
		t.Errorf("robot record: %s", out)
	}
	bob.want("GET", "/robots/robot$team+ci", "", 404, "NOT_FOUND")
	if _, out := bob.want("GET", "/robots", "", 200, ""); out != "[]\n" {
		t.Errorf("bob's robot list: %s", out)
	}
	if resp, _ := admin.want("GET", "/robots", "", 200, ""); resp.Header.Get("X-Total-Count") != "1" {
		t.Errorf("admin's robot list total %q", resp.Header.Get("X-Total-Count"))
	}

	// Refresh, disable, delete.
	_, out = alice.want("PATCH", "/robots/robot$team+ci", `{}`, 200, "")
	var fresh struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &fresh); err != nil || fresh.Secret == "" || fresh.Secret == created.Secret {
		t.Fatalf("refresh: %s", out)
	}
	if _, err := m.Authenticate(t.Context(), created.Name, created.Secret); err == nil {
		t.Error("the old secret still works")
	}
	alice.want("PUT", "/robots/robot$team+ci", `{"disable":true}`, 200, "")
	if _, err := m.Authenticate(t.Context(), created.Name, fresh.Secret); err == nil {
		t.Error("a disabled robot logs in")
	}
	alice.want("DELETE", "/robots/robot$team+ci", "", 200, "")
	alice.want("GET", "/robots/robot$team+ci", "", 404, "NOT_FOUND")

	// Refusals, each naming the problem.
	for _, c := range []struct{ body, status, code, mention string }{
		{`{"name":"sys","level":"system","duration":-1,"permissions":[{"kind":"project","namespace":"team","access":[{"resource":"repository","action":"pull"}]}]}`, "403", "FORBIDDEN", ""},
		{`{"name":"x","level":"project","permissions":[{"kind":"project","namespace":"team","access":[{"resource":"helm-chart","action":"read"}]}]}`, "400", "BAD_REQUEST", "access[0]"},
		{`{"name":"x","level":"project","permissions":[{"kind":"project","namespace":"team","access":[{"resource":"repository","action":"pull","pattern":"other/**"}]}]}`, "400", "BAD_REQUEST", "other/**"},
		{`{"name":"x","level":"team","permissions":[]}`, "400", "BAD_REQUEST", "level"},
		{`{"name":"x","level":"project","expires_at":"2001-01-01T00:00:00Z","permissions":[{"kind":"project","namespace":"team","access":[{"resource":"repository","action":"pull"}]}]}`, "400", "BAD_REQUEST", "past"},
		{`{"name":"x","level":"project","secret":"mine","permissions":[]}`, "400", "BAD_REQUEST", "secret"},
	} {
		resp, out := alice.do("POST", "/robots", c.body)
		if fmt.Sprint(resp.StatusCode) != c.status || !strings.Contains(out, c.code) || !strings.Contains(out, c.mention) {
			t.Errorf("POST /robots %s: %d %s; want %s %s mentioning %q", c.body, resp.StatusCode, out, c.status, c.code, c.mention)
		}
	}
	if _, out := admin.want("POST", "/robots", `{"name":"sys","level":"system","duration":30,"permissions":[{"kind":"project","namespace":"team","access":[{"resource":"repository","action":"pull"}]}]}`, 201, ""); !strings.Contains(out, "robot$sys") {
		t.Errorf("system robot: %s", out)
	}
}

func authResource(repo string) auth.Resource {
	return auth.Resource{Type: auth.TypeRepository, Name: repo}
}

// TestRobotsManageRobots: a robot given robot management through the API
// creates, lists and reads robots with its own credentials, within its own
// permissions; a system robot's namespace "*" reaches every project.
func TestRobotsManageRobots(t *testing.T) {
	url, m := newAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	admin := client{t, url, "admin", "admin-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	admin.want("POST", "/projects", `{"project_name":"other"}`, 201, "")

	_, out := alice.want("POST", "/robots", `{"name":"mgr","level":"project","duration":1,"permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull"},{"resource":"robot","action":"create"},{"resource":"robot","action":"list"}]}]}`, 201, "")
	var mgr struct{ Name, Secret string }
	if err := json.Unmarshal([]byte(out), &mgr); err != nil {
		t.Fatal(err)
	}
	robot := client{t, url, mgr.Name, mgr.Secret}
	_, out = robot.want("GET", "/robots/"+mgr.Name, "", 200, "")
	if !strings.Contains(out, `{"resource":"robot","action":"create"}`) || !strings.Contains(out, `{"resource":"robot","action":"read"}`) {
		t.Errorf("the robot's own record: %s", out)
	}
	soon := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	robot.want("POST", "/robots", `{"name":"child","level":"project","expires_at":"`+soon+`","permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull","pattern":"team/app"}]}]}`, 201, "")
	if resp, _ := robot.want("GET", "/robots", "", 200, ""); resp.Header.Get("X-Total-Count") != "2" {
		t.Errorf("the robot lists %s robots, want 2 (itself and its child)", resp.Header.Get("X-Total-Count"))
	}
	robot.want("POST", "/robots", `{"name":"pusher","level":"project","expires_at":"`+soon+`","permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"push"}]}]}`, 403, "FORBIDDEN")
	robot.want("POST", "/robots", `{"name":"forever","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull"}]}]}`, 403, "FORBIDDEN")
	robot.want("POST", "/robots", `{"name":"x","level":"project","expires_at":"`+soon+`","permissions":[{"kind":"project","namespace":"other",
		"access":[{"resource":"repository","action":"pull"}]}]}`, 404, "NOT_FOUND")
	robot.want("DELETE", "/robots/robot$team+child", "", 403, "FORBIDDEN")

	_, out = admin.want("POST", "/robots", `{"name":"ops","level":"system","duration":-1,"permissions":[{"kind":"project","namespace":"*",
		"access":[{"resource":"repository","action":"pull"},{"resource":"robot","action":"read"}]}]}`, 201, "")
	var ops struct{ Name, Secret string }
	if err := json.Unmarshal([]byte(out), &ops); err != nil {
		t.Fatal(err)
	}
	p, err := m.Authenticate(t.Context(), ops.Name, ops.Secret)
	if err != nil {
		t.Fatal(err)
	}
	alice.want("POST", "/projects", `{"project_name":"later"}`, 201, "")
	for _, repo := range []string{"team/a", "other/b", "later/c"} {
		if got, _ := m.Authorizer().Allowed(t.Context(), p, authResource(repo), []string{"pull", "push"}); len(got) != 1 {
			t.Errorf("the system robot on %s: %v", repo, got)
		}
	}
	sys := client{t, url, ops.Name, ops.Secret}
	if resp, _ := sys.want("GET", "/robots", "", 200, ""); resp.Header.Get("X-Total-Count") != "3" {
		t.Errorf("the system robot lists %s robots, want 3", resp.Header.Get("X-Total-Count"))
	}
	robot.want("GET", "/robots/"+ops.Name, "", 404, "NOT_FOUND")
	alice.want("POST", "/robots", `{"name":"wide","level":"project","duration":1,"permissions":[{"kind":"project","namespace":"*",
		"access":[{"resource":"repository","action":"pull"}]}]}`, 400, "BAD_REQUEST")
}

// TestGrants: a project admin grants a user and a group actions on a
// repository pattern; the grants work without a role and go away when
// deleted.
func TestGrants(t *testing.T) {
	url, m := newAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	bob := client{t, url, "bob", "bob-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	resp, _ := alice.want("POST", "/projects/team/grants", `{"member_user":{"username":"bob"},"pattern":"team/app-*","actions":["pull","push"]}`, 201, "")
	if resp.Header.Get("Location") != Prefix+"/projects/team/grants/1" {
		t.Errorf("Location %q", resp.Header.Get("Location"))
	}
	alice.want("POST", "/projects/team/grants", `{"member_group":{"group_name":"ops"},"pattern":"team/infra/**","actions":["pull"]}`, 201, "")
	bobP := auth.Principal{Name: "bob", Kind: auth.User}
	for repo, want := range map[string]int{"team/app-web": 2, "team/db": 0} {
		if got, _ := m.Authorizer().Allowed(t.Context(), bobP, authResource(repo), []string{"pull", "push", "delete"}); len(got) != want {
			t.Errorf("bob on %s: %v", repo, got)
		}
	}
	_, out := alice.want("GET", "/projects/team/grants", "", 200, "")
	if !strings.Contains(out, `"entity_name":"bob","entity_type":"u","pattern":"team/app-*","actions":["pull","push"]`) || !strings.Contains(out, `"entity_type":"g"`) {
		t.Errorf("grants: %s", out)
	}
	// bob, granted but no member, sees the project (he may pull from
	// it) but may not manage grants.
	bob.want("POST", "/projects/team/grants", `{"member_user":{"username":"bob"},"pattern":"team/**","actions":["delete"]}`, 403, "FORBIDDEN")
	for _, c := range []struct{ body, mention string }{
		{`{"member_user":{"username":"bob"},"pattern":"other/**","actions":["pull"]}`, "other/**"},
		{`{"member_user":{"username":"bob"},"pattern":"team/**","actions":[]}`, "actions"},
		{`{"member_user":{"username":"bob"},"pattern":"team/**","actions":["own"]}`, "own"},
		{`{"pattern":"team/**","actions":["pull"]}`, "member_user"},
	} {
		if resp, out := alice.do("POST", "/projects/team/grants", c.body); resp.StatusCode != 400 || !strings.Contains(out, c.mention) {
			t.Errorf("POST grants %s: %d %s", c.body, resp.StatusCode, out)
		}
	}
	client{t, url, "admin", "admin-password"}.want("POST", "/projects/team/grants", `{"member_user":{"username":"nobody"},"pattern":"team/**","actions":["pull"]}`, 404, "NOT_FOUND") // only an admin is told
	alice.want("DELETE", "/projects/team/grants/1", "", 200, "")
	alice.want("DELETE", "/projects/team/grants/1", "", 404, "NOT_FOUND")
	alice.want("DELETE", "/projects/team/grants/x", "", 400, "BAD_REQUEST")
	if got, _ := m.Authorizer().Allowed(t.Context(), bobP, authResource("team/app-web"), []string{"pull"}); len(got) != 0 {
		t.Errorf("bob after the grant's removal: %v", got)
	}
}

// robotSecret creates a robot as c from body and returns its name and
// secret.
func robotSecret(t *testing.T, c client, body string) (string, string) {
	t.Helper()
	_, out := c.want("POST", "/robots", body, 201, "")
	var r struct{ Name, Secret string }
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return r.Name, r.Secret
}

// TestRobotsStayWithinTheirManager: a robot allowed to update and delete
// robots may refresh, disable, enable or delete only robots whose
// permissions and expiry lie within its own: a pull-only project robot
// cannot take over a push+delete robot of its project, and a system robot
// holding only robot list+update cannot re-enable an administrator's
// disabled "*" robot and read its new secret.
func TestRobotsStayWithinTheirManager(t *testing.T) {
	url, m := newAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	admin := client{t, url, "admin", "admin-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 201, "")

	strong, strongSecret := robotSecret(t, alice, `{"name":"strong","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull"},{"resource":"repository","action":"push"},{"resource":"repository","action":"delete"}]}]}`)
	weakName, weakSecret := robotSecret(t, alice, `{"name":"weak","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull"},{"resource":"robot","action":"list"},{"resource":"robot","action":"update"},{"resource":"robot","action":"delete"}]}]}`)
	puller, _ := robotSecret(t, alice, `{"name":"puller","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull","pattern":"team/app"}]}]}`)
	weak := client{t, url, weakName, weakSecret}

	weak.want("PATCH", "/robots/"+strong, `{}`, 403, "FORBIDDEN")
	weak.want("PUT", "/robots/"+strong, `{"disable":true}`, 403, "FORBIDDEN")
	weak.want("DELETE", "/robots/"+strong, "", 403, "FORBIDDEN")
	if _, err := m.Authenticate(t.Context(), strong, strongSecret); err != nil {
		t.Errorf("the strong robot after the weak one's attempts: %v", err)
	}
	weak.want("PUT", "/robots/"+strong, `{"disable":false,"permissions":[]}`, 400, "BAD_REQUEST")
	// Within its rights it manages robots as before.
	weak.want("PATCH", "/robots/"+puller, `{}`, 200, "")
	weak.want("PUT", "/robots/"+puller, `{"disable":true}`, 200, "")
	weak.want("PUT", "/robots/"+puller, `{"disable":false}`, 200, "")
	weak.want("DELETE", "/robots/"+puller, "", 200, "")

	all, allSecret := robotSecret(t, admin, `{"name":"all","level":"system","duration":-1,"permissions":[{"kind":"project","namespace":"*",
		"access":[{"resource":"repository","action":"pull"},{"resource":"repository","action":"push"},{"resource":"repository","action":"delete"}]}]}`)
	admin.want("PUT", "/robots/"+all, `{"disable":true}`, 200, "")
	opsName, opsSecret := robotSecret(t, admin, `{"name":"ops","level":"system","duration":-1,"permissions":[{"kind":"project","namespace":"*",
		"access":[{"resource":"robot","action":"list"},{"resource":"robot","action":"update"}]}]}`)
	ops := client{t, url, opsName, opsSecret}
	ops.want("PUT", "/robots/"+all, `{"disable":false}`, 403, "FORBIDDEN")
	ops.want("PATCH", "/robots/"+all, `{}`, 403, "FORBIDDEN")
	if _, err := m.Authenticate(t.Context(), all, allSecret); err == nil {
		t.Error("the disabled system robot logs in after the ops robot's attempts")
	}
	ops.want("PATCH", "/robots/"+weakName, `{}`, 403, "FORBIDDEN")
}

// TestMembersStayBelowTheirGranter: nobody grants a role or a repository
// grant above their own rights: a robot holding member create (and pull)
// may make someone a guest, not a projectAdmin or a developer, nor give a
// push grant; it may not re-role or remove a stronger member. POST of an
// existing member is 409 instead of a silent role change.
func TestMembersStayBelowTheirGranter(t *testing.T) {
	url, _ := newAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	name, secret := robotSecret(t, alice, `{"name":"hr","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team",
		"access":[{"resource":"repository","action":"pull"},{"resource":"project","action":"read"},
		{"resource":"member","action":"read"},{"resource":"member","action":"create"},{"resource":"member","action":"update"},{"resource":"member","action":"delete"}]}]}`)
	hr := client{t, url, name, secret}

	hr.want("POST", "/projects/team/members", `{"role_id":1,"member_user":{"username":"bob"}}`, 403, "FORBIDDEN")
	hr.want("POST", "/projects/team/members", `{"role_id":2,"member_group":{"group_name":"devs"}}`, 403, "FORBIDDEN")
	hr.want("POST", "/projects/team/members", `{"role_id":3,"member_user":{"username":"bob"}}`, 201, "")
	hr.want("POST", "/projects/team/members", `{"role_id":5,"member_user":{"username":"bob"}}`, 409, "CONFLICT")
	alice.want("POST", "/projects/team/members", `{"role_id":1,"member_user":{"username":"bob"}}`, 409, "CONFLICT")
	_, out := alice.want("GET", "/projects/team/members?entityname=bob", "", 200, "")
	if !strings.Contains(out, `"role_name":"guest"`) {
		t.Errorf("bob after the refused POSTs: %s", out)
	}
	hr.want("PUT", "/projects/team/members/2", `{"role_id":4}`, 403, "FORBIDDEN")
	hr.want("PUT", "/projects/team/members/2", `{"role_id":5}`, 200, "")
	hr.want("PUT", "/projects/team/members/1", `{"role_id":3}`, 403, "FORBIDDEN") // alice, projectAdmin
	hr.want("DELETE", "/projects/team/members/1", "", 403, "FORBIDDEN")
	hr.want("DELETE", "/projects/team/members/2", "", 200, "")
	_, out = alice.want("GET", "/projects/team/members", "", 200, "")
	if !strings.Contains(out, `"entity_name":"alice","entity_type":"u","role_id":1`) {
		t.Errorf("alice after the robot's attempts: %s", out)
	}

	hr.want("POST", "/projects/team/grants", `{"member_user":{"username":"bob"},"pattern":"team/**","actions":["push"]}`, 403, "FORBIDDEN")
	hr.want("POST", "/projects/team/grants", `{"member_user":{"username":"bob"},"pattern":"team/app","actions":["pull"]}`, 201, "")
	alice.want("POST", "/projects/team/grants", `{"member_user":{"username":"bob"},"pattern":"team/tools/**","actions":["delete"]}`, 201, "")
	hr.want("DELETE", "/projects/team/grants/2", "", 403, "FORBIDDEN")
	hr.want("DELETE", "/projects/team/grants/1", "", 200, "")
}

// TestMemberAddsDoNotTellWhichUsersExist: a project admin who is not a
// system administrator gets the same answer for a user name that has no
// account as for one that has, for members and grants alike; only a system
// administrator, who may list the users anyway, is told a name is unknown.
func TestMemberAddsDoNotTellWhichUsersExist(t *testing.T) {
	url, _ := newAPI(t)
	alice := client{t, url, "alice", "alice-password"}
	admin := client{t, url, "admin", "admin-password"}
	alice.want("POST", "/projects", `{"project_name":"team"}`, 201, "")
	known, _ := alice.want("POST", "/projects/team/members", `{"role_id":3,"member_user":{"username":"bob"}}`, 201, "")
	unknown, _ := alice.want("POST", "/projects/team/members", `{"role_id":3,"member_user":{"username":"nobody"}}`, 201, "")
	if known.Header.Get("Location") == "" || unknown.Header.Get("Location") == "" {
		t.Errorf("Locations %q, %q", known.Header.Get("Location"), unknown.Header.Get("Location"))
	}
	alice.want("POST", "/projects/team/grants", `{"member_user":{"username":"bob"},"pattern":"team/**","actions":["pull"]}`, 201, "")
	alice.want("POST", "/projects/team/grants", `{"member_user":{"username":"nobody2"},"pattern":"team/**","actions":["pull"]}`, 201, "")
	admin.want("POST", "/projects/team/members", `{"role_id":3,"member_user":{"username":"nobody3"}}`, 404, "NOT_FOUND")
	admin.want("POST", "/projects/team/grants", `{"member_user":{"username":"nobody3"},"pattern":"team/**","actions":["pull"]}`, 404, "NOT_FOUND")
}
