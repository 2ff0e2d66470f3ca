package server

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// TestAuthFirstStartAndRestart: the first start generates the admin
// password and the token key (kept in the store); a restart keeps both,
// and a configured password replaces the generated one.
func TestAuthFirstStartAndRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.DataDir = dir
	logger := slog.New(slog.DiscardHandler)
	start := func(password string) (pw, key []byte) {
		t.Helper()
		store, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.NoSync())
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		c := cfg
		c.Auth.AdminPassword = password
		setupAccess(t, c, store, logger)
		pw, _ = os.ReadFile(filepath.Join(dir, "admin-password"))
		if err := store.View(t.Context(), func(tx meta.Tx) error {
			k, err := serverKeys.In(tx).Get(tokenKeyName)
			key = k.Value
			return err
		}); err != nil {
			t.Fatal(err)
		}
		m, err := accounts.New(t.Context(), store, accounts.WithHashCost(bcrypt.MinCost))
		if err != nil {
			t.Fatal(err)
		}
		login := string(bytes.TrimSpace(pw))
		if password != "" {
			login = password
		}
		if p, err := m.Authenticate(t.Context(), "admin", login); err != nil || !p.Admin {
			t.Fatalf("admin login with %q: %+v, %v", login, p, err)
		}
		if _, err := m.Project(t.Context(), "library"); err != nil {
			t.Fatalf("project library: %v", err)
		}
		return pw, key
	}
	pw1, key1 := start("")
	if len(bytes.TrimSpace(pw1)) < 20 {
		t.Fatalf("generated password %q", pw1)
	}
	if fi, err := os.Stat(filepath.Join(dir, "admin-password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin-password mode: %v, %v", fi.Mode(), err)
	}
	pw2, key2 := start("")
	if !bytes.Equal(pw1, pw2) || !bytes.Equal(key1, key2) {
		t.Fatal("a restart replaced the admin password or the token key")
	}
	start("configured-password")
}

// TestLDAPUsersThroughTheTokenService: a directory user (of the slapd that
// scripts/slapd.sh runs), whose directory group holds a role in a project,
// gets exactly that role's grants from the token service; a wrong password
// gets nothing.
func TestLDAPUsersThroughTheTokenService(t *testing.T) {
	url := os.Getenv("BERTH_SLAPD_URL")
	if url == "" {
		if testing.Short() {
			t.Skip("BERTH_SLAPD_URL is unset; skipped with -short")
		}
		t.Fatal("BERTH_SLAPD_URL is unset: run under scripts/slapd.sh, which starts a real slapd")
	}
	dir := t.TempDir()
	cfg := testConfig()
	cfg.DataDir = dir
	cfg.Auth.AdminPassword = "admin-password"
	base := os.Getenv("BERTH_SLAPD_BASE_DN")
	cfg.Auth.LDAP = LDAPConfig{URL: url, BaseDN: base, BindDN: os.Getenv("BERTH_SLAPD_BIND_DN"),
		BindPassword: os.Getenv("BERTH_SLAPD_BIND_PASSWORD"), GroupBaseDN: "ou=groups," + base}
	store, err := bolt.Open(filepath.Join(dir, "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	setupAccess(t, cfg, store, slog.New(slog.DiscardHandler))
	m, err := accounts.New(t.Context(), store, accounts.WithHashCost(bcrypt.MinCost)) // the same store: add the project the policy loads
	if err != nil {
		t.Fatal(err)
	}
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	if err := m.CreateProject(t.Context(), admin, "team", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddMember(t.Context(), admin, "team", "group", "devs", rbac.Developer); err != nil {
		t.Fatal(err)
	}
	// setupAuth's own Manager loaded the policy before the project existed:
	// build it again so it sees the membership, as a restart would.
	parts := setupAccess(t, cfg, store, slog.New(slog.DiscardHandler))
	ask := func(user, pass string) (int, string) {
		req := httptest.NewRequest("GET", "/service/token?service=berth-registry&scope=repository:team/app:pull,push,delete", nil)
		req.SetBasicAuth(user, pass)
		w := httptest.NewRecorder()
		parts.tokens.ServeHTTP(w, req)
		var body struct{ Token string }
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if body.Token == "" {
			return w.Code, ""
		}
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(body.Token, ".")[1])
		return w.Code, string(payload)
	}
	code, claims := ask("bob", "bob-password")
	if code != 200 || !strings.Contains(claims, `"actions":["pull","push"]`) {
		t.Errorf("bob (LDAP, group devs = developer): %d %s", code, claims)
	}
	if code, _ := ask("bob", "wrong"); code != 401 {
		t.Errorf("bob with a wrong password: %d", code)
	}
	if code, claims := ask("carol", "carol-password"); code != 200 || strings.Contains(claims, "team/app") {
		t.Errorf("carol (LDAP, no group): %d %s", code, claims)
	}
}

// setupAccess runs the server's auth set-up over store as New does: the
// accounts, keys, guard and token service, then the admin and the
// library project.
func setupAccess(t *testing.T, cfg Config, store meta.Store, logger *slog.Logger) authParts {
	t.Helper()
	parts, err := setupAuth(t.Context(), cfg, store, nil, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := parts.provision(t.Context(), store, logger); err != nil {
		t.Fatal(err)
	}
	return parts
}

// slapdConfig points cfg's LDAP settings at the slapd of scripts/slapd.sh,
// or skips (with -short) or fails the test when there is none.
func slapdConfig(t *testing.T, cfg *Config) {
	t.Helper()
	url := os.Getenv("BERTH_SLAPD_URL")
	if url == "" {
		if testing.Short() {
			t.Skip("BERTH_SLAPD_URL is unset; skipped with -short")
		}
		t.Fatal("BERTH_SLAPD_URL is unset: run under scripts/slapd.sh, which starts a real slapd")
	}
	base := os.Getenv("BERTH_SLAPD_BASE_DN")
	cfg.Auth.LDAP = LDAPConfig{URL: url, BaseDN: base, BindDN: os.Getenv("BERTH_SLAPD_BIND_DN"),
		BindPassword: os.Getenv("BERTH_SLAPD_BIND_PASSWORD"), GroupBaseDN: "ou=groups," + base}
}

// TestLDAPCannotTakeOverLocalAccounts: with a directory configured, a
// local administrator "alice" cannot be signed into with the directory's
// alice's password, in any spelling of the name: not through /c/login,
// not with basic credentials on /v2/ or the admin API, not through the
// token service. Her own password still works, and so does a directory
// user without a local account.
func TestLDAPCannotTakeOverLocalAccounts(t *testing.T) {
	s := startSite(t, func(c *Config) { slapdConfig(t, c) })
	s.must("POST", "/users", `{"username":"alice","password":"alice-local-password"}`, 201)
	s.must("PUT", "/users/alice/sysadmin", `{"sysadmin_flag":true}`, 200)
	base := "http://" + s.host
	login := func(user, pass string) int {
		t.Helper()
		code, _ := call(t, http.DefaultClient, "POST", base+"/c/login", url.Values{"principal": {user}, "password": {pass}}.Encode(),
			"Content-Type", "application/x-www-form-urlencoded")
		return code
	}
	basic := func(path, user, pass string) int {
		t.Helper()
		code, _ := call(t, http.DefaultClient, "GET", base+path, "", "basic", user+":"+pass)
		return code
	}
	if code := login("alice", "alice-local-password"); code != 200 {
		t.Errorf("/c/login as local alice: %d", code)
	}
	if code := login("bob", "bob-password"); code != 200 {
		t.Errorf("/c/login as directory bob: %d", code)
	}
	if code := basic("/v2/", "BOB", "bob-password"); code != 200 {
		t.Errorf("/v2/ as directory BOB: %d", code)
	}
	// Refused: 401, or 429 once the login limiter's budget for alice (5
	// failures, shared by every spelling) is spent; the first four
	// attempts are all checked.
	checked := 0
	refused := func(what string, code int) {
		t.Helper()
		switch {
		case code == 401:
			checked++
		case code == 429 && checked >= 4:
		default:
			t.Errorf("%s with the directory's password: %d, want 401 (or 429 after 4 refusals)", what, code)
		}
	}
	for _, name := range []string{"alice", "Alice", "ALICE"} {
		refused("/c/login as "+name, login(name, "alice-password"))
		refused("/v2/ as "+name, basic("/v2/", name, "alice-password"))
		refused("the admin API as "+name, basic("/api/v2.0/users/current", name, "alice-password"))
		refused("the token service as "+name, basic("/service/token?service=berth-registry&scope=repository:library/x:pull,push", name, "alice-password"))
	}
}

// TestRecheckTokens: a registry token keeps working after its account is
// deleted until it expires, unless auth.recheckTokens is set: then it
// stops at once.
func TestRecheckTokens(t *testing.T) {
	for _, recheck := range []bool{false, true} {
		s := startSite(t, func(c *Config) { c.Auth.RecheckTokens = recheck })
		s.must("POST", "/projects", `{"project_name":"team"}`, 201)
		s.must("POST", "/users", `{"username":"alice","password":"alice-password"}`, 201)
		s.must("POST", "/projects/team/members", `{"role_id":2,"member_user":{"username":"alice"}}`, 201)
		s.push(t, "team/app:v1", 256)
		base := "http://" + s.host
		code, out := call(t, http.DefaultClient, "GET", base+"/service/token?service=berth-registry&scope=repository:team/app:pull", "", "basic", "alice:alice-password")
		var tok struct{ Token string }
		if err := json.Unmarshal([]byte(out), &tok); code != 200 || err != nil {
			t.Fatalf("token: %d %s", code, out)
		}
		pull := func() int {
			code, _ := call(t, http.DefaultClient, "GET", base+"/v2/team/app/tags/list", "", "Authorization", "Bearer "+tok.Token)
			return code
		}
		if code := pull(); code != 200 {
			t.Fatalf("recheck %v: alice's token: %d", recheck, code)
		}
		s.must("DELETE", "/users/alice", "", 200)
		want := 200
		if recheck {
			want = 401
		}
		if code := pull(); code != want {
			t.Errorf("recheck %v: the token of a deleted account: %d, want %d", recheck, code, want)
		}
	}
}
