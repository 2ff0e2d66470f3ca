package jobs

import (
	"context"
	"errors"
	"slices"
	"strconv"
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

// The tests of this file run several runners ("instances") over one
// shared store, as several processes sharing a database would; each takes
// the store's opener, so that it runs on every backend.

// fakeClock is a clock the test moves, read through an offset per
// instance (their clocks disagree a little).
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) at(offset time.Duration) func() time.Time {
	return func() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now.Add(offset) }
}

func (c *fakeClock) move(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// concurrency tracks how many handlers run at once, and the peak.
type concurrency struct{ now, peak atomic.Int32 }

func (c *concurrency) enter() {
	n := c.now.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (c *concurrency) leave() { c.now.Add(-1) }

// partitionable is one instance's way to the shared store, which the
// test can cut: every transaction fails, as over a broken network.
type partitionable struct {
	meta.Store
	cut atomic.Bool
}

var errPartition = errors.New("test: partitioned from the store")

func (p *partitionable) View(ctx context.Context, fn func(meta.Tx) error) error {
	if p.cut.Load() {
		return errPartition
	}
	return p.Store.View(ctx, fn)
}

func (p *partitionable) Update(ctx context.Context, fn func(meta.Tx) error) error {
	if p.cut.Load() {
		return errPartition
	}
	return p.Store.Update(ctx, fn)
}

// runUntil runs r until the returned kill is called or the test ends.
// A handler that ignores its context keeps its attempt "running" after
// kill, as a frozen process would: nothing of it is recorded then.
func runUntil(t *testing.T, r *Runner) (kill func()) {
	kill, _ = runWatched(t, r)
	return kill
}

// runWatched is runUntil that also hands back a channel closed once Run
// has returned, its workers and their handlers with it.
func runWatched(t *testing.T, r *Runner) (kill func(), done <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { defer close(stopped); _ = r.Run(ctx) }()
	t.Cleanup(cancel)
	return cancel, stopped
}

func TestKilledRunnersJobRunsAgain(t *testing.T) {
	teststores.Each(t, testKilledRunnersJobRunsAgain)
}

// testKilledRunnersJobRunsAgain: a job whose runner is killed mid-attempt
// is not run by the other two runners while its lease holds, then is run
// by one of them, once, as its second attempt; the killed runner's late
// return records nothing.
func testKilledRunnersJobRunsAgain(t *testing.T, open teststores.Opener) {
	s := open(t)
	clock := &fakeClock{now: time.Now().UTC()}
	const lease = 150 * time.Millisecond // heartbeats every 50 ms of the machine's time; expiry by the test's clock
	q := newTestQueue(t, s, withQueueClock(clock.at(0)))
	entered, unstick := make(chan struct{}), make(chan struct{})
	var once sync.Once
	thaw := func() { once.Do(func() { close(unstick) }) }
	t.Cleanup(thaw)
	victim := newTestRunner(t, s, WithPoll(2*time.Millisecond), WithLease(lease), withClock(clock.at(0)), WithName("victim"))
	victim.Handle("work", HandlerFunc(func(context.Context, meta.Job) error {
		close(entered)
		<-unstick // frozen: deaf to its context
		return nil
	}), KindOptions{MaxAttempts: 3})
	job, err := q.Enqueue(t.Context(), Spec{Kind: "work"})
	if err != nil {
		t.Fatal(err)
	}
	kill, victimDone := runWatched(t, victim)
	<-entered
	kill()
	// Half a lease on, nobody can take the job: the killed runner's lease
	// holds.
	clock.move(lease / 2)
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		_, err := tx.Jobs().Lease([]string{"work"}, nil, "probe", clock.at(0)(), clock.at(lease)())
		return err
	}); !errors.Is(err, meta.ErrNotFound) {
		t.Fatalf("the job was leasable while the killed runner's lease held: %v", err)
	}
	var runs sync.Map // runner name → attempts it ran
	var total atomic.Int32
	for i := range 2 {
		name := "survivor-" + strconv.Itoa(i)
		r := newTestRunner(t, s, WithPoll(2*time.Millisecond), WithLease(lease), withClock(clock.at(0)), WithName(name))
		r.Handle("work", HandlerFunc(func(_ context.Context, j meta.Job) error {
			total.Add(1)
			runs.Store(name, j.Attempts)
			return nil
		}), KindOptions{MaxAttempts: 3})
		runUntil(t, r)
	}
	clock.move(lease)
	eventually.True(t, "the takeover to succeed", func() bool { return state(t, q, job.ID).State == meta.JobSucceeded })
	j := state(t, q, job.ID)
	if j.Attempts != 2 || total.Load() != 1 {
		t.Errorf("attempts %d (want 2: the killed one and the takeover), runs by the survivors %d (want 1)", j.Attempts, total.Load())
	}
	thaw()
	<-victimDone // the late return has been recorded, or refused
	if after := state(t, q, job.ID); after.State != meta.JobSucceeded || after.Attempts != 2 || !after.UpdatedAt.Equal(j.UpdatedAt) {
		t.Errorf("the killed runner's late return changed the job: %+v", after)
	}
}

func TestLastAttemptsRunnerDiesJobIsDead(t *testing.T) {
	teststores.Each(t, testLastAttemptsRunnerDiesJobIsDead)
}

// testLastAttemptsRunnerDiesJobIsDead: a job that kills its runner at
// every attempt (a poison job) runs its attempts, each taken over after
// the lease of the one before, and then is dead, not run again for ever.
func testLastAttemptsRunnerDiesJobIsDead(t *testing.T, open teststores.Opener) {
	s := txcount.New(open(t))
	clock := &fakeClock{now: time.Now().UTC()}
	const lease = 150 * time.Millisecond
	q := newTestQueue(t, s, withQueueClock(clock.at(0)))
	job, err := q.Enqueue(t.Context(), Spec{Kind: "poison", MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	unstick := make(chan struct{})
	t.Cleanup(func() { close(unstick) })
	var started atomic.Int32
	// expireKilled moves the clock past the lease of runner n's workers
	// when that is what holds the job.
	expireKilled := func(n int) {
		j := state(t, q, job.ID)
		if n >= 0 && j.State == meta.JobRunning && strings.HasPrefix(j.Worker, "r"+strconv.Itoa(n)+"/") && !j.LeaseUntil.Before(clock.at(0)()) {
			clock.move(2 * lease)
		}
	}
	for i := range 3 {
		entered := make(chan struct{})
		r := newTestRunner(t, s, WithPoll(2*time.Millisecond), WithLease(lease), withClock(clock.at(0)), WithName("r"+strconv.Itoa(i)))
		r.Handle("poison", HandlerFunc(func(context.Context, meta.Job) error {
			started.Add(1)
			close(entered)
			<-unstick
			return nil
		}), KindOptions{})
		kill := runUntil(t, r)
		if i == 2 {
			break // the third runner sees the job dead
		}
		// The killed runner's lease holds the job until the clock passes
		// it; a heartbeat of that runner in flight when it was killed may
		// renew it after the clock moved, so move it on while that lease
		// is what holds the job (never past the new runner's own lease).
		eventually.True(t, "runner "+strconv.Itoa(i)+" to start the job", func() bool {
			select {
			case <-entered:
				return true
			default:
				expireKilled(i - 1)
				return false
			}
		})
		kill() // the job killed its runner
	}
	eventually.True(t, "the job dead", func() bool {
		expireKilled(1)
		return state(t, q, job.ID).State == meta.JobDead
	})
	s.WaitMore(t, 30) // the third runner's polls, finding nothing to start
	j := state(t, q, job.ID)
	if started.Load() != 2 || j.Attempts != 2 || j.LastError == "" || j.FinishedAt.IsZero() {
		t.Errorf("%d attempts started (want 2), job %+v", started.Load(), j)
	}
}

func TestLimitOneAcrossRunners(t *testing.T) {
	teststores.Each(t, testLimitOneAcrossRunners)
}

// testLimitOneAcrossRunners: a kind limited to one job at a time runs one
// at a time across three runners of four workers each, while an
// unlimited kind runs beside it.
func testLimitOneAcrossRunners(t *testing.T, open teststores.Opener) {
	s := open(t)
	var one, free concurrency
	// The first two free jobs wait for each other: they finish only if
	// two runners' workers hold them at once, however slow the machine.
	var met atomic.Int32
	both := make(chan struct{})
	for range 3 {
		r := newTestRunner(t, s, WithPoll(time.Millisecond), WithWorkers(4))
		r.Handle("one", HandlerFunc(func(context.Context, meta.Job) error {
			one.enter()
			defer one.leave()
			time.Sleep(3 * time.Millisecond)
			return nil
		}), KindOptions{Limit: 1})
		r.Handle("free", HandlerFunc(func(ctx context.Context, _ meta.Job) error {
			free.enter()
			defer free.leave()
			if n := met.Add(1); n == 2 {
				close(both)
			} else if n > 2 {
				return nil
			}
			select {
			case <-both:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}), KindOptions{})
		runUntil(t, r)
	}
	q := newTestQueue(t, s)
	var ids []uint64
	for i := range 40 {
		k := "one"
		if i%3 == 0 {
			k = "free"
		}
		j, err := q.Enqueue(t.Context(), Spec{Kind: k})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for _, id := range ids {
		eventually.True(t, "every job", func() bool { return state(t, q, id).State == meta.JobSucceeded })
	}
	if p := one.peak.Load(); p != 1 {
		t.Errorf("the kind limited to 1 peaked at %d running", p)
	}
	if free.peak.Load() < 2 {
		t.Errorf("the unlimited kind never ran two at once (peak %d)", free.peak.Load())
	}
}

func TestPartitionedRunnerStopsBeforeItsLeaseExpires(t *testing.T) {
	teststores.Each(t, testPartitionedRunnerStopsBeforeItsLeaseExpires)
}

// testPartitionedRunnerStopsBeforeItsLeaseExpires: a runner cut off from
// the store cannot renew its lease; it stops its attempt before the
// lease could expire (it used to go on), so that when another runner
// takes the job over a kind's limit of one still holds.
func testPartitionedRunnerStopsBeforeItsLeaseExpires(t *testing.T, open teststores.Opener) {
	shared := open(t)
	clock := &fakeClock{now: time.Now().UTC()}
	const lease = 150 * time.Millisecond
	var one concurrency
	var stopped atomic.Bool
	handler := func(name string) Handler {
		return HandlerFunc(func(ctx context.Context, j meta.Job) error {
			one.enter()
			if name != "cut" {
				one.leave()
				return nil
			}
			<-ctx.Done()
			one.leave()
			stopped.Store(true)
			return ctx.Err()
		})
	}
	cut := &partitionable{Store: shared}
	q := newTestQueue(t, shared, withQueueClock(clock.at(0)))
	job, err := q.Enqueue(t.Context(), Spec{Kind: "one"})
	if err != nil {
		t.Fatal(err)
	}
	first := newTestRunner(t, cut, WithPoll(2*time.Millisecond), WithLease(lease), withClock(clock.at(0)), WithName("cut"))
	first.Handle("one", handler("cut"), KindOptions{Limit: 1})
	runUntil(t, first)
	eventually.True(t, "the first runner's attempt", func() bool { return one.now.Load() == 1 })
	for i := range 2 {
		r := newTestRunner(t, shared, WithPoll(2*time.Millisecond), WithLease(lease), withClock(clock.at(0)), WithName("r"+strconv.Itoa(i)))
		r.Handle("one", handler("healthy"), KindOptions{Limit: 1})
		runUntil(t, r)
	}
	cut.cut.Store(true)
	// Past two thirds of the lease, a failed heartbeat leaves too little
	// of it for the next one: the attempt must stop now.
	clock.move(lease*2/3 + time.Millisecond)
	eventually.True(t, "the cut-off runner to stop its attempt", stopped.Load)
	if j := state(t, q, job.ID); j.State != meta.JobRunning || j.Worker == "" || j.Attempts != 1 {
		t.Fatalf("the job before its lease expired: %+v", j)
	}
	clock.move(lease)
	eventually.True(t, "the takeover", func() bool { return state(t, q, job.ID).State == meta.JobSucceeded })
	if p := one.peak.Load(); p != 1 {
		t.Errorf("the kind limited to 1 peaked at %d running", p)
	}
	if j := state(t, q, job.ID); j.Attempts != 2 {
		t.Errorf("attempts %d, want 2", j.Attempts)
	}
}

func TestCronFiresOncePerTickAcrossInstances(t *testing.T) {
	teststores.Each(t, testCronFiresOncePerTickAcrossInstances)
}

// testCronFiresOncePerTickAcrossInstances: three runners whose clocks
// disagree by up to 600 ms hold the same every-second schedule; over 40
// ticks each fire time is enqueued once, none is skipped.
func testCronFiresOncePerTickAcrossInstances(t *testing.T, open teststores.Opener) {
	s := open(t)
	start := time.Now().UTC().Truncate(time.Second).Add(500 * time.Millisecond)
	clock := &fakeClock{now: start}
	var runners []*Runner
	var runs atomic.Int32
	for i, off := range []time.Duration{0, 300 * time.Millisecond, -300 * time.Millisecond} {
		r := newTestRunner(t, s, WithPoll(time.Hour), withClock(clock.at(off)), WithName("r"+strconv.Itoa(i)))
		r.Handle("tick", HandlerFunc(func(context.Context, meta.Job) error { runs.Add(1); return nil }), KindOptions{})
		if err := r.Schedule("tick", "* * * * * *", Spec{Kind: "tick"}); err != nil {
			t.Fatal(err)
		}
		runUntil(t, r)
		runners = append(runners, r)
	}
	const ticks = 40
	for range ticks {
		clock.move(time.Second)
		for _, r := range runners {
			r.reschedule() // the scheduler's timer runs on the machine's clock
		}
		for _, r := range runners {
			eventually.True(t, "each runner past the tick", func() bool {
				_, next, _ := r.ScheduleOf("tick")
				return next.After(r.clock())
			})
		}
	}
	var want []string
	for i := range ticks {
		want = append(want, "cron:tick@"+start.Truncate(time.Second).Add(time.Duration(i+1)*time.Second).Format(time.RFC3339Nano))
	}
	q := newTestQueue(t, s)
	var keys []string
	eventually.True(t, "a job for each tick", func() bool {
		jobs, err := q.List(t.Context(), meta.JobFilter{Kind: "tick"}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		keys = keys[:0]
		for _, j := range jobs {
			keys = append(keys, j.Key)
		}
		slices.Sort(keys)
		return len(keys) >= ticks && runs.Load() >= ticks
	})
	time.Sleep(30 * time.Millisecond) // any late fire
	if !slices.Equal(keys, want) || runs.Load() != ticks {
		t.Errorf("%d runs of fires %v\nwant one each of %v", runs.Load(), keys, want)
	}
}

func TestIdleRunnersDoNotWrite(t *testing.T) {
	teststores.Each(t, testIdleRunnersDoNotWrite)
}

// testIdleRunnersDoNotWrite: three runners polling fast, with a schedule
// and a finished job to prune some day, write nothing while nothing is
// due.
func testIdleRunnersDoNotWrite(t *testing.T, open teststores.Opener) {
	s := txcount.New(open(t))
	q := newTestQueue(t, s)
	job, err := q.Enqueue(t.Context(), Spec{Kind: "once"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r := newTestRunner(t, s, WithPoll(time.Millisecond), WithName("r"+strconv.Itoa(i)))
		r.Handle("once", HandlerFunc(func(context.Context, meta.Job) error { return nil }), KindOptions{})
		if err := r.Schedule("yearly", "0 0 0 1 1 *", Spec{Kind: "once"}); err != nil {
			t.Fatal(err)
		}
		runUntil(t, r)
	}
	eventually.True(t, "the job done", func() bool { return state(t, q, job.ID).State == meta.JobSucceeded })
	s.WaitMore(t, 50) // past the start's prune
	before := s.Updates()
	s.WaitMore(t, 300) // hundreds of polls
	if n := s.Updates() - before; n != 0 {
		t.Errorf("%d writes by idle runners", n)
	}
}

func TestStoredSchedulesReachEveryInstance(t *testing.T) {
	teststores.Each(t, testStoredSchedulesReachEveryInstance)
}

// testStoredSchedulesReachEveryInstance: a schedule set through one
// instance reaches another when that one applies the stored schedules
// again (as servers do now and again), and so does its removal; applying
// an unchanged schedule again keeps its next fire (it used to move it
// to the next after now, skipping a due fire).
func testStoredSchedulesReachEveryInstance(t *testing.T, open teststores.Opener) {
	s := open(t)
	clock := &fakeClock{now: time.Now().UTC()}
	var runners []*Runner
	var schedules []*Schedules
	for i := range 2 {
		r := newTestRunner(t, s, withClock(clock.at(0)), WithName("r"+strconv.Itoa(i)))
		sc, err := NewSchedules(s, []ScheduledJob{sweepJob}, WithScheduler(r))
		if err != nil {
			t.Fatal(err)
		}
		runners, schedules = append(runners, r), append(schedules, sc)
	}
	if _, err := schedules[0].Set(t.Context(), "sweep.schedule", Schedule{Type: "Custom", Cron: "0 0 * * * *"}); err != nil {
		t.Fatal(err)
	}
	_, next, ok := runners[0].ScheduleOf("sweep.schedule")
	if !ok {
		t.Fatal("not scheduled where it was set")
	}
	if _, _, ok := runners[1].ScheduleOf("sweep.schedule"); ok {
		t.Fatal("scheduled on the other instance before it applied the stored schedules")
	}
	clock.move(2 * time.Hour) // the fire is due (the schedulers do not run)
	for _, sc := range schedules {
		if err := sc.ApplyStored(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if spec, again, ok := runners[1].ScheduleOf("sweep.schedule"); !ok || spec != "0 0 * * * *" {
		t.Errorf("the other instance after applying the stored schedules: %q, %v", spec, ok)
	} else if !again.After(clock.at(0)()) {
		t.Errorf("the other instance's next fire %v is not after now", again)
	}
	if _, again, _ := runners[0].ScheduleOf("sweep.schedule"); !again.Equal(next) {
		t.Errorf("applying the unchanged schedule moved its next fire from %v to %v", next, again)
	}
	if _, err := schedules[1].Set(t.Context(), "sweep.schedule", Schedule{Type: "None"}); err != nil {
		t.Fatal(err)
	}
	if err := schedules[0].ApplyStored(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i, r := range runners {
		if _, _, ok := r.ScheduleOf("sweep.schedule"); ok {
			t.Errorf("instance %d still holds the removed schedule", i)
		}
	}
}
