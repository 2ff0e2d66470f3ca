package jobs

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/faultmeta"
	"github.com/berthreg/berth/meta"
)

// The tests of this file take the store down (internal/faultmeta: every
// transaction fails with meta.ErrUnavailable, as a database server that
// cannot be reached) under a runner, and bring it back.

// outageStore is a faultmeta store that also counts the read-write
// transactions it refused.
type outageStore struct {
	*faultmeta.Store
	refusedUpdates atomic.Int64
}

func newOutageStore(t *testing.T) *outageStore {
	return &outageStore{Store: faultmeta.Wrap(openStore(t))}
}

func (s *outageStore) Update(ctx context.Context, fn func(meta.Tx) error) error {
	err := s.Store.Update(ctx, fn)
	if errors.Is(err, faultmeta.ErrDown) {
		s.refusedUpdates.Add(1)
	}
	return err
}

// logRecords keeps what a slog.Logger was given.
type logRecords struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecords) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
	return nil
}
func (l *logRecords) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecords) WithGroup(string) slog.Handler      { return l }

// count returns how many records at level have a message containing msg.
func (l *logRecords) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}

// jobKeys returns the keys of the jobs of kind in s.
func jobKeys(t *testing.T, s meta.Store, kind string) []string {
	t.Helper()
	jobs, err := newTestQueue(t, s).List(t.Context(), meta.JobFilter{Kind: kind}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, j := range jobs {
		keys = append(keys, j.Key)
	}
	return keys
}

// cronRunner is a runner with a schedule every minute on the clock the
// test moves, and no handlers: only its scheduler writes to the store.
func cronRunner(t *testing.T, s meta.Store, clock *fakeClock, opts ...RunnerOption) *Runner {
	r := newTestRunner(t, s, append([]RunnerOption{WithPoll(time.Hour), withClock(clock.at(0))}, opts...)...)
	if err := r.Schedule("gc", "0 * * * * *", Spec{Kind: "gc"}); err != nil {
		t.Fatal(err)
	}
	runUntil(t, r)
	return r
}

// passFire moves clock to just past the fire at due and makes r's
// scheduler look (its timer runs on the machine's clock).
func passFire(t *testing.T, r *Runner, clock *fakeClock, due time.Time) {
	t.Helper()
	clock.mu.Lock()
	clock.now = due.Add(10 * time.Millisecond)
	clock.mu.Unlock()
	r.reschedule()
	eventually.True(t, "the scheduler past the fire", func() bool {
		_, next, _ := r.ScheduleOf("gc")
		return next.After(due)
	})
}

// TestCronFireRetriedAfterOutage: a fire that falls in an outage is not
// lost: its enqueue is tried again once the store is back, under the key
// of its nominal time, before the schedule's next fire (it used to be
// skipped until the next tick).
func TestCronFireRetriedAfterOutage(t *testing.T) {
	s := newOutageStore(t)
	clock := &fakeClock{now: time.Date(2030, 1, 1, 3, 0, 30, 0, time.UTC)}
	r := cronRunner(t, s, clock)
	fire := time.Date(2030, 1, 1, 3, 1, 0, 0, time.UTC)

	s.SetDown(true)
	passFire(t, r, clock, fire)
	eventually.True(t, "the fire's enqueue refused", func() bool { return s.refusedUpdates.Load() >= 1 })
	// Still down at the next pass: the same fire is tried again.
	clock.move(2 * time.Second)
	r.reschedule()
	eventually.True(t, "the fire tried again", func() bool { return s.refusedUpdates.Load() >= 2 })

	s.SetDown(false)
	clock.move(2 * time.Second) // past the retry's backoff, well before the next fire
	r.reschedule()
	want := fireKey("gc", fire)
	eventually.True(t, "the missed fire enqueued", func() bool {
		keys := jobKeys(t, s, "gc")
		return len(keys) == 1 && keys[0] == want
	})
}

// TestCronMissedFireDroppedAtNextFire: a fire still not enqueued when the
// schedule's next fire comes due is dropped for it; the newer one is
// enqueued once the store is back, and only it.
func TestCronMissedFireDroppedAtNextFire(t *testing.T) {
	s := newOutageStore(t)
	logs := &logRecords{}
	clock := &fakeClock{now: time.Date(2030, 1, 1, 3, 0, 30, 0, time.UTC)}
	r := cronRunner(t, s, clock, WithLogger(slog.New(logs)))
	first := time.Date(2030, 1, 1, 3, 1, 0, 0, time.UTC)
	second := first.Add(time.Minute)

	s.SetDown(true)
	passFire(t, r, clock, first)
	eventually.True(t, "the first fire refused", func() bool { return s.refusedUpdates.Load() >= 1 })
	n := s.refusedUpdates.Load()
	passFire(t, r, clock, second)
	eventually.True(t, "the second fire refused", func() bool { return s.refusedUpdates.Load() > n })
	if got := logs.count(slog.LevelError, "fire dropped"); got != 1 {
		t.Errorf("%d records of the dropped fire, want 1", got)
	}

	s.SetDown(false)
	clock.move(2 * time.Second)
	r.reschedule()
	want := fireKey("gc", second)
	eventually.True(t, "the second fire enqueued", func() bool { return len(jobKeys(t, s, "gc")) > 0 })
	if keys := jobKeys(t, s, "gc"); len(keys) != 1 || keys[0] != want {
		t.Errorf("fires enqueued %v, want only %s", keys, want)
	}
}

// pendingFire returns the key and failed tries of r's outstanding fire of
// schedule name ("" when it has none).
func pendingFire(r *Runner, name string) (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.schedules[name]; ok && s.pending != nil {
		return s.pending.spec.Key, s.pending.tries
	}
	return "", 0
}

// TestCronFireEnqueuedElsewhereStopsRetrying: a runner retrying a fire
// stops when it finds that another instance enqueued it (its enqueue
// meets meta.ErrDuplicate), and the fire has one job.
func TestCronFireEnqueuedElsewhereStopsRetrying(t *testing.T) {
	s := newOutageStore(t)
	clock := &fakeClock{now: time.Date(2030, 1, 1, 3, 0, 30, 0, time.UTC)}
	r := cronRunner(t, s, clock, WithScheduleRetry(time.Second, time.Second))
	fire := time.Date(2030, 1, 1, 3, 1, 0, 0, time.UTC)
	key := fireKey("gc", fire)

	s.SetDown(true)
	passFire(t, r, clock, fire)
	eventually.True(t, "the fire's enqueue refused", func() bool { k, tries := pendingFire(r, "gc"); return k == key && tries == 1 })
	s.SetDown(false)
	// Another instance, whose store came back first, enqueued the fire.
	if _, err := newTestQueue(t, s).Enqueue(t.Context(), Spec{Kind: "gc", Key: key}); err != nil {
		t.Fatal(err)
	}
	clock.move(2 * time.Second)
	r.reschedule()
	eventually.True(t, "the retries to end", func() bool { k, _ := pendingFire(r, "gc"); return k == "" })
	if keys := jobKeys(t, s, "gc"); len(keys) != 1 || keys[0] != key {
		t.Errorf("fires enqueued %v, want one of %s", keys, key)
	}
}
