package oidc

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/session"
	"github.com/berthreg/berth/internal/oidctest"
)

var sessions = func() *session.Sessions {
	s, err := session.New([]byte("test key of thirty-two bytes ..."))
	if err != nil {
		panic(err)
	}
	return s
}()

// relyingParty serves /begin and /callback with c; the callback answers
// the identity as JSON, or the error with status 401 (ErrLogin) or 502.
func relyingParty(t *testing.T, c **Client) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/begin", func(w http.ResponseWriter, r *http.Request) {
		if err := (*c).Begin(w, r, r.URL.Query().Get("to")); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	})
	mux.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		id, to, err := (*c).Complete(w, r)
		switch {
		case errors.Is(err, ErrLogin):
			http.Error(w, err.Error(), http.StatusUnauthorized)
		case err != nil:
			http.Error(w, err.Error(), http.StatusBadGateway)
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"id": id, "to": to})
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func jarClient(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar}
}

func TestFlow(t *testing.T) {
	var c *Client
	rp := relyingParty(t, &c)
	idp := oidctest.Start(t, "rp", "rp-secret", []string{rp.URL + "/callback"},
		oidctest.User{ID: "u1", Username: "alice", Password: "pw-alice", Email: "alice@example.org", Name: "Alice", Groups: []string{"devs", "admins"}})
	cfg := Config{Issuer: idp.URL, ClientID: "rp", ClientSecret: "rp-secret", RedirectURL: rp.URL + "/callback",
		Scopes: []string{"profile", "email", oidctest.GroupsScope}, GroupsClaim: "groups", AdminGroup: "admins"}
	var err error
	if c, err = New(cfg, sessions); err != nil {
		t.Fatal(err)
	}

	browser := jarClient(t)
	res, err := idp.SignIn(browser, rp.URL+"/begin?to=/home?tab=1", "alice", "pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		ID auth.Identity
		To string
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil || res.StatusCode != 200 {
		t.Fatalf("sign-in: %d, %v", res.StatusCode, err)
	}
	res.Body.Close()
	id := got.ID
	if id.Subject != "u1" || id.Username != "alice" || id.Email != "alice@example.org" || id.FullName != "Alice" ||
		!slices.Equal(id.Groups, []string{"devs", "admins"}) || id.Admin == nil || !*id.Admin || got.To != "/home?tab=1" {
		t.Errorf("identity %+v, to %q", id, got.To)
	}

	// The callback works once: replayed, the sign-in in progress is gone.
	res, err = browser.Get(res.Request.URL.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("a replayed callback: %d", res.StatusCode)
	}

	// A callback whose state is not the one this browser started with.
	stop := jarClient(t)
	stop.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), rp.URL+"/callback") {
			return http.ErrUseLastResponse
		}
		return nil
	}
	res, err = idp.SignIn(stop, rp.URL+"/begin", "alice", "pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	callback, err := res.Location()
	if err != nil {
		t.Fatal(err)
	}
	q := callback.Query()
	q.Set("state", "forged")
	callback.RawQuery = q.Encode()
	res, err = stop.Get(callback.String())
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("a forged state: %d", res.StatusCode)
	}

	// The provider refuses our client secret: the exchange fails.
	cfg.ClientSecret = "wrong"
	if c, err = New(cfg, sessions); err != nil {
		t.Fatal(err)
	}
	res, err = idp.SignIn(jarClient(t), rp.URL+"/begin", "alice", "pw-alice")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Errorf("a wrong client secret: %d", res.StatusCode)
	}

	// A provider that cannot be reached is not the person's fault.
	cfg.Issuer = "http://127.0.0.1:1"
	if c, err = New(cfg, sessions); err != nil {
		t.Fatal(err)
	}
	res, err = http.Get(rp.URL + "/begin")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 502 {
		t.Errorf("an unreachable provider: %d", res.StatusCode)
	}
}

func TestIdentityClaims(t *testing.T) {
	c, err := New(Config{Issuer: "https://idp.example", ClientID: "x", RedirectURL: "https://r.example/cb",
		UsernameClaim: "email", GroupsClaim: "roles", AdminGroup: "root"}, sessions)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.identity("s", map[string]any{"email": "a@b.c", "roles": "root"})
	if err != nil || id.Username != "a@b.c" || !slices.Equal(id.Groups, []string{"root"}) || !*id.Admin {
		t.Errorf("a string groups claim: %+v, %v", id, err)
	}
	id, err = c.identity("s", map[string]any{"email": "a@b.c", "roles": []any{"x", 7, "y"}})
	if err != nil || !slices.Equal(id.Groups, []string{"x", "y"}) || *id.Admin {
		t.Errorf("a list groups claim: %+v, %v", id, err)
	}
	if _, err := c.identity("s", map[string]any{"preferred_username": "a"}); !errors.Is(err, ErrLogin) || !strings.Contains(err.Error(), `"email"`) {
		t.Errorf("no username claim: %v", err)
	}
}

func TestConfig(t *testing.T) {
	good := Config{Issuer: "https://idp.example", ClientID: "x", RedirectURL: "https://r.example/cb"}
	for what, change := range map[string]func(*Config){
		"issuer":      func(c *Config) { c.Issuer = "" },
		"clientID":    func(c *Config) { c.ClientID = "" },
		"redirectURL": func(c *Config) { c.RedirectURL = "/cb" },
		"adminGroup":  func(c *Config) { c.AdminGroup = "root" },
	} {
		cfg := good
		change(&cfg)
		if _, err := New(cfg, sessions); err == nil || !strings.Contains(err.Error(), what) {
			t.Errorf("%s: %v", what, err)
		}
	}
	if _, err := New(good, nil); err == nil {
		t.Error("no sessions accepted")
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/home": "/home", "/a?b=c": "/a?b=c", "": "/", "https://evil.example/": "/", "//evil.example/x": "/",
		"/\\evil.example": "/", "evil": "/", "javascript:alert(1)": "/",
	} {
		if got := LocalPath(in); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", in, got, want)
		}
	}
}
