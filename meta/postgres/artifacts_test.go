package postgres_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/postgres"
)

// TestCountersDoNotConflict pushes images with tags into one repository
// from more clients at once than a store had connections by default, on
// a store with connections for each, and checks that no transaction
// failed to serialize (the counters of every push land in a shard no
// concurrent transaction of the store writes) and that the counters are
// exact afterwards.
func TestCountersDoNotConflict(t *testing.T) {
	const clients, rounds = 12, 4
	s, err := postgres.Open(t.Context(), testpg.Database(t), postgres.WithMaxConns(clients+2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	layer := digest.FromString("layer")
	err = s.Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("app/one"); err != nil {
			return err
		}
		return tx.Blobs().Link("app/one", meta.Blob{Digest: layer, Size: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	before := s.Stats()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			<-start
			for r := range rounds {
				err := s.Update(t.Context(), func(tx meta.Tx) error {
					if _, err := tx.Blobs().Unlinked("app/one", []digest.Digest{layer}); err != nil {
						return err
					}
					if _, _, err := tx.Repositories().Ensure("app/one"); err != nil {
						return err
					}
					m := meta.Manifest{Digest: digest.FromString(fmt.Sprint(c, "/", r)), MediaType: "application/vnd.oci.image.manifest.v1+json",
						Layers: []meta.Descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar", Digest: layer, Size: 1}}, PushedAt: time.Now()}
					if err := tx.Manifests().Put("app/one", m); err != nil {
						return err
					}
					return tx.Tags().Put("app/one", fmt.Sprintf("c%d-r%d", c, r), m.Digest)
				})
				if err != nil {
					t.Errorf("client %d round %d: %v", c, r, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	after := s.Stats()
	t.Logf("%d Updates, %d retries", after.Updates-before.Updates, after.Retries-before.Retries)
	if n := after.Retries - before.Retries; n != 0 {
		t.Errorf("%d pushes failed to serialize and were run again: want none", n)
	}
	err = s.View(t.Context(), func(tx meta.Tx) error {
		st, err := tx.Repositories().Stats("app/one")
		if err != nil {
			return err
		}
		if want := (meta.RepositoryStats{Manifests: clients * rounds, Artifacts: clients * rounds, Tags: clients * rounds}); st != want {
			t.Errorf("Stats = %+v, want %+v", st, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestMigrationBackfillsArtifacts writes records as schema version 5
// kept them (manifests as JSON, with push times in another zone and
// with nanoseconds, indexes listing children pushed and not, accessories
// of both kinds, tags), migrates, and checks that the artifact index,
// the parent links and the counters were built from them.
func TestMigrationBackfillsArtifacts(t *testing.T) {
	dsn := testpg.Database(t)
	if err := postgres.MigrateTo(t.Context(), dsn, 5); err != nil {
		t.Fatal(err)
	}
	zone := time.FixedZone("UTC-5", -5*60*60)
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, zone)
	img := func(name string, sec int, nanos int) meta.Manifest {
		return meta.Manifest{Digest: digest.FromString(name), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 10,
			Layers:   []meta.Descriptor{{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: digest.FromString("l-" + name), Size: 1}},
			PushedAt: base.Add(time.Duration(sec)*time.Second + time.Duration(nanos))}
	}
	a, b, c := img("a", 1, 0), img("b", 2, 123456789), img("c", 2, 123456000)
	zero := img("zero", 0, 0)
	zero.PushedAt = time.Time{}
	idx := meta.Manifest{Digest: digest.FromString("idx"), MediaType: "application/vnd.oci.image.index.v1+json", PushedAt: base.Add(3 * time.Second),
		Manifests: []meta.Descriptor{{Digest: a.Digest}, {Digest: digest.FromString("later")}, {Digest: a.Digest}}}
	sig := img("sig", 4, 0)
	sig.Subject = b.Digest
	sbom := img("sbom", 5, 0)
	sbom.Layers[0].MediaType = "text/spdx+json"
	mixed := img("mixed", 6, 0)
	mixed.Layers = append(mixed.Layers, meta.Descriptor{MediaType: "application/vnd.dev.cosign.simplesigning.v1+json", Digest: digest.FromString("x")})
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	repos := map[string][]meta.Manifest{
		"lib/app":   {a, b, c, zero, idx, sig, sbom, mixed},
		"lib/empty": nil,
		"team/x":    {a},
		"solo":      {idx},
	}
	for name, ms := range repos {
		var id int64
		if err := conn.QueryRow(t.Context(), `INSERT INTO repositories (name, created_at) VALUES ($1, now()) RETURNING id`, name).Scan(&id); err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			body, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var subject any
			if m.Subject != "" {
				subject = string(m.Subject)
			}
			if _, err := conn.Exec(t.Context(), `INSERT INTO manifests (repo_id, digest, subject, body) VALUES ($1, $2, $3, $4)`,
				id, string(m.Digest), subject, body); err != nil {
				t.Fatal(err)
			}
		}
		if name == "lib/app" {
			for tag, d := range map[string]digest.Digest{"v1": a.Digest, "v2": b.Digest, "latest": idx.Digest} {
				if _, err := conn.Exec(t.Context(), `INSERT INTO tags (repo_id, tag, digest) VALUES ($1, $2, $3)`, id, tag, string(d)); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// b and c are pushed in the same microsecond once cut to it: c's
	// digest orders them.
	hi, lo := b.Digest, c.Digest
	if hi < lo {
		hi, lo = lo, hi
	}
	check := func(what string, stats meta.RepositoryStats, newest []digest.Digest) {
		t.Helper()
		err := s.View(t.Context(), func(tx meta.Tx) error {
			st, err := tx.Repositories().Stats("lib/app")
			if err != nil {
				return err
			}
			if st != stats {
				t.Errorf("%s: Stats(lib/app) = %+v, want %+v", what, st, stats)
			}
			page, total, err := tx.Manifests().Artifacts("lib/app", meta.ArtifactQuery{})
			if err != nil {
				return err
			}
			var got []digest.Digest
			for _, m := range page {
				got = append(got, m.Digest)
			}
			if !slices.Equal(got, newest) || total != len(newest) {
				t.Errorf("%s: artifacts %v (total %d), want %v", what, got, total, newest)
			}
			// The push times were cut to microseconds: a bound at b's
			// microsecond holds b and c.
			page, total, err = tx.Manifests().Artifacts("lib/app", meta.ArtifactQuery{PushedFrom: c.PushedAt, PushedTo: c.PushedAt})
			if err != nil {
				return err
			}
			if len(page) != 2 || total != 2 {
				t.Errorf("%s: %d artifacts (total %d) pushed in c's microsecond, want b and c", what, len(page), total)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("after the migration", meta.RepositoryStats{Manifests: 8, Artifacts: 5, Tags: 3},
		[]digest.Digest{mixed.Digest, idx.Digest, hi, lo, zero.Digest})
	err = s.View(t.Context(), func(tx meta.Tx) error {
		for project, want := range map[string]int{"": 4, "lib": 2, "team": 1, "solo": 1, "none": 0} {
			if n, err := tx.Repositories().Count(project); err != nil || n != want {
				t.Errorf("Count(%q) = %d, %v; want %d", project, n, err, want)
			}
		}
		for name, want := range map[string]meta.RepositoryStats{"lib/empty": {}, "team/x": {Manifests: 1, Artifacts: 1}, "solo": {Manifests: 1, Artifacts: 1}} {
			if st, err := tx.Repositories().Stats(name); err != nil || st != want {
				t.Errorf("Stats(%q) = %+v, %v; want %+v", name, st, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The links were built: the child pushed now is no artifact, and the
	// index's deletion shows it and a.
	later := img("later", 7, 0)
	err = s.Update(t.Context(), func(tx meta.Tx) error { return tx.Manifests().Put("lib/app", later) })
	if err != nil {
		t.Fatal(err)
	}
	check("a child pushed after the migration", meta.RepositoryStats{Manifests: 9, Artifacts: 5, Tags: 3},
		[]digest.Digest{mixed.Digest, idx.Digest, hi, lo, zero.Digest})
	err = s.Update(t.Context(), func(tx meta.Tx) error { return tx.Manifests().Delete("lib/app", idx.Digest) })
	if err != nil {
		t.Fatal(err)
	}
	check("the index deleted", meta.RepositoryStats{Manifests: 8, Artifacts: 6, Tags: 2},
		[]digest.Digest{later.Digest, mixed.Digest, hi, lo, a.Digest, zero.Digest})
}
