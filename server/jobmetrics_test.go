package server

import (
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

func TestJobMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	observe, err := jobMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []jobs.Attempt{
		{Kind: "webhook.deliver", Outcome: jobs.Succeeded, Took: time.Second},
		{Kind: "webhook.deliver", Outcome: jobs.Retried, Took: time.Second},
		{Kind: "webhook.deliver", Outcome: jobs.Dead, Took: time.Second},
		{Kind: "gc", Outcome: jobs.Expired},
	} {
		observe(a)
	}
	for name, c := range map[string]struct{ got, want float64 }{
		"succeeded": {counter(t, reg, "berth_jobs_attempts_total", map[string]string{"kind": "webhook.deliver", "outcome": "succeeded"}), 1},
		"dead":      {counter(t, reg, "berth_jobs_attempts_total", map[string]string{"kind": "webhook.deliver", "outcome": "dead"}), 1},
		"expired":   {counter(t, reg, "berth_jobs_attempts_total", map[string]string{"kind": "gc", "outcome": "expired"}), 1},
		"letters":   {counter(t, reg, "berth_jobs_dead_letters_total", map[string]string{"kind": "webhook.deliver"}), 1},
		"buried":    {counter(t, reg, "berth_jobs_dead_letters_total", map[string]string{"kind": "gc"}), 1},
		"timed":     {histogramCount(t, reg, "berth_jobs_attempt_duration_seconds", map[string]string{"kind": "webhook.deliver"}), 3},
		"untimed":   {histogramCount(t, reg, "berth_jobs_attempt_duration_seconds", map[string]string{"kind": "gc"}), 0},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", name, c.got, c.want)
		}
	}
	if _, err := jobMetrics(reg); err == nil {
		t.Error("registering twice succeeded")
	}
}

// TestQueueMetrics: the queue's depth by kind and state and the age of
// its oldest due job, read at most once a ttl; a kind whose jobs are
// all done stays, at zero.
func TestQueueMetrics(t *testing.T) {
	store := testbolt.Open(t)
	q, err := jobs.NewQueue(store)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	due, err := q.Enqueue(ctx, jobs.Spec{Kind: "deliver", RunAt: now.Add(-90 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := q.Enqueue(ctx, jobs.Spec{Kind: "deliver", RunAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c := newQueueCollector(q, slog.New(slog.DiscardHandler))
	c.now, c.cache.now, c.cache.wait = clock, clock, time.Minute
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{"due": 1, "delayed": 1, "running": 0, "dead": 0}
	for state, n := range want {
		if got, _ := seriesValue(t, reg, "berth_jobs_queued", map[string]string{"kind": "deliver", "state": state}); got != n {
			t.Errorf("%s: %v, want %v", state, got, n)
		}
	}
	age, _ := seriesValue(t, reg, "berth_jobs_oldest_due_age_seconds", map[string]string{"kind": "deliver"})
	if age < 90 {
		t.Errorf("oldest due age %v, want at least 90 s", age)
	}

	// The due job goes dead; within the ttl the scrape still says due.
	if err := store.Update(ctx, func(tx meta.Tx) error {
		j, err := tx.Jobs().Get(due.ID)
		if err != nil {
			return err
		}
		j.State, j.FinishedAt = meta.JobDead, now
		return tx.Jobs().Put(j)
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := seriesValue(t, reg, "berth_jobs_queued", map[string]string{"kind": "deliver", "state": "due"}); got != 1 {
		t.Errorf("due within the ttl: %v, want the cached 1", got)
	}
	mu.Lock()
	now = now.Add(queueTTL)
	mu.Unlock()
	if got, _ := seriesValue(t, reg, "berth_jobs_queued", map[string]string{"kind": "deliver", "state": "dead"}); got != 1 {
		t.Errorf("dead after the ttl: %v, want 1", got)
	}
	if got, ok := seriesValue(t, reg, "berth_jobs_oldest_due_age_seconds", map[string]string{"kind": "deliver"}); !ok || got != 0 {
		t.Errorf("oldest due age with none due: %v (%v), want 0", got, ok)
	}

	// Every job of the kind pruned: its series stay, at zero.
	if err := store.Update(ctx, func(tx meta.Tx) error {
		js, err := tx.Jobs().List(meta.JobFilter{}, 0, 0)
		for _, j := range js {
			if err := tx.Jobs().Delete(j.ID); err != nil {
				return err
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(queueTTL)
	mu.Unlock()
	for state := range want {
		if got, ok := seriesValue(t, reg, "berth_jobs_queued", map[string]string{"kind": "deliver", "state": state}); !ok || got != 0 {
			t.Errorf("%s with no jobs: %v (%v), want 0", state, got, ok)
		}
	}
}
