package guard

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/auth/token"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

// accounts is a test Authenticator (name → secret); "admin" is a system
// administrator, names starting with "robot$" are robots.
type accounts map[string]string

func (a accounts) Authenticate(_ context.Context, name, secret string) (auth.Principal, error) {
	if s, ok := a[name]; !ok || s != secret {
		return auth.Principal{}, auth.ErrBadCredentials
	}
	kind := auth.User
	if strings.HasPrefix(name, "robot$") {
		kind = auth.Robot
	}
	return auth.Principal{Name: name, Kind: kind, Admin: name == "admin"}, nil
}

type projects map[string]bool // name → public

func (m projects) Project(_ context.Context, n string) (rbac.Project, error) {
	pub, ok := m[n]
	if !ok {
		return rbac.Project{}, rbac.ErrNoProject
	}
	return rbac.Project{Name: n, Public: pub}, nil
}

// env is a registry with the guard and the token service on one server.
type env struct {
	host    string
	url     string
	handler http.Handler
}

// newTokens makes a token issuer and the verifier of its tokens, for
// the service "berth-registry".
func newTokens(t testing.TB) (*token.Issuer, *token.Verifier) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := token.NewIssuer(key, "berth-token", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	kid, pub := iss.PublicKey()
	ver, err := token.NewVerifier("berth-token", "berth-registry", map[string]crypto.PublicKey{kid: pub})
	if err != nil {
		t.Fatal(err)
	}
	return iss, ver
}

func newEnv(t *testing.T) env {
	t.Helper()
	iss, ver := newTokens(t)
	az, err := rbac.New(projects{"team": false, "public": true})
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(az.AddMember("team", rbac.Subject(auth.User, "dev"), rbac.Developer))
	must(az.AddMember("team", rbac.Subject(auth.User, "guest"), rbac.Guest))
	must(az.AddMember("public", rbac.Subject(auth.User, "dev"), rbac.Developer))
	must(az.AddMember("public", rbac.Subject(auth.User, "pubdev"), rbac.Developer))
	must(az.AddGrant("team", rbac.Subject(auth.Robot, "robot$team+ci"), "team/app-*", auth.ActionPull, auth.ActionPush))
	users := accounts{"pubdev": "pubdev-pw", "dev": "dev-pw", "guest": "guest-pw", "admin": "admin-pw", "robot$team+ci": "robot-secret"}
	limiter := testLimiter(t, auth.WithMaxFailures(20))

	store, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	g, err := New("/service/token", "berth-registry", ver, az, WithAuthenticator(users), WithLimiter(limiter))
	if err != nil {
		t.Fatal(err)
	}
	h, err := registry.New(memory.New(), store, registry.WithHooks(g.Hooks()))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v2/", h)
	tokens, err := token.NewService(iss, "berth-registry", users, az, token.WithLimiter(limiter))
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/service/token", tokens)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return env{host: strings.TrimPrefix(srv.URL, "http://"), url: srv.URL, handler: mux}
}

func (e env) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(e.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func basic(user, pass string) remote.Option {
	return remote.WithAuth(&authn.Basic{Username: user, Password: pass})
}

func push(t *testing.T, e env, ref string, opt remote.Option) (v1.Image, error) {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	return img, remote.Write(e.ref(t, ref), img, opt)
}

// TestTokenFlowWithGoContainerRegistry drives the registry with
// go-containerregistry's client, which follows the challenge to the token
// service as docker, crane and containerd do.
func TestTokenFlowWithGoContainerRegistry(t *testing.T) {
	e := newEnv(t)
	img, err := push(t, e, "team/app:v1", basic("dev", "dev-pw"))
	if err != nil {
		t.Fatalf("a developer pushes: %v", err)
	}
	want, _ := img.Digest()
	if got, err := remote.Image(e.ref(t, "team/app:v1"), basic("guest", "guest-pw")); err != nil {
		t.Fatalf("a guest pulls: %v", err)
	} else if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s, pushed %s", d, want)
	}
	if _, err := push(t, e, "team/app:v2", basic("guest", "guest-pw")); err == nil {
		t.Error("a guest pushed")
	}
	if err := remote.Delete(e.ref(t, "team/app@"+want.String()), basic("dev", "dev-pw")); err == nil {
		t.Error("a developer deleted")
	}
	if _, err := remote.Image(e.ref(t, "team/app:v1"), basic("dev", "dev-pw")); err != nil {
		t.Errorf("the image is gone after a refused delete: %v", err)
	}
	if err := remote.Delete(e.ref(t, "team/app@"+want.String()), basic("admin", "admin-pw")); err != nil {
		t.Errorf("the admin cannot delete: %v", err)
	}
	if _, err := push(t, e, "team/app:v3", remote.WithAuth(authn.Anonymous)); err == nil {
		t.Error("an anonymous push succeeded")
	}
	if _, err := push(t, e, "team/app:v3", basic("dev", "wrong")); err == nil {
		t.Error("a push with a wrong password succeeded")
	}
	// The robot reaches team/app-* only.
	if _, err := push(t, e, "team/app-web:v1", basic("robot$team+ci", "robot-secret")); err != nil {
		t.Errorf("the robot cannot push where its grant allows: %v", err)
	}
	if _, err := push(t, e, "team/db:v1", basic("robot$team+ci", "robot-secret")); err == nil {
		t.Error("the robot pushed outside its pattern")
	}
	// Public: anonymous pulls, no anonymous pushes.
	if _, err := push(t, e, "public/base:v1", basic("dev", "dev-pw")); err != nil {
		t.Fatalf("push to public: %v", err)
	}
	if _, err := remote.Image(e.ref(t, "public/base:v1"), remote.WithAuth(authn.Anonymous)); err != nil {
		t.Errorf("anonymous pull of a public image: %v", err)
	}
	if _, err := remote.Image(e.ref(t, "team/app-web:v1"), remote.WithAuth(authn.Anonymous)); err == nil {
		t.Error("anonymous pull of a private image")
	}
	// Catalog: admins only.
	if _, err := remote.Catalog(context.Background(), e.ref(t, "x:y").Context().Registry, basic("dev", "dev-pw")); err == nil {
		t.Error("a developer listed the catalog")
	}
	if repos, err := remote.Catalog(context.Background(), e.ref(t, "x:y").Context().Registry, basic("admin", "admin-pw")); err != nil || len(repos) < 2 {
		t.Errorf("admin catalog: %v, %v", repos, err)
	}
}

// do sends a raw request.
func do(t *testing.T, method, url string, set func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// getToken asks the token service for scope with basic credentials.
func getToken(t *testing.T, e env, user, pass, scope string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/service/token?service=berth-registry&scope="+scope, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Token == "" {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return body.Token
}

func TestChallengesAndRefusals(t *testing.T) {
	e := newEnv(t)
	img, err := push(t, e, "team/secret:v1", basic("dev", "dev-pw"))
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	layer, _ := layers[0].Digest()

	// The ping wants credentials, and names the realm and service.
	resp := do(t, http.MethodGet, e.url+"/v2/", nil)
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || ch != `Bearer realm="`+e.url+`/service/token",service="berth-registry"` {
		t.Fatalf("anonymous ping: %d %q", resp.StatusCode, ch)
	}
	// A pull without credentials names the scope to ask for.
	resp = do(t, http.MethodGet, e.url+"/v2/team/secret/manifests/v1", nil)
	if ch := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `scope="repository:team/secret:pull"`) {
		t.Fatalf("anonymous pull: %d %q", resp.StatusCode, ch)
	}
	// A token for one repository does not open another.
	tok := getToken(t, e, "dev", "dev-pw", "repository:public/x:pull,push")
	resp = do(t, http.MethodGet, e.url+"/v2/team/secret/manifests/v1", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
	if ch := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `error="insufficient_scope"`) {
		t.Fatalf("token for another repository: %d %q", resp.StatusCode, ch)
	}
	// A scope escalation in the token request is not granted: the guest's
	// token asking for push carries pull only.
	tok = getToken(t, e, "guest", "guest-pw", "repository:team/secret:pull,push")
	resp = do(t, http.MethodPost, e.url+"/v2/team/secret/blobs/uploads/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("guest push with an escalated request: %d", resp.StatusCode)
	}
	// A garbage token.
	resp = do(t, http.MethodGet, e.url+"/v2/", func(r *http.Request) { r.Header.Set("Authorization", "Bearer not.a.jwt") })
	if ch := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `error="invalid_token"`) {
		t.Fatalf("garbage token: %d %q", resp.StatusCode, ch)
	}
	// A private blob is not readable through a public repository: not by
	// digest, not by a mount from the private one.
	tok = getToken(t, e, "dev", "dev-pw", "repository:public/x:pull,push")
	resp = do(t, http.MethodGet, e.url+"/v2/public/x/blobs/"+layer.String(), func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) })
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("private layer through a public repository: %d", resp.StatusCode)
	}
	// pubdev may push to public/x but not read team/secret; the token
	// request for both grants only the first, and the mount is refused.
	pubTok := getToken(t, e, "pubdev", "pubdev-pw", "repository:public/x:pull,push%20repository:team/secret:pull")
	resp = do(t, http.MethodPost, e.url+"/v2/public/x/blobs/uploads/?mount="+layer.String()+"&from=team/secret", func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+pubTok)
	})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("mount from a private repository without pull on it: %d, want 401", resp.StatusCode)
	}
	anonTok := getToken(t, e, "", "", "repository:public/x:pull")
	resp = do(t, http.MethodGet, e.url+"/v2/public/x/blobs/"+layer.String(), func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+anonTok) })
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("private layer through a public repository, anonymously: %d", resp.StatusCode)
	}
	// Basic credentials directly on /v2/: allowed, refused (403), wrong.
	resp = do(t, http.MethodGet, e.url+"/v2/team/secret/manifests/v1", func(r *http.Request) { r.SetBasicAuth("guest", "guest-pw") })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("basic pull by a guest: %d", resp.StatusCode)
	}
	resp = do(t, http.MethodDelete, e.url+"/v2/team/secret/manifests/v1", func(r *http.Request) { r.SetBasicAuth("guest", "guest-pw") })
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("basic delete by a guest: %d, want 403", resp.StatusCode)
	}
	resp = do(t, http.MethodGet, e.url+"/v2/team/secret/manifests/v1", func(r *http.Request) { r.SetBasicAuth("guest", "nope") })
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("basic with a wrong password: %d", resp.StatusCode)
	}
	if resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatal("no challenge after a wrong password")
	}
}

// TestPrincipalInContext: a request made in this process with its
// principal in the context (the replication engine's) is authorized as
// that principal, without credentials; without it the same request is
// challenged.
func TestPrincipalInContext(t *testing.T) {
	e := newEnv(t)
	status := func(p *auth.Principal) int {
		r := httptest.NewRequest(http.MethodGet, "/v2/team/app/tags/list", nil)
		if p != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), *p))
		}
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		return w.Code
	}
	if got := status(&auth.Principal{Name: "dev", Kind: auth.User}); got != http.StatusNotFound {
		t.Errorf("member dev in the context: %d, want 404 (authorized, no such repository)", got)
	}
	if got := status(&auth.Principal{Name: "replication", Kind: auth.User, Admin: true}); got != http.StatusNotFound {
		t.Errorf("an administrator in the context: %d, want 404", got)
	}
	if got := status(&auth.Principal{Name: "stranger", Kind: auth.User}); got != http.StatusForbidden {
		t.Errorf("a stranger in the context: %d, want 403", got)
	}
	if got := status(nil); got != http.StatusUnauthorized {
		t.Errorf("no principal: %d, want 401", got)
	}
}

func testLimiter(t testing.TB, opts ...auth.LimiterOption) *auth.LoginLimiter {
	t.Helper()
	l, err := auth.NewLoginLimiter(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return l
}
