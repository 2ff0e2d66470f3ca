package bolt

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/meta"
)

// TestStats: a lone Update is a batch of one; Updates queued behind a
// running one share the next batch, and when one of them fails the
// others are run again alone (and the failing one, for its own error).
func TestStats(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "meta.db"), NoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	ensure := func(name string) func(meta.Tx) error {
		return func(tx meta.Tx) error {
			_, _, err := tx.Repositories().Ensure(name)
			return err
		}
	}
	if err := s.Update(ctx, ensure("alone")); err != nil {
		t.Fatal(err)
	}
	if got, want := s.Stats(), (Stats{Batches: 1, Batched: 1}); got != want {
		t.Fatalf("after a lone Update: %+v, want %+v", got, want)
	}

	release := make(chan struct{})
	running := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = s.Update(ctx, func(tx meta.Tx) error {
			close(running)
			<-release
			return ensure("leader")(tx)
		})
	})
	<-running
	failing := errors.New("fails")
	errs := make([]error, 3)
	for i := range 3 {
		wg.Go(func() {
			errs[i] = s.Update(ctx, func(tx meta.Tx) error {
				if i == 1 {
					return failing
				}
				return ensure(fmt.Sprint("queued", i))(tx)
			})
		})
	}
	eventually.True(t, "three Updates queued", func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.queue) == 3
	})
	close(release)
	wg.Wait()
	if errs[0] != nil || !errors.Is(errs[1], failing) || errs[2] != nil {
		t.Fatalf("Updates returned %v", errs)
	}
	if got, want := s.Stats(), (Stats{Batches: 3, Batched: 5, Reruns: 3}); got != want {
		t.Errorf("after a batch of one and a failing batch of three: %+v, want %+v", got, want)
	}
}
