package metatest

import (
	"slices"
	"testing"
	"time"

	"github.com/berthreg/berth/meta"
)

// testRepositoriesEnsureGet checks Ensure's created flag and that Get and a
// repeated Ensure return the record the first Ensure made.
func testRepositoriesEnsureGet(t *testing.T, s meta.Store) {
	before := time.Now()
	var first meta.Repository
	update(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Get before Ensure", func() error { _, err := tx.Repositories().Get("lib/app"); return err }())
		repo, created, err := tx.Repositories().Ensure("lib/app")
		check(t, "Ensure", err)
		if !created {
			t.Error("first Ensure: created = false, want true")
		}
		if repo.Name != "lib/app" {
			t.Errorf("Ensure: Name = %q, want %q", repo.Name, "lib/app")
		}
		// Generous bounds: a backend may take the time from a database clock.
		if repo.CreatedAt.Before(before.Add(-5*time.Minute)) || repo.CreatedAt.After(time.Now().Add(5*time.Minute)) {
			t.Errorf("Ensure: CreatedAt = %v, want about %v", repo.CreatedAt, before)
		}
		again, created, err := tx.Repositories().Ensure("lib/app")
		check(t, "second Ensure in the same Update", err)
		if created || again.Name != repo.Name || !again.CreatedAt.Equal(repo.CreatedAt) {
			t.Errorf("second Ensure in the same Update: got %+v, created %v; want %+v, false", again, created, repo)
		}
		first = repo
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		repo, created, err := tx.Repositories().Ensure("lib/app")
		check(t, "Ensure in a later Update", err)
		if created || repo.Name != first.Name || !repo.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("Ensure in a later Update: got %+v, created %v; want %+v, false", repo, created, first)
		}
		_, created, err = tx.Repositories().Ensure("lib")
		check(t, "Ensure(lib)", err)
		if !created {
			t.Error("Ensure(lib) after Ensure(lib/app): created = false; a name prefix is a different repository")
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		repo, err := tx.Repositories().Get("lib/app")
		check(t, "Get", err)
		if repo.Name != first.Name || !repo.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("Get: got %+v, want %+v", repo, first)
		}
		wantNotFound(t, "Get(lib/ap)", func() error { _, err := tx.Repositories().Get("lib/ap"); return err }())
		wantNotFound(t, "Get(lib/app/x)", func() error { _, err := tx.Repositories().Get("lib/app/x"); return err }())
		return nil
	})
}

// repoNames are repository names whose byte order differs from their
// insertion order and from most collations ('-' < '.' < '/' < digits <
// upper case < '_' < lower case).
var repoNames = []string{
	"a", "a-b", "a.b", "a/b", "a/b/c", "a0", "aa", "b", "lib/Z", "lib/_x", "lib/z", "z",
}

// testRepositoriesList checks List's byte-wise order and its after/limit
// paging.
func testRepositoriesList(t *testing.T, s meta.Store) {
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, shuffled(repoNames)...)
		return nil
	})
	want := slices.Clone(repoNames)
	slices.Sort(want)
	view(t, s, func(tx meta.Tx) error {
		r := tx.Repositories()
		list := func(after string, limit int) []string {
			t.Helper()
			names, err := r.List(after, limit)
			check(t, "Repositories.List", err)
			return names
		}
		wantStrings(t, "List(\"\", 0)", list("", 0), want)
		wantStrings(t, "List(\"\", -1)", list("", -1), want)
		wantStrings(t, "List(\"\", 3)", list("", 3), want[:3])
		wantStrings(t, "List(a.b, 2)", list("a.b", 2), []string{"a/b", "a/b/c"})
		wantStrings(t, "List(a/, 0) (after a name that does not exist)", list("a/", 0), want[3:])
		wantStrings(t, "List(\"lib/\", 2)", list("lib/", 2), []string{"lib/Z", "lib/_x"})
		wantStrings(t, "List(z, 5) (after the last)", list("z", 5), nil)
		wantStrings(t, "List(zz, 0) (after everything)", list("zz", 0), nil)
		wantStrings(t, "List(\"\", 100) (limit above the count)", list("", 100), want)
		for _, limit := range []int{1, 2, 5, len(want)} {
			wantStrings(t, "paged repositories", pageAll(t, "repositories", limit, list), want)
		}
		return nil
	})
}

// testRepositoriesDelete checks that deleting a repository removes all it
// holds, leaves every other repository (including ones whose names share a
// prefix) untouched, and keeps registry-wide blob records.
func testRepositoriesDelete(t *testing.T, s meta.Store) {
	names := []string{"lib/ap", "lib/app", "lib/app/sub", "lib/app2", "lib/app-x"}
	sub := image("subject", "")
	ref := image("ref", sub.Digest)
	blob := meta.Blob{Digest: dg("shared-layer"), Size: 7, CreatedAt: at(0)}
	own := meta.Blob{Digest: dg("own-layer"), Size: 8, CreatedAt: at(1)}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, names...)
		for _, n := range names {
			putManifests(t, tx, n, sub, ref)
			putTags(t, tx, n, sub.Digest, "latest", "v1")
			check(t, "Link", tx.Blobs().Link(n, blob))
		}
		return tx.Blobs().Link("lib/app", own)
	})
	update(t, s, func(tx meta.Tx) error {
		return tx.Repositories().Delete("lib/app")
	})
	view(t, s, func(tx meta.Tx) error {
		const gone = "lib/app"
		wantNotFound(t, "Get(deleted)", func() error { _, err := tx.Repositories().Get(gone); return err }())
		wantNotFound(t, "Tags.Get in deleted", func() error { _, err := tx.Tags().Get(gone, "latest"); return err }())
		wantNotFound(t, "Manifests.Get in deleted", func() error { _, err := tx.Manifests().Get(gone, sub.Digest); return err }())
		wantNotFound(t, "Blobs.Linked in deleted", func() error { _, err := tx.Blobs().Linked(gone, blob.Digest); return err }())
		for _, d := range []meta.Blob{blob, own} {
			got, err := tx.Blobs().Stat(d.Digest)
			check(t, "Stat of a blob linked from the deleted repository", err)
			wantBlob(t, "registry-wide record after repository delete", got, d)
		}
		all, err := tx.Repositories().List("", 0)
		check(t, "List", err)
		wantStrings(t, "repositories after delete", all, []string{"lib/ap", "lib/app-x", "lib/app/sub", "lib/app2"})
		for _, n := range all {
			tags, err := tx.Tags().List(n, "", 0)
			check(t, "Tags.List", err)
			wantStrings(t, n+" tags", tags, []string{"latest", "v1"})
			ms, err := tx.Manifests().List(n, "", 0)
			check(t, "Manifests.List", err)
			wantStrings(t, n+" manifests", ms, sortedDigests("subject", "ref"))
			refs, err := tx.Manifests().Referrers(n, sub.Digest)
			check(t, "Referrers", err)
			wantManifests(t, n+" referrers", refs, []meta.Manifest{ref})
			of, err := tx.Tags().Of(n, sub.Digest)
			check(t, "Of", err)
			wantStrings(t, n+" Of(subject)", of, []string{"latest", "v1"})
			if _, err := tx.Blobs().Linked(n, blob.Digest); err != nil {
				t.Errorf("%s link after deleting lib/app: %v", n, err)
			}
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Delete(deleted)", tx.Repositories().Delete("lib/app"))
		wantNotFound(t, "Delete(never existed)", tx.Repositories().Delete("nope"))
		_, created, err := tx.Repositories().Ensure("lib/app")
		check(t, "Ensure after Delete", err)
		if !created {
			t.Error("Ensure after Delete: created = false, want true")
		}
		return nil
	})
	// A re-created repository starts empty: nothing of the old one lingers.
	view(t, s, func(tx meta.Tx) error {
		const n = "lib/app"
		tags, err := tx.Tags().List(n, "", 0)
		check(t, "Tags.List", err)
		wantStrings(t, "tags of re-created repository", tags, nil)
		ms, err := tx.Manifests().List(n, "", 0)
		check(t, "Manifests.List", err)
		wantStrings(t, "manifests of re-created repository", ms, nil)
		refs, err := tx.Manifests().Referrers(n, sub.Digest)
		check(t, "Referrers", err)
		wantManifests(t, "referrers of re-created repository", refs, nil)
		of, err := tx.Tags().Of(n, sub.Digest)
		check(t, "Of", err)
		wantStrings(t, "Of in re-created repository", of, nil)
		wantNotFound(t, "link in re-created repository", func() error { _, err := tx.Blobs().Linked(n, own.Digest); return err }())
		return nil
	})
}
