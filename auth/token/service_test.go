package token

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/auth"
)

// accounts is a test Authenticator: name → secret.
type accounts map[string]string

func (a accounts) Authenticate(_ context.Context, name, secret string) (auth.Principal, error) {
	if s, ok := a[name]; ok && s == secret {
		return auth.Principal{Name: name, Kind: auth.User}, nil
	}
	return auth.Principal{}, auth.ErrBadCredentials
}

// grants is a test Authorizer: "principal|repository" → allowed actions;
// "|repo" holds what anonymous may do.
type grants map[string][]string

func (g grants) Allowed(_ context.Context, p auth.Principal, r auth.Resource, actions []string) ([]string, error) {
	var out []string
	for _, a := range actions {
		if slices.Contains(g[p.Name+"|"+r.Name], a) {
			out = append(out, a)
		}
	}
	return out, nil
}

func newService(t *testing.T) (*Service, *Verifier) {
	t.Helper()
	return newServiceWrapped(t, nil)
}

// newServiceWrapped is newService with the authorizer wrapped by wrap
// (when not nil).
func newServiceWrapped(t *testing.T, wrap func(auth.Authorizer) auth.Authorizer) (*Service, *Verifier) {
	t.Helper()
	iss, err := NewIssuer(ecKey(t), "berth-token", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var authz auth.Authorizer = grants{
		"alice|proj/app":   {"pull", "push"},
		"alice|catalog":    {},
		"|public/app":      {"pull"},
		"alice|public/app": {"pull"},
	}
	if wrap != nil {
		authz = wrap(authz)
	}
	s, err := NewService(iss, "berth-registry", accounts{"alice": "secret"}, authz,
		WithLimiter(testLimiter(t, auth.WithMaxFailures(3), auth.WithWindow(time.Minute))))
	if err != nil {
		t.Fatal(err)
	}
	return s, verifierFor(t, iss, "berth-registry")
}

// get asks the endpoint for scopes, with basic credentials unless user is "".
func get(t *testing.T, s *Service, user, pass string, scopes ...string) (*httptest.ResponseRecorder, map[string]any) {
	t.Helper()
	q := url.Values{"service": {"berth-registry"}, "scope": scopes}
	r := httptest.NewRequest(http.MethodGet, "/service/token?"+q.Encode(), nil)
	r.RemoteAddr = "192.0.2.7:40000"
	if user != "" {
		r.SetBasicAuth(user, pass)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	return w, body
}

func accessOf(t *testing.T, v *Verifier, body map[string]any) []auth.Access {
	t.Helper()
	tok, _ := body["token"].(string)
	if tok == "" || body["access_token"] != tok {
		t.Fatalf("no token in %v", body)
	}
	c, err := v.Verify(tok)
	if err != nil {
		t.Fatalf("the issued token does not verify: %v", err)
	}
	return c.Access
}

func TestServiceGrantsTheIntersection(t *testing.T) {
	s, v := newService(t)
	w, body := get(t, s, "alice", "secret", "repository:proj/app:pull,push,delete repository:other/x:pull", "repository:public/app:pull,push")
	if w.Code != http.StatusOK {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := []auth.Access{
		{Type: "repository", Name: "proj/app", Actions: []string{"pull", "push"}},
		{Type: "repository", Name: "public/app", Actions: []string{"pull"}},
	}
	if got := accessOf(t, v, body); !reflect.DeepEqual(got, want) {
		t.Fatalf("granted %+v, want %+v (delete, the unknown project and push on public refused)", got, want)
	}
	if body["expires_in"].(float64) != 300 || body["issued_at"] == "" {
		t.Fatalf("validity fields: %v", body)
	}

	// Anonymous: what anonymous may do, nothing more.
	w, body = get(t, s, "", "", "repository:public/app:pull,push", "repository:proj/app:pull")
	if w.Code != http.StatusOK {
		t.Fatalf("anonymous: %d %s", w.Code, w.Body)
	}
	if got := accessOf(t, v, body); !reflect.DeepEqual(got, []auth.Access{{Type: "repository", Name: "public/app", Actions: []string{"pull"}}}) {
		t.Fatalf("anonymous granted %+v", got)
	}
	// The catalog is not granted to a non-admin.
	_, body = get(t, s, "alice", "secret", "registry:catalog:*")
	if got := accessOf(t, v, body); len(got) != 0 {
		t.Fatalf("catalog granted to a non-admin: %+v", got)
	}
}

func TestServiceRefuses(t *testing.T) {
	s, _ := newService(t)
	w, body := get(t, s, "alice", "wrong", "repository:proj/app:pull")
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "UNAUTHORIZED") || body["token"] != nil {
		t.Fatalf("wrong password: %d %s", w.Code, w.Body)
	}
	w, _ = get(t, s, "mallory", "x", "repository:proj/app:pull")
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d %s", w.Code, w.Body)
	}
	q := url.Values{"service": {"other-registry"}, "scope": {"repository:proj/app:pull"}}
	r := httptest.NewRequest(http.MethodGet, "/service/token?"+q.Encode(), nil)
	r.SetBasicAuth("alice", "secret")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, r)
	if rec.Code != http.StatusBadRequest {
		t.Fatalf("another service: %d %s", rec.Code, rec.Body)
	}
	w, _ = get(t, s, "alice", "secret", "repository:proj/app")
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "invalid_scope") {
		t.Fatalf("malformed scope: %d %s", w.Code, w.Body)
	}
}

func TestServiceRateLimitsFailedLogins(t *testing.T) {
	s, _ := newService(t)
	for i := range 3 {
		if w, _ := get(t, s, "alice", "guess", "repository:proj/app:pull"); w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, w.Code)
		}
	}
	w, _ := get(t, s, "alice", "secret", "repository:proj/app:pull")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("after 3 failures even the right password must wait: %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestServicePasswordGrant(t *testing.T) {
	s, v := newService(t)
	form := url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"secret"},
		"service": {"berth-registry"}, "scope": {"repository:proj/app:pull,push"}, "client_id": {"containerd"}}
	r := httptest.NewRequest(http.MethodPost, "/service/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	var body map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusOK {
		t.Fatalf("password grant: %d %s", w.Code, w.Body)
	}
	if got := accessOf(t, v, body); len(got) != 1 || !reflect.DeepEqual(got[0].Actions, []string{"pull", "push"}) {
		t.Fatalf("granted %+v", got)
	}
	form.Set("grant_type", "refresh_token")
	r = httptest.NewRequest(http.MethodPost, "/service/token", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "unsupported_grant_type") {
		t.Fatalf("refresh grant: %d %s", w.Code, w.Body)
	}
}

func TestChallenge(t *testing.T) {
	got := Challenge("https://r.example/service/token", "berth-registry",
		[]auth.Access{{Type: "repository", Name: "a/b", Actions: []string{"pull", "push"}}, {Type: "repository", Name: "c", Actions: []string{"pull"}}},
		"insufficient_scope")
	want := `Bearer realm="https://r.example/service/token",service="berth-registry",scope="repository:a/b:pull,push repository:c:pull",error="insufficient_scope"`
	if got != want {
		t.Fatalf("Challenge = %s\nwant        %s", got, want)
	}
}

func TestNewServiceRefusesMissingParts(t *testing.T) {
	iss, err := NewIssuer(ecKey(t), "berth-token", 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	authn, authz := accounts{}, grants{}
	for want, c := range map[string]struct {
		iss   *Issuer
		name  string
		authn auth.Authenticator
		authz auth.Authorizer
	}{
		"issuer":        {nil, "r", authn, authz},
		"service name":  {iss, "", authn, authz},
		"authenticator": {iss, "r", nil, authz},
		"authorizer":    {iss, "r", authn, nil},
	} {
		if s, err := NewService(c.iss, c.name, c.authn, c.authz); err == nil || s != nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewService without %s = %v, %v; want an error naming it", want, s, err)
		}
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
