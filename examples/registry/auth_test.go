package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta/bolt"
)

// TestAuthFirstStartAndRestart: the first start generates the admin
// password and the token key; a restart keeps both, and a configured
// password replaces the generated one.
func TestAuthFirstStartAndRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := defaultConfig()
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
		m, err := accounts.New(t.Context(), store)
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
