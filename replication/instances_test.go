package replication_test

import (
	"context"
	"testing"

	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/replication"
)

// TestPolicyChangesReachOtherInstances: each policy created, changed or
// deleted through the Service bumps PoliciesGeneration in its
// transaction, so another instance's runner, whose watcher runs
// ScheduleAll when it moves, follows at that watcher's next poll.
func TestPolicyChangesReachOtherInstances(t *testing.T) {
	r := newService(t)
	ctx := t.Context()
	other := testjobs.Runner(t, r.store) // the other instance's runner
	w, err := generation.NewWatcher(r.store)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Watch(replication.PoliciesGeneration, func(ctx context.Context) error {
		return replication.ScheduleAll(ctx, r.store, other)
	}); err != nil {
		t.Fatal(err)
	}
	poll := func() uint64 {
		t.Helper()
		if err := w.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		v, _ := w.Seen(replication.PoliciesGeneration)
		return v
	}
	start := poll()
	if _, err := r.svc.CreateRegistry(ctx, replication.Registry{Name: "dc2", URL: "https://dc2.example"}); err != nil {
		t.Fatal(err)
	}
	rec := replication.PolicyRecord{Name: "nightly", Destination: "dc2", Enabled: true, Trigger: replication.TriggerScheduled, Cron: "0 0 1 * * *"}
	if _, err := r.svc.CreatePolicy(ctx, rec); err != nil {
		t.Fatal(err)
	}
	created := poll()
	if spec, _, ok := other.ScheduleOf(replication.ScheduleName("nightly")); created <= start || !ok || spec != rec.Cron {
		t.Fatalf("created elsewhere: generation %d then %d, schedule %q, %v", start, created, spec, ok)
	}
	rec.Cron = "0 0 2 * * *"
	if _, err := r.svc.UpdatePolicy(ctx, rec); err != nil {
		t.Fatal(err)
	}
	updated := poll()
	if spec, _, ok := other.ScheduleOf(replication.ScheduleName("nightly")); updated <= created || !ok || spec != rec.Cron {
		t.Fatalf("changed elsewhere: generation %d then %d, schedule %q, %v", created, updated, spec, ok)
	}
	if err := r.svc.DeletePolicy(ctx, "nightly"); err != nil {
		t.Fatal(err)
	}
	if deleted := poll(); deleted <= updated {
		t.Fatalf("deleted elsewhere: generation %d then %d", updated, deleted)
	}
	if _, _, ok := other.ScheduleOf(replication.ScheduleName("nightly")); ok {
		t.Fatal("the policy deleted elsewhere is still scheduled")
	}
}
