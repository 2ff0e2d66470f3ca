package postgres_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testpg"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/postgres"
)

// settleWait bounds the waits for a gap to settle: other transactions on
// the server (other tests' databases included) may keep one open a while.
const settleWait = time.Minute

// until calls cond until it reports true, failing the test if it has not
// after settleWait.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(settleWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v", what, settleWait)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func appendOne(t *testing.T, s meta.Store, typ string) uint64 {
	t.Helper()
	var seq uint64
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		var err error
		seq, err = tx.Events().Append(meta.Event{Type: typ})
		return err
	}); err != nil {
		t.Fatalf("Append: %v", err)
	}
	return seq
}

func listSeqs(t *testing.T, s meta.Store, after uint64) (seqs []uint64, last uint64) {
	t.Helper()
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		es, err := tx.Events().List(after, 0)
		for _, e := range es {
			seqs = append(seqs, e.Seq)
		}
		if err != nil {
			return err
		}
		last, err = tx.Events().Last()
		return err
	}); err != nil {
		t.Fatalf("List: %v", err)
	}
	return seqs, last
}

// held is an Update that appended an event and waits, still open, until
// released; then it commits (or rolls back).
type held struct {
	seq      uint64
	appended chan struct{}
	release  chan bool // true: commit, false: roll back
	done     chan error
}

var errRolledBack = errors.New("rolled back on purpose")

func holdAppend(t *testing.T, s meta.Store) *held {
	h := &held{appended: make(chan struct{}), release: make(chan bool), done: make(chan error, 1)}
	var once sync.Once
	go func() {
		h.done <- s.Update(t.Context(), func(tx meta.Tx) error {
			seq, err := tx.Events().Append(meta.Event{Type: "HELD"})
			if err != nil {
				return err
			}
			h.seq = seq
			once.Do(func() { close(h.appended) })
			if !<-h.release {
				return errRolledBack
			}
			return nil
		})
	}()
	select {
	case <-h.appended:
	case err := <-h.done:
		t.Fatalf("held Update: %v", err)
	}
	return h
}

// TestEventsOutOfOrderCommit makes a later number commit first and checks
// that List and Last hold it back until the earlier one commits.
func TestEventsOutOfOrderCommit(t *testing.T) {
	s := testpg.Open(t)
	base := appendOne(t, s, "BASE")
	a := holdAppend(t, s)
	b := appendOne(t, s, "AFTER")
	if a.seq != base+1 || b != base+2 {
		t.Fatalf("numbers %d, %d, %d: want consecutive", base, a.seq, b)
	}
	// B has committed, A has not: nothing past base may show.
	got, last := listSeqs(t, s, base)
	if len(got) != 0 {
		t.Errorf("List(after %d) with %d in flight = %v, want nothing (it would skip %d)", base, a.seq, got, a.seq)
	}
	if last != base {
		t.Errorf("Last with %d in flight = %d, want %d", a.seq, last, base)
	}
	got, _ = listSeqs(t, s, base-1)
	if !slices.Equal(got, []uint64{base}) {
		t.Errorf("List(after %d) = %v, want [%d] and nothing past the number in flight", base-1, got, base)
	}
	a.release <- true
	if err := <-a.done; err != nil {
		t.Fatalf("held Update: %v", err)
	}
	// No gap is left: this needs no wait.
	got, last = listSeqs(t, s, base)
	if want := []uint64{a.seq, b}; !slices.Equal(got, want) || last != b {
		t.Errorf("after the commit: List(after %d) = %v, Last = %d; want %v, %d", base, got, last, want, b)
	}
}

// TestEventsRolledBackGapSettles rolls the earlier number back after the
// later committed: the gap settles and List returns the later event.
func TestEventsRolledBackGapSettles(t *testing.T) {
	s := testpg.Open(t)
	base := appendOne(t, s, "BASE")
	a := holdAppend(t, s)
	b := appendOne(t, s, "AFTER")
	if got, _ := listSeqs(t, s, base); len(got) != 0 {
		t.Errorf("List(after %d) with %d in flight = %v, want nothing", base, a.seq, got)
	}
	a.release <- false
	if err := <-a.done; !errors.Is(err, errRolledBack) {
		t.Fatalf("held Update = %v, want its own error", err)
	}
	var got []uint64
	var last uint64
	until(t, "the rolled-back number settles", func() bool {
		got, last = listSeqs(t, s, base)
		return len(got) > 0
	})
	if !slices.Equal(got, []uint64{b}) || last != b {
		t.Errorf("after the rollback: List(after %d) = %v, Last = %d; want [%d], %d (never %d)", base, got, last, b, b, a.seq)
	}
}

// TestEventsManyWritersReaders appends from many writers, some rolling
// back, while readers advance cursors with List: every reader must see
// every committed number exactly once, in order, and no rolled-back one.
// A List that returned a number past one still in flight would make its
// reader skip that one for good.
func TestEventsManyWritersReaders(t *testing.T) {
	const (
		writers = 8
		txs     = 25 // per writer
		readers = 4
	)
	s := testpg.Open(t, postgres.WithMaxConns(writers+readers+2))
	ctx := t.Context()
	var mu sync.Mutex
	var committed []uint64
	var writing sync.WaitGroup
	for w := range writers {
		writing.Go(func() {
			for i := range txs {
				var mine []uint64
				rollback := rand.IntN(4) == 0
				err := s.Update(ctx, func(tx meta.Tx) error {
					mine = mine[:0]
					for range 1 + i%3 {
						seq, err := tx.Events().Append(meta.Event{Type: "W", Operator: fmt.Sprint(w)})
						if err != nil {
							return err
						}
						mine = append(mine, seq)
					}
					if rollback {
						return errRolledBack
					}
					return nil
				})
				switch {
				case rollback && errors.Is(err, errRolledBack):
				case err != nil:
					t.Errorf("writer %d: %v", w, err)
					return
				default:
					mu.Lock()
					committed = append(committed, mine...)
					mu.Unlock()
				}
			}
		})
	}
	var stop atomic.Bool
	seen := make([][]uint64, readers)
	var reading sync.WaitGroup
	for r := range readers {
		reading.Go(func() {
			var cursor uint64
			deadline := time.Time{}
			for {
				var batch []meta.Event
				if err := s.View(ctx, func(tx meta.Tx) error {
					var err error
					batch, err = tx.Events().List(cursor, 7)
					return err
				}); err != nil {
					t.Errorf("reader %d: %v", r, err)
					return
				}
				for _, e := range batch {
					if e.Seq <= cursor {
						t.Errorf("reader %d: List(after %d) returned %d", r, cursor, e.Seq)
						return
					}
					seen[r] = append(seen[r], e.Seq)
					cursor = e.Seq
				}
				if len(batch) > 0 || !stop.Load() {
					continue
				}
				// The writers are done: drain until everything committed
				// was seen (or give up, and the checks below fail).
				mu.Lock()
				n := len(committed)
				mu.Unlock()
				if len(seen[r]) >= n {
					return
				}
				if deadline.IsZero() {
					deadline = time.Now().Add(settleWait)
				} else if time.Now().After(deadline) {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	writing.Wait()
	stop.Store(true)
	reading.Wait()
	slices.Sort(committed)
	for r, got := range seen {
		if !slices.IsSorted(got) {
			t.Errorf("reader %d saw numbers out of order", r)
		}
		if !slices.Equal(got, committed) {
			missing, extra := diff(committed, got)
			t.Errorf("reader %d saw %d numbers, %d were committed; missing %v, not committed %v", r, len(got), len(committed), missing, extra)
		}
	}
	t.Logf("%d events committed by %d writers; %d readers saw each once, in order", len(committed), writers, readers)
}

// diff returns what is in want and not in got, and the other way round.
func diff(want, got []uint64) (missing, extra []uint64) {
	in := func(xs []uint64, x uint64) bool { _, ok := slices.BinarySearch(xs, x); return ok }
	sorted := slices.Sorted(slices.Values(got))
	for _, x := range want {
		if !in(sorted, x) {
			missing = append(missing, x)
		}
	}
	for _, x := range sorted {
		if !in(want, x) {
			extra = append(extra, x)
		}
	}
	return missing, extra
}
