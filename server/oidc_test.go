package server

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/oidctest"
)

// browser is an HTTP client with its own cookie jar.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

// call sends a request and returns the status and body.
func call(t *testing.T, c *http.Client, method, url, body string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "basic" {
			user, pass, _ := strings.Cut(hdr[i+1], ":")
			req.SetBasicAuth(user, pass)
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// adminCaller returns a function that calls the admin API at api as the
// admin and fails the test unless the status is want.
func adminCaller(t *testing.T, api, password string) func(method, path, body string, want int) string {
	return func(method, path, body string, want int) string {
		t.Helper()
		code, out := call(t, http.DefaultClient, method, api+path, body, "basic", "admin:"+password)
		if code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
		}
		return out
	}
}

// TestOIDCSignInAndCLISecret: against a real OpenID provider, people sign
// in through the server's /c/oidc/login (accounts made on first
// sign-in, groups and the admin group from the ID token and userinfo), get
// a session for the admin API and a CLI secret, and push with the CLI
// secret through the registry token flow, with the rights their groups'
// memberships give.
func TestOIDCSignInAndCLISecret(t *testing.T) {
	berth := httptest.NewUnstartedServer(nil)
	base := "http://" + berth.Listener.Addr().String()
	idp := oidctest.Start(t, "berth", "berth-client-secret", []string{base + "/c/oidc/callback"},
		oidctest.User{ID: "sub-alice", Username: "alice", Password: "alice-at-idp", Email: "alice@example.org", Name: "Alice", Groups: []string{"devs", "berth-admins"}},
		oidctest.User{ID: "sub-bob", Username: "bob", Password: "bob-at-idp", Email: "bob@example.org", Name: "Bob", Groups: []string{"devs"}},
		oidctest.User{ID: "sub-carol", Username: "carol", Password: "carol-at-idp", Name: "Carol"},
	)
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = "admin-password"
	cfg.Auth.OIDC = OIDCConfig{Issuer: idp.URL, ClientID: "berth", ClientSecret: "berth-client-secret",
		RedirectURL: base + "/c/oidc/callback", Scopes: []string{"profile", "email", oidctest.GroupsScope},
		GroupsClaim: "groups", AdminGroup: "berth-admins"}
	srv := start(t, cfg, WithLogger(slog.New(slog.DiscardHandler)))
	berth.Config.Handler = srv.Handler()
	berth.Start()
	defer berth.Close()
	api := base + "/api/v2.0"
	admin := []string{"basic", "admin:admin-password"}

	// A project whose developers are the provider's group devs, and a
	// local user carol whose name the provider's carol cannot take.
	anon := http.DefaultClient
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/projects", `{"project_name":"team"}`},
		{"POST", "/projects/team/members", `{"role_id":2,"member_group":{"group_name":"devs"}}`},
		{"POST", "/users", `{"username":"carol","password":"carol-local-pw","email":"carol@local"}`},
	} {
		if code, out := call(t, anon, c.method, api+c.path, c.body, admin...); code != 201 {
			t.Fatalf("%s %s: %d %s", c.method, c.path, code, out)
		}
	}

	// bob signs in and lands where he asked, signed in.
	bob := browser(t)
	res, err := idp.SignIn(bob, base+"/c/oidc/login?redirect_url=/api/v2.0/users/current", "bob", "bob-at-idp")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var me struct {
		Username, Email string
		Admin           bool `json:"sysadmin_flag"`
		Meta            struct {
			Subject string
			Groups  []string
		} `json:"oidc_user_meta"`
	}
	if err := json.Unmarshal(body, &me); err != nil || res.StatusCode != 200 || res.Request.URL.Path != "/api/v2.0/users/current" {
		t.Fatalf("after bob's sign-in: %d at %s: %s", res.StatusCode, res.Request.URL, body)
	}
	if me.Username != "bob" || me.Email != "bob@example.org" || me.Admin || me.Meta.Subject != "sub-bob" || strings.Join(me.Meta.Groups, ",") != "devs" {
		t.Errorf("bob's account: %+v", me)
	}

	// The session works for the admin API; changes need X-Requested-With.
	if code, out := call(t, bob, "PUT", api+"/users/bob/cli_secret", ""); code != 403 || !strings.Contains(out, "X-Requested-With") {
		t.Errorf("a session PUT without X-Requested-With: %d %s", code, out)
	}
	code, out := call(t, bob, "PUT", api+"/users/bob/cli_secret", "", "X-Requested-With", "test")
	var cli struct{ Secret string }
	if err := json.Unmarshal([]byte(out), &cli); err != nil || code != 200 || len(cli.Secret) < 16 {
		t.Fatalf("bob's CLI secret: %d %s", code, out)
	}
	if code, _ := call(t, bob, "PUT", api+"/users/alice/cli_secret", "", "X-Requested-With", "test"); code != 403 {
		t.Errorf("bob sets alice's CLI secret: %d", code)
	}

	// The CLI secret is bob's registry password, through the token flow.
	ref, err := name.ParseReference(strings.TrimPrefix(base, "http://")+"/team/app:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	withCLI := remote.WithAuth(&authn.Basic{Username: "bob", Password: cli.Secret})
	if err := remote.Write(ref, img, withCLI); err != nil {
		t.Fatalf("bob pushes with his CLI secret: %v", err)
	}
	if _, err := remote.Image(ref, withCLI); err != nil {
		t.Errorf("bob pulls with his CLI secret: %v", err)
	}
	if err := remote.Delete(ref, withCLI); err == nil {
		t.Error("bob, a developer through devs, deleted")
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "bob", Password: "bob-at-idp"})); err == nil {
		t.Error("bob pushed with his provider password")
	}

	// Signing out ends the session.
	if code, _ := call(t, bob, "GET", base+"/c/log_out", ""); code != 200 {
		t.Errorf("log out: %d", code)
	}
	if code, _ := call(t, bob, "GET", api+"/users/current", ""); code != 401 {
		t.Errorf("after log out: %d", code)
	}

	// alice is in the admin group: a system administrator.
	alice := browser(t)
	res, err = idp.SignIn(alice, base+"/c/oidc/login?redirect_url=/api/v2.0/users/current", "alice", "alice-at-idp")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"sysadmin_flag":true`) {
		t.Errorf("alice (admin group): %s", body)
	}
	if code, _ := call(t, alice, "GET", api+"/users", ""); code != 200 {
		t.Errorf("alice lists users: %d", code)
	}

	// Refusals: the provider's carol may not take local carol's name; a
	// wrong password never leaves the provider; a callback without a
	// sign-in in progress is 401; redirects stay on this server.
	res, err = idp.SignIn(browser(t), base+"/c/oidc/login", "carol", "carol-at-idp")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 409 {
		t.Errorf("the provider's carol: %d, want 409", res.StatusCode)
	}
	lost := browser(t)
	res, err = idp.SignIn(lost, base+"/c/oidc/login", "bob", "wrong")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if code, _ := call(t, lost, "GET", api+"/users/current", ""); code != 401 || strings.HasPrefix(res.Request.URL.String(), base) {
		t.Errorf("a wrong password at the provider: signed in %d, ended at %s", code, res.Request.URL)
	}
	if code, out := call(t, browser(t), "GET", base+"/c/oidc/callback?code=stolen&state=guess", ""); code != 401 || !strings.Contains(out, "UNAUTHORIZED") {
		t.Errorf("a callback without a sign-in in progress: %d %s", code, out)
	}
	far := browser(t)
	far.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), base) && !strings.HasPrefix(req.URL.String(), idp.URL) {
			return http.ErrUseLastResponse
		}
		return nil
	}
	res, err = idp.SignIn(far, base+"/c/oidc/login?redirect_url=//evil.example/x", "bob", "bob-at-idp")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	// Home instead: "/" (which the portal sends on to /projects).
	if u := res.Request.URL.String(); u != base+"/" && u != base+"/projects" {
		t.Errorf("a foreign redirect_url led to %s", res.Request.URL)
	}
}
