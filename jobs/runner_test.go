package jobs

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/internal/txcount"
	"github.com/berthreg/berth/meta"
)

func openStore(t *testing.T) meta.Store { return teststores.Open(t) }

// start runs r until the test ends.
func start(t *testing.T, r *Runner) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func state(t *testing.T, q *Queue, id uint64) meta.Job {
	t.Helper()
	j, err := q.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestRetriesBackOffThenDead: a failing job is retried with growing delays
// up to its attempts, then is dead with its error; Retry runs it again.
func TestRetriesBackOffThenDead(t *testing.T) {
	s := openStore(t)
	var mu sync.Mutex
	var times []time.Time
	var ran []meta.Job // the job as each attempt saw it
	var healthy atomic.Bool
	r := newTestRunner(t, s, WithPoll(2*time.Millisecond), WithWorkers(2))
	base := 40 * time.Millisecond
	r.Handle("flaky", HandlerFunc(func(ctx context.Context, j meta.Job) error {
		mu.Lock()
		times, ran = append(times, time.Now()), append(ran, j)
		mu.Unlock()
		if healthy.Load() {
			return nil
		}
		return errors.New("receiver answered 500")
	}), KindOptions{MaxAttempts: 4, Backoff: base, MaxBackoff: time.Second})
	q := newTestQueue(t, s, WithNotify(r.Wake))
	start(t, r)
	job, err := q.Enqueue(t.Context(), Spec{Kind: "flaky", Payload: map[string]int{"n": 1}})
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "a dead letter", func() bool { return state(t, q, job.ID).State == meta.JobDead })
	j := state(t, q, job.ID)
	if j.Attempts != 4 || j.LastError != "receiver answered 500" || j.FinishedAt.IsZero() {
		t.Errorf("dead job %+v", j)
	}
	mu.Lock()
	if len(times) != 4 {
		t.Fatalf("%d attempts, want 4", len(times))
	}
	// The schedule the queue recorded, against lower bounds only (a busy
	// machine delays attempts, it never brings them forward; that the
	// delays grow is TestBackoffGrows).
	for i := 1; i < len(times); i++ {
		least := base << (i - 1) / 2
		if times[i].Before(ran[i].RunAt) {
			t.Errorf("attempt %d ran at %v, before its not-before time %v", i+1, times[i], ran[i].RunAt)
		}
		if gap := ran[i].RunAt.Sub(times[i-1]); gap < least {
			t.Errorf("retry %d was scheduled %v after the attempt before, under the backoff's %v", i, gap, least)
		}
	}
	mu.Unlock()
	dead, err := q.List(t.Context(), meta.JobFilter{State: meta.JobDead}, 0, 0)
	if err != nil || len(dead) != 1 {
		t.Errorf("dead letters listed: %v, %v", dead, err)
	}

	healthy.Store(true)
	if err := q.Retry(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the retried job to succeed", func() bool { return state(t, q, job.ID).State == meta.JobSucceeded })
	if err := q.Retry(t.Context(), job.ID); !errors.Is(err, ErrFinal) {
		t.Errorf("Retry of a succeeded job: %v", err)
	}
}

// TestPermanentAndPanic: a permanent error or a panic makes the job dead
// at its first attempt.
func TestPermanentAndPanic(t *testing.T) {
	s := openStore(t)
	r := newTestRunner(t, s, WithPoll(2*time.Millisecond))
	r.Handle("bad", HandlerFunc(func(context.Context, meta.Job) error { return Permanent(errors.New("malformed payload")) }), KindOptions{})
	r.Handle("panics", HandlerFunc(func(context.Context, meta.Job) error { panic("boom") }), KindOptions{MaxAttempts: 1})
	q := newTestQueue(t, s, WithNotify(r.Wake))
	start(t, r)
	a, _ := q.Enqueue(t.Context(), Spec{Kind: "bad"})
	b, _ := q.Enqueue(t.Context(), Spec{Kind: "panics"})
	for _, id := range []uint64{a.ID, b.ID} {
		eventually.True(t, "a dead letter", func() bool { return state(t, q, id).State == meta.JobDead })
		if j := state(t, q, id); j.Attempts != 1 {
			t.Errorf("job %d (%s): %d attempts, want 1", id, j.Kind, j.Attempts)
		}
	}
}

// TestExpiredLeaseIsTakenOver: a job leased by a runner that died runs
// again once the lease expires; a live runner's heartbeat keeps its lease
// for a job longer than the lease. The runners share a clock the test
// moves, so that a busy machine cannot make a heartbeat late.
func TestExpiredLeaseIsTakenOver(t *testing.T) {
	s := openStore(t)
	var (
		mu    sync.Mutex
		now   = time.Now().UTC().Truncate(time.Microsecond) // as precise as every backend stores
		clock = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		move  = func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	)
	q := newTestQueue(t, s, withQueueClock(clock))
	job, err := q.Enqueue(t.Context(), Spec{Kind: "work"})
	if err != nil {
		t.Fatal(err)
	}
	// A runner that died holding the lease for 200 ms.
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		_, err := tx.Jobs().Lease([]string{"work"}, nil, "dead-runner", clock(), clock().Add(200*time.Millisecond))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	release := make(chan struct{})
	lease := 150 * time.Millisecond
	r := newTestRunner(t, s, WithPoll(5*time.Millisecond), WithLease(lease), withClock(clock))
	r.Handle("work", HandlerFunc(func(ctx context.Context, j meta.Job) error {
		runs.Add(1)
		select { // held for many leases: only heartbeats keep it
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), KindOptions{})
	other := newTestRunner(t, s, WithPoll(5*time.Millisecond), WithLease(lease), withClock(clock))
	other.Handle("work", r.kinds["work"].h, KindOptions{})
	start(t, r)
	start(t, other)
	if runs.Load() != 0 {
		t.Fatal("the job ran while the dead runner's lease held")
	}
	move(250 * time.Millisecond) // the dead runner's lease expires
	eventually.True(t, "the takeover", func() bool { return runs.Load() == 1 })
	// Six leases' worth of time, moved in steps shorter than a lease, each
	// answered by a heartbeat that extends it from the new time.
	for range 9 {
		move(lease * 2 / 3)
		want := clock().Add(lease)
		eventually.True(t, "a heartbeat", func() bool { return !state(t, q, job.ID).LeaseUntil.Before(want) })
	}
	close(release)
	eventually.True(t, "the job to succeed", func() bool { return state(t, q, job.ID).State == meta.JobSucceeded })
	if j := state(t, q, job.ID); j.Attempts != 2 || runs.Load() != 1 {
		t.Errorf("attempts %d (want 2: the dead runner's and the takeover), handler runs %d (want 1)", j.Attempts, runs.Load())
	}
}

// TestCancelStopsARunningJob: Cancel reaches the handler at its next
// heartbeat and the job stays canceled.
func TestCancelStopsARunningJob(t *testing.T) {
	s := txcount.New(openStore(t))
	started, stopped := make(chan struct{}), make(chan struct{})
	r := newTestRunner(t, s, WithPoll(5*time.Millisecond), WithLease(1500*time.Millisecond)) // a heartbeat each 0.5 s; a lease long enough that a busy machine does not lose it
	r.Handle("long", HandlerFunc(func(ctx context.Context, j meta.Job) error {
		close(started)
		<-ctx.Done()
		close(stopped)
		return ctx.Err()
	}), KindOptions{})
	q := newTestQueue(t, s, WithNotify(r.Wake))
	start(t, r)
	job, _ := q.Enqueue(t.Context(), Spec{Kind: "long"})
	<-started
	if err := q.Cancel(t.Context(), job.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("the handler's context was not canceled")
	}
	s.WaitMore(t, 10) // the worker has recorded the return and polls again
	if j := state(t, q, job.ID); j.State != meta.JobCanceled {
		t.Errorf("after Cancel: %s", j.State)
	}
	if err := q.Cancel(t.Context(), job.ID); !errors.Is(err, ErrFinal) {
		t.Errorf("a second Cancel: %v", err)
	}
}

// TestConcurrencyCapHolds: three runners of four workers each share the
// queue; a kind capped at two never runs more than two at once, while an
// uncapped kind runs beside it.
func TestConcurrencyCapHolds(t *testing.T) {
	s := openStore(t)
	var now, peak, uncappedPeak, nowUncapped atomic.Int32
	track := func(cur, top *atomic.Int32) Handler {
		return HandlerFunc(func(ctx context.Context, j meta.Job) error {
			n := cur.Add(1)
			for {
				p := top.Load()
				if n <= p || top.CompareAndSwap(p, n) {
					break
				}
			}
			time.Sleep(15 * time.Millisecond)
			cur.Add(-1)
			return nil
		})
	}
	var runners []*Runner
	for range 3 {
		r := newTestRunner(t, s, WithPoll(2*time.Millisecond), WithWorkers(4))
		r.Handle("capped", track(&now, &peak), KindOptions{Limit: 2})
		r.Handle("free", track(&nowUncapped, &uncappedPeak), KindOptions{})
		runners = append(runners, r)
	}
	q := newTestQueue(t, s)
	var ids []uint64
	for i := range 40 {
		k := "capped"
		if i%4 == 0 {
			k = "free"
		}
		j, err := q.Enqueue(t.Context(), Spec{Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for _, r := range runners {
		start(t, r)
	}
	for _, id := range ids {
		eventually.True(t, "every job", func() bool { return state(t, q, id).State == meta.JobSucceeded })
	}
	if p := peak.Load(); p > 2 || p < 1 {
		t.Errorf("capped kind peaked at %d running, cap 2", p)
	}
	if uncappedPeak.Load() < 2 {
		t.Errorf("the uncapped kind never ran two at once (peak %d): the test exercised nothing", uncappedPeak.Load())
	}
}

// TestCronFiresOncePerTick: a schedule every second, held by two runners
// sharing the store, enqueues one job per fire time.
func TestCronFiresOncePerTick(t *testing.T) {
	s := openStore(t)
	var runs atomic.Int32
	for range 2 {
		r := newTestRunner(t, s, WithPoll(5*time.Millisecond))
		r.Handle("tick", HandlerFunc(func(context.Context, meta.Job) error { runs.Add(1); return nil }), KindOptions{})
		if err := r.Schedule("ticker", "* * * * * *", Spec{Kind: "tick"}); err != nil {
			t.Fatal(err)
		}
		start(t, r)
	}
	q := newTestQueue(t, s)
	eventually.True(t, "three fires", func() bool {
		jobs, _ := q.List(context.Background(), meta.JobFilter{Kind: "tick", State: meta.JobSucceeded}, 0, 0)
		return len(jobs) >= 3
	})
	jobs, _ := q.List(t.Context(), meta.JobFilter{Kind: "tick"}, 0, 0)
	keys := map[string]bool{}
	for _, j := range jobs {
		if keys[j.Key] || j.Key == "" {
			t.Errorf("fire key %q enqueued twice or empty", j.Key)
		}
		keys[j.Key] = true
	}
	if err := newTestRunner(t, s).Schedule("bad", "every tuesday", Spec{Kind: "x"}); err == nil {
		t.Error("a bad cron spec was accepted")
	}
}

func TestBackoffGrows(t *testing.T) {
	for n := 1; n < 12; n++ {
		d := Backoff(time.Second, time.Minute, n)
		full := min(time.Second<<(n-1), time.Minute)
		if d < full/2 || d > full {
			t.Errorf("Backoff(1s, 1m, %d) = %v, want within [%v, %v]", n, d, full/2, full)
		}
	}
}

func TestPrune(t *testing.T) {
	s := openStore(t)
	q := newTestQueue(t, s)
	old, _ := q.Enqueue(t.Context(), Spec{Kind: "x", Key: "once"})
	live, _ := q.Enqueue(t.Context(), Spec{Kind: "x"})
	if err := q.Cancel(t.Context(), old.ID); err != nil {
		t.Fatal(err)
	}
	n, err := Prune(t.Context(), s, time.Now().Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1", n, err)
	}
	if _, err := q.Get(t.Context(), old.ID); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("the finished job is still there: %v", err)
	}
	if j := state(t, q, live.ID); j.State != meta.JobPending {
		t.Errorf("the pending job: %+v", j)
	}
}

// TestScheduleChangesWhileRunning: a schedule added while the runner runs
// fires; once removed it stops.
func TestScheduleChangesWhileRunning(t *testing.T) {
	s := txcount.New(openStore(t))
	clock := &fakeClock{now: time.Now().UTC()}
	var runs atomic.Int32
	r := newTestRunner(t, s, WithPoll(5*time.Millisecond), withClock(clock.at(0)))
	r.Handle("tick", HandlerFunc(func(context.Context, meta.Job) error { runs.Add(1); return nil }), KindOptions{})
	start(t, r)
	s.WaitMore(t, 1) // running
	if err := r.Schedule("t", "* * * * * *", Spec{Kind: "tick"}); err != nil {
		t.Fatal(err)
	}
	if spec, next, ok := r.ScheduleOf("t"); !ok || spec != "* * * * * *" || next.IsZero() {
		t.Errorf("ScheduleOf = %q, %v, %v", spec, next, ok)
	}
	clock.move(time.Second)
	r.reschedule() // the scheduler's timer runs on the machine's clock
	eventually.True(t, "a fire", func() bool { return runs.Load() >= 1 })
	r.Unschedule("t")
	if _, _, ok := r.ScheduleOf("t"); ok {
		t.Error("still scheduled")
	}
	n := runs.Load()
	for range 3 {
		clock.move(time.Second)
		r.reschedule()
	}
	s.WaitMore(t, 30) // the runner's polls, finding nothing enqueued
	if got := runs.Load(); got != n {
		t.Errorf("%d fires after Unschedule", got-n)
	}
	if err := ValidSchedule("every tuesday"); err == nil {
		t.Error("ValidSchedule accepted nonsense")
	}
}

func newTestRunner(t testing.TB, s meta.Store, opts ...RunnerOption) *Runner {
	t.Helper()
	r, err := NewRunner(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newTestQueue(t testing.TB, s meta.Store, opts ...QueueOption) *Queue {
	t.Helper()
	q, err := NewQueue(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestNewRunnerRejects(t *testing.T) {
	s := openStore(t)
	for name, opts := range map[string][]RunnerOption{
		"WithWorkers":      {WithWorkers(-1)},
		"WithLease":        {WithLease(-time.Second)},
		"WithPoll":         {WithPoll(-time.Second)},
		"WithKeepFinished": {WithKeepFinished(-time.Second)},
	} {
		if _, err := NewRunner(s, opts...); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("NewRunner(%s negative) = %v, want an error naming it", name, err)
		}
	}
	if _, err := NewRunner(nil); err == nil {
		t.Error("NewRunner(nil) accepted")
	}
	if _, err := NewQueue(nil); err == nil {
		t.Error("NewQueue(nil) accepted")
	}
}
