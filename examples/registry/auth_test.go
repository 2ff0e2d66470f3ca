package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta/bolt"
)

// TestAuthFirstStartAndRestart: the first start generates the admin
// password and the token key; a restart keeps both, and a configured
// password replaces the generated one.
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
		if _, err := setupAuth(t.Context(), c, store, logger); err != nil {
			t.Fatal(err)
		}
		pw, _ = os.ReadFile(filepath.Join(dir, "admin-password"))
		key, err = os.ReadFile(filepath.Join(dir, "token-key.pem"))
		if err != nil {
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
	parts, err := setupAuth(t.Context(), cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
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
	parts, err = setupAuth(t.Context(), cfg, store, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
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
