package server

import (
	"crypto"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/berthreg/berth/auth/session"
	"github.com/berthreg/berth/auth/token"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
)

// TestServerKeysRecordType round-trips a key record through the store.
func TestServerKeysRecordType(t *testing.T) {
	metatest.RecordType(t, teststores.Open(t), serverKeys, serverKey{Name: tokenKeyName, Value: []byte("-----BEGIN PRIVATE KEY-----"), CreatedAt: metatest.At(1)},
		func(k serverKey, i int) serverKey {
			k.Value = []byte{byte(i)}
			if i > 0 {
				k.Name = fmt.Sprintf("key-%02d", i)
			}
			return k
		})
}

// TestKeysFromFilesAndEarlierVersions: configured key files are used as
// they are, and not stored; without them, the first start imports the
// files earlier versions generated into the data directory (so their
// tokens and cookies stay valid), and later starts, on any instance, read
// what was stored; bad files are errors naming the key.
func TestKeysFromFilesAndEarlierVersions(t *testing.T) {
	store := teststores.Open(t)
	cfg := testConfig()
	cfg.DataDir = t.TempDir()
	k, err := token.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	pemKey, err := token.MarshalKey(k)
	if err != nil {
		t.Fatal(err)
	}
	legacySessionKey := session.GenerateKey()
	write := func(name string, b []byte) string {
		p := filepath.Join(cfg.DataDir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(legacyTokenKey, pemKey)
	write(legacySession, legacySessionKey)
	ctx := t.Context()
	stored := func(name string) []byte {
		var v []byte
		err := store.View(ctx, func(tx meta.Tx) error {
			k, err := serverKeys.In(tx).Get(name)
			v = k.Value
			return err
		})
		if err != nil {
			t.Fatalf("key %s: %v", name, err)
		}
		return v
	}

	// Configured files: used, not stored.
	fileCfg := cfg
	fileCfg.Auth.TokenKey = write("configured.pem", pemKey)
	fileCfg.Auth.SessionKey = write("configured-session", []byte(strings.Repeat("s", 40)))
	if got, err := sessionKey(ctx, fileCfg, store); err != nil || string(got) != strings.Repeat("s", 40) {
		t.Fatalf("configured session key: %q, %v", got, err)
	}
	if _, err := tokenKey(ctx, fileCfg, store); err != nil {
		t.Fatal(err)
	}
	if err := store.View(ctx, func(tx meta.Tx) error {
		list, err := serverKeys.In(tx).List("", 0)
		if len(list) != 0 {
			t.Errorf("configured keys were stored: %d records", len(list))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Earlier versions' files: imported, then read from the store by an
	// instance with another data directory.
	if _, err := tokenKey(ctx, cfg, store); err != nil {
		t.Fatal(err)
	}
	if _, err := sessionKey(ctx, cfg, store); err != nil {
		t.Fatal(err)
	}
	if string(stored(tokenKeyName)) != string(pemKey) || string(stored(sessionKeyName)) != string(legacySessionKey) {
		t.Fatal("the data directory's keys were not imported")
	}
	other := cfg
	other.DataDir = t.TempDir()
	got, err := sessionKey(ctx, other, store)
	if err != nil || string(got) != string(legacySessionKey) {
		t.Fatalf("another instance's session key: %v", err)
	}
	signer, err := tokenKey(ctx, other, store)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustKeyID(t, signer), mustKeyID(t, k); a != b {
		t.Fatalf("another instance signs with key %s, the imported one is %s", a, b)
	}

	// Bad files name their key.
	for key, bad := range map[string]Config{
		"auth.tokenKey":   func() Config { c := cfg; c.Auth.TokenKey = write("bad.pem", []byte("not a key")); return c }(),
		"auth.sessionKey": func() Config { c := cfg; c.Auth.SessionKey = write("short", []byte("short")); return c }(),
	} {
		_, errT := tokenKey(ctx, bad, store)
		_, errS := sessionKey(ctx, bad, store)
		err := errT
		if key == "auth.sessionKey" {
			err = errS
		}
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v, want an error naming it", key, err)
		}
	}
}

func mustKeyID(t *testing.T, k crypto.Signer) string {
	t.Helper()
	id, err := token.KeyID(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return id
}
