package preheat_test

import (
	"context"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/registry/naming"
)

// TestSchedules: a scheduled policy is on the runner's scheduler with
// its cron, under ScheduleName; changing it to manual, disabling it or
// deleting it takes it off; ScheduleAll puts the stored ones on another
// runner (another instance) and takes off those no longer stored.
func TestSchedules(t *testing.T) {
	r := newRig(t, false)
	ctx := t.Context()
	in := r.instance("df")
	nightly := preheat.Trigger{Type: preheat.TriggerScheduled, Settings: preheat.TriggerSettings{Cron: "0 0 3 * * *"}}
	p := r.policy(preheat.Policy{Name: "nightly", ProviderID: in.ID, Trigger: nightly})
	name := preheat.ScheduleName(p.ID)
	if cron, next, ok := r.runner.ScheduleOf(name); !ok || cron != "0 0 3 * * *" || next.IsZero() {
		t.Fatalf("schedule %s = %q, %v, %v", name, cron, next, ok)
	}
	other := testjobs.Runner(t, r.store)
	must(t, other.Schedule(preheat.ScheduleName(999), "0 0 * * * *", jobs.Spec{Kind: preheat.RunKind}))
	must(t, preheat.ScheduleAll(ctx, r.store, other))
	if cron, _, ok := other.ScheduleOf(name); !ok || cron != "0 0 3 * * *" {
		t.Fatalf("ScheduleAll on another runner: %q, %v", cron, ok)
	}
	if _, _, ok := other.ScheduleOf(preheat.ScheduleName(999)); ok {
		t.Fatal("ScheduleAll kept the schedule of a policy not stored")
	}
	p.Trigger = preheat.Trigger{Type: preheat.TriggerManual}
	_, err := r.svc.UpdatePolicy(ctx, alice, p)
	must(t, err)
	if _, _, ok := r.runner.ScheduleOf(name); ok {
		t.Fatal("a policy made manual is still scheduled")
	}
	p.Trigger, p.Enabled = nightly, false
	_, err = r.svc.UpdatePolicy(ctx, alice, p)
	must(t, err)
	if _, _, ok := r.runner.ScheduleOf(name); ok {
		t.Fatal("a disabled policy is still scheduled")
	}
	p.Enabled = true
	_, err = r.svc.UpdatePolicy(ctx, alice, p)
	must(t, err)
	if _, _, ok := r.runner.ScheduleOf(name); !ok {
		t.Fatal("a re-enabled policy is not scheduled")
	}
	must(t, r.svc.DeletePolicy(ctx, alice, "team", "nightly"))
	if _, _, ok := r.runner.ScheduleOf(name); ok {
		t.Fatal("a deleted policy is still scheduled")
	}
	must(t, preheat.ScheduleAll(ctx, r.store, other))
	if _, _, ok := other.ScheduleOf(name); ok {
		t.Fatal("ScheduleAll kept a deleted policy's schedule")
	}
}

// TestScheduledRunFires: the schedule's fires enqueue the run job keyed
// by the fire, whose execution is triggered SCHEDULE and preheats what
// the policy selects; later fires skip what was preheated (the dedupe),
// and end Success with nothing to do.
func TestScheduledRunFires(t *testing.T) {
	r := newRig(t, true)
	r.fake.set(func(f *fakeP2P) { f.running = 0 })
	in := r.instance("df")
	d := r.push("team/app", "", "v1")
	p := r.policy(preheat.Policy{Name: "often", ProviderID: in.ID, Trigger: preheat.Trigger{Type: preheat.TriggerScheduled,
		Settings: preheat.TriggerSettings{Cron: "* * * * * *"}}})
	ctx := t.Context()
	// Fires a second apart: the first preheats the image; a fire planned
	// after that success finds it preheated (the dedupe) and has nothing
	// to do.
	var first, later preheat.Execution
	eventually.True(t, "a scheduled execution preheats, a later one has nothing to do", func() bool {
		execs, _, err := r.svc.Executions(ctx, alice, "team", "often", preheat.Page{})
		must(t, err)
		for _, e := range execs {
			switch {
			case e.Status == preheat.RunSuccess && e.Metrics.Success == 1:
				first = e
			case e.Status == preheat.RunSuccess && e.Metrics.Total == 0:
				later = e
			}
		}
		return first.ID != 0 && later.ID != 0
	})
	if first.Trigger != preheat.ExecSchedule || later.Trigger != preheat.ExecSchedule || later.StatusMessage != "no artifacts to preheat" {
		t.Fatalf("scheduled executions %+v and %+v", first, later)
	}
	if images := r.fake.asked(); len(images) < 1 || images[0].Digest != d.String() {
		t.Fatalf("asked %+v", images)
	}
	j, err := r.queue.Get(ctx, first.ID)
	if err != nil || j.Kind != preheat.RunKind || j.Key == "" {
		t.Fatalf("the first execution's job %+v, %v: want a keyed fire of %s", j, err, preheat.ScheduleName(p.ID))
	}
	// Stopped from firing: the disabled policy's schedule is gone.
	p.Enabled = false
	_, err = r.svc.UpdatePolicy(ctx, alice, p)
	must(t, err)
	if _, _, ok := r.runner.ScheduleOf(preheat.ScheduleName(p.ID)); ok {
		t.Fatal("still scheduled")
	}
}

// pushEvent appends the PUSH_ARTIFACT event of repo@d with tags, as the
// registry's recorder does.
func pushEvent(tx meta.Tx, repo string, d digest.Digest, tags ...string) error {
	ev := meta.Event{Type: events.PushArtifact, Repository: repo, Project: naming.ProjectOf(repo), Digest: d.String(),
		MediaType: ociManifest, Result: "success"}
	if len(tags) > 0 {
		ev.Tag = tags[0]
	}
	if len(tags) > 1 {
		ev.Details = map[string]string{"tags": strings.Join(tags, ",")}
	}
	_, err := tx.Events().Append(ev)
	return err
}

// scanEvent appends the SCANNING_COMPLETED event of repo@d tagged tag.
func scanEvent(tx meta.Tx, repo string, d digest.Digest, tag string) error {
	_, err := tx.Events().Append(meta.Event{Type: events.ScanningCompleted, Repository: repo, Project: naming.ProjectOf(repo),
		Digest: d.String(), Tag: tag, MediaType: ociManifest, Result: "success", Details: map[string]string{"scan_status": "Success"}})
	return err
}

// consumer is the Service's event trigger as the server runs it: a real
// events.Consumer over the store, under ConsumerName.
func (r *rig) consumer() *events.Consumer {
	r.t.Helper()
	c, err := events.NewConsumer(r.store, preheat.ConsumerName, events.TxFunc(r.svc.Consume), events.WithFrom(0))
	must(r.t, err)
	return c
}

// consume appends events with fn and lets the consumer handle them all.
func (r *rig) consume(c *events.Consumer, fn func(tx meta.Tx) error) {
	r.t.Helper()
	must(r.t, r.store.Update(context.Background(), fn))
	for {
		n, err := c.Step(context.Background())
		must(r.t, err)
		if n == 0 {
			return
		}
	}
}

// executions waits for the run jobs queued so far to end and returns the
// executions of policy name of team, newest first.
func (r *rig) executions(name string) []preheat.Execution {
	r.t.Helper()
	ctx := context.Background()
	eventually.True(r.t, "the run jobs end", func() bool {
		js, err := r.queue.List(ctx, meta.JobFilter{Kind: preheat.RunKind}, 0, 0)
		must(r.t, err)
		for _, j := range js {
			if j.State.Active() {
				return false
			}
		}
		return true
	})
	var list []preheat.Execution
	eventually.True(r.t, "the executions end", func() bool {
		var err error
		list, _, err = r.svc.Executions(ctx, alice, "team", name, preheat.Page{})
		must(r.t, err)
		for _, e := range list {
			if !e.Status.Final() {
				return false
			}
		}
		return true
	})
	return list
}

// TestPushTrigger: an event-based policy fires on the pushes its
// patterns select, with exactly one task per pushed digest (however many
// tags), nothing for other repositories, projects or policies, and no
// new execution for a digest it preheated already (a new tag of it).
func TestPushTrigger(t *testing.T) {
	r := newRig(t, true)
	r.fake.set(func(f *fakeP2P) { f.running = 0 })
	in := r.instance("df")
	r.policy(preheat.Policy{Name: "onpush", ProviderID: in.ID, Filters: preheat.Filters{Repository: "app"},
		Trigger: preheat.Trigger{Type: preheat.TriggerEventBased}})
	r.policy(preheat.Policy{Name: "manual", ProviderID: in.ID})
	r.policy(preheat.Policy{Name: "pubpush", Project: "pub", ProviderID: in.ID, Trigger: preheat.Trigger{Type: preheat.TriggerEventBased}})
	c := r.consumer()

	d1 := r.push("team/app", "", "v1", "stable")
	web := r.push("team/web", "", "v1")
	pub := r.push("pub/other", "", "v1")
	r.consume(c, func(tx meta.Tx) error {
		return firstErr(pushEvent(tx, "team/app", d1, "v1", "stable"), pushEvent(tx, "team/web", web, "v1"),
			pushEvent(tx, "team/app", d1, "v1"), pushEvent(tx, "pub/other", pub, "v1"))
	})
	execs := r.executions("onpush")
	if len(execs) != 1 || execs[0].Trigger != preheat.ExecEvent || execs[0].Status != preheat.RunSuccess || execs[0].Metrics.Total != 1 {
		t.Fatalf("executions %+v, want one EVENT execution with one task", execs)
	}
	tasks := r.tasks("onpush", execs[0].ID)
	if len(tasks) != 1 || tasks[0].Digest != d1.String() || tasks[0].Repository != "team/app" {
		t.Fatalf("tasks %+v, want one for %s", tasks, d1)
	}
	if m, _, _ := r.svc.Executions(t.Context(), alice, "team", "manual", preheat.Page{}); len(m) != 0 {
		t.Fatalf("the manual policy ran on a push: %+v", m)
	}

	// A new tag of the digest preheated already: no new execution.
	must(t, r.store.Update(t.Context(), func(tx meta.Tx) error { return tx.Tags().Put("team/app", "prod", d1) }))
	r.consume(c, func(tx meta.Tx) error { return pushEvent(tx, "team/app", d1, "prod") })
	if execs := r.executions("onpush"); len(execs) != 1 {
		t.Fatalf("executions %+v after a push of a preheated digest, want still one", execs)
	}
	// A new digest: a new execution.
	d2 := r.push("team/app", "", "v2")
	r.consume(c, func(tx meta.Tx) error { return pushEvent(tx, "team/app", d2, "v2") })
	execs = r.executions("onpush")
	if len(execs) != 2 || execs[0].Metrics.Success != 1 || r.tasks("onpush", execs[0].ID)[0].Digest != d2.String() {
		t.Fatalf("executions %+v after a new digest, want a second with its one task", execs)
	}
	// A manual run still preheats everything it selects.
	exec, err := r.svc.Start(t.Context(), alice, "team", "onpush")
	must(t, err)
	if e := r.finished("onpush", exec.ID); e.Metrics.Success != 2 {
		t.Fatalf("manual run of the event policy %+v, want both digests again", e)
	}
	// The public project's policy saw its own push.
	r.fake.mu.Lock()
	var sawPub bool
	for _, img := range r.fake.images {
		sawPub = sawPub || img.Digest == pub.String()
	}
	r.fake.mu.Unlock()
	if !sawPub {
		t.Fatal("pub's event-based policy did not preheat pub's push")
	}
}

// TestScanTrigger: a policy that filters on vulnerabilities leaves an
// unscanned push out, and fires when its scan completes clean enough;
// an event-based policy without that filter ignores scan events.
func TestScanTrigger(t *testing.T) {
	r := newRig(t, true)
	r.fake.set(func(f *fakeP2P) { f.running = 0 })
	in := r.instance("df")
	r.policy(preheat.Policy{Name: "safe", ProviderID: in.ID, Filters: preheat.Filters{Vulnerability: "High"},
		Trigger: preheat.Trigger{Type: preheat.TriggerEventBased}})
	r.policy(preheat.Policy{Name: "any", ProviderID: in.ID, Trigger: preheat.Trigger{Type: preheat.TriggerEventBased}})
	c := r.consumer()

	d := r.push("team/app", "", "v1")
	bad := r.push("team/app", "", "v2")
	r.consume(c, func(tx meta.Tx) error {
		return firstErr(pushEvent(tx, "team/app", d, "v1"), pushEvent(tx, "team/app", bad, "v2"))
	})
	if execs := r.executions("safe"); len(execs) != 0 {
		t.Fatalf("unscanned pushes ran the vulnerability-filtered policy: %+v", execs)
	}
	if execs := r.executions("any"); len(execs) != 1 || execs[0].Metrics.Success != 2 {
		t.Fatalf("the unfiltered policy: %+v, want one execution of both", execs)
	}
	r.scanned("team/app", d, "Low")
	r.scanned("team/app", bad, "Critical")
	r.consume(c, func(tx meta.Tx) error {
		return firstErr(scanEvent(tx, "team/app", d, "v1"), scanEvent(tx, "team/app", bad, "v2"))
	})
	execs := r.executions("safe")
	if len(execs) != 1 || execs[0].Trigger != preheat.ExecEvent || execs[0].Metrics.Success != 1 {
		t.Fatalf("after the scans: %+v, want one execution of the clean artifact", execs)
	}
	if tasks := r.tasks("safe", execs[0].ID); len(tasks) != 1 || tasks[0].Digest != d.String() {
		t.Fatalf("tasks %+v, want the clean artifact alone", tasks)
	}
	if execs := r.executions("any"); len(execs) != 1 {
		t.Fatalf("the unfiltered policy ran on scan events: %+v", execs)
	}
}
