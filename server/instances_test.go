package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage/memory"
)

// instance is one of several servers sharing a metadata store and a
// blob storage, as instances behind one load balancer do.
type instance struct {
	*site
	srv   *Server
	store meta.Store
}

// instanceConfig is the configuration of each instance: its own data
// directory (nothing in it is shared), the site's admin password, the
// change counters read every 20ms.
func instanceConfig(t *testing.T) Config {
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	cfg.Auth.AdminPassword = sitePassword
	cfg.Metadata.Refresh = 20 * time.Millisecond
	return cfg
}

// twoInstances serves two servers on one store (teststores.Open: bbolt,
// or PostgreSQL under BERTH_TEST_META=postgres) and one storage.
func twoInstances(t *testing.T, tune func(*Config)) (instance, instance) {
	t.Helper()
	store := teststores.Open(t)
	blobs := memory.New()
	one := func() instance {
		cfg := instanceConfig(t)
		if tune != nil {
			tune(&cfg)
		}
		host, srv := serveServer(t, cfg, WithStore(store), WithStorage(blobs))
		return instance{site: siteAt(t, host), srv: srv, store: store}
	}
	return one(), one()
}

// caughtUp waits until in's watcher has reloaded after every change that
// counter name counts so far (a change made through another instance has
// then reached in's memory): no sleeping, no clock.
func (in instance) caughtUp(t *testing.T, name string) {
	t.Helper()
	var want uint64
	if err := in.store.View(t.Context(), func(tx meta.Tx) error {
		var err error
		want, err = generation.Value(tx, name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, fmt.Sprintf("%s's watcher at %s %d", in.host, name, want), func() bool {
		seen, ok := in.srv.bg.watcher.Seen(name)
		return ok && seen >= want
	})
}

// token asks in's token service for scope as user, and returns the
// status and the token with the actions it grants on repo.
func (in instance) token(t *testing.T, user, password, scope, repo string) (int, string, []string) {
	t.Helper()
	code, out := call(t, http.DefaultClient, "GET", "http://"+in.host+"/service/token?service=berth-registry&scope="+url.QueryEscape(scope), "",
		"basic", user+":"+password)
	if code != 200 {
		return code, "", nil
	}
	var body struct{ Token string }
	if err := json.Unmarshal([]byte(out), &body); err != nil || strings.Count(body.Token, ".") != 2 {
		t.Fatalf("token answer %s (%v)", out, err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(body.Token, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Access []struct {
			Type, Name string
			Actions    []string
		}
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range claims.Access {
		if a.Type == "repository" && a.Name == repo {
			actions = append(actions, a.Actions...)
		}
	}
	slices.Sort(actions)
	return code, body.Token, actions
}

// status sends a request to in and returns the status.
func (in instance) status(t *testing.T, method, path string, hdr ...string) int {
	t.Helper()
	code, _ := call(t, http.DefaultClient, method, "http://"+in.host+path, "", hdr...)
	return code
}

// TestInstancesShareKeysAndAccounts: a registry token issued by one
// instance verifies on another, both ways; a session cookie set by one
// is accepted by another; a password changed and an account deleted
// through one are refused by the other at its next request.
func TestInstancesShareKeysAndAccounts(t *testing.T) {
	a, b := twoInstances(t, nil)
	for _, c := range []struct{ from, to instance }{{a, b}, {b, a}} {
		code, tok, _ := c.from.token(t, "admin", sitePassword, "repository:library/app:pull", "library/app")
		if code != 200 {
			t.Fatalf("token from %s: %d", c.from.host, code)
		}
		if code := c.to.status(t, "GET", "/v2/", "Authorization", "Bearer "+tok); code != 200 {
			t.Errorf("a token of %s on %s: %d, want 200", c.from.host, c.to.host, code)
		}
	}

	// A session cookie of A, sent to B by hand (a cookie jar would not
	// tell the two apart: they differ only by port).
	res, err := http.PostForm("http://"+a.host+"/c/login", url.Values{"principal": {"admin"}, "password": {sitePassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Value != "" {
			cookie = c
		}
	}
	if res.StatusCode != 200 || cookie == nil {
		t.Fatalf("sign-in on A: %d, cookies %v", res.StatusCode, res.Cookies())
	}
	code, out := call(t, http.DefaultClient, "GET", b.api+"/users/current", "", "Cookie", cookie.String())
	if code != 200 || !strings.Contains(out, `"username":"admin"`) {
		t.Fatalf("A's session cookie on B: %d %s", code, out)
	}

	a.must("POST", "/users", `{"username":"alice","password":"alice-password"}`, 201)
	if code := b.status(t, "GET", "/v2/", "basic", "alice:alice-password"); code != 200 {
		t.Fatalf("alice on B: %d", code)
	}
	a.must("PUT", "/users/alice/password", `{"new_password":"alice-second"}`, 200)
	if code := b.status(t, "GET", "/v2/", "basic", "alice:alice-password"); code != 401 {
		t.Errorf("alice's old password on B after A changed it: %d, want 401", code)
	}
	if code := b.status(t, "GET", "/v2/", "basic", "alice:alice-second"); code != 200 {
		t.Errorf("alice's new password on B: %d, want 200", code)
	}
	a.must("DELETE", "/users/alice", "", 200)
	if code := b.status(t, "GET", "/v2/", "basic", "alice:alice-second"); code != 401 {
		t.Errorf("alice on B after A deleted her: %d, want 401", code)
	}
}

// TestInstancesStartTogether: two instances starting at once on an empty
// store, without a configured admin password, both start; one creates
// the admin, and its data directory alone holds the generated password,
// which signs in on both; both sign with the one key they created
// between them.
func TestInstancesStartTogether(t *testing.T) {
	store := teststores.Open(t)
	blobs := memory.New()
	var (
		wg   sync.WaitGroup
		cfgs [2]Config
		srvs [2]*Server
		errs [2]error
	)
	for i := range cfgs {
		cfgs[i] = instanceConfig(t)
		cfgs[i].Auth.AdminPassword = ""
		wg.Go(func() { srvs[i], errs[i] = New(t.Context(), cfgs[i], WithStore(store), WithStorage(blobs)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		t.Cleanup(func() { _ = srvs[i].Close() })
	}
	var password string
	for _, c := range cfgs {
		raw, err := os.ReadFile(filepath.Join(c.DataDir, "admin-password"))
		switch {
		case err == nil && password != "":
			t.Fatal("both instances wrote a generated admin password")
		case err == nil:
			password = strings.TrimSpace(string(raw))
		case !os.IsNotExist(err):
			t.Fatal(err)
		}
		if left, _ := filepath.Glob(filepath.Join(c.DataDir, ".admin-password-*")); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
	}
	if password == "" {
		t.Fatal("no instance wrote the generated admin password")
	}
	var hosts [2]instance
	for i, srv := range srvs {
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		hosts[i] = instance{site: &site{host: strings.TrimPrefix(ts.URL, "http://")}, srv: srv, store: store}
		if code := hosts[i].status(t, "GET", "/v2/", "basic", "admin:"+password); code != 200 {
			t.Errorf("the generated admin password on instance %d: %d", i, code)
		}
	}
	code, tok, _ := hosts[0].token(t, "admin", password, "repository:library/app:pull", "library/app")
	if code != 200 {
		t.Fatalf("token: %d", code)
	}
	if code := hosts[1].status(t, "GET", "/v2/", "Authorization", "Bearer "+tok); code != 200 {
		t.Errorf("a token of one instance on the other: %d", code)
	}
}

// TestPolicyChangesReachOtherInstances: a membership, a robot, its
// deletion and its re-creation with fewer rights, made through one
// instance, are in force on another once that one's watcher has seen
// the change counter move: the other instance's authorizer, which
// holds the policy in memory, reloads it.
func TestPolicyChangesReachOtherInstances(t *testing.T) {
	a, b := twoInstances(t, nil)
	a.must("POST", "/projects", `{"project_name":"team","metadata":{"public":"false"}}`, 201)
	a.must("POST", "/users", `{"username":"alice","password":"alice-password"}`, 201)
	a.must("POST", "/projects/team/members", `{"role_id":2,"member_user":{"username":"alice"}}`, 201) // developer
	b.caughtUp(t, accounts.PolicyGeneration)
	scope := "repository:team/app:pull,push"
	if _, _, got := b.token(t, "alice", "alice-password", scope, "team/app"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Fatalf("alice, made a developer on A, gets %v on B", got)
	}

	robot := func(actions ...string) string {
		var access []string
		for _, act := range actions {
			access = append(access, `{"resource":"repository","action":"`+act+`"}`)
		}
		out := a.must("POST", "/robots", `{"name":"ci","level":"project","duration":-1,"permissions":[{"kind":"project","namespace":"team",
			"access":[`+strings.Join(access, ",")+`]}]}`, 201)
		var created struct{ Name, Secret string }
		if err := json.Unmarshal([]byte(out), &created); err != nil || created.Name != "robot$team+ci" {
			t.Fatalf("robot: %s", out)
		}
		return created.Secret
	}
	first := robot("pull", "push")
	b.caughtUp(t, accounts.PolicyGeneration)
	if _, _, got := b.token(t, "robot$team+ci", first, scope, "team/app"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Fatalf("the robot made on A gets %v on B", got)
	}
	img, _ := random.Image(256, 1)
	ref, _ := name.ParseReference(b.host+"/team/app:v1", name.Insecure)
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "robot$team+ci", Password: first})); err != nil {
		t.Fatalf("the robot made on A pushes through B: %v", err)
	}

	a.must("DELETE", "/robots/robot$team+ci", "", 200)
	b.caughtUp(t, accounts.PolicyGeneration)
	if code, _, _ := b.token(t, "robot$team+ci", first, scope, "team/app"); code != 401 {
		t.Errorf("the robot deleted on A asks B for a token: %d, want 401", code)
	}
	if code := b.status(t, "GET", "/v2/team/app/tags/list", "basic", "robot$team+ci:"+first); code != 401 {
		t.Errorf("the robot deleted on A pulls through B: %d, want 401", code)
	}
	// Made again under its name with pull only: B must not keep the
	// first robot's push.
	second := robot("pull")
	b.caughtUp(t, accounts.PolicyGeneration)
	if _, _, got := b.token(t, "robot$team+ci", second, scope, "team/app"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("the robot made again on A with pull only gets %v on B", got)
	}
	if code := b.status(t, "GET", "/v2/team/app/tags/list", "basic", "robot$team+ci:"+first); code != 401 {
		t.Errorf("the first robot's secret on B: %d, want 401", code)
	}

	var members []struct {
		ID         int64  `json:"id"`
		EntityName string `json:"entity_name"`
	}
	if err := json.Unmarshal([]byte(a.must("GET", "/projects/team/members", "", 200)), &members); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(members, func(m struct {
		ID         int64  `json:"id"`
		EntityName string `json:"entity_name"`
	}) bool {
		return m.EntityName == "alice"
	})
	if i < 0 {
		t.Fatalf("members %+v", members)
	}
	a.must("DELETE", fmt.Sprintf("/projects/team/members/%d", members[i].ID), "", 200)
	b.caughtUp(t, accounts.PolicyGeneration)
	if _, _, got := b.token(t, "alice", "alice-password", scope, "team/app"); len(got) != 0 {
		t.Errorf("alice, no longer a member on A, gets %v on B", got)
	}
}

// TestSettingsReachOtherInstances: a project made public, a scanner
// registration and a project's scanner, a webhook policy and the garbage
// collection schedule, each changed through one instance, are what
// another instance uses.
func TestSettingsReachOtherInstances(t *testing.T) {
	hook := startReceiver(t, 200)
	a, b := twoInstances(t, nil)
	a.must("POST", "/projects", `{"project_name":"team","metadata":{"public":"false"}}`, 201)
	b.push(t, "team/app:v1", 256)
	anonymous := func() int { return b.status(t, "GET", "/v2/team/app/tags/list") }
	if code := anonymous(); code != 401 {
		t.Fatalf("an anonymous pull of a private project on B: %d", code)
	}
	a.must("PUT", "/projects/team", `{"metadata":{"public":"true"}}`, 200)
	if code := anonymous(); code != 200 {
		t.Errorf("an anonymous pull on B after A made the project public: %d, want 200", code)
	}

	a.must("POST", "/scanners", `{"name":"adapter","url":"http://127.0.0.1:1","auth":"Bearer","access_credential":"adapter-key"}`, 201)
	if out := b.must("GET", "/scanners/adapter", "", 200); strings.Contains(out, "adapter-key") {
		t.Errorf("B shows the registration's credential: %s", out)
	}
	a.must("PUT", "/projects/team/scanner", `{"uuid":"adapter"}`, 200)
	if out := b.must("GET", "/projects/team/scanner", "", 200); !strings.Contains(out, `"adapter"`) {
		t.Errorf("team's scanner on B after A set it: %s", out)
	}

	a.must("POST", "/projects/team/webhook/policies", `{"name":"deploy","event_types":["PUSH_ARTIFACT"],"enabled":true,
		"targets":[{"type":"http","address":"`+hook.url+`"}]}`, 201)
	b.push(t, "team/app:v2", 256)
	eventually.True(t, "the delivery of the push through B", func() bool { return hook.count() >= 1 })
	if body, _ := hook.last(); !bytes.Contains(body, []byte(`"tag":"v2"`)) {
		t.Errorf("delivered %s", body)
	}

	a.must("PUT", "/system/gc/schedule", `{"schedule":{"type":"Custom","cron":"0 0 4 * * *"},"parameters":{}}`, 200)
	b.caughtUp(t, jobs.SchedulesGeneration)
	if spec, _, ok := b.srv.bg.runner.ScheduleOf(gc.ScheduledJob().Name()); !ok || spec != "0 0 4 * * *" {
		t.Errorf("B's collection schedule after A set it: %q, %v", spec, ok)
	}
	a.must("PUT", "/system/gc/schedule", `{"schedule":{"type":"None"},"parameters":{}}`, 200)
	b.caughtUp(t, jobs.SchedulesGeneration)
	if _, _, ok := b.srv.bg.runner.ScheduleOf(gc.ScheduledJob().Name()); ok {
		t.Error("B still schedules the collection A unset")
	}
}

// TestUploadContinuesOnAnotherInstance: a chunked upload started on one
// instance is continued and completed on another (its session and hash
// state live in the metadata store, its bytes in the shared storage).
func TestUploadContinuesOnAnotherInstance(t *testing.T) {
	a, b := twoInstances(t, nil)
	a.must("POST", "/projects", `{"project_name":"team"}`, 201)
	blob := bytes.Repeat([]byte("berth"), 3000)
	sum := sha256.Sum256(blob)
	dgst := fmt.Sprintf("sha256:%x", sum)
	send := func(in instance, method, loc string, body []byte, hdr ...string) *http.Response {
		t.Helper()
		u := loc
		if strings.HasPrefix(loc, "/") {
			u = "http://" + in.host + loc
		}
		req, err := http.NewRequest(method, u, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", sitePassword)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	res := send(a, "POST", "/v2/team/app/blobs/uploads/", nil)
	if res.StatusCode != 202 {
		t.Fatalf("POST on A: %d", res.StatusCode)
	}
	half := len(blob) / 2
	res = send(a, "PATCH", res.Header.Get("Location"), blob[:half], "Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("0-%d", half-1))
	if res.StatusCode != 202 {
		t.Fatalf("first chunk on A: %d", res.StatusCode)
	}
	loc := res.Header.Get("Location")
	res = send(b, "PATCH", pathOf(t, loc), blob[half:], "Content-Type", "application/octet-stream",
		"Content-Range", fmt.Sprintf("%d-%d", half, len(blob)-1))
	if res.StatusCode != 202 {
		t.Fatalf("second chunk on B: %d", res.StatusCode)
	}
	loc = pathOf(t, res.Header.Get("Location"))
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	if res := send(a, "PUT", loc+sep+"digest="+dgst, nil); res.StatusCode != 201 {
		t.Fatalf("completed on A: %d", res.StatusCode)
	}
	for _, in := range []instance{a, b} {
		if code := in.status(t, "HEAD", "/v2/team/app/blobs/"+dgst, "basic", "admin:"+sitePassword); code != 200 {
			t.Errorf("the blob on %s: %d", in.host, code)
		}
	}
}

// pathOf is the path and query of an upload's Location, absolute or not.
func pathOf(t *testing.T, loc string) string {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil || u.Path == "" {
		t.Fatalf("Location %q", loc)
	}
	return u.RequestURI()
}
