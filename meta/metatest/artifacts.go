package metatest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// art returns an image manifest record named name (its digest named(name))
// pushed at pushed.
func art(name string, pushed time.Time) meta.Manifest {
	m := image(name, "")
	m.Digest = named(name)
	m.PushedAt = pushed
	return m
}

// indexOf returns an image index record named name pushed at pushed that
// lists children.
func indexOf(name string, pushed time.Time, children ...digest.Digest) meta.Manifest {
	m := meta.Manifest{Digest: named(name), MediaType: "application/vnd.oci.image.index.v1+json", Size: 300, PushedAt: pushed}
	for _, c := range children {
		m.Manifests = append(m.Manifests, meta.Descriptor{MediaType: "application/vnd.oci.image.manifest.v1+json", Digest: c, Size: 100})
	}
	return m
}

// attached returns a manifest record named name pushed at pushed whose
// layers have the given media types, the shape of cosign's tag-based
// signatures, attestations and SBOMs.
func attached(name string, pushed time.Time, layerTypes ...string) meta.Manifest {
	m := art(name, pushed)
	m.Layers = nil
	for i, mt := range layerTypes {
		m.Layers = append(m.Layers, meta.Descriptor{MediaType: mt, Digest: dg(name + "-layer-" + string(rune('a'+i))), Size: 10})
	}
	return m
}

// ds returns the digests of names (see named).
func ds(names ...string) []digest.Digest {
	out := make([]digest.Digest, len(names))
	for i, n := range names {
		out[i] = named(n)
	}
	return out
}

// reversed returns a reversed copy of xs.
func reversed[T any](xs []T) []T {
	out := slices.Clone(xs)
	slices.Reverse(out)
	return out
}

// testRepositoriesCount checks Repositories.Count per project and in
// all after creations, deletions, a rolled-back Update and a restore, in
// Updates and Views.
func testRepositoriesCount(t *testing.T, s meta.Store) {
	counts := func(tx meta.Tx, what string, want map[string]int) {
		t.Helper()
		for project, n := range want {
			got, err := tx.Repositories().Count(project)
			check(t, what+": Count", err)
			if got != n {
				t.Errorf("%s: Count(%q) = %d, want %d", what, project, got, n)
			}
		}
	}
	view(t, s, func(tx meta.Tx) error {
		counts(tx, "empty store", map[string]int{"": 0, "lib": 0})
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "lib/a", "lib/b", "lib/b/c", "team/x", "solo", "lib", "library/y")
		counts(tx, "after Ensure, in its Update", map[string]int{
			"": 7, "lib": 4, "team": 1, "solo": 1, "library": 1, "li": 0, "lib/a": 0, "a": 0,
		})
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "lib/a", "team/x") // exist: counted once
		check(t, "Delete(lib/b)", tx.Repositories().Delete("lib/b"))
		check(t, "Delete(solo)", tx.Repositories().Delete("solo"))
		wantNotFound(t, "Delete(missing)", tx.Repositories().Delete("lib/missing"))
		return nil
	})
	after := map[string]int{"": 5, "lib": 3, "team": 1, "solo": 0, "library": 1}
	view(t, s, func(tx meta.Tx) error { counts(tx, "after deletes", after); return nil })
	errRollback := errors.New("roll back")
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		ensure(t, tx, "lib/new", "new/x")
		check(t, "Delete(team/x)", tx.Repositories().Delete("team/x"))
		counts(tx, "inside the Update to roll back", map[string]int{"": 6, "lib": 4, "new": 1, "team": 0})
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatalf("Update: %v, want the function's error", err)
	}
	view(t, s, func(tx meta.Tx) error {
		counts(tx, "after a rolled-back Update", after)
		counts(tx, "after a rolled-back Update", map[string]int{"new": 0})
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "solo")
		if p, ok := tx.(meta.Porter); ok {
			check(t, "Restore().Repository", p.Restore().Repository(meta.Repository{Name: "restored/r", CreatedAt: at(1)}))
		} else {
			ensure(t, tx, "restored/r")
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		counts(tx, "after re-creating and restoring", map[string]int{"": 7, "lib": 3, "solo": 1, "restored": 1, "team": 1})
		return nil
	})
}

// testRepositoriesStats checks the counters of Repositories.Stats after
// every kind of change (pushes, re-pushes, indexes and their children,
// accessories, tag puts, moves and deletes, manifest deletes and their
// tag cascade, a rolled-back Update, a repository's deletion), against
// the expected numbers and against the records.
func testRepositoriesStats(t *testing.T, s meta.Store) {
	stats := func(tx meta.Tx, what string, want meta.RepositoryStats) {
		t.Helper()
		got, err := tx.Repositories().Stats("r")
		check(t, what+": Stats", err)
		if got != want {
			t.Errorf("%s: Stats = %+v, want %+v", what, got, want)
		}
		checkModel(t, tx, what, "r")
		other, err := tx.Repositories().Stats("other")
		check(t, what+": Stats(other)", err)
		if other != (meta.RepositoryStats{Manifests: 1, Artifacts: 1, Tags: 1}) {
			t.Errorf("%s: Stats(other) = %+v: another repository's changes leaked in", what, other)
		}
	}
	step := func(what string, want meta.RepositoryStats, fn func(tx meta.Tx)) {
		t.Helper()
		update(t, s, func(tx meta.Tx) error {
			fn(tx)
			stats(tx, what+" (in its Update)", want)
			return nil
		})
		view(t, s, func(tx meta.Tx) error { stats(tx, what, want); return nil })
	}
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.Repositories().Stats("r")
		wantNotFound(t, "Stats(missing)", err)
		return nil
	})
	a, b, x := art("a", at(1)), art("b", at(2)), art("x", at(3))
	step("empty", meta.RepositoryStats{}, func(tx meta.Tx) {
		ensure(t, tx, "r", "other")
		putManifests(t, tx, "other", a)
		putTags(t, tx, "other", a.Digest, "v1")
	})
	step("two images, two tags", meta.RepositoryStats{Manifests: 2, Artifacts: 2, Tags: 2}, func(tx meta.Tx) {
		putManifests(t, tx, "r", a, b)
		putTags(t, tx, "r", a.Digest, "v1", "latest")
	})
	step("a tag moved, a tag put again", meta.RepositoryStats{Manifests: 2, Artifacts: 2, Tags: 2}, func(tx meta.Tx) {
		putTags(t, tx, "r", b.Digest, "latest")
		putTags(t, tx, "r", a.Digest, "v1")
	})
	step("a re-push", meta.RepositoryStats{Manifests: 2, Artifacts: 2, Tags: 2}, func(tx meta.Tx) {
		again := a
		again.PushedAt = at(10)
		putManifests(t, tx, "r", again)
	})
	i := indexOf("i", at(11), a.Digest, x.Digest)
	step("an index of a and x, x not pushed yet", meta.RepositoryStats{Manifests: 3, Artifacts: 2, Tags: 2}, func(tx meta.Tx) {
		putManifests(t, tx, "r", i)
	})
	step("x pushed after its index", meta.RepositoryStats{Manifests: 4, Artifacts: 2, Tags: 2}, func(tx meta.Tx) {
		putManifests(t, tx, "r", x)
	})
	sig := art("sig", at(12))
	sig.Subject = b.Digest
	cosign := attached("cosign", at(13), "application/vnd.dev.cosign.simplesigning.v1+json")
	step("a referrer and a tagged cosign signature", meta.RepositoryStats{Manifests: 6, Artifacts: 2, Tags: 3}, func(tx meta.Tx) {
		putManifests(t, tx, "r", sig, cosign)
		putTags(t, tx, "r", cosign.Digest, "sha256-b.sig")
	})
	step("a tag deleted", meta.RepositoryStats{Manifests: 6, Artifacts: 2, Tags: 2}, func(tx meta.Tx) {
		check(t, "Tags.Delete", tx.Tags().Delete("r", "v1"))
		wantNotFound(t, "Tags.Delete(missing)", tx.Tags().Delete("r", "v1"))
	})
	step("a tagged artifact deleted", meta.RepositoryStats{Manifests: 5, Artifacts: 1, Tags: 1}, func(tx meta.Tx) {
		check(t, "Manifests.Delete(b)", tx.Manifests().Delete("r", b.Digest))
	})
	step("the index replaced, listing x only", meta.RepositoryStats{Manifests: 5, Artifacts: 2, Tags: 1}, func(tx meta.Tx) {
		putManifests(t, tx, "r", indexOf("i", at(11), x.Digest))
	})
	step("the index deleted", meta.RepositoryStats{Manifests: 4, Artifacts: 2, Tags: 1}, func(tx meta.Tx) {
		check(t, "Manifests.Delete(i)", tx.Manifests().Delete("r", i.Digest))
	})
	errRollback := errors.New("roll back")
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		putManifests(t, tx, "r", b, indexOf("j", at(20), a.Digest))
		putTags(t, tx, "r", b.Digest, "rolled-back")
		check(t, "Manifests.Delete(x)", tx.Manifests().Delete("r", x.Digest))
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatalf("Update: %v, want the function's error", err)
	}
	view(t, s, func(tx meta.Tx) error {
		stats(tx, "after a rolled-back Update", meta.RepositoryStats{Manifests: 4, Artifacts: 2, Tags: 1})
		return nil
	})
	update(t, s, func(tx meta.Tx) error { return tx.Repositories().Delete("r") })
	view(t, s, func(tx meta.Tx) error {
		_, err := tx.Repositories().Stats("r")
		wantNotFound(t, "Stats after the repository's deletion", err)
		return nil
	})
	step("the repository created again", meta.RepositoryStats{}, func(tx meta.Tx) { ensure(t, tx, "r") })
}

// testArtifacts checks Manifests.Artifacts: order both ways with ties
// broken by digest, offset and limit, inclusive time bounds, an index's
// children hidden (also one pushed after its index) and shown again when
// no index lists them, accessories hidden, a re-push moving its entry,
// ErrNotFound, in Views and in the Update that wrote.
func testArtifacts(t *testing.T, s meta.Store) {
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		named(name)
	}
	// b and c are pushed in the same microsecond: the digest orders them.
	hi, lo := "b", "c"
	if dg("b") < dg("c") {
		hi, lo = "c", "b"
	}
	newest := []string{"e", "d", hi, lo, "a"}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r", "other")
		putManifests(t, tx, "r", art("a", at(10)), art("b", at(20)), art("c", at(20)), art("d", at(30)), art("e", at(40)))
		putManifests(t, tx, "other", art("o", at(25)))
		wantPage(t, tx, "in the Update that pushed", "r", meta.ArtifactQuery{}, ds(newest...), 5)
		return nil
	})
	us := time.Microsecond
	view(t, s, func(tx meta.Tx) error {
		for _, c := range []struct {
			q    meta.ArtifactQuery
			want []string
			n    int
		}{
			{meta.ArtifactQuery{}, newest, 5},
			{meta.ArtifactQuery{OldestFirst: true}, reversed(newest), 5},
			{meta.ArtifactQuery{Limit: 2}, newest[:2], 5},
			{meta.ArtifactQuery{Offset: 2, Limit: 2}, newest[2:4], 5},
			{meta.ArtifactQuery{Offset: 4, Limit: 2}, newest[4:], 5},
			{meta.ArtifactQuery{Offset: 5, Limit: 2}, nil, 5},
			{meta.ArtifactQuery{Offset: 50}, nil, 5},
			{meta.ArtifactQuery{Offset: 1}, newest[1:], 5},
			{meta.ArtifactQuery{Limit: -1}, newest, 5},
			{meta.ArtifactQuery{OldestFirst: true, Offset: 1, Limit: 2}, reversed(newest)[1:3], 5},
			{meta.ArtifactQuery{PushedFrom: at(20), PushedTo: at(30)}, []string{"d", hi, lo}, 3},
			{meta.ArtifactQuery{PushedFrom: at(20), PushedTo: at(30), OldestFirst: true}, []string{lo, hi, "d"}, 3},
			{meta.ArtifactQuery{PushedFrom: at(30)}, []string{"e", "d"}, 2},
			{meta.ArtifactQuery{PushedTo: at(20)}, []string{hi, lo, "a"}, 3},
			{meta.ArtifactQuery{PushedTo: at(20), OldestFirst: true}, []string{"a", lo, hi}, 3},
			{meta.ArtifactQuery{PushedFrom: at(20).Add(us)}, []string{"e", "d"}, 2},
			{meta.ArtifactQuery{PushedTo: at(20).Add(-us)}, []string{"a"}, 1},
			{meta.ArtifactQuery{PushedFrom: at(20), PushedTo: at(20)}, []string{hi, lo}, 2},
			{meta.ArtifactQuery{PushedFrom: at(25), PushedTo: at(26)}, nil, 0},
			{meta.ArtifactQuery{PushedFrom: at(40), PushedTo: at(10)}, nil, 0},
			{meta.ArtifactQuery{PushedFrom: at(41)}, nil, 0},
			{meta.ArtifactQuery{PushedTo: at(9)}, nil, 0},
			{meta.ArtifactQuery{PushedFrom: at(20), PushedTo: at(30), Offset: 1, Limit: 1}, []string{hi}, 3},
			{meta.ArtifactQuery{PushedFrom: at(20), PushedTo: at(30), Offset: 1, Limit: 1, OldestFirst: true}, []string{hi}, 3},
			{meta.ArtifactQuery{PushedFrom: at(20), PushedTo: at(30), Offset: 3}, nil, 3},
		} {
			wantPage(t, tx, "five images", "r", c.q, ds(c.want...), c.n)
		}
		wantPage(t, tx, "five images", "other", meta.ArtifactQuery{}, ds("o"), 1)
		_, _, err := tx.Manifests().Artifacts("missing", meta.ArtifactQuery{})
		wantNotFound(t, "Artifacts(missing) in a View", err)
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		_, _, err := tx.Manifests().Artifacts("missing", meta.ArtifactQuery{})
		wantNotFound(t, "Artifacts(missing) in an Update", err)
		return nil
	})

	// step applies fn in an Update, then checks the newest-first listing
	// of r there and in a View, and the listing against the records.
	step := func(what string, want []string, fn func(tx meta.Tx)) {
		t.Helper()
		update(t, s, func(tx meta.Tx) error {
			fn(tx)
			wantPage(t, tx, what+" (in its Update)", "r", meta.ArtifactQuery{}, ds(want...), len(want))
			return nil
		})
		view(t, s, func(tx meta.Tx) error {
			wantPage(t, tx, what, "r", meta.ArtifactQuery{}, ds(want...), len(want))
			wantPage(t, tx, what, "r", meta.ArtifactQuery{OldestFirst: true}, ds(reversed(want)...), len(want))
			checkModel(t, tx, what, "r")
			return nil
		})
	}
	put := func(tx meta.Tx, ms ...meta.Manifest) { t.Helper(); putManifests(t, tx, "r", ms...) }
	del := func(tx meta.Tx, name string) {
		t.Helper()
		check(t, "Manifests.Delete("+name+")", tx.Manifests().Delete("r", named(name)))
	}
	later := named("later")
	step("an index of a, b and a child not pushed yet", []string{"idx", "e", "d", "c"}, func(tx meta.Tx) {
		put(tx, indexOf("idx", at(50), named("a"), named("b"), later))
	})
	step("the child pushed after its index", []string{"idx", "e", "d", "c"}, func(tx meta.Tx) {
		put(tx, art("later", at(60)))
	})
	sig := art("sig", at(70))
	sig.Subject = named("d")
	step("accessories", []string{"bare", "mixed", "idx", "e", "d", "c"}, func(tx meta.Tx) {
		put(tx, sig,
			attached("cosign-sig", at(71), "application/vnd.dev.cosign.simplesigning.v1+json"),
			attached("sbom", at(72), "text/spdx+json"),
			attached("attestation", at(73), "application/vnd.dsse.envelope.v1+json", "application/vnd.dsse.envelope.v1+json"),
			// Not every layer is an accessory's: an artifact.
			attached("mixed", at(74), "application/vnd.dev.cosign.simplesigning.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"),
			// No layers at all: an artifact.
			attached("bare", at(75)))
	})
	step("c pushed again, later", []string{"c", "bare", "mixed", "idx", "e", "d"}, func(tx meta.Tx) {
		put(tx, art("c", at(80)))
	})
	step("the index replaced: a dropped, mixed added", []string{"c", "bare", "idx", "e", "d", "a"}, func(tx meta.Tx) {
		put(tx, indexOf("idx", at(50), named("b"), later, named("mixed")))
	})
	step("a second index of b", []string{"idx2", "c", "bare", "idx", "e", "d", "a"}, func(tx meta.Tx) {
		put(tx, indexOf("idx2", at(90), named("b")))
	})
	step("the first index deleted: b still has a parent", []string{"idx2", "c", "bare", "mixed", "later", "e", "d", "a"}, func(tx meta.Tx) {
		del(tx, "idx")
	})
	step("the second index deleted", []string{"c", "bare", "mixed", "later", "e", "d", "b", "a"}, func(tx meta.Tx) {
		del(tx, "idx2")
	})
	step("an artifact deleted", []string{"c", "bare", "mixed", "later", "d", "b", "a"}, func(tx meta.Tx) {
		del(tx, "e")
	})
	step("an index of d", []string{"idx3", "c", "bare", "mixed", "later", "b", "a"}, func(tx meta.Tx) {
		put(tx, indexOf("idx3", at(95), named("d")))
	})
	step("d deleted and pushed again: still a child", []string{"idx3", "c", "bare", "mixed", "later", "b", "a"}, func(tx meta.Tx) {
		del(tx, "d")
		put(tx, art("d", at(96)))
	})
	step("the index of d deleted", []string{"d", "c", "bare", "mixed", "later", "b", "a"}, func(tx meta.Tx) {
		del(tx, "idx3")
	})
	step("an index that lists itself and a replaced with a subject", []string{"d", "c", "bare", "mixed", "later", "b"}, func(tx meta.Tx) {
		put(tx, indexOf("self", at(97), named("self")))
		ref := art("a", at(10))
		ref.Subject = named("b")
		put(tx, ref)
	})
	view(t, s, func(tx meta.Tx) error {
		wantPage(t, tx, "other repository at the end", "other", meta.ArtifactQuery{}, ds("o"), 1)
		return nil
	})
}
