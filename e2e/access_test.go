package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// adminAPI calls the registry's admin API as the e2e admin.
type adminAPI struct {
	t          *testing.T
	base       string
	user, pass string
}

func (a adminAPI) call(method, path string, body any, want int) []byte {
	a.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+"/api/v2.0"+path, r)
	if err != nil {
		a.t.Fatal(err)
	}
	req.SetBasicAuth(a.user, a.pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out, want)
	}
	return out
}

// newAdminEnv is a client environment and the admin API of a registry
// with auth, the test skipped without one (BERTH_E2E_USER unset), with
// the tools logged in as the admin.
func newAdminEnv(t *testing.T) (*clientEnv, adminAPI) {
	t.Helper()
	admin := os.Getenv("BERTH_E2E_USER")
	if admin == "" {
		t.Skip("BERTH_E2E_USER is unset: the registry under test has no auth")
	}
	e := newClientEnv(t)
	e.login(admin, os.Getenv("BERTH_E2E_PASSWORD"))
	return e, adminAPI{t, "http://" + e.reg, admin, os.Getenv("BERTH_E2E_PASSWORD")}
}

// robot creates a project robot allowed actions on the repositories of
// project matching pattern, and returns its name and secret.
func (a adminAPI) robot(project, name, pattern string, expires *time.Time, actions ...string) (string, string) {
	a.t.Helper()
	var access []map[string]string
	for _, act := range actions {
		access = append(access, map[string]string{"resource": "repository", "action": act, "pattern": pattern})
	}
	body := map[string]any{
		"name": name, "level": "project",
		"permissions": []map[string]any{{"kind": "project", "namespace": project, "access": access}},
	}
	if expires != nil {
		body["expires_at"] = expires.UTC().Format(time.RFC3339Nano)
	} else {
		body["duration"] = -1
	}
	var created struct{ Name, Secret string }
	if err := json.Unmarshal(a.call("POST", "/robots", body, http.StatusCreated), &created); err != nil {
		a.t.Fatal(err)
	}
	return created.Name, created.Secret
}

// TestAccessControl drives real clients through the token flow as users
// with different roles and as robots, against a registry with auth whose
// admin BERTH_E2E_USER is: it creates a private project, a guest, a
// developer, a user with only a grant on one repository pattern, a robot
// limited to one repository pattern and one that expires, with the admin
// API.
func TestAccessControl(t *testing.T) {
	t.Parallel()
	admin := os.Getenv("BERTH_E2E_USER")
	if admin == "" {
		t.Skip("BERTH_E2E_USER is unset: the registry under test has no auth")
	}
	e := newClientEnv(t)
	api := adminAPI{t, "http://" + e.reg, admin, os.Getenv("BERTH_E2E_PASSWORD")}
	id := randHex(4)
	project := "acl-" + id
	api.call("POST", "/projects", map[string]any{"project_name": project, "metadata": map[string]string{"public": "false"}}, http.StatusCreated)
	users := map[string]int{"guest-" + id: 3, "dev-" + id: 2} // Harbor role ids: 3 guest, 2 developer
	for u, role := range users {
		api.call("POST", "/users", map[string]string{"username": u, "password": u + "-password"}, http.StatusCreated)
		api.call("POST", "/projects/"+project+"/members", map[string]any{"role_id": role, "member_user": map[string]string{"username": u}}, http.StatusCreated)
	}
	// A user with no role, only a grant on one repository pattern.
	api.call("POST", "/users", map[string]string{"username": "granted-" + id, "password": "granted-" + id + "-password"}, http.StatusCreated)
	api.call("POST", "/projects/"+project+"/grants", map[string]any{"member_user": map[string]string{"username": "granted-" + id},
		"pattern": project + "/tools/**", "actions": []string{"pull", "push"}}, http.StatusCreated)
	robotName, robotSecret := api.robot(project, "ci", project+"/app-*", nil, "pull", "push")

	img := newImage(t, "amd64", 64<<10)
	layout := filepath.Join(t.TempDir(), "layout")
	writeImageLayout(t, layout, "v1", img)
	app := e.ref(project+"/app", ":v1")

	// Anonymous and wrong passwords: refused.
	e.login("", "")
	e.denied("crane", "push", "--insecure", layout, app)
	e.login("dev-"+id, "wrong-password")
	e.denied("crane", "push", "--insecure", layout, app)

	// A developer pushes (crane) but may not delete.
	e.login("dev-"+id, "dev-"+id+"-password")
	e.run("crane", "push", "--insecure", layout, app)
	e.denied("crane", "delete", "--insecure", e.ref(project+"/app", "@"+img.Digest))

	// A guest pulls (skopeo) but may not push.
	e.login("guest-"+id, "guest-"+id+"-password")
	out := filepath.Join(t.TempDir(), "pulled")
	e.run("skopeo", "copy", "--src-tls-verify=false", "docker://"+app, "oci:"+out+":v1")
	e.denied("crane", "push", "--insecure", layout, e.ref(project+"/app", ":guest"))
	wantEqual(t, "digest the guest reads", strings.TrimSpace(e.run("crane", "digest", "--insecure", app)), img.Digest)

	// The robot works inside its pattern only.
	e.login(robotName, robotSecret)
	e.run("crane", "push", "--insecure", layout, e.ref(project+"/app-web", ":v1"))
	e.denied("crane", "push", "--insecure", layout, e.ref(project+"/db", ":v1"))
	e.denied("crane", "digest", "--insecure", app) // project/app is outside app-*

	// The granted user works inside its pattern only.
	e.login("granted-"+id, "granted-"+id+"-password")
	e.run("crane", "push", "--insecure", layout, e.ref(project+"/tools/lint", ":v1"))
	e.run("crane", "digest", "--insecure", e.ref(project+"/tools/lint", ":v1"))
	e.denied("crane", "push", "--insecure", layout, e.ref(project+"/app", ":granted"))
	e.denied("crane", "digest", "--insecure", app)

	// The expiring robot works, then is refused once expired (created here,
	// so that the steps before do not eat its life).
	soon := time.Now().Add(3 * time.Second)
	expiringName, expiringSecret := api.robot(project, "brief", project+"/**", &soon, "pull")
	e.login(expiringName, expiringSecret)
	e.run("crane", "digest", "--insecure", app)
	time.Sleep(time.Until(soon) + time.Second)
	e.denied("crane", "digest", "--insecure", app)
}

// denied runs a client command that access control must refuse: it fails,
// and says so (401/403, UNAUTHORIZED, DENIED), not for another reason.
func (e *clientEnv) denied(name string, args ...string) {
	e.t.Helper()
	stderr := e.fails(name, args...)
	for _, sign := range []string{"UNAUTHORIZED", "DENIED", "401", "403", "nauthorized", "denied"} {
		if strings.Contains(stderr, sign) {
			return
		}
	}
	e.t.Errorf("%s %s failed for another reason than access control:\n%s", name, strings.Join(args, " "), clip(stderr))
}
