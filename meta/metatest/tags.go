package metatest

import (
	"slices"
	"testing"

	"github.com/berthreg/berth/meta"
)

// testTagsCRUD checks Put, Get, moving a tag, Delete and the reverse lookup
// staying in step with each.
func testTagsCRUD(t *testing.T, s meta.Store) {
	a, b := image("a", ""), image("b", "")
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r", "r2")
		putManifests(t, tx, "r", a, b)
		putManifests(t, tx, "r2", a, b)
		wantNotFound(t, "Get before Put", func() error { _, err := tx.Tags().Get("r", "v1"); return err }())
		putTags(t, tx, "r", a.Digest, "v1", "v1") // twice: idempotent
		putTags(t, tx, "r2", b.Digest, "v1")
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		if d, err := tx.Tags().Get("r", "v1"); err != nil || d != a.Digest {
			t.Errorf("Get(r, v1): got %s, %v; want %s", d, err, a.Digest)
		}
		if d, err := tx.Tags().Get("r2", "v1"); err != nil || d != b.Digest {
			t.Errorf("Get(r2, v1): got %s, %v; want %s (same tag name, other repository)", d, err, b.Digest)
		}
		of, err := tx.Tags().Of("r", a.Digest)
		check(t, "Of", err)
		wantStrings(t, "Of(a) after putting v1 twice", of, []string{"v1"})
		wantNotFound(t, "Get(V1) (tags are case-sensitive)", func() error { _, err := tx.Tags().Get("r", "V1"); return err }())
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		putTags(t, tx, "r", b.Digest, "v1")
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		if d, err := tx.Tags().Get("r", "v1"); err != nil || d != b.Digest {
			t.Errorf("moved tag: got %s, %v; want %s", d, err, b.Digest)
		}
		of, err := tx.Tags().Of("r", a.Digest)
		check(t, "Of(a)", err)
		wantStrings(t, "Of(old target) after the move", of, nil)
		of, err = tx.Tags().Of("r", b.Digest)
		check(t, "Of(b)", err)
		wantStrings(t, "Of(new target) after the move", of, []string{"v1"})
		tags, err := tx.Tags().List("r", "", 0)
		check(t, "List", err)
		wantStrings(t, "tags after the move", tags, []string{"v1"})
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Delete", tx.Tags().Delete("r", "v1"))
		wantNotFound(t, "Delete twice", tx.Tags().Delete("r", "v1"))
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Get(deleted)", func() error { _, err := tx.Tags().Get("r", "v1"); return err }())
		of, err := tx.Tags().Of("r", b.Digest)
		check(t, "Of", err)
		wantStrings(t, "Of after Delete", of, nil)
		tags, err := tx.Tags().List("r", "", 0)
		check(t, "List", err)
		wantStrings(t, "tags after Delete", tags, nil)
		if _, err := tx.Manifests().Get("r", b.Digest); err != nil {
			t.Errorf("deleting a tag removed its manifest: %v", err)
		}
		if d, err := tx.Tags().Get("r2", "v1"); err != nil || d != b.Digest {
			t.Errorf("tag in r2 after deleting r's: got %s, %v", d, err)
		}
		return nil
	})
}

// tagNames are valid tags whose byte order differs from insertion order and
// from most collations.
var tagNames = []string{
	"1.0", "1.0-rc", "1.0.1", "10", "2", "A", "B_", "V1", "_x", "latest", "sha256-abc.sig", "v1", "v1.0", "v1_0", "v10", "v2",
}

// testTagsList checks List's byte-wise order and after/limit paging.
func testTagsList(t *testing.T, s meta.Store) {
	m := image("m", "")
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r", "other")
		putManifests(t, tx, "r", m)
		putManifests(t, tx, "other", m)
		putTags(t, tx, "r", m.Digest, shuffled(tagNames)...)
		putTags(t, tx, "other", m.Digest, "zzz-other")
		return nil
	})
	want := slices.Clone(tagNames)
	slices.Sort(want)
	view(t, s, func(tx meta.Tx) error {
		list := func(after string, limit int) []string {
			t.Helper()
			tags, err := tx.Tags().List("r", after, limit)
			check(t, "Tags.List", err)
			return tags
		}
		wantStrings(t, "List(\"\", 0)", list("", 0), want)
		wantStrings(t, "List(\"\", -5)", list("", -5), want)
		wantStrings(t, "List(\"\", 4)", list("", 4), want[:4])
		wantStrings(t, "List(1.0, 2)", list("1.0", 2), []string{"1.0-rc", "1.0.1"})
		wantStrings(t, "List(v, 3) (after a tag that does not exist)", list("v", 3), []string{"v1", "v1.0", "v10"})
		wantStrings(t, "List(v2, 0) (after the last)", list("v2", 0), nil)
		for _, limit := range []int{1, 3, 15, 16, 17} {
			wantStrings(t, "paged tags", pageAll(t, "tags", limit, list), want)
		}
		return nil
	})
}

// testTagsOf checks the reverse lookup: all tags of a digest in order, no
// tags of other digests or other repositories.
func testTagsOf(t *testing.T, s meta.Store) {
	a, b := image("a", ""), image("b", "")
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r", "r2")
		putManifests(t, tx, "r", a, b)
		putManifests(t, tx, "r2", a)
		putTags(t, tx, "r", a.Digest, "latest", "1.0", "stable", "1")
		putTags(t, tx, "r", b.Digest, "beta", "2.0")
		putTags(t, tx, "r2", a.Digest, "r2-only")
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		of, err := tx.Tags().Of("r", a.Digest)
		check(t, "Of(a)", err)
		wantStrings(t, "Of(a)", of, []string{"1", "1.0", "latest", "stable"})
		of, err = tx.Tags().Of("r", b.Digest)
		check(t, "Of(b)", err)
		wantStrings(t, "Of(b)", of, []string{"2.0", "beta"})
		of, err = tx.Tags().Of("r", dg("untagged"))
		check(t, "Of(untagged)", err)
		wantStrings(t, "Of(untagged)", of, nil)
		of, err = tx.Tags().Of("r2", a.Digest)
		check(t, "Of in r2", err)
		wantStrings(t, "Of(a) in r2", of, []string{"r2-only"})
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		putTags(t, tx, "r", b.Digest, "latest")
		return tx.Tags().Delete("r", "1")
	})
	view(t, s, func(tx meta.Tx) error {
		of, err := tx.Tags().Of("r", a.Digest)
		check(t, "Of(a)", err)
		wantStrings(t, "Of(a) after moving latest and deleting 1", of, []string{"1.0", "stable"})
		of, err = tx.Tags().Of("r", b.Digest)
		check(t, "Of(b)", err)
		wantStrings(t, "Of(b) after moving latest", of, []string{"2.0", "beta", "latest"})
		return nil
	})
}
