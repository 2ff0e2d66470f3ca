package metatest

import (
	"testing"

	"github.com/berthreg/berth/meta"
)

// testNotFound checks that every lookup of something missing — a missing
// repository, or a missing item in an existing one — fails with an error
// wrapping meta.ErrNotFound, in View and in Update alike.
func testNotFound(t *testing.T, s meta.Store) {
	m := image("m", "")
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "r")
		putManifests(t, tx, "r", m)
		return nil
	})
	const missing = "missing"
	d := dg("missing")
	reads := []struct {
		name string
		do   func(meta.Tx) error
	}{
		{"Repositories.Get(missing repo)", func(tx meta.Tx) error { _, err := tx.Repositories().Get(missing); return err }},
		{"Manifests.Get(missing repo)", func(tx meta.Tx) error { _, err := tx.Manifests().Get(missing, m.Digest); return err }},
		{"Manifests.Get(missing manifest)", func(tx meta.Tx) error { _, err := tx.Manifests().Get("r", d); return err }},
		{"Manifests.Referrers(missing repo)", func(tx meta.Tx) error { _, err := tx.Manifests().Referrers(missing, d); return err }},
		{"Manifests.List(missing repo)", func(tx meta.Tx) error { _, err := tx.Manifests().List(missing, "", 0); return err }},
		{"Tags.Get(missing repo)", func(tx meta.Tx) error { _, err := tx.Tags().Get(missing, "v1"); return err }},
		{"Tags.Get(missing tag)", func(tx meta.Tx) error { _, err := tx.Tags().Get("r", "v1"); return err }},
		{"Tags.List(missing repo)", func(tx meta.Tx) error { _, err := tx.Tags().List(missing, "", 0); return err }},
		{"Tags.Of(missing repo)", func(tx meta.Tx) error { _, err := tx.Tags().Of(missing, m.Digest); return err }},
		{"Blobs.Stat(missing blob)", func(tx meta.Tx) error { _, err := tx.Blobs().Stat(d); return err }},
		{"Blobs.Linked(missing repo)", func(tx meta.Tx) error { _, err := tx.Blobs().Linked(missing, d); return err }},
		{"Blobs.Linked(missing link)", func(tx meta.Tx) error { _, err := tx.Blobs().Linked("r", d); return err }},
		{"Uploads.Get(missing session)", func(tx meta.Tx) error { _, err := tx.Uploads().Get(missing); return err }},
	}
	writes := []struct {
		name string
		do   func(meta.Tx) error
	}{
		{"Repositories.Delete(missing repo)", func(tx meta.Tx) error { return tx.Repositories().Delete(missing) }},
		{"Manifests.Put(missing repo)", func(tx meta.Tx) error { return tx.Manifests().Put(missing, m) }},
		{"Manifests.Delete(missing repo)", func(tx meta.Tx) error { return tx.Manifests().Delete(missing, m.Digest) }},
		{"Manifests.Delete(missing manifest)", func(tx meta.Tx) error { return tx.Manifests().Delete("r", d) }},
		{"Tags.Put(missing repo)", func(tx meta.Tx) error { return tx.Tags().Put(missing, "v1", m.Digest) }},
		{"Tags.Put(missing manifest)", func(tx meta.Tx) error { return tx.Tags().Put("r", "v1", d) }},
		{"Tags.Delete(missing repo)", func(tx meta.Tx) error { return tx.Tags().Delete(missing, "v1") }},
		{"Tags.Delete(missing tag)", func(tx meta.Tx) error { return tx.Tags().Delete("r", "v1") }},
		{"Blobs.Link(missing repo)", func(tx meta.Tx) error {
			return tx.Blobs().Link(missing, meta.Blob{Digest: d, Size: 1, CreatedAt: at(0)})
		}},
		{"Blobs.Unlink(missing repo)", func(tx meta.Tx) error { return tx.Blobs().Unlink(missing, d) }},
		{"Blobs.Unlink(missing link)", func(tx meta.Tx) error { return tx.Blobs().Unlink("r", d) }},
		{"Uploads.Delete(missing session)", func(tx meta.Tx) error { return tx.Uploads().Delete(missing) }},
	}
	view(t, s, func(tx meta.Tx) error {
		for _, r := range reads {
			wantNotFound(t, "in View: "+r.name, r.do(tx))
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		for _, r := range reads {
			wantNotFound(t, "in Update: "+r.name, r.do(tx))
		}
		for _, w := range writes {
			wantNotFound(t, "in Update: "+w.name, w.do(tx))
		}
		return nil
	})
	// The failed writes left no trace.
	view(t, s, func(tx meta.Tx) error {
		names, err := tx.Repositories().List("", 0)
		check(t, "List", err)
		wantStrings(t, "repositories after failed writes", names, []string{"r"})
		tags, err := tx.Tags().List("r", "", 0)
		check(t, "Tags.List", err)
		wantStrings(t, "tags after failed writes", tags, nil)
		wantNotFound(t, "blob linked into a missing repository", func() error { _, err := tx.Blobs().Stat(d); return err }())
		return nil
	})
}
