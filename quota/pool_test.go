package quota

import (
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

// A transaction takes a usage part from the pool only once it counts
// something, so that the parts go to the pushes and not to every write
// through the store (blob links, events), and gives it back at its end.
func TestPartTakenOnlyWhenCounting(t *testing.T) {
	s, err := New(teststores.Open(t))
	if err != nil {
		t.Fatal(err)
	}
	free := func() int { return len(s.pool.free) }
	err = s.Store().Update(t.Context(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure("team/app"); err != nil {
			return err
		}
		if got := free(); got != s.shards {
			t.Errorf("before counting, %d parts free, want %d", got, s.shards)
		}
		if err := tx.Manifests().Put("team/app", meta.Manifest{Digest: digest.FromString("m"), Size: 10}); err != nil {
			return err
		}
		if got := free(); got != s.shards-1 {
			t.Errorf("after counting, %d parts free, want %d", got, s.shards-1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := free(); got != s.shards {
		t.Errorf("after the transaction, %d parts free, want %d", got, s.shards)
	}
}
