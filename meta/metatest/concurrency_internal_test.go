package metatest

import (
	"path/filepath"
	"testing"

	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

// TestSnapshotCheckerDetectsTornState makes sure the concurrency test's
// reader would notice a snapshot that shows half of a writer's Update.
func TestSnapshotCheckerDetectsTornState(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "meta.db"), bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	repo := concRepo(0)
	round := func(tx meta.Tx, g, k int, withTag bool) {
		m := concManifest(g, k)
		putManifests(t, tx, repo, m)
		if withTag {
			putTags(t, tx, repo, m.Digest, concTag(g, k))
		}
		putTags(t, tx, repo, m.Digest, concLatest(g))
	}
	update(t, s, func(tx meta.Tx) error {
		ensure(t, tx, repo)
		round(tx, 0, 0, true)
		round(tx, 0, 1, true)
		round(tx, 1, 0, true)
		return nil
	})
	view(t, s, func(tx meta.Tx) error {
		if err := checkConcSnapshot(tx); err != nil {
			t.Errorf("consistent state rejected: %v", err)
		}
		return nil
	})
	torn := []struct {
		name string
		do   func(meta.Tx)
	}{
		{"tag without latest moved", func(tx meta.Tx) {
			m := concManifest(0, 2)
			putManifests(t, tx, repo, m)
			putTags(t, tx, repo, m.Digest, concTag(0, 2))
		}},
		{"latest moved without its tag", func(tx meta.Tx) { round(tx, 0, 2, false) }},
		{"old round not deleted", func(tx meta.Tx) {
			round(tx, 0, 2, true)
			round(tx, 0, 3, true)
		}},
		{"stray manifest", func(tx meta.Tx) { putManifests(t, tx, repo, concManifest(1, 5)) }},
		{"writer's manifest without latest", func(tx meta.Tx) {
			putManifests(t, tx, repo, concManifest(2, 0))
		}},
	}
	for _, c := range torn {
		err := s.Update(t.Context(), func(tx meta.Tx) error {
			c.do(tx)
			if checkConcSnapshot(tx) == nil {
				t.Errorf("%s: torn state accepted", c.name)
			}
			return errAbort
		})
		if err != errAbort {
			t.Fatalf("%s: %v", c.name, err)
		}
	}
}
