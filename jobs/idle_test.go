package jobs

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/meta"
)

// lookCounter counts the looks for due jobs (Jobs.Due) a runner makes.
type lookCounter struct {
	meta.Store
	views atomic.Int64
}

func (c *lookCounter) View(ctx context.Context, fn func(meta.Tx) error) error {
	return c.Store.View(ctx, func(tx meta.Tx) error { return fn(countingTx{tx, c}) })
}

type countingTx struct {
	meta.Tx
	c *lookCounter
}

func (t countingTx) Jobs() meta.Jobs { return countingJobs{t.Tx.Jobs(), t.c} }

type countingJobs struct {
	meta.Jobs
	c *lookCounter
}

func (j countingJobs) Due(kinds []string, now time.Time) (bool, error) {
	j.c.views.Add(1)
	return j.Jobs.Due(kinds, now)
}

// TestIdleRunnerLooksOncePerWake: with nothing due, a wake makes one idle
// worker look once, and the runner is quiet again (the wake used to be
// handed from worker to worker for ever, a core's worth of looks). After
// jobs, the wakes handed on by the workers that found one end too.
func TestIdleRunnerLooksOncePerWake(t *testing.T) {
	s := &lookCounter{Store: openStore(t)}
	r := newTestRunner(t, s, WithWorkers(4), WithPoll(time.Hour))
	var ran atomic.Int64
	r.Handle("noop", HandlerFunc(func(context.Context, meta.Job) error { ran.Add(1); return nil }), KindOptions{})
	start(t, r)
	// Each worker looks once when it starts.
	eventually.True(t, "the workers' first looks", func() bool { return s.views.Load() >= 4 })
	// Idle: every worker waits and every wake's look has returned, so
	// nothing looks until the next wake (the poll is an hour). A
	// circulating wake never lets the runner get there.
	idle := func() {
		t.Helper()
		eventually.True(t, "every worker waiting, no wake outstanding", func() bool {
			return r.waiting.Load() == 4 && r.woken.Load() == 0
		})
	}
	quiet := func(want int64) {
		t.Helper()
		eventually.True(t, "the looks of a wake", func() bool { return s.views.Load() >= want })
		idle()
		if got := s.views.Load(); got != want {
			t.Fatalf("%d looks for due jobs, want %d: the idle runner keeps looking", got, want)
		}
	}
	quiet(4)
	for i := range 3 {
		r.Wake()
		quiet(int64(5 + i))
	}
	q := newTestQueue(t, s, WithNotify(r.Wake))
	for range 3 {
		if _, err := q.Enqueue(t.Context(), Spec{Kind: "noop"}); err != nil {
			t.Fatal(err)
		}
	}
	eventually.True(t, "the jobs run", func() bool { return ran.Load() == 3 })
	// The workers that found a job passed wakes on, and each ran to one
	// look; once those are done the runner is idle, and a wake is one look.
	idle()
	after := s.views.Load()
	r.Wake()
	quiet(after + 1)
}
