package replication_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/replication"
)

// serviceRig is a Service over a real bbolt store, with an engine whose
// scheduler is a job runner that does not run (its schedules are looked
// at, never fired).
type serviceRig struct {
	store  meta.Store
	runner *jobs.Runner
	svc    *replication.Service
	pinged []replication.Registry
}

func newService(t *testing.T) *serviceRig {
	t.Helper()
	store := teststores.Open(t)
	r := &serviceRig{store: store, runner: testjobs.Runner(t, store)}
	eng := newEngine(t, store, replication.WithScheduler(r.runner))
	svc, err := replication.NewService(store, eng, replication.WithPing(func(_ context.Context, rec replication.Registry) error {
		r.pinged = append(r.pinged, rec)
		if strings.Contains(rec.URL, "down") {
			return errors.New("connection refused")
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	r.svc = svc
	return r
}

func (r *serviceRig) put(t *testing.T, fn func(meta.Tx) error) {
	t.Helper()
	if err := r.store.Update(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

func (r *serviceRig) stored(t *testing.T, name string) replication.Registry {
	t.Helper()
	var rec replication.Registry
	if err := r.store.View(t.Context(), func(tx meta.Tx) error {
		var err error
		rec, err = replication.Registries.In(tx).Get(name)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return rec
}

// wantField checks err is ErrInvalid, a *FieldError about field.
func wantField(t *testing.T, what string, err error, field string) {
	t.Helper()
	var fe *replication.FieldError
	if !errors.Is(err, replication.ErrInvalid) || !errors.As(err, &fe) || fe.Field != field || fe.Reason == "" ||
		err.Error() != field+": "+fe.Reason {
		t.Errorf("%s: %v, want an ErrInvalid FieldError about %q", what, err, field)
	}
}

// wantErr checks err is kind with exactly the message msg.
func wantErr(t *testing.T, what string, err, kind error, msg string) {
	t.Helper()
	if !errors.Is(err, kind) || err.Error() != msg {
		t.Errorf("%s: %v, want %q (%v)", what, err, msg, kind)
	}
}

func TestNewServiceRefusesBadCombinations(t *testing.T) {
	store, other := teststores.Open(t), teststores.Open(t)
	for name, c := range map[string]struct {
		store meta.Store
		eng   *replication.Engine
		opts  []replication.ServiceOption
	}{
		"no store":      {nil, newEngine(t, store), nil},
		"no engine":     {store, nil, nil},
		"another store": {store, newEngine(t, other), nil},
		"nil ping":      {store, newEngine(t, store), []replication.ServiceOption{replication.WithPing(nil)}},
	} {
		if svc, err := replication.NewService(c.store, c.eng, c.opts...); err == nil || svc != nil {
			t.Errorf("%s: NewService = %v, %v; want an error", name, svc, err)
		}
	}
}

// TestNewEngineRefusesBadCombinations: an engine without a store or a
// queue, or with a queue over another store, is never made.
func TestNewEngineRefusesBadCombinations(t *testing.T) {
	store, other := teststores.Open(t), teststores.Open(t)
	for name, c := range map[string]struct {
		store meta.Store
		queue *jobs.Queue
		opts  []replication.EngineOption
		want  string
	}{
		"no store":      {nil, testjobs.Queue(t, store), nil, "store"},
		"no queue":      {store, nil, nil, "queue"},
		"another store": {store, testjobs.Queue(t, other), nil, "another store"},
		"attempts":      {store, testjobs.Queue(t, store), []replication.EngineOption{replication.WithTaskAttempts(-1)}, "WithTaskAttempts"},
	} {
		if eng, err := replication.NewEngine(c.store, c.queue, c.opts...); err == nil || eng != nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: NewEngine = %v, %v; want an error naming %s", name, eng, err, c.want)
		}
	}
}

// newEngine returns an engine over store with a queue there.
func newEngine(t testing.TB, store meta.Store, opts ...replication.EngineOption) *replication.Engine {
	t.Helper()
	eng, err := replication.NewEngine(store, testjobs.Queue(t, store), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

func TestServiceRegistries(t *testing.T) {
	r := newService(t)
	ctx := t.Context()

	// Refusals name the field; none is stored.
	for _, c := range []struct {
		rec   replication.Registry
		field string
	}{
		{replication.Registry{URL: "https://dc2.example"}, "name"},
		{replication.Registry{Name: "bad name", URL: "https://dc2.example"}, "name"},
		{replication.Registry{Name: strings.Repeat("n", 65), URL: "https://dc2.example"}, "name"},
		{replication.Registry{Name: "dc2", URL: "ftp://dc2.example"}, "url"},
		{replication.Registry{Name: "dc2", URL: "https://dc2.example/v2"}, "url"},
		{replication.Registry{Name: "dc2", URL: "https://user:pw@dc2.example"}, "url"},
		{replication.Registry{Name: "dc2", URL: "https://dc2.example", CACert: "not PEM"}, "caCert"},
	} {
		_, err := r.svc.CreateRegistry(ctx, c.rec)
		wantField(t, fmt.Sprintf("create %+v", c.rec), err, c.field)
	}
	// An internal address is refused by the engine's guard (none here:
	// nothing internal), the cause kept.
	_, err := r.svc.CreateRegistry(ctx, replication.Registry{Name: "dc2", URL: "http://127.0.0.1:5000"})
	wantField(t, "loopback", err, "url")
	if !errors.Is(err, netguard.ErrForbiddenAddress) {
		t.Errorf("loopback: %v, want it to wrap ErrForbiddenAddress", err)
	}
	if all, err := r.svc.Registries(ctx); err != nil || len(all) != 0 {
		t.Fatalf("after refusals: %v %v", all, err)
	}

	// Created: the password is stored, never returned.
	got, err := r.svc.CreateRegistry(ctx, replication.Registry{Name: "dc2", Type: "berth", URL: "https://dc2.example:5000",
		Username: "robot", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Password != "" || !got.HasPassword || got.Username != "robot" || got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("created: %+v", got)
	}
	if rec := r.stored(t, "dc2"); rec.Password != "s3cret" || rec.HasPassword {
		t.Errorf("stored: %+v", rec)
	}
	_, err = r.svc.CreateRegistry(ctx, replication.Registry{Name: "dc2", URL: "https://other.example"})
	wantErr(t, "create again", err, replication.ErrExists, "registry dc2 exists")
	if got, err := r.svc.Registry(ctx, "dc2"); err != nil || got.Password != "" || !got.HasPassword || got.URL != "https://dc2.example:5000" {
		t.Errorf("get: %+v %v", got, err)
	}
	_, err = r.svc.Registry(ctx, "nothere")
	wantErr(t, "get a missing one", err, meta.ErrNotFound, "registry nothere not found")
	all, err := r.svc.Registries(ctx)
	if err != nil || len(all) != 1 || all[0].Password != "" || !all[0].HasPassword {
		t.Errorf("list: %+v %v", all, err)
	}

	// Updates keep the password when asked, and the creation time.
	created := r.stored(t, "dc2").CreatedAt
	upd := all[0]
	upd.Description = "second site"
	if _, err := r.svc.UpdateRegistry(ctx, upd, true); err != nil {
		t.Fatal(err)
	}
	if rec := r.stored(t, "dc2"); rec.Password != "s3cret" || rec.Description != "second site" || !rec.CreatedAt.Equal(created) ||
		!rec.UpdatedAt.After(created) {
		t.Errorf("after an update keeping the password: %+v", rec)
	}
	upd.Password = "new"
	if _, err := r.svc.UpdateRegistry(ctx, upd, false); err != nil || r.stored(t, "dc2").Password != "new" {
		t.Errorf("after a new password: %+v %v", r.stored(t, "dc2"), err)
	}
	upd.URL = "gopher://dc2"
	_, err = r.svc.UpdateRegistry(ctx, upd, true)
	wantField(t, "update with a bad url", err, "url")
	if rec := r.stored(t, "dc2"); rec.URL != "https://dc2.example:5000" {
		t.Errorf("a refused update changed the endpoint: %+v", rec)
	}
	_, err = r.svc.UpdateRegistry(ctx, replication.Registry{Name: "nothere", URL: "https://x.example"}, false)
	wantErr(t, "update a missing one", err, meta.ErrNotFound, "registry nothere not found")

	// Ping: the stored password when asked; failures say so.
	if err := r.svc.PingRegistry(ctx, replication.Registry{Name: "dc2", URL: "https://dc2.example:5000", Username: "robot"}, true); err != nil {
		t.Fatal(err)
	}
	if p := r.pinged[len(r.pinged)-1]; p.Password != "new" || p.Username != "robot" {
		t.Errorf("pinged %+v, want the stored password", p)
	}
	err = r.svc.PingRegistry(ctx, replication.Registry{Name: "x", URL: "https://down.example"}, false)
	wantErr(t, "ping a registry that is down", err, replication.ErrPingFailed, "ping https://down.example: connection refused")
	wantField(t, "ping a bad url", r.svc.PingRegistry(ctx, replication.Registry{Name: "x", URL: "ftp://h"}, false), "url")
	err = r.svc.PingRegistry(ctx, replication.Registry{Name: "nothere", URL: "https://x.example"}, true)
	wantErr(t, "ping with a missing stored password", err, meta.ErrNotFound, "registry nothere not found")
	n := len(r.pinged)

	// An endpoint a policy uses is not deleted.
	if _, err := r.svc.CreatePolicy(ctx, replication.PolicyRecord{Name: "push", Destination: "dc2", Trigger: replication.TriggerManual}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete while used", r.svc.DeleteRegistry(ctx, "dc2"), replication.ErrInUse, "registry dc2 is used by replication policy push")
	if err := r.svc.DeletePolicy(ctx, "push"); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.DeleteRegistry(ctx, "dc2"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "delete again", r.svc.DeleteRegistry(ctx, "dc2"), meta.ErrNotFound, "registry dc2 not found")
	if len(r.pinged) != n {
		t.Errorf("refused pings reached the pinger")
	}
}

func TestServicePolicies(t *testing.T) {
	r := newService(t)
	ctx := t.Context()
	if _, err := r.svc.CreateRegistry(ctx, replication.Registry{Name: "dc2", URL: "https://dc2.example"}); err != nil {
		t.Fatal(err)
	}
	valid := replication.PolicyRecord{Name: "p", Destination: "dc2", Trigger: replication.TriggerManual}
	for _, c := range []struct {
		change func(*replication.PolicyRecord)
		field  string
	}{
		{func(p *replication.PolicyRecord) { p.Name = "" }, "name"},
		{func(p *replication.PolicyRecord) { p.Name = "a/b" }, "name"},
		{func(p *replication.PolicyRecord) { p.Destination = "" }, "source, destination"},
		{func(p *replication.PolicyRecord) { p.Source = "dc2" }, "source, destination"},
		{func(p *replication.PolicyRecord) { p.Destination = "nothere" }, "destination"},
		{func(p *replication.PolicyRecord) { p.Source, p.Destination = "nothere", "" }, "source"},
		{func(p *replication.PolicyRecord) { p.Repositories = []string{"team/["} }, "repositories"},
		{func(p *replication.PolicyRecord) { p.ExcludeTags = []string{"["} }, "excludeTags"},
		{func(p *replication.PolicyRecord) { p.Labels = []string{"=v"} }, "labels"},
		{func(p *replication.PolicyRecord) { p.ArtifactTypes = []string{"a/["} }, "artifactTypes"},
		{func(p *replication.PolicyRecord) { p.Trigger = "hourly" }, "trigger"},
		{func(p *replication.PolicyRecord) { p.Trigger = replication.TriggerScheduled }, "cron"},
		{func(p *replication.PolicyRecord) { p.Trigger, p.Cron = replication.TriggerScheduled, "every day" }, "cron"},
		{func(p *replication.PolicyRecord) {
			p.Trigger, p.Source, p.Destination = replication.TriggerEvent, "dc2", ""
		}, "trigger"},
		{func(p *replication.PolicyRecord) { p.Namespace = "Bad Space" }, "namespace"},
		{func(p *replication.PolicyRecord) { p.Flatten = -2 }, "flatten"},
		{func(p *replication.PolicyRecord) { p.Speed = -1 }, "speed"},
		{func(p *replication.PolicyRecord) { p.TaskAttempts = -1 }, "taskAttempts"},
		{func(p *replication.PolicyRecord) { p.BlobRetries = -1 }, "blobRetries"},
	} {
		rec := valid
		c.change(&rec)
		_, err := r.svc.CreatePolicy(ctx, rec)
		wantField(t, fmt.Sprintf("create %+v", rec), err, c.field)
	}
	if all, err := r.svc.Policies(ctx); err != nil || len(all) != 0 {
		t.Fatalf("after refusals: %+v %v", all, err)
	}

	// Created and scheduled; the name is taken.
	sched := valid
	sched.Trigger, sched.Cron, sched.Enabled, sched.CreatedBy = replication.TriggerScheduled, "0 0 3 * * *", true, "alice"
	got, err := r.svc.CreatePolicy(ctx, sched)
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedBy != "alice" || got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("created: %+v", got)
	}
	if spec, _, ok := r.runner.ScheduleOf(replication.ScheduleName("p")); !ok || spec != "0 0 3 * * *" {
		t.Errorf("schedule after create: %q %v", spec, ok)
	}
	_, err = r.svc.CreatePolicy(ctx, valid)
	wantErr(t, "create again", err, replication.ErrExists, "replication policy p exists")
	// The name is checked before the rest; a taken name before the rest.
	_, err = r.svc.CreatePolicy(ctx, replication.PolicyRecord{Name: "p"})
	wantErr(t, "create an invalid policy of a taken name", err, replication.ErrExists, "replication policy p exists")

	// Updates keep the creator and creation time; the schedule follows.
	upd := valid
	upd.CreatedBy = "mallory"
	if got, err := r.svc.UpdatePolicy(ctx, upd); err != nil || got.CreatedBy != "alice" || !got.CreatedAt.Equal(r.policy(t, "p").CreatedAt) {
		t.Errorf("update: %+v %v", got, err)
	}
	if rec := r.policy(t, "p"); rec.CreatedBy != "alice" || rec.Trigger != replication.TriggerManual || !rec.UpdatedAt.After(rec.CreatedAt) {
		t.Errorf("stored after the update: %+v", rec)
	}
	if _, _, ok := r.runner.ScheduleOf(replication.ScheduleName("p")); ok {
		t.Error("a manual policy is still scheduled")
	}
	bad := valid
	bad.Trigger = replication.TriggerScheduled
	_, err = r.svc.UpdatePolicy(ctx, bad)
	wantField(t, "update without a cron", err, "cron")
	missing := valid
	missing.Name = "nothere"
	_, err = r.svc.UpdatePolicy(ctx, missing)
	wantErr(t, "update a missing one", err, meta.ErrNotFound, "replication policy nothere not found")
	_, err = r.svc.Policy(ctx, "nothere")
	wantErr(t, "get a missing one", err, meta.ErrNotFound, "replication policy nothere not found")

	// Not deleted while an execution runs; its executions are kept.
	if _, err := r.svc.UpdatePolicy(ctx, sched); err != nil {
		t.Fatal(err)
	}
	exec := replication.Execution{ID: 99, Policy: "p", Trigger: replication.TriggerManual, Status: replication.StatusInProgress, StartTime: time.Now()}
	r.put(t, func(tx meta.Tx) error { return replication.Executions.In(tx).Put(exec) })
	wantErr(t, "delete while running", r.svc.DeletePolicy(ctx, "p"), replication.ErrInUse,
		"replication policy p has execution 99 in progress (stop it first)")
	exec.Status = replication.StatusSucceeded
	r.put(t, func(tx meta.Tx) error { return replication.Executions.In(tx).Put(exec) })
	if err := r.svc.DeletePolicy(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.runner.ScheduleOf(replication.ScheduleName("p")); ok {
		t.Error("a deleted policy is still scheduled")
	}
	if _, err := r.svc.Execution(ctx, 99); err != nil {
		t.Errorf("the deleted policy's execution: %v", err)
	}
	wantErr(t, "delete again", r.svc.DeletePolicy(ctx, "p"), meta.ErrNotFound, "replication policy p not found")
}

func (r *serviceRig) policy(t *testing.T, name string) replication.PolicyRecord {
	t.Helper()
	rec, err := r.svc.Policy(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestServiceExecutions(t *testing.T) {
	r := newService(t)
	ctx := t.Context()
	if _, err := r.svc.CreateRegistry(ctx, replication.Registry{Name: "dc2", URL: "https://dc2.example"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"push", "other"} {
		if _, err := r.svc.CreatePolicy(ctx, replication.PolicyRecord{Name: name, Destination: "dc2", Trigger: replication.TriggerManual}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.svc.Start(ctx, "nothere")
	wantErr(t, "start a missing policy", err, meta.ErrNotFound, "replication policy nothere not found")
	var ids []uint64
	for _, name := range []string{"push", "push", "other"} {
		e, err := r.svc.Start(ctx, name)
		if err != nil || e.Status != replication.StatusInProgress || e.Trigger != replication.TriggerManual {
			t.Fatalf("start %s: %+v %v", name, e, err)
		}
		ids = append(ids, e.ID)
	}

	// Listing: newest first, filtered, paged, with the total.
	list, total, err := r.svc.Executions(ctx, replication.ExecutionFilter{Policy: "push"}, replication.Page{})
	if err != nil || total != 2 || len(list) != 2 || list[0].ID != ids[1] || list[1].ID != ids[0] {
		t.Errorf("push's executions: %+v %d %v", list, total, err)
	}
	list, total, err = r.svc.Executions(ctx, replication.ExecutionFilter{}, replication.Page{Offset: 1, Limit: 1})
	if err != nil || total != 3 || len(list) != 1 || list[0].ID != ids[1] {
		t.Errorf("page 2 of 1: %+v %d %v", list, total, err)
	}
	if list, total, err := r.svc.Executions(ctx, replication.ExecutionFilter{}, replication.Page{Offset: 10, Limit: 5}); err != nil || total != 3 || len(list) != 0 {
		t.Errorf("past the end: %+v %d %v", list, total, err)
	}
	_, _, err = r.svc.Executions(ctx, replication.ExecutionFilter{Status: "Done"}, replication.Page{})
	wantField(t, "an unknown status", err, "status")
	_, _, err = r.svc.Executions(ctx, replication.ExecutionFilter{Trigger: "hourly"}, replication.Page{})
	wantField(t, "an unknown trigger", err, "trigger")
	_, _, err = r.svc.Executions(ctx, replication.ExecutionFilter{}, replication.Page{Offset: -1})
	wantField(t, "a negative offset", err, "page")

	// Stop, then stop again: it has ended.
	if err := r.svc.Stop(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	if e, err := r.svc.Execution(ctx, ids[0]); err != nil || e.Status != replication.StatusStopped || e.EndTime.IsZero() {
		t.Errorf("stopped: %+v %v", e, err)
	}
	wantErr(t, "stop again", r.svc.Stop(ctx, ids[0]), replication.ErrFinal, fmt.Sprintf("replication execution %d has ended (Stopped)", ids[0]))
	wantErr(t, "stop a missing one", r.svc.Stop(ctx, 123456), meta.ErrNotFound, "replication execution 123456 not found")
	list, _, err = r.svc.Executions(ctx, replication.ExecutionFilter{Status: replication.StatusStopped}, replication.Page{})
	if err != nil || len(list) != 1 || list[0].ID != ids[0] {
		t.Errorf("stopped executions: %+v %v", list, err)
	}

	// Tasks as the engine leaves them: paged, by status; their logs;
	// retried when failed.
	const id = 1000
	r.put(t, func(tx meta.Tx) error {
		if err := replication.Executions.In(tx).Put(replication.Execution{ID: id, Policy: "push", Status: replication.StatusFailed,
			Planned: true, Total: 5, Succeeded: 3, Failed: 2}); err != nil {
			return err
		}
		for i := range 5 {
			task := replication.Task{ID: uint64(id + 1 + i), Execution: id, JobID: uint64(id + 1 + i), Operation: "copy",
				Repository: "team/app", Tag: fmt.Sprintf("v%d", i), Destination: "team/app", Status: replication.StatusSucceeded}
			if i >= 3 {
				task.Status, task.Error = replication.StatusFailed, "connection refused"
			}
			if i == 0 {
				task.Log = []string{"line one", "line two"}
			}
			if err := replication.Tasks.In(tx).Put(task); err != nil {
				return err
			}
		}
		return replication.Tasks.In(tx).Put(replication.Task{ID: 10011, Execution: id + 1, Status: replication.StatusFailed})
	})
	tasks, total, err := r.svc.Tasks(ctx, id, "", replication.Page{Offset: 2, Limit: 2})
	if err != nil || total != 5 || len(tasks) != 2 || tasks[0].ID != id+3 || tasks[1].ID != id+4 {
		t.Errorf("tasks page 2: %+v %d %v", tasks, total, err)
	}
	tasks, total, err = r.svc.Tasks(ctx, id, replication.StatusFailed, replication.Page{})
	if err != nil || total != 2 || tasks[0].ID != id+4 || tasks[1].ID != id+5 {
		t.Errorf("failed tasks: %+v %d %v", tasks, total, err)
	}
	_, _, err = r.svc.Tasks(ctx, id, "Done", replication.Page{})
	wantField(t, "tasks of an unknown status", err, "status")
	_, _, err = r.svc.Tasks(ctx, 5000, "", replication.Page{})
	wantErr(t, "tasks of a missing execution", err, meta.ErrNotFound, "replication execution 5000 not found")
	if log, err := r.svc.TaskLog(ctx, id, id+1); err != nil || strings.Join(log, "|") != "line one|line two" {
		t.Errorf("log: %q %v", log, err)
	}
	_, err = r.svc.TaskLog(ctx, id, 10011)
	wantErr(t, "the log of another execution's task", err, meta.ErrNotFound, "task 10011 of replication execution 1000 not found")
	if n, err := r.svc.Retry(ctx, id); err != nil || n != 2 {
		t.Errorf("retry: %d %v", n, err)
	}
	if n, err := r.svc.Retry(ctx, id); err != nil || n != 0 {
		t.Errorf("retry again: %d %v", n, err)
	}
	_, err = r.svc.Retry(ctx, 5000)
	wantErr(t, "retry a missing execution", err, meta.ErrNotFound, "replication execution 5000 not found")
}

// TestServiceGuard: the engine's guard decides which endpoint addresses
// the service accepts.
func TestServiceGuard(t *testing.T) {
	store := teststores.Open(t)
	eng := newEngine(t, store, replication.WithOutboundGuard(netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8")))))
	svc, err := replication.NewService(store, eng)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateRegistry(t.Context(), replication.Registry{Name: "local", URL: "http://127.0.0.1:5000"}); err != nil {
		t.Errorf("an allowed loopback endpoint: %v", err)
	}
	_, err = svc.CreateRegistry(t.Context(), replication.Registry{Name: "meta", URL: "http://169.254.169.254"})
	wantField(t, "a link-local endpoint", err, "url")
}
