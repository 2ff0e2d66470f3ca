package server

import (
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/meta/postgres"
)

// TestPostgresMetadata: with metadata.driver postgres, two servers on one
// database and one storage directory (each with its own data directory)
// are one registry: an image pushed through the first, with its project
// created on the way, is listed and pulled through the second.
func TestPostgresMetadata(t *testing.T) {
	dsn := testpg.Database(t)
	shared := t.TempDir()
	instance := func() string {
		cfg := testConfig()
		cfg.DataDir = t.TempDir()
		cfg.Storage.FS.RootDirectory = filepath.Join(shared, "storage")
		cfg.Auth.AdminPassword = "admin-password"
		cfg.Auth.CreateProjectsOnPush = true
		env := map[string]string{
			"BERTH_METADATA_DRIVER":             "postgres",
			"BERTH_METADATA_POSTGRES_DSN":       dsn,
			"BERTH_METADATA_POSTGRES_MAX_CONNS": "8",
		}
		if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(start(t, cfg).Handler())
		t.Cleanup(ts.Close)
		return strings.TrimPrefix(ts.URL, "http://")
	}
	a, b := instance(), instance()
	auth := remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password"})
	img, err := random.Image(512, 3)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(a+"/team/app:v1", name.Insecure)
	if err := remote.Write(ref, img, auth); err != nil {
		t.Fatal(err)
	}
	want, _ := img.Digest()
	repo, _ := name.NewRepository(b+"/team/app", name.Insecure)
	tags, err := remote.List(repo, auth)
	if err != nil || len(tags) != 1 || tags[0] != "v1" {
		t.Fatalf("tags through the second instance: %v, %v", tags, err)
	}
	got, err := remote.Image(repo.Tag("v1"), auth)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != want {
		t.Fatalf("pulled %s through the second instance, pushed %s", d, want)
	}
	layers, _ := got.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
}

// TestPostgresReadCacheSetting checks metadata.postgres.readCache through
// its environment variable: on by default, a pull's tag resolution read
// twice is answered from the cache (once its first drop-log poll is in);
// "false" leaves the store without one.
func TestPostgresReadCacheSetting(t *testing.T) {
	dsn := testpg.Database(t)
	open := func(readCache string) *postgres.Store {
		t.Helper()
		cfg := testConfig()
		env := map[string]string{
			"BERTH_METADATA_DRIVER":              "postgres",
			"BERTH_METADATA_POSTGRES_DSN":        dsn,
			"BERTH_METADATA_POSTGRES_READ_CACHE": readCache,
		}
		if err := cfg.ApplyEnv(func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		s, err := openMetadata(t.Context(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s.(*postgres.Store)
	}
	resolve := func(s *postgres.Store) {
		t.Helper()
		err := s.View(meta.AllowCachedReads(t.Context()), func(tx meta.Tx) error {
			_, err := tx.Tags().Get("app", "v1")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	on := open("")
	metatest.Tagged(t, on, "app", "v1")
	if !on.Stats().ReadCache {
		t.Fatal("readCache unset: the store has no read cache, want one")
	}
	// The cache answers once the store's first poll of the drop log is
	// in; wait for that by resolving until a read is cached.
	eventually.True(t, "readCache unset: a resolution answered from the cache", func() bool {
		resolve(on)
		return on.Stats().CachedReads > 0
	})

	off := open("false")
	if off.Stats().ReadCache {
		t.Error("readCache false: the store has a read cache")
	}
	for range 3 {
		resolve(off)
	}
	if n := off.Stats().CachedReads; n != 0 {
		t.Errorf("readCache false: %d resolutions answered from a cache", n)
	}
}
