package bolt_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	bbolt "go.etcd.io/bbolt"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/meta/metatest"
)

// counted is what the counters and the artifact index answer for a
// store: every repository's Stats and artifacts (newest first, with the
// total), and the repository counts of some projects.
type counted struct {
	stats     map[string]meta.RepositoryStats
	artifacts map[string][]digest.Digest
	totals    map[string]int
	counts    map[string]int
}

// readCounted reads what the counters and the artifact index answer.
func readCounted(t *testing.T, s meta.Store) counted {
	t.Helper()
	c := counted{stats: map[string]meta.RepositoryStats{}, artifacts: map[string][]digest.Digest{},
		totals: map[string]int{}, counts: map[string]int{}}
	err := s.View(t.Context(), func(tx meta.Tx) error {
		names, err := tx.Repositories().List("", 0)
		if err != nil {
			return err
		}
		for _, n := range names {
			if c.stats[n], err = tx.Repositories().Stats(n); err != nil {
				return err
			}
			page, total, err := tx.Manifests().Artifacts(n, meta.ArtifactQuery{})
			if err != nil {
				return err
			}
			for _, m := range page {
				c.artifacts[n] = append(c.artifacts[n], m.Digest)
			}
			c.totals[n] = total
		}
		for _, p := range []string{"", "lib", "team", "solo", "none"} {
			if c.counts[p], err = tx.Repositories().Count(p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestUpgradeFromLayout2 writes a store, takes it back to layout
// version 2 (no artifact index, parent links, counters or repository
// counts, version "2"), and checks that Open rebuilds all of them to
// answer as before, and that writes keep them exact afterwards.
func TestUpgradeFromLayout2(t *testing.T) {
	s, path := open(t, bolt.NoSync())
	m := func(name string, n int) meta.Manifest {
		return meta.Manifest{Digest: digest.FromString(name), MediaType: "application/vnd.oci.image.manifest.v1+json",
			Size: 10, PushedAt: metatest.At(n),
			Layers: []meta.Descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: digest.FromString("l-" + name), Size: 1}}}
	}
	a, b, c := m("a", 1), m("b", 2), m("c", 2)
	idx := meta.Manifest{Digest: digest.FromString("idx"), MediaType: "application/vnd.oci.image.index.v1+json", PushedAt: metatest.At(3),
		Manifests: []meta.Descriptor{{Digest: a.Digest}, {Digest: digest.FromString("missing")}}}
	sig := m("sig", 4)
	sig.Subject = b.Digest
	cosign := m("cosign", 5)
	cosign.Layers[0].MediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		for _, n := range []string{"lib/a", "lib/b", "team/c", "solo"} {
			if _, _, err := tx.Repositories().Ensure(n); err != nil {
				return err
			}
		}
		for _, rec := range []meta.Manifest{a, b, c, idx, sig, cosign} {
			if err := tx.Manifests().Put("lib/a", rec); err != nil {
				return err
			}
		}
		for i, tag := range []string{"v1", "v2", "latest"} {
			if err := tx.Tags().Put("lib/a", tag, []digest.Digest{a.Digest, b.Digest, idx.Digest}[i]); err != nil {
				return err
			}
		}
		for i := range 30 {
			rec := m(fmt.Sprint("many-", i), i%7)
			if err := tx.Manifests().Put("lib/b", rec); err != nil {
				return err
			}
			if err := tx.Tags().Put("lib/b", fmt.Sprint("t", i), rec.Digest); err != nil {
				return err
			}
		}
		return tx.Manifests().Put("team/c", c)
	})
	if err != nil {
		t.Fatal(err)
	}
	before := readCounted(t, s)
	if got := before.stats["lib/a"]; got != (meta.RepositoryStats{Manifests: 6, Artifacts: 3, Tags: 3}) {
		t.Fatalf("lib/a before the downgrade: %+v", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Back to layout 2.
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(btx *bbolt.Tx) error {
		repos := btx.Bucket([]byte("repos"))
		err := repos.ForEachBucket(func(name []byte) error {
			rb := repos.Bucket(name)
			for _, sub := range []string{"byPush", "parents"} {
				if err := rb.DeleteBucket([]byte(sub)); err != nil {
					return fmt.Errorf("%s: %s: %w", name, sub, err)
				}
			}
			if rb.Get([]byte("stats")) == nil {
				return fmt.Errorf("%s has no counters to remove", name)
			}
			return rb.Delete([]byte("stats"))
		})
		if err != nil {
			return err
		}
		if err := btx.DeleteBucket([]byte("repoCounts")); err != nil {
			return err
		}
		return btx.Bucket([]byte("schema")).Put([]byte("version"), []byte("2"))
	})
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	s, err = bolt.Open(path, bolt.NoSync())
	if err != nil {
		t.Fatalf("Open of a layout 2 file: %v", err)
	}
	after := readCounted(t, s)
	for name, want := range before.stats {
		if got := after.stats[name]; got != want {
			t.Errorf("%s after the upgrade: Stats %+v, want %+v", name, got, want)
		}
		if got, want := after.artifacts[name], before.artifacts[name]; !slices.Equal(got, want) || after.totals[name] != before.totals[name] {
			t.Errorf("%s after the upgrade: artifacts %v (total %d), want %v (total %d)", name, got, after.totals[name], want, before.totals[name])
		}
	}
	for p, want := range before.counts {
		if got := after.counts[p]; got != want {
			t.Errorf("Count(%q) after the upgrade = %d, want %d", p, got, want)
		}
	}
	// The parent links were rebuilt: pushing the missing child keeps it
	// hidden, deleting the index shows a and it.
	err = s.Update(t.Context(), func(tx meta.Tx) error {
		if err := tx.Manifests().Put("lib/a", m("missing", 9)); err != nil {
			return err
		}
		return tx.Manifests().Delete("lib/a", idx.Digest)
	})
	if err != nil {
		t.Fatal(err)
	}
	final := readCounted(t, s)
	if got := final.stats["lib/a"]; got != (meta.RepositoryStats{Manifests: 6, Artifacts: 4, Tags: 2}) {
		t.Errorf("lib/a after writes on the upgraded file: %+v", got)
	}
	hi, lo := c.Digest, b.Digest // pushed in the same second: newest first, the greater digest first
	if hi < lo {
		hi, lo = lo, hi
	}
	if got, want := final.artifacts["lib/a"], []digest.Digest{digest.FromString("missing"), hi, lo, a.Digest}; !slices.Equal(got, want) {
		t.Errorf("lib/a artifacts after writes on the upgraded file: %v, want %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	_ = db.View(func(btx *bbolt.Tx) error {
		if v := btx.Bucket([]byte("schema")).Get([]byte("version")); string(v) != "3" {
			t.Errorf("layout version after the upgrade: %q, want \"3\"", v)
		}
		return nil
	})
}
