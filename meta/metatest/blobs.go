package metatest

import (
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/meta"
)

// testBlobs checks Link, Linked, Stat and Unlink, and above all that a link
// in one repository never makes the blob readable in another.
func testBlobs(t *testing.T, s meta.Store) {
	first := meta.Blob{Digest: dg("layer"), Size: 1 << 33, CreatedAt: at(0)}
	relink := meta.Blob{Digest: first.Digest, Size: first.Size, CreatedAt: at(60)}
	inB := meta.Blob{Digest: first.Digest, Size: first.Size, CreatedAt: at(120)}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "tenant-a/app", "tenant-b/app", "tenant-a/app2")
		wantNotFound(t, "Stat before Link", func() error { _, err := tx.Blobs().Stat(first.Digest); return err }())
		wantNotFound(t, "Linked before Link", func() error { _, err := tx.Blobs().Linked("tenant-a/app", first.Digest); return err }())
		return tx.Blobs().Link("tenant-a/app", first)
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Blobs().Stat(first.Digest)
		check(t, "Stat", err)
		wantBlob(t, "Stat", got, first)
		got, err = tx.Blobs().Linked("tenant-a/app", first.Digest)
		check(t, "Linked", err)
		wantBlob(t, "Linked in its repository", got, first)
		for _, other := range []string{"tenant-b/app", "tenant-a/app2"} {
			wantNotFound(t, "Linked in "+other+" (tenant isolation: the blob exists registry-wide but is not linked there)",
				func() error { _, err := tx.Blobs().Linked(other, first.Digest); return err }())
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Link again", tx.Blobs().Link("tenant-a/app", relink))
		return tx.Blobs().Link("tenant-b/app", inB)
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Blobs().Stat(first.Digest)
		check(t, "Stat", err)
		wantBlob(t, "registry-wide record after more links (kept from the first)", got, first)
		got, err = tx.Blobs().Linked("tenant-a/app", first.Digest)
		check(t, "Linked(a)", err)
		wantBlob(t, "link after linking again (kept from the first)", got, first)
		got, err = tx.Blobs().Linked("tenant-b/app", first.Digest)
		check(t, "Linked(b)", err)
		wantBlob(t, "link in the second repository (its own record)", got, inB)
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Unlink", tx.Blobs().Unlink("tenant-a/app", first.Digest))
		wantNotFound(t, "Unlink twice", tx.Blobs().Unlink("tenant-a/app", first.Digest))
		wantNotFound(t, "Unlink where never linked", tx.Blobs().Unlink("tenant-a/app2", first.Digest))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Linked after Unlink", func() error { _, err := tx.Blobs().Linked("tenant-a/app", first.Digest); return err }())
		got, err := tx.Blobs().Linked("tenant-b/app", first.Digest)
		check(t, "Linked(b) after unlinking from a", err)
		wantBlob(t, "other repository's link after Unlink", got, inB)
		got, err = tx.Blobs().Stat(first.Digest)
		check(t, "Stat after Unlink", err)
		wantBlob(t, "registry-wide record after Unlink", got, first)
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Unlink(b)", tx.Blobs().Unlink("tenant-b/app", first.Digest))
		// Linking again after every link is gone makes a fresh link but keeps
		// the registry-wide record.
		return tx.Blobs().Link("tenant-a/app", relink)
	})
	view(t, s, func(tx meta.Tx) error {
		got, err := tx.Blobs().Stat(first.Digest)
		check(t, "Stat", err)
		wantBlob(t, "registry-wide record after all links went", got, first)
		got, err = tx.Blobs().Linked("tenant-a/app", first.Digest)
		check(t, "Linked", err)
		wantBlob(t, "fresh link", got, relink)
		return nil
	})
}

// testBlobsList checks the registry-wide listing: every linked blob once,
// in lexical digest order, paged by "after", sha512 and sha256 merged.
func testBlobsList(t *testing.T, s meta.Store) {
	var want []meta.Blob
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "a/x", "b/y")
		for i, name := range []string{"l1", "l2", "l3", "l4", "l5"} {
			b := meta.Blob{Digest: dg(name), Size: int64(i + 1), CreatedAt: at(i)}
			if i == 4 {
				b.Digest = sha512Digest(name)
			}
			check(t, "Link", tx.Blobs().Link("a/x", b))
			check(t, "Link elsewhere", tx.Blobs().Link("b/y", b)) // one record registry-wide
			want = append(want, b)
		}
		return nil
	})
	slices.SortFunc(want, func(a, b meta.Blob) int { return strings.Compare(string(a.Digest), string(b.Digest)) })
	view(t, s, func(tx meta.Tx) error {
		all, err := tx.Blobs().List("", 0)
		check(t, "List", err)
		if len(all) != len(want) {
			t.Fatalf("List = %d blobs, want %d", len(all), len(want))
		}
		for i := range want {
			wantBlob(t, "List", all[i], want[i])
		}
		page, err := tx.Blobs().List(want[1].Digest, 2)
		check(t, "List after", err)
		if len(page) != 2 || page[0].Digest != want[2].Digest || page[1].Digest != want[3].Digest {
			t.Errorf("List(after %s, 2) = %v", want[1].Digest, page)
		}
		return nil
	})
}

// testBlobsUnlinked checks Unlinked against Linked: the digests not linked
// in the repository, in the order asked, whether never linked, linked
// only elsewhere, unlinked, or tombstoned; all of them for a repository
// that does not exist.
func testBlobsUnlinked(t *testing.T, s meta.Store) {
	here, elsewhere, gone, dead, never := dg("here"), dg("elsewhere"), dg("gone"), dg("dead"), dg("never")
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "a/x", "b/y")
		for _, d := range []meta.Blob{{Digest: here, Size: 1}, {Digest: gone, Size: 2}, {Digest: dead, Size: 3}} {
			check(t, "Link", tx.Blobs().Link("a/x", d))
		}
		check(t, "Link elsewhere", tx.Blobs().Link("b/y", meta.Blob{Digest: elsewhere, Size: 4}))
		check(t, "Unlink", tx.Blobs().Unlink("a/x", gone))
		return tx.Collector().Tombstones().Tombstone(dead, at(1))
	})
	unlinked := func(repo string, ds ...digest.Digest) []digest.Digest {
		t.Helper()
		var out []digest.Digest
		view(t, s, func(tx meta.Tx) error {
			var err error
			out, err = tx.Blobs().Unlinked(repo, ds)
			return err
		})
		return out
	}
	all := []digest.Digest{never, here, elsewhere, gone, dead, here, "not a digest"}
	if got, want := unlinked("a/x", all...), []digest.Digest{never, elsewhere, gone, dead, "not a digest"}; !slices.Equal(got, want) {
		t.Errorf("Unlinked(a/x, %v) = %v, want %v", all, got, want)
	}
	if got := unlinked("a/x", here); len(got) != 0 {
		t.Errorf("Unlinked(a/x, a linked blob) = %v, want none", got)
	}
	if got := unlinked("a/x"); len(got) != 0 {
		t.Errorf("Unlinked(a/x, nothing) = %v, want none", got)
	}
	if got := unlinked("no/such", here, never); !slices.Equal(got, []digest.Digest{here, never}) {
		t.Errorf("Unlinked in a repository that does not exist = %v, want both", got)
	}
	// Ensure after Unlinked in one transaction (as a manifest push does)
	// answers as Ensure alone: an existing repository with its creation
	// time, and a missing one created.
	var created meta.Repository
	view(t, s, func(tx meta.Tx) error {
		var err error
		created, err = tx.Repositories().Get("a/x")
		return err
	})
	update(t, s, func(tx meta.Tx) error {
		for _, name := range []string{"a/x", "c/z"} {
			if _, err := tx.Blobs().Unlinked(name, []digest.Digest{here, never}); err != nil {
				return err
			}
			r, made, err := tx.Repositories().Ensure(name)
			if err != nil {
				return err
			}
			switch {
			case name == "a/x" && (made || !r.CreatedAt.Equal(created.CreatedAt) || r.Name != name):
				t.Errorf("Ensure(a/x) after Unlinked = %+v, created %v; want %+v, not created", r, made, created)
			case name == "c/z" && !made:
				t.Errorf("Ensure(c/z) after Unlinked: not created, want created")
			}
		}
		return nil
	})
}
