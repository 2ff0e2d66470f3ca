package artifact_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// env is a store with accounts and the Service over them.
type env struct {
	store meta.Store
	m     *accounts.Manager
	svc   *artifact.Service
	admin auth.Principal
}

// newEnv is an env on the store teststores.Open gives (bbolt, or
// PostgreSQL under BERTH_TEST_META=postgres).
func newEnv(t testing.TB) env { return newEnvOn(t, teststores.Open(t)) }

// newBoltEnv is an env on a bbolt store.
func newBoltEnv(t testing.TB) env {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newEnvOn(t, store)
}

func newEnvOn(t testing.TB, store meta.Store) env {
	t.Helper()
	m, err := accounts.New(context.Background(), store, accounts.WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := artifact.New(store, m.Authorizer(), m)
	if err != nil {
		t.Fatal(err)
	}
	return env{store: store, m: m, svc: svc, admin: auth.Principal{Name: "admin", Kind: auth.User, Admin: true}}
}

// manifest is an image manifest record named by i, pushed at.
func manifest(name string, at time.Time) meta.Manifest {
	return meta.Manifest{Digest: digest.FromString(name), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 100,
		Config:   meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: digest.FromString("config " + name), Size: 10},
		PushedAt: at.UTC().Truncate(time.Microsecond)}
}

// fill puts n manifests into repo, each tagged t<i>, in batches.
func fill(t testing.TB, store meta.Store, repo string, n int) {
	t.Helper()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 5000
	for start := 0; start < n; start += batch {
		err := store.Update(context.Background(), func(tx meta.Tx) error {
			if _, _, err := tx.Repositories().Ensure(repo); err != nil {
				return err
			}
			for i := start; i < min(start+batch, n); i++ {
				m := manifest(fmt.Sprintf("%s %d", repo, i), base.Add(time.Duration(i)*time.Second))
				if err := tx.Manifests().Put(repo, m); err != nil {
					return err
				}
				if err := tx.Tags().Put(repo, fmt.Sprintf("t%06d", i), m.Digest); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// ensure creates repositories names (empty).
func ensure(t testing.TB, store meta.Store, names []string) {
	t.Helper()
	const batch = 5000
	for start := 0; start < len(names); start += batch {
		err := store.Update(context.Background(), func(tx meta.Tx) error {
			for _, name := range names[start:min(start+batch, len(names))] {
				if _, _, err := tx.Repositories().Ensure(name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
