package preheat_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/preheat"
)

// TestManualRun: a manual execution goes from Pending through its run
// job to one task per artifact; each task asks the provider with the
// image's URL on this registry, the pull headers and the policy's scope,
// polls the provider job until it succeeds, and logs what it did; the
// execution ends Success with its counts, and the provider was made
// from the instance with its (write-only) credentials.
func TestManualRun(t *testing.T) {
	r := newRig(t, true)
	ctx := t.Context()
	in := r.instance("df")
	v1 := r.push("team/app", "", "v1")
	v2 := r.push("team/app", "", "v2")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID, Scope: preheat.ScopeAllPeers})

	exec, err := r.svc.Start(ctx, alice, "team", "warm")
	must(t, err)
	if exec.ID == 0 || exec.Status != preheat.RunPending || exec.Trigger != preheat.ExecManual || exec.Operator != "alice" || exec.Project != "team" {
		t.Fatalf("Start = %+v", exec)
	}
	e := r.finished("warm", exec.ID)
	if e.Status != preheat.RunSuccess || e.Metrics != (preheat.Metrics{Total: 2, Success: 2}) || e.EndTime.IsZero() || e.InstanceID != in.ID {
		t.Fatalf("execution %+v, want Success with 2 successful tasks", e)
	}
	tasks := r.tasks("warm", exec.ID)
	if len(tasks) != 2 {
		t.Fatalf("tasks %+v, want 2", tasks)
	}
	digests := map[string]string{"v1": v1.String(), "v2": v2.String()}
	for _, task := range tasks {
		if task.Status != preheat.RunSuccess || task.ProviderJobID == "" || task.Polls != 3 || task.Digest != digests[task.Tag] ||
			task.Repository != "team/app" || task.StartTime.IsZero() || task.EndTime.IsZero() {
			t.Errorf("task %+v: want Success after 3 status reads", task)
		}
		log, err := r.svc.TaskLog(ctx, alice, "team", "warm", exec.ID, task.ID)
		must(t, err)
		for _, want := range []string{"queued", "requested from instance df", "is RUNNING", "succeeded"} {
			if !strings.Contains(log, want) {
				t.Errorf("log of task %d lacks %q:\n%s", task.ID, want, log)
			}
		}
		if strings.Contains(log, "s3cret") || strings.Contains(log, "Bearer") {
			t.Errorf("log of task %d shows a secret:\n%s", task.ID, log)
		}
	}
	images := r.fake.asked()
	slices.SortFunc(images, func(a, b preheat.Image) int { return strings.Compare(a.Tag, b.Tag) })
	if len(images) != 2 {
		t.Fatalf("provider asked for %+v, want 2 images", images)
	}
	for i, tag := range []string{"v1", "v2"} {
		img := images[i]
		if img.URL != registryURL+"/v2/team/app/manifests/"+tag || img.Headers["Authorization"] != "Bearer pull-team/app" ||
			img.Repository != "team/app" || img.Tag != tag || img.Digest != digests[tag] || img.Scope != preheat.ScopeAllPeers ||
			img.MediaType != ociManifest {
			t.Errorf("image %d: %+v", i, img)
		}
	}
	r.fake.mu.Lock()
	ep := r.fake.endpoints[len(r.fake.endpoints)-1]
	r.fake.mu.Unlock()
	if ep.URL != in.Endpoint || ep.AuthMode != preheat.AuthBasic || ep.AuthInfo["password"] != "s3cret-df" || ep.Client == nil {
		t.Errorf("provider made from %+v, want the instance with its password and the guarded client", ep)
	}
	list, n, err := r.svc.Executions(ctx, alice, "team", "warm", preheat.Page{})
	if err != nil || n != 1 || list[0].ID != exec.ID {
		t.Fatalf("Executions = %+v, %d, %v", list, n, err)
	}
	// A second manual run preheats everything again (no dedupe).
	again, err := r.svc.Start(ctx, alice, "team", "warm")
	must(t, err)
	if e := r.finished("warm", again.ID); e.Metrics.Success != 2 {
		t.Fatalf("second manual run %+v, want both artifacts again", e)
	}
	if list, _, _ := r.svc.Executions(ctx, alice, "team", "warm", preheat.Page{}); len(list) != 2 || list[0].ID != again.ID {
		t.Fatalf("Executions %+v, want the newest first", list)
	}
	_, err = r.svc.Execution(ctx, alice, "team", "warm", 1<<40)
	wantIs(t, "missing execution", err, preheat.ErrNotFound)
}

// TestProviderFailure: a provider job that fails fails its task with the
// provider's message, and the execution with it.
func TestProviderFailure(t *testing.T) {
	r := newRig(t, true)
	r.fake.set(func(f *fakeP2P) { f.running, f.final, f.message = 1, preheat.StatusFailed, "no seed peer reachable" })
	in := r.instance("df")
	r.push("team/app", "", "v1")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	exec, err := r.svc.Start(t.Context(), alice, "team", "warm")
	must(t, err)
	e := r.finished("warm", exec.ID)
	tasks := r.tasks("warm", exec.ID)
	if e.Status != preheat.RunError || e.Metrics != (preheat.Metrics{Total: 1, Error: 1}) || e.StatusMessage != "1 of 1 tasks failed" {
		t.Fatalf("execution %+v, want Error", e)
	}
	if len(tasks) != 1 || tasks[0].Status != preheat.RunError || tasks[0].Message != "no seed peer reachable" {
		t.Fatalf("tasks %+v, want one Error with the provider's message", tasks)
	}
}

// TestPreheatRequestRetries: a request the provider refuses is tried
// again through the queue (logged), and fails the task with the
// provider's error once TaskAttempts are used.
func TestPreheatRequestRetries(t *testing.T) {
	r := newRig(t, true)
	r.fake.set(func(f *fakeP2P) { f.running, f.preheatFails, f.preheatErr = 0, 1, errors.New("503 from the manager") })
	in := r.instance("df")
	r.push("team/app", "", "v1")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	exec, err := r.svc.Start(t.Context(), alice, "team", "warm")
	must(t, err)
	if e := r.finished("warm", exec.ID); e.Status != preheat.RunSuccess {
		t.Fatalf("execution %+v, want Success after one retry", e)
	}
	task := r.tasks("warm", exec.ID)[0]
	log, err := r.svc.TaskLog(t.Context(), alice, "team", "warm", exec.ID, task.ID)
	must(t, err)
	if !strings.Contains(log, "attempt 1 of 3 failed: preheat request to instance df (1): 503 from the manager; retrying") {
		t.Fatalf("log lacks the failed attempt:\n%s", log)
	}

	r.fake.set(func(f *fakeP2P) { f.preheatFails = preheat.TaskAttempts })
	exec, err = r.svc.Start(t.Context(), alice, "team", "warm")
	must(t, err)
	e := r.finished("warm", exec.ID)
	task = r.tasks("warm", exec.ID)[0]
	if e.Status != preheat.RunError || task.Status != preheat.RunError || !strings.Contains(task.Message, "503 from the manager") {
		t.Fatalf("execution %+v, task %+v: want Error with the provider's error", e, task)
	}
}

// TestTaskTimeout: a provider job that never ends fails its task once
// the task timeout has passed since the request, after status reads
// spaced by jobs (not by a goroutine waiting).
func TestTaskTimeout(t *testing.T) {
	r := newRig(t, true, preheat.WithPolling(5*time.Millisecond, 100*time.Millisecond))
	r.fake.set(func(f *fakeP2P) { f.running = -1 })
	in := r.instance("df")
	r.push("team/app", "", "v1")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	exec, err := r.svc.Start(t.Context(), alice, "team", "warm")
	must(t, err)
	e := r.finished("warm", exec.ID)
	task := r.tasks("warm", exec.ID)[0]
	if e.Status != preheat.RunError || task.Status != preheat.RunError || !strings.Contains(task.Message, "not done 100ms after it was requested") ||
		task.Polls < 1 {
		t.Fatalf("execution %+v, task %+v: want a timeout", e, task)
	}
	// Each status read was a job of its own.
	var reads int
	must(t, r.store.View(t.Context(), func(tx meta.Tx) error {
		js, err := tx.Jobs().List(meta.JobFilter{Kind: preheat.TaskKind}, 0, 0)
		reads = len(js)
		return err
	}))
	if reads != task.Polls+1 {
		t.Fatalf("%d task jobs for %d status reads and one request", reads, task.Polls)
	}
}

// TestStop: stopping an execution stops its tasks not yet ended and
// cancels their jobs; stopping it again changes nothing.
func TestStop(t *testing.T) {
	r := newRig(t, true)
	r.fake.set(func(f *fakeP2P) { f.running = -1 })
	in := r.instance("df")
	r.push("team/app", "", "v1")
	r.push("team/app", "", "v2")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	ctx := t.Context()
	exec, err := r.svc.Start(ctx, alice, "team", "warm")
	must(t, err)
	eventually.True(t, "both tasks run", func() bool {
		e, err := r.svc.Execution(ctx, alice, "team", "warm", exec.ID)
		must(t, err)
		return e.Metrics.Running == 2
	})
	e, err := r.svc.Stop(ctx, alice, "team", "warm", exec.ID)
	must(t, err)
	if e.Status != preheat.RunStopped || e.Metrics != (preheat.Metrics{Total: 2, Stopped: 2}) || e.StatusMessage != "stopped by alice" {
		t.Fatalf("stopped execution %+v", e)
	}
	for _, task := range r.tasks("warm", exec.ID) {
		j, err := r.queue.Get(ctx, task.JobID)
		if task.Status != preheat.RunStopped || (err == nil && j.State != meta.JobCanceled && j.State != meta.JobSucceeded) {
			t.Errorf("task %+v (job %+v, %v): want Stopped, its next job canceled", task, j, err)
		}
	}
	again, err := r.svc.Stop(ctx, alice, "team", "warm", exec.ID)
	if err != nil || again.Status != preheat.RunStopped || !again.EndTime.Equal(e.EndTime) {
		t.Fatalf("second Stop = %+v, %v; want it unchanged", again, err)
	}
	if e := r.finished("warm", exec.ID); e.Status != preheat.RunStopped || e.Metrics.Stopped != 2 {
		t.Fatalf("after the stop: %+v", e)
	}
}

// TestStopBeforePlanning: an execution stopped before its run job ran
// cancels the job; the execution stays Stopped with no task.
func TestStopBeforePlanning(t *testing.T) {
	r := newRig(t, false)
	in := r.instance("df")
	r.push("team/app", "", "v1")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	ctx := t.Context()
	exec, err := r.svc.Start(ctx, alice, "team", "warm")
	must(t, err)
	_, err = r.svc.Stop(ctx, admin, "team", "warm", exec.ID)
	must(t, err)
	j, err := r.queue.Get(ctx, exec.ID)
	if err != nil || j.State != meta.JobCanceled {
		t.Fatalf("run job %+v, %v: want canceled", j, err)
	}
	// Planning now (as a job taken over after a stop would) leaves it.
	r.run()
	must(t, r.queue.Retry(ctx, exec.ID))
	eventually.True(t, "the run job ends", func() bool {
		j, err := r.queue.Get(ctx, exec.ID)
		must(t, err)
		return !j.State.Active()
	})
	e, err := r.svc.Execution(ctx, alice, "team", "warm", exec.ID)
	if err != nil || e.Status != preheat.RunStopped || e.Metrics.Total != 0 || len(r.tasks("warm", exec.ID)) != 0 || len(r.fake.asked()) != 0 {
		t.Fatalf("execution %+v, %v: want it Stopped with no task", e, err)
	}
}

// TestUnhealthyInstance: an execution whose instance fails its health
// check fails without a task, and the instance's status says so.
func TestUnhealthyInstance(t *testing.T) {
	r := newRig(t, true)
	r.fake.set(func(f *fakeP2P) { f.healthErr = errors.New("connection refused") })
	in := r.instance("df")
	r.push("team/app", "", "v1")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	exec, err := r.svc.Start(t.Context(), alice, "team", "warm")
	must(t, err)
	e := r.finished("warm", exec.ID)
	if e.Status != preheat.RunError || !strings.Contains(e.StatusMessage, "is not healthy: connection refused") || e.Metrics.Total != 0 {
		t.Fatalf("execution %+v, want Error naming the health check", e)
	}
	if s := r.stored(in.ID); s.Status != preheat.Unhealthy {
		t.Fatalf("instance status %q, want Unhealthy", s.Status)
	}
	if len(r.fake.asked()) != 0 {
		t.Fatal("an unhealthy instance was asked to preheat")
	}
}

// TestStartRefusals: a disabled policy, or one whose instance is gone,
// does not start.
func TestStartRefusals(t *testing.T) {
	r := newRig(t, false)
	ctx := t.Context()
	in := r.instance("df")
	p := r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	p.Enabled = false
	_, err := r.svc.UpdatePolicy(ctx, alice, p)
	must(t, err)
	_, err = r.svc.Start(ctx, alice, "team", "warm")
	wantField(t, "disabled policy", err, "enabled")
	_, err = r.svc.Start(ctx, alice, "team", "nope")
	wantIs(t, "missing policy", err, preheat.ErrNotFound)
}

// TestNoRegistryURL: without WithRegistryURL a task fails saying so
// rather than asking the provider for an address it cannot reach.
func TestNoRegistryURL(t *testing.T) {
	r := newRig(t, true, preheat.WithRegistryURL(""))
	in := r.instance("df")
	r.push("team/app", "", "v1")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	exec, err := r.svc.Start(t.Context(), alice, "team", "warm")
	must(t, err)
	r.finished("warm", exec.ID)
	if task := r.tasks("warm", exec.ID)[0]; task.Status != preheat.RunError || !strings.Contains(task.Message, "WithRegistryURL") {
		t.Fatalf("task %+v, want Error naming WithRegistryURL", task)
	}
}

// TestSelectionFailure: when the artifacts cannot be listed, the run job
// is retried, then its execution fails saying why.
func TestSelectionFailure(t *testing.T) {
	r := newRig(t, true)
	r.arts.mu.Lock()
	r.arts.fail = errors.New("store unreachable")
	r.arts.mu.Unlock()
	in := r.instance("df")
	r.policy(preheat.Policy{Name: "warm", ProviderID: in.ID})
	exec, err := r.svc.Start(t.Context(), alice, "team", "warm")
	must(t, err)
	e := r.finished("warm", exec.ID)
	if e.Status != preheat.RunError || !strings.Contains(e.StatusMessage, "selecting the artifacts failed") || !strings.Contains(e.StatusMessage, "store unreachable") {
		t.Fatalf("execution %+v, want Error naming the failure", e)
	}
	j, err := r.queue.Get(context.Background(), exec.ID)
	if err != nil || j.Attempts != 3 {
		t.Fatalf("run job %+v, %v: want 3 attempts", j, err)
	}
}
