package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/meta"
)

// observed collects the attempts a runner reports.
type observed struct {
	mu       sync.Mutex
	attempts []Attempt
}

func (o *observed) add(a Attempt) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.attempts = append(o.attempts, a)
}

// of returns the outcomes reported for kind, in order.
func (o *observed) of(kind string) []Outcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []Outcome
	for _, a := range o.attempts {
		if a.Kind == kind {
			out = append(out, a.Outcome)
		}
	}
	return out
}

// TestObserverSeesEveryOutcome: the observer is told of each attempt's
// outcome as the runner records it.
func TestObserverSeesEveryOutcome(t *testing.T) {
	s := openStore(t)
	var obs observed
	r := newTestRunner(t, s, WithPoll(2*time.Millisecond), WithLease(90*time.Millisecond), WithObserver(obs.add))
	fast := KindOptions{MaxAttempts: 2, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}
	r.Handle("ok", HandlerFunc(func(context.Context, meta.Job) error { return nil }), fast)
	r.Handle("failing", HandlerFunc(func(context.Context, meta.Job) error { return errors.New("500") }), fast)
	r.Handle("refused", HandlerFunc(func(context.Context, meta.Job) error { return Permanent(errors.New("400")) }), fast)
	var outages sync.Map
	r.Handle("outage", HandlerFunc(func(_ context.Context, j meta.Job) error {
		if _, again := outages.LoadOrStore(j.ID, true); !again {
			return fmt.Errorf("database down: %w", meta.ErrUnavailable)
		}
		return nil
	}), fast)
	r.Handle("canceled", HandlerFunc(func(ctx context.Context, _ meta.Job) error {
		<-ctx.Done()
		return ctx.Err()
	}), fast)
	q := newTestQueue(t, s, WithNotify(r.Wake))
	start(t, r)
	ctx := t.Context()
	for _, k := range []string{"ok", "failing", "refused", "outage"} {
		if _, err := q.Enqueue(ctx, Spec{Kind: k}); err != nil {
			t.Fatal(err)
		}
	}
	canceled, err := q.Enqueue(ctx, Spec{Kind: "canceled"})
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the canceled kind's job running", func() bool { return state(t, q, canceled.ID).State == meta.JobRunning })
	if err := q.Cancel(ctx, canceled.ID); err != nil {
		t.Fatal(err)
	}
	want := map[string][]Outcome{
		"ok":       {Succeeded},
		"failing":  {Retried, Dead},
		"refused":  {Dead},
		"outage":   {GivenBack, Succeeded},
		"canceled": {Lost},
	}
	for kind, outcomes := range want {
		eventually.True(t, kind+"'s attempts reported", func() bool { return len(obs.of(kind)) >= len(outcomes) })
		// Attempts of one job may end on different workers, whose
		// reports race: compare them in order of name.
		got := obs.of(kind)
		slices.Sort(got)
		slices.Sort(outcomes)
		if !slices.Equal(got, outcomes) {
			t.Errorf("%s: reported %v, want %v", kind, got, outcomes)
		}
	}
}

// TestObserverSeesExpiredLastAttempts: a job whose lease expired on its
// last attempt is left dead by the runner that finds it, and reported.
func TestObserverSeesExpiredLastAttempts(t *testing.T) {
	s := openStore(t)
	q := newTestQueue(t, s)
	ctx := t.Context()
	job, err := q.Enqueue(ctx, Spec{Kind: "orphan", MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	// A runner that died on the job's only attempt.
	if err := s.Update(ctx, func(tx meta.Tx) error {
		j, err := tx.Jobs().Get(job.ID)
		if err != nil {
			return err
		}
		j.State, j.Attempts, j.Worker, j.LeaseUntil = meta.JobRunning, 1, "gone", time.Now().Add(-time.Minute).UTC()
		return tx.Jobs().Put(j)
	}); err != nil {
		t.Fatal(err)
	}
	var obs observed
	r := newTestRunner(t, s, WithPoll(2*time.Millisecond), WithObserver(obs.add))
	r.Handle("orphan", HandlerFunc(func(context.Context, meta.Job) error {
		t.Error("the orphan ran again")
		return nil
	}), KindOptions{})
	start(t, r)
	eventually.True(t, "the orphan reported", func() bool { return len(obs.of("orphan")) > 0 })
	if got := obs.of("orphan"); !slices.Equal(got, []Outcome{Expired}) {
		t.Errorf("reported %v, want [expired]", got)
	}
	if j := state(t, q, job.ID); j.State != meta.JobDead {
		t.Errorf("the orphan is %s, want dead", j.State)
	}
}

func TestQueueStats(t *testing.T) {
	s := openStore(t)
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	q := newTestQueue(t, s, withQueueClock(func() time.Time { return now }))
	ctx := t.Context()
	set := func(id uint64, f func(*meta.Job)) {
		t.Helper()
		if err := s.Update(ctx, func(tx meta.Tx) error {
			j, err := tx.Jobs().Get(id)
			if err != nil {
				return err
			}
			f(&j)
			return tx.Jobs().Put(j)
		}); err != nil {
			t.Fatal(err)
		}
	}
	enqueue := func(kind string, runAt time.Time) meta.Job {
		t.Helper()
		j, err := q.Enqueue(ctx, Spec{Kind: kind, RunAt: runAt})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	enqueue("deliver", now.Add(-time.Minute))
	enqueue("deliver", now.Add(-time.Hour))
	enqueue("deliver", now.Add(time.Hour))
	running := enqueue("scan", time.Time{})
	set(running.ID, func(j *meta.Job) { j.State, j.Worker, j.LeaseUntil = meta.JobRunning, "w", now.Add(time.Minute) })
	dead := enqueue("scan", time.Time{})
	set(dead.ID, func(j *meta.Job) { j.State, j.FinishedAt = meta.JobDead, now })
	done := enqueue("gc", time.Time{})
	set(done.ID, func(j *meta.Job) { j.State, j.FinishedAt = meta.JobSucceeded, now })
	// More than a page of them.
	if err := s.Update(ctx, func(tx meta.Tx) error {
		for range statsPage + 5 {
			if _, err := EnqueueTx(tx, Spec{Kind: "bulk", RunAt: now}, now); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	got, err := q.Stats(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []KindStats{
		{Kind: "bulk", Due: statsPage + 5, OldestDue: now},
		{Kind: "deliver", Due: 2, Delayed: 1, OldestDue: now.Add(-time.Hour)},
		{Kind: "scan", Running: 1, Dead: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	for i := range want {
		g := got[i]
		if g.Kind != want[i].Kind || g.Due != want[i].Due || g.Delayed != want[i].Delayed || g.Running != want[i].Running ||
			g.Dead != want[i].Dead || !g.OldestDue.Equal(want[i].OldestDue) {
			t.Errorf("Stats[%d] = %+v, want %+v", i, g, want[i])
		}
	}
}

// hookKey is the value TestAttemptHook's hook puts in the handler's
// context.
type hookKey struct{}

// TestAttemptHook: the hook's context is the handler's, and its end
// receives each attempt's outcome.
func TestAttemptHook(t *testing.T) {
	s := openStore(t)
	var (
		mu    sync.Mutex
		seen  []string // the hook's value as the handler saw it
		ended []Attempt
	)
	hook := func(ctx context.Context, kind string, id uint64) (context.Context, func(Attempt)) {
		mark := fmt.Sprintf("%s#%d", kind, id)
		return context.WithValue(ctx, hookKey{}, mark), func(a Attempt) {
			mu.Lock()
			defer mu.Unlock()
			ended = append(ended, a)
		}
	}
	r := newTestRunner(t, s, WithPoll(2*time.Millisecond), WithAttemptHook(hook))
	fast := KindOptions{MaxAttempts: 2, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}
	r.Handle("traced", HandlerFunc(func(ctx context.Context, j meta.Job) error {
		v, _ := ctx.Value(hookKey{}).(string)
		mu.Lock()
		seen = append(seen, v)
		mu.Unlock()
		if len(j.Payload) > 0 {
			return Permanent(errors.New("refused"))
		}
		return nil
	}), fast)
	q := newTestQueue(t, s, WithNotify(r.Wake))
	start(t, r)
	ok, err := q.Enqueue(t.Context(), Spec{Kind: "traced"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := q.Enqueue(t.Context(), Spec{Kind: "traced", Payload: []byte(`{"x":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "both attempts ended", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ended) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	want := []string{fmt.Sprintf("traced#%d", ok.ID), fmt.Sprintf("traced#%d", bad.ID)}
	slices.Sort(seen)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("the handler saw %q, want %q", seen, want)
	}
	outcomes := []Outcome{ended[0].Outcome, ended[1].Outcome}
	slices.Sort(outcomes)
	if !slices.Equal(outcomes, []Outcome{Dead, Succeeded}) {
		t.Errorf("end saw %v, want dead and succeeded", outcomes)
	}
}
