package metatest

import (
	"errors"
	"testing"

	"github.com/berthreg/berth/meta"
)

// testCollector checks garbage collection's bookkeeping: touches only
// while active (manifest puts: the manifest, subject, config, layers and
// children; links), claims, and tombstones hiding a blob in every
// repository until a new link brings it back.
func testCollector(t *testing.T, s meta.Store) {
	layer, cfg, child, subject := dg("layer"), dg("config"), dg("child"), dg("subject")
	m := meta.Manifest{Digest: dg("m"), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 10, PushedAt: at(1),
		Config: meta.Descriptor{Digest: cfg}, Layers: []meta.Descriptor{{Digest: layer}}, Subject: subject}
	idx := meta.Manifest{Digest: dg("idx"), MediaType: "application/vnd.oci.image.index.v1+json", Size: 10, PushedAt: at(1),
		Manifests: []meta.Descriptor{{Digest: child}}}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, "a/x", "b/y")
		check(t, "Link before Begin", tx.Blobs().Link("a/x", meta.Blob{Digest: dg("early"), CreatedAt: at(0)}))
		_, active, err := tx.Collector().Collection().Active()
		check(t, "Active", err)
		if active {
			t.Error("a collection is active before Begin")
		}
		return tx.Collector().Collection().Begin(at(5))
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Link", tx.Blobs().Link("a/x", meta.Blob{Digest: layer, CreatedAt: at(0)}))
		check(t, "Link", tx.Blobs().Link("b/y", meta.Blob{Digest: layer, CreatedAt: at(0)}))
		check(t, "Put", tx.Manifests().Put("a/x", m))
		return tx.Manifests().Put("a/x", idx)
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "End", tx.Collector().Collection().End())
		check(t, "Put untouched", tx.Manifests().Put("b/y", meta.Manifest{Digest: dg("tagged"), MediaType: m.MediaType, PushedAt: at(1)}))
		return tx.Collector().Collection().Begin(at(5))
	})
	update(t, s, func(tx meta.Tx) error { return tx.Tags().Put("b/y", "v1", dg("tagged")) })
	view(t, s, func(tx meta.Tx) error {
		since, active, err := tx.Collector().Collection().Active()
		check(t, "Active", err)
		if !active || !since.Equal(at(5)) {
			t.Errorf("Active = %v, %v", since, active)
		}
		for _, d := range []string{"tagged"} {
			if ok, err := tx.Collector().Collection().Touched(dg(d)); err != nil || !ok {
				t.Errorf("%s not touched by a tag: %v", d, err)
			}
		}
		for _, d := range []string{"layer"} { // the second Begin cleared the earlier touches
			if ok, _ := tx.Collector().Collection().Touched(dg(d)); ok {
				t.Errorf("%s still touched after Begin", d)
			}
		}
		return nil
	})
	update(t, s, func(tx meta.Tx) error {
		check(t, "Link", tx.Blobs().Link("a/x", meta.Blob{Digest: layer, CreatedAt: at(0)}))
		check(t, "Link", tx.Blobs().Link("b/y", meta.Blob{Digest: layer, CreatedAt: at(0)}))
		check(t, "Put", tx.Manifests().Put("a/x", m))
		return tx.Manifests().Put("a/x", idx)
	})
	view(t, s, func(tx meta.Tx) error {
		for _, d := range []string{"layer", "config", "child", "subject", "m", "idx"} {
			if ok, err := tx.Collector().Collection().Touched(dg(d)); err != nil || !ok {
				t.Errorf("%s not touched: %v", d, err)
			}
		}
		if ok, _ := tx.Collector().Collection().Touched(dg("early")); ok {
			t.Error("a link before Begin counts as touched")
		}
		return nil
	})
	// Touches are visible in the transaction that makes them: a
	// collection's deletion may share a transaction with a push (a
	// backend's group commit), and must see what the push touched.
	update(t, s, func(tx meta.Tx) error {
		check(t, "Link", tx.Blobs().Link("a/x", meta.Blob{Digest: dg("same-tx-layer"), CreatedAt: at(0)}))
		check(t, "Put", tx.Manifests().Put("a/x", meta.Manifest{Digest: dg("same-tx"), MediaType: m.MediaType, PushedAt: at(1),
			Config: meta.Descriptor{Digest: dg("same-tx-config")}, Layers: []meta.Descriptor{{Digest: dg("same-tx-layer")}}}))
		for _, d := range []string{"same-tx", "same-tx-config", "same-tx-layer"} {
			if ok, err := tx.Collector().Collection().Touched(dg(d)); err != nil || !ok {
				t.Errorf("%s not touched within the transaction that touched it: %v", d, err)
			}
		}
		return nil
	})
	// Claims.
	update(t, s, func(tx meta.Tx) error {
		check(t, "Claim", tx.Collector().Claims().Claim(dg("incoming"), at(7)))
		when, ok, err := tx.Collector().Claims().Claimed(dg("incoming"))
		if err != nil || !ok || !when.Equal(at(7)) {
			t.Errorf("Claimed = %v, %v, %v", when, ok, err)
		}
		check(t, "Release", tx.Collector().Claims().Release(dg("incoming")))
		check(t, "Release again", tx.Collector().Claims().Release(dg("incoming")))
		if _, ok, _ := tx.Collector().Claims().Claimed(dg("incoming")); ok {
			t.Error("claimed after Release")
		}
		return nil
	})
	// A tombstone hides the blob everywhere.
	update(t, s, func(tx meta.Tx) error { return tx.Collector().Tombstones().Tombstone(layer, at(8)) })
	// and refuses claims of it: the Update fails, having changed nothing;
	// a live digest is claimed so.
	err := s.Update(t.Context(), func(tx meta.Tx) error {
		if err := tx.Records("k").Put("claim-try", []byte("x")); err != nil {
			return err
		}
		return tx.Collector().Claims().ClaimUnlessTombstoned(layer, at(9))
	})
	if !errors.Is(err, meta.ErrTombstoned) {
		t.Errorf("ClaimUnlessTombstoned of a tombstoned digest: Update = %v, want meta.ErrTombstoned", err)
	}
	update(t, s, func(tx meta.Tx) error { return tx.Collector().Claims().ClaimUnlessTombstoned(dg("alive"), at(9)) })
	view(t, s, func(tx meta.Tx) error {
		if _, ok, err := tx.Collector().Claims().Claimed(layer); err != nil || ok {
			t.Errorf("Claimed(tombstoned) after the refused claim = %v, %v; want not claimed", ok, err)
		}
		if _, err := tx.Records("k").Get("claim-try"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the refused claim's transaction left a record: %v", err)
		}
		if got, ok, err := tx.Collector().Claims().Claimed(dg("alive")); err != nil || !ok || !got.Equal(at(9)) {
			t.Errorf("Claimed(alive) = %v, %v, %v; want %v", got, ok, err, at(9))
		}
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		wantNotFound(t, "Stat of a tombstoned blob", func() error { _, err := tx.Blobs().Stat(layer); return err }())
		for _, r := range []string{"a/x", "b/y"} {
			wantNotFound(t, "Linked in "+r+" after the tombstone", func() error { _, err := tx.Blobs().Linked(r, layer); return err }())
		}
		ts, err := tx.Collector().Tombstones().List("", 0)
		check(t, "Tombstones", err)
		if len(ts) != 1 || ts[0] != layer {
			t.Errorf("Tombstones = %v", ts)
		}
		if ok, _ := tx.Collector().Tombstones().Tombstoned(layer); !ok {
			t.Error("not tombstoned")
		}
		return nil
	})
	// A new link (a fresh upload) brings it back.
	update(t, s, func(tx meta.Tx) error {
		check(t, "Bury", tx.Collector().Tombstones().Bury(layer))
		check(t, "End", tx.Collector().Collection().End())
		return tx.Blobs().Link("b/y", meta.Blob{Digest: layer, Size: 3, CreatedAt: at(9)})
	})
	view(t, s, func(tx meta.Tx) error {
		b, err := tx.Blobs().Linked("b/y", layer)
		check(t, "Linked after relinking", err)
		if !b.CreatedAt.Equal(at(9)) {
			t.Errorf("relinked record %+v, want the new link's", b)
		}
		if _, active, _ := tx.Collector().Collection().Active(); active {
			t.Error("active after End")
		}
		if ok, _ := tx.Collector().Tombstones().Tombstoned(layer); ok {
			t.Error("tombstoned after Bury")
		}
		return nil
	})
}
