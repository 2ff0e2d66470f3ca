package metatest

import (
	"context"
	"errors"
	"testing"

	"github.com/berthreg/berth/meta"
)

// errAbort is returned by transaction functions that must roll back.
var errAbort = errors.New("metatest: abort")

// testUpdateCommits checks that a committed Update is visible to later
// transactions.
func testUpdateCommits(t *testing.T, s meta.Store) {
	m := image("m", "")
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r")
		putManifests(t, tx, "r", m)
		putTags(t, tx, "r", m.Digest, "v1")
		return tx.Uploads().Put(meta.Upload{ID: "u", Repository: "r", StartedAt: at(0), UpdatedAt: at(0)})
	})
	view(t, s, func(tx meta.Tx) error {
		if _, err := tx.Repositories().Get("r"); err != nil {
			t.Errorf("committed repository: %v", err)
		}
		got, err := tx.Manifests().Get("r", m.Digest)
		check(t, "committed manifest", err)
		wantManifest(t, "committed manifest", got, m)
		if d, err := tx.Tags().Get("r", "v1"); err != nil || d != m.Digest {
			t.Errorf("committed tag: got %s, %v; want %s", d, err, m.Digest)
		}
		if _, err := tx.Uploads().Get("u"); err != nil {
			t.Errorf("committed upload: %v", err)
		}
		return nil
	})
}

// testUpdateRollsBack checks that nothing an Update did survives fn
// returning an error: not new records, not changes, not deletions.
func testUpdateRollsBack(t *testing.T, s meta.Store) {
	a, b := image("a", ""), image("b", "")
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "keep", "doomed")
		putManifests(t, tx, "keep", a, b)
		putTags(t, tx, "keep", a.Digest, "moving", "deleted")
		putManifests(t, tx, "doomed", a)
		return tx.Blobs().Link("keep", meta.Blob{Digest: dg("blob"), Size: 1, CreatedAt: at(0)})
	})
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		ensure(t, tx, "new")
		putManifests(t, tx, "new", a)
		putTags(t, tx, "keep", b.Digest, "moving", "new-tag")
		check(t, "Tags.Delete", tx.Tags().Delete("keep", "deleted"))
		check(t, "Manifests.Delete", tx.Manifests().Delete("keep", a.Digest))
		check(t, "Repositories.Delete", tx.Repositories().Delete("doomed"))
		check(t, "Blobs.Unlink", tx.Blobs().Unlink("keep", dg("blob")))
		check(t, "Blobs.Link", tx.Blobs().Link("keep", meta.Blob{Digest: dg("blob2"), Size: 2, CreatedAt: at(1)}))
		check(t, "Uploads.Put", tx.Uploads().Put(meta.Upload{ID: "u", Repository: "keep"}))
		// The changes are visible inside the transaction...
		if _, err := tx.Repositories().Get("new"); err != nil {
			t.Errorf("inside the Update: Get(new): %v", err)
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Update returned %v, want the error fn returned", err)
	}
	// ...and gone after the rollback.
	view(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "rolled-back Ensure", func() error { _, err := tx.Repositories().Get("new"); return err }())
		if d, err := tx.Tags().Get("keep", "moving"); err != nil || d != a.Digest {
			t.Errorf("rolled-back tag move: got %s, %v; want %s", d, err, a.Digest)
		}
		wantNotFound(t, "rolled-back new tag", func() error { _, err := tx.Tags().Get("keep", "new-tag"); return err }())
		if d, err := tx.Tags().Get("keep", "deleted"); err != nil || d != a.Digest {
			t.Errorf("rolled-back tag delete: got %s, %v", d, err)
		}
		if _, err := tx.Manifests().Get("keep", a.Digest); err != nil {
			t.Errorf("rolled-back manifest delete: %v", err)
		}
		if _, err := tx.Manifests().Get("doomed", a.Digest); err != nil {
			t.Errorf("rolled-back repository delete: %v", err)
		}
		if _, err := tx.Blobs().Linked("keep", dg("blob")); err != nil {
			t.Errorf("rolled-back unlink: %v", err)
		}
		wantNotFound(t, "rolled-back link", func() error { _, err := tx.Blobs().Linked("keep", dg("blob2")); return err }())
		wantNotFound(t, "rolled-back registry-wide blob", func() error { _, err := tx.Blobs().Stat(dg("blob2")); return err }())
		wantNotFound(t, "rolled-back upload", func() error { _, err := tx.Uploads().Get("u"); return err }())
		tags, err := tx.Tags().List("keep", "", 0)
		check(t, "Tags.List", err)
		wantStrings(t, "tags after rollback", tags, []string{"deleted", "moving"})
		of, err := tx.Tags().Of("keep", b.Digest)
		check(t, "Tags.Of", err)
		wantStrings(t, "Of(b) after rollback", of, nil)
		names, err := tx.Repositories().List("", 0)
		check(t, "Repositories.List", err)
		wantStrings(t, "repositories after rollback", names, []string{"doomed", "keep"})
		return nil
	})
}

// testViewReadOnly checks that every write in a View fails with
// meta.ErrReadOnly and changes nothing.
func testViewReadOnly(t *testing.T, s meta.Store) {
	a := image("a", "")
	ref := image("ref", a.Digest)
	blob := meta.Blob{Digest: dg("blob"), Size: 3, CreatedAt: at(0)}
	up := meta.Upload{ID: "u", Repository: "r", Offset: 5, StartedAt: at(0), UpdatedAt: at(1)}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r")
		putManifests(t, tx, "r", a, ref)
		putTags(t, tx, "r", a.Digest, "v1")
		check(t, "Link", tx.Blobs().Link("r", blob))
		return tx.Uploads().Put(up)
	})
	writes := []struct {
		name string
		do   func(meta.Tx) error
	}{
		{"Repositories.Ensure(existing)", func(tx meta.Tx) error { _, _, err := tx.Repositories().Ensure("r"); return err }},
		{"Repositories.Ensure(new)", func(tx meta.Tx) error { _, _, err := tx.Repositories().Ensure("new"); return err }},
		{"Repositories.Delete", func(tx meta.Tx) error { return tx.Repositories().Delete("r") }},
		{"Manifests.Put", func(tx meta.Tx) error { return tx.Manifests().Put("r", image("b", "")) }},
		{"Manifests.Delete", func(tx meta.Tx) error { return tx.Manifests().Delete("r", a.Digest) }},
		{"Tags.Put", func(tx meta.Tx) error { return tx.Tags().Put("r", "v2", a.Digest) }},
		{"Tags.Delete", func(tx meta.Tx) error { return tx.Tags().Delete("r", "v1") }},
		{"Blobs.Link", func(tx meta.Tx) error {
			return tx.Blobs().Link("r", meta.Blob{Digest: dg("other"), Size: 1, CreatedAt: at(0)})
		}},
		{"Blobs.Unlink", func(tx meta.Tx) error { return tx.Blobs().Unlink("r", blob.Digest) }},
		{"Uploads.Put", func(tx meta.Tx) error { return tx.Uploads().Put(meta.Upload{ID: "u2", Repository: "r"}) }},
		{"Uploads.Delete", func(tx meta.Tx) error { return tx.Uploads().Delete("u") }},
	}
	view(t, s, func(tx meta.Tx) error {
		for _, w := range writes {
			if err := w.do(tx); !errors.Is(err, meta.ErrReadOnly) {
				t.Errorf("%s in View: got %v, want meta.ErrReadOnly", w.name, err)
			}
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		names, err := tx.Repositories().List("", 0)
		check(t, "Repositories.List", err)
		wantStrings(t, "repositories", names, []string{"r"})
		ms, err := tx.Manifests().List("r", "", 0)
		check(t, "Manifests.List", err)
		wantStrings(t, "manifests", ms, sortedDigests("a", "ref"))
		tags, err := tx.Tags().List("r", "", 0)
		check(t, "Tags.List", err)
		wantStrings(t, "tags", tags, []string{"v1"})
		refs, err := tx.Manifests().Referrers("r", a.Digest)
		check(t, "Referrers", err)
		wantManifests(t, "referrers", refs, []meta.Manifest{ref})
		got, err := tx.Blobs().Linked("r", blob.Digest)
		check(t, "Linked", err)
		wantBlob(t, "link", got, blob)
		wantNotFound(t, "blob linked in View", func() error { _, err := tx.Blobs().Stat(dg("other")); return err }())
		u, err := tx.Uploads().Get("u")
		check(t, "Uploads.Get", err)
		wantUpload(t, "upload", u, up)
		wantNotFound(t, "upload put in View", func() error { _, err := tx.Uploads().Get("u2"); return err }())
		return nil
	})
}

// testErrorKeepsTxUsable checks that a method returning an error (here
// ErrNotFound) does not spoil the transaction: fn carries on and commits.
func testErrorKeepsTxUsable(t *testing.T, s meta.Store) {
	m := image("m", "")
	update(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Manifests.Put into a missing repository", tx.Manifests().Put("r", m))
		wantNotFound(t, "Repositories.Delete(missing)", tx.Repositories().Delete("r"))
		ensure(t, tx, "r")
		wantNotFound(t, "Tags.Put to a missing manifest", tx.Tags().Put("r", "v1", m.Digest))
		wantNotFound(t, "Tags.Delete(missing)", tx.Tags().Delete("r", "v1"))
		putManifests(t, tx, "r", m)
		wantNotFound(t, "Manifests.Delete(missing)", tx.Manifests().Delete("r", dg("missing")))
		putTags(t, tx, "r", m.Digest, "v1")
		wantNotFound(t, "Uploads.Delete(missing)", tx.Uploads().Delete("u"))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		if d, err := tx.Tags().Get("r", "v1"); err != nil || d != m.Digest {
			t.Errorf("tag written after errors in the same Update: got %s, %v; want %s", d, err, m.Digest)
		}
		return nil
	})
}

// testCancelledContext checks that a done ctx stops View and Update before
// fn runs.
func testCancelledContext(t *testing.T, s meta.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := s.Update(ctx, func(tx meta.Tx) error {
		ran = true
		_, _, err := tx.Repositories().Ensure("r")
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled ctx: got %v, want context.Canceled", err)
	}
	err = s.View(ctx, func(meta.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("View with a cancelled ctx: got %v, want context.Canceled", err)
	}
	if ran {
		t.Error("fn ran although ctx was cancelled")
	}
	view(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "repository ensured with a cancelled ctx", func() error { _, err := tx.Repositories().Get("r"); return err }())
		return nil
	})
}

// testReadYourWrites checks that reads inside an Update see its own
// uncommitted writes, including deletions.
func testReadYourWrites(t *testing.T, s meta.Store) {
	a, b := image("a", ""), image("b", "")
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r")
		putManifests(t, tx, "r", a, b)
		putTags(t, tx, "r", a.Digest, "x", "y")
		putTags(t, tx, "r", b.Digest, "y")
		of, err := tx.Tags().Of("r", a.Digest)
		check(t, "Of", err)
		wantStrings(t, "Of(a) inside the Update", of, []string{"x"})
		check(t, "Manifests.Delete", tx.Manifests().Delete("r", b.Digest))
		tags, err := tx.Tags().List("r", "", 0)
		check(t, "List", err)
		wantStrings(t, "tags inside the Update", tags, []string{"x"})
		ms, err := tx.Manifests().List("r", "", 0)
		check(t, "Manifests.List", err)
		wantStrings(t, "manifests inside the Update", ms, sortedDigests("a"))
		return nil
	})
}
