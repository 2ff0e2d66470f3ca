package generation_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

// bump bumps name in an Update of its own.
func bump(t *testing.T, store meta.Store, name string) {
	t.Helper()
	if err := store.Update(t.Context(), func(tx meta.Tx) error { return generation.Bump(tx, name) }); err != nil {
		t.Fatal(err)
	}
}

// value reads name in a View of its own.
func value(t *testing.T, store meta.Store, name string) uint64 {
	t.Helper()
	var v uint64
	if err := store.View(t.Context(), func(tx meta.Tx) error {
		var err error
		v, err = generation.Value(tx, name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBumpCommitsWithTheChange: a counter starts at 0, moves by one per
// committed bump, and a bump in a transaction that rolls back moves
// nothing; counters are independent.
func TestBumpCommitsWithTheChange(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		store := open(t)
		if v := value(t, store, "rules"); v != 0 {
			t.Fatalf("a counter never bumped is %d, want 0", v)
		}
		bump(t, store, "rules")
		bump(t, store, "rules")
		bump(t, store, "schedules")
		abort := errors.New("abort")
		err := store.Update(t.Context(), func(tx meta.Tx) error {
			if err := generation.Bump(tx, "rules"); err != nil {
				return err
			}
			return abort
		})
		if !errors.Is(err, abort) {
			t.Fatalf("Update: %v", err)
		}
		if r, s := value(t, store, "rules"), value(t, store, "schedules"); r != 2 || s != 1 {
			t.Fatalf("rules %d, schedules %d; want 2 and 1", r, s)
		}
	})
}

// TestConcurrentBumpsAreNotLost: writers bumping one counter at once
// (the store runs the conflicting ones again) each move it: a lost bump
// could leave a watcher that read the first one blind to the second.
func TestConcurrentBumpsAreNotLost(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		store := open(t)
		const writers, each = 4, 10
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for range each {
					if err := store.Update(context.Background(), func(tx meta.Tx) error { return generation.Bump(tx, "rules") }); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		if v := value(t, store, "rules"); v != writers*each {
			t.Fatalf("after %d bumps the counter is %d", writers*each, v)
		}
	})
}

// TestBadNames: names follow the record key rule; bad ones are errors,
// and change nothing.
func TestBadNames(t *testing.T) {
	store := teststores.Open(t)
	for _, name := range []string{"", "a b", "rules/1", string(make([]byte, 65))} {
		err := store.Update(t.Context(), func(tx meta.Tx) error { return generation.Bump(tx, name) })
		if !errors.Is(err, generation.ErrBadName) {
			t.Errorf("Bump(%q): %v, want ErrBadName", name, err)
		}
		w, err := generation.NewWatcher(store)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Watch(name, func(context.Context) error { return nil }); !errors.Is(err, generation.ErrBadName) {
			t.Errorf("Watch(%q): %v, want ErrBadName", name, err)
		}
	}
}

// TestNewWatcherRefusesBadOptions: a nil store, a non-positive interval,
// a negative resync and a nil function are errors.
func TestNewWatcherRefusesBadOptions(t *testing.T) {
	store := teststores.Open(t)
	for name, f := range map[string]func() error{
		"nil store":     func() error { _, err := generation.NewWatcher(nil); return err },
		"zero interval": func() error { _, err := generation.NewWatcher(store, generation.WithInterval(0)); return err },
		"negative resync": func() error {
			_, err := generation.NewWatcher(store, generation.WithResync(-time.Second))
			return err
		},
		"nil logger": func() error { _, err := generation.NewWatcher(store, generation.WithLogger(nil)); return err },
		"nil watch": func() error {
			w, err := generation.NewWatcher(store)
			if err != nil {
				return nil
			}
			return w.Watch("rules", nil)
		},
	} {
		if f() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// recorder counts a watch's calls and can be made to fail.
type recorder struct {
	calls atomic.Int32
	fail  atomic.Bool
}

func (r *recorder) fn(context.Context) error {
	r.calls.Add(1)
	if r.fail.Load() {
		return errors.New("store unreachable")
	}
	return nil
}

// TestPollCallsWatchesThatMoved: a watch runs at the first poll, then
// only after its counter moved; a watch of another counter does not; a
// failed watch runs again at the next poll and holds Seen back until it
// succeeds. Another watcher on the same store (another instance) sees
// the same bumps.
func TestPollCallsWatchesThatMoved(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		store := open(t)
		ctx := t.Context()
		a, err := generation.NewWatcher(store)
		if err != nil {
			t.Fatal(err)
		}
		b, err := generation.NewWatcher(store)
		if err != nil {
			t.Fatal(err)
		}
		var rules, schedules, other recorder
		must(t, a.Watch("rules", rules.fn))
		must(t, a.Watch("schedules", schedules.fn))
		must(t, b.Watch("rules", other.fn))
		if _, ok := a.Seen("rules"); ok {
			t.Fatal("Seen before any poll")
		}
		must(t, a.Poll(ctx))
		must(t, b.Poll(ctx))
		if rules.calls.Load() != 1 || schedules.calls.Load() != 1 || other.calls.Load() != 1 {
			t.Fatalf("at start: calls %d, %d, %d; want 1 each", rules.calls.Load(), schedules.calls.Load(), other.calls.Load())
		}
		if v, ok := a.Seen("rules"); !ok || v != 0 {
			t.Fatalf("Seen(rules) = %d, %v at start", v, ok)
		}
		must(t, a.Poll(ctx))
		if rules.calls.Load() != 1 {
			t.Fatalf("unchanged counter: %d calls, want 1", rules.calls.Load())
		}

		bump(t, store, "rules")
		rules.fail.Store(true)
		if err := a.Poll(ctx); err == nil {
			t.Fatal("a failed watch: Poll returned nil")
		}
		if v, _ := a.Seen("rules"); v != 0 {
			t.Fatalf("Seen(rules) = %d after its watch failed, want 0", v)
		}
		rules.fail.Store(false)
		must(t, a.Poll(ctx))
		must(t, b.Poll(ctx))
		if rules.calls.Load() != 3 || schedules.calls.Load() != 1 || other.calls.Load() != 2 {
			t.Fatalf("after a bump: calls %d, %d, %d; want 3, 1, 2", rules.calls.Load(), schedules.calls.Load(), other.calls.Load())
		}
		for _, w := range []*generation.Watcher{a, b} {
			if v, ok := w.Seen("rules"); !ok || v != 1 {
				t.Fatalf("Seen(rules) = %d, %v; want 1", v, ok)
			}
		}
	})
}

// TestRunPollsAtEachTick: Run polls at once and at each tick, and
// returns nil when its context ends.
func TestRunPollsAtEachTick(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		store := open(t)
		ticks := make(chan time.Time)
		w, err := generation.NewWatcher(store, generation.WithTicks(ticks))
		if err != nil {
			t.Fatal(err)
		}
		var rules recorder
		must(t, w.Watch("rules", rules.fn))
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		eventually.True(t, "the first poll", func() bool { _, ok := w.Seen("rules"); return ok })
		bump(t, store, "rules")
		ticks <- time.Now() // taken once the first poll is over: the next poll follows it
		eventually.True(t, "the bump seen", func() bool { v, _ := w.Seen("rules"); return v == 1 })
		if n := rules.calls.Load(); n != 2 {
			t.Fatalf("%d calls, want 2 (the start, the bump)", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// TestResyncCallsUnmovedWatches: with WithResync, a watch whose counter
// did not move runs again once that long has passed since it last ran
// (by the injected clock), and not before.
func TestResyncCallsUnmovedWatches(t *testing.T) {
	store := teststores.Open(t)
	var now atomic.Pointer[time.Time]
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	now.Store(&start)
	w, err := generation.NewWatcher(store, generation.WithResync(time.Minute), generation.WithClock(func() time.Time { return *now.Load() }))
	if err != nil {
		t.Fatal(err)
	}
	var rules recorder
	must(t, w.Watch("rules", rules.fn))
	ctx := t.Context()
	must(t, w.Poll(ctx))
	later := start.Add(59 * time.Second)
	now.Store(&later)
	must(t, w.Poll(ctx))
	if n := rules.calls.Load(); n != 1 {
		t.Fatalf("before the resync: %d calls, want 1", n)
	}
	due := start.Add(time.Minute)
	now.Store(&due)
	must(t, w.Poll(ctx))
	if n := rules.calls.Load(); n != 2 {
		t.Fatalf("at the resync: %d calls, want 2", n)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
