package replication

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/testreg"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/registry/inproc"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/registrytest"
)

// rig is a local registry (recording events) with an engine and a job
// runner over its store, and a destination registry.
type rig struct {
	t        *testing.T
	src, dst *registrytest.Server
	eng      *Engine
	runner   *jobs.Runner
}

func newRig(t *testing.T, dstOpts ...registry.Option) *rig {
	t.Helper()
	return newRigWith(t, nil, dstOpts...)
}

// newRigWith is newRig with engOpts applied after the rig's engine
// options.
func newRigWith(t *testing.T, engOpts []EngineOption, dstOpts ...registry.Option) *rig {
	store := teststores.Open(t)
	rec, err := events.NewRecorder(store)
	if err != nil {
		t.Fatal(err)
	}
	src := testreg.Serve(t, store, registry.WithHooks(rec.Hooks()))
	dst := registrytest.New(t, dstOpts...)
	runner := testjobs.Runner(t, src.Metadata, jobs.WithName("test"), jobs.WithWorkers(4), jobs.WithPoll(20*time.Millisecond), jobs.WithLease(3*time.Second))
	eng, err := NewEngine(src.Metadata, testjobs.Queue(t, src.Metadata, jobs.WithNotify(runner.Wake)),
		append([]EngineOption{WithLocalTransport(inproc.New(src.Handler)), WithScheduler(runner), WithBlobRetries(1),
			WithOutboundGuard(loopback)}, engOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	eng.Register(runner, jobs.KindOptions{Limit: 4, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = runner.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	r := &rig{t: t, src: src, dst: dst, eng: eng, runner: runner}
	r.put(func(tx meta.Tx) error {
		return Registries.In(tx).Put(Registry{Name: "dst", URL: "http://" + dst.Host})
	})
	return r
}

func (r *rig) put(fn func(tx meta.Tx) error) {
	r.t.Helper()
	if err := r.src.Metadata.Update(context.Background(), fn); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) policy(p PolicyRecord) {
	r.t.Helper()
	p.Enabled = true
	if p.Trigger == "" {
		p.Trigger = TriggerManual
	}
	r.put(func(tx meta.Tx) error {
		if err := CheckPolicy(tx, p); err != nil {
			return err
		}
		return Policies.In(tx).Put(p)
	})
	if err := r.eng.Saved(p); err != nil {
		r.t.Fatal(err)
	}
}

func ref(t *testing.T, host, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// push writes a random image to host/s and returns its digest.
func push(t *testing.T, host, s string) v1.Hash {
	t.Helper()
	img, _ := random.Image(512, 2)
	if err := remote.Write(ref(t, host, s), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

// sign pushes a referrer of repo@d (an OCI 1.1 signature-like artifact)
// and a cosign-style attachment tag, and returns both digests.
func sign(t *testing.T, host, repo string, d v1.Hash) (v1.Hash, v1.Hash) {
	t.Helper()
	desc, err := remote.Head(ref(t, host, repo+"@"+d.String()))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := random.Image(64, 1)
	sig := mutate.Subject(base, v1.Descriptor{MediaType: desc.MediaType, Digest: d, Size: desc.Size}).(v1.Image)
	sd, _ := sig.Digest()
	if err := remote.Write(ref(t, host, repo+"@"+sd.String()), sig); err != nil {
		t.Fatal(err)
	}
	att, _ := random.Image(64, 1)
	ad, _ := att.Digest()
	if err := remote.Write(ref(t, host, repo+":"+naming.AttachmentTags(digest.Digest(d.String()))[0]), att); err != nil {
		t.Fatal(err)
	}
	return sd, ad
}

func (r *rig) execution(id uint64) Execution {
	r.t.Helper()
	var e Execution
	if err := r.src.Metadata.View(context.Background(), func(tx meta.Tx) error {
		var err error
		e, err = Executions.In(tx).Get(ExecutionKey(id))
		return err
	}); err != nil {
		r.t.Fatal(err)
	}
	return e
}

func (r *rig) tasks(id uint64) []Task {
	r.t.Helper()
	var ts []Task
	if err := r.src.Metadata.View(context.Background(), func(tx meta.Tx) error {
		var err error
		ts, err = ExecutionTasks(tx, id, 0, 0)
		return err
	}); err != nil {
		r.t.Fatal(err)
	}
	return ts
}

// wait waits for an execution to end and returns it.
func (r *rig) wait(id uint64) Execution {
	r.t.Helper()
	var e Execution
	eventually.True(r.t, "execution end", func() bool { e = r.execution(id); return e.Status.Final() })
	return e
}

func (r *rig) start(policy string) uint64 {
	r.t.Helper()
	e, err := r.eng.Start(context.Background(), policy)
	if err != nil {
		r.t.Fatal(err)
	}
	return e.ID
}

func tagsOf(t *testing.T, host, repo string) []string {
	t.Helper()
	tags, err := remote.List(ref(t, host, repo+":x").Context())
	if err != nil {
		return nil
	}
	slices.Sort(tags)
	return tags
}

// TestEnginePushWithFilters: a manual push execution copies exactly the
// tags its filters select, with their referrers and cosign attachments,
// one task per tag, and a second execution copies nothing.
func TestEnginePushWithFilters(t *testing.T) {
	r := newRig(t)
	v1d := push(t, r.src.Host, "team/app:v1")
	sd, ad := sign(t, r.src.Host, "team/app", v1d)
	push(t, r.src.Host, "team/app:v2-rc1")
	push(t, r.src.Host, "team/app:latest")
	push(t, r.src.Host, "team/db:v3")
	push(t, r.src.Host, "other/app:v1")
	r.policy(PolicyRecord{Name: "p", Destination: "dst", Repositories: []string{"team/**"},
		Tags: []string{"v*"}, ExcludeTags: []string{"*-rc*"}, Namespace: "mirror", Flatten: 1})

	e := r.wait(r.start("p"))
	if e.Status != StatusSucceeded || e.Total != 2 || e.Succeeded != 2 || e.Bytes == 0 {
		t.Fatalf("execution %+v, want 2 tasks succeeded with bytes; tasks %+v", e, r.tasks(e.ID))
	}
	if got := tagsOf(t, r.dst.Host, "mirror/app"); !slices.Equal(got, []string{"sha256-" + v1d.Hex + ".sig", "v1"}) {
		t.Errorf("mirror/app tags %v", got)
	}
	if got := tagsOf(t, r.dst.Host, "mirror/db"); !slices.Equal(got, []string{"v3"}) {
		t.Errorf("mirror/db tags %v", got)
	}
	if got := tagsOf(t, r.dst.Host, "mirror/other"); got != nil {
		t.Errorf("other/app replicated: %v", got)
	}
	for _, d := range []v1.Hash{sd, ad} {
		if _, err := remote.Head(ref(t, r.dst.Host, "mirror/app@"+d.String())); err != nil {
			t.Errorf("follower %s not at the destination: %v", d, err)
		}
	}
	for _, task := range r.tasks(e.ID) {
		if task.Status != StatusSucceeded || len(task.Log) < 2 || task.Attempts != 1 {
			t.Errorf("task %+v", task)
		}
	}

	again := r.wait(r.start("p"))
	if again.Status != StatusSucceeded || again.Artifacts != 0 {
		t.Errorf("second execution %+v, want nothing copied", again)
	}
	for _, task := range r.tasks(again.ID) {
		if task.Artifacts != 0 || task.Skipped == 0 {
			t.Errorf("second execution task copied: %+v", task)
		}
	}
}

// TestEngineFailureRetryAndStop: tasks against a destination that
// answers 500 fail after their attempts; once the endpoint is fixed, Retry
// re-runs only the failed tasks. Tasks against one that cannot be reached
// wait for it past their attempts and finish when it is back. Stop ends an
// execution whose tasks wait.
func TestEngineFailureRetryAndStop(t *testing.T) {
	r := newRig(t)
	push(t, r.src.Host, "team/a:v1")
	push(t, r.src.Host, "team/b:v1")
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer broken.Close()
	r.put(func(tx meta.Tx) error {
		return Registries.In(tx).Put(Registry{Name: "flaky", URL: broken.URL})
	})
	r.policy(PolicyRecord{Name: "p", Destination: "flaky", TaskAttempts: 2})
	id := r.start("p")
	e := r.wait(id)
	if e.Status != StatusFailed || e.Failed != 2 || !strings.Contains(e.StatusText, "2 of 2") {
		t.Fatalf("execution %+v, want 2 failed", e)
	}
	for _, task := range r.tasks(id) {
		if task.Attempts != 2 || task.Error == "" || !strings.Contains(strings.Join(task.Log, "\n"), "will retry") {
			t.Errorf("failed task %+v", task)
		}
	}
	// Fix the endpoint: the same policy now reaches the real destination.
	r.put(func(tx meta.Tx) error {
		return Registries.In(tx).Put(Registry{Name: "flaky", URL: "http://" + r.dst.Host})
	})
	n, err := r.eng.Retry(context.Background(), id)
	if err != nil || n != 2 {
		t.Fatalf("Retry: %d, %v", n, err)
	}
	e = r.wait(id)
	if e.Status != StatusSucceeded || e.Succeeded != 2 || e.Failed != 0 {
		t.Fatalf("after retry %+v", e)
	}
	if n, err := r.eng.Retry(context.Background(), id); err != nil || n != 0 {
		t.Errorf("second Retry: %d, %v (nothing failed)", n, err)
	}
	if got := tagsOf(t, r.dst.Host, "team/a"); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("team/a at the destination: %v", got)
	}

	// Unreachable: one attempt each, then the tasks wait; when the
	// endpoint leads somewhere they finish by themselves.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	deadURL := "http://" + closed.Addr().String()
	_ = closed.Close()
	r.put(func(tx meta.Tx) error {
		return Registries.In(tx).Put(Registry{Name: "dead", URL: deadURL})
	})
	push(t, r.src.Host, "team/c:v1")
	r.policy(PolicyRecord{Name: "wait", Destination: "dead", TaskAttempts: 1, Namespace: "later"})
	id = r.start("wait")
	eventually.True(t, "tasks waiting for the registry", func() bool {
		waiting := 0
		for _, task := range r.tasks(id) {
			if task.Status == StatusPending && task.Attempts >= 2 && strings.Contains(strings.Join(task.Log, "\n"), "unreachable") {
				waiting++
			}
		}
		return waiting == 3
	})
	if e := r.execution(id); e.Status != StatusInProgress || e.Failed != 0 {
		t.Errorf("execution while the registry is unreachable: %+v", e)
	}
	r.put(func(tx meta.Tx) error {
		return Registries.In(tx).Put(Registry{Name: "dead", URL: "http://" + r.dst.Host})
	})
	if e := r.wait(id); e.Status != StatusSucceeded || e.Succeeded != 3 {
		t.Errorf("after the registry came back: %+v", e)
	}
	if got := tagsOf(t, r.dst.Host, "later/team/c"); !slices.Equal(got, []string{"v1"}) {
		t.Errorf("later/team/c at the destination: %v", got)
	}

	// Stop: tasks waiting for an unreachable registry are stopped and
	// their jobs canceled.
	r.put(func(tx meta.Tx) error {
		return Registries.In(tx).Put(Registry{Name: "dead", URL: deadURL})
	})
	r.policy(PolicyRecord{Name: "stop", Destination: "dead", TaskAttempts: 100})
	id = r.start("stop")
	eventually.True(t, "tasks planned", func() bool { return r.execution(id).Planned })
	if err := r.eng.Stop(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	e = r.execution(id)
	if e.Status != StatusStopped || e.Stopped != 3 || e.InProgress != 0 {
		t.Errorf("stopped execution %+v", e)
	}
	if err := r.eng.Stop(context.Background(), id); err != ErrFinal {
		t.Errorf("second Stop: %v, want ErrFinal", err)
	}
	for _, task := range r.tasks(id) {
		j, err := r.eng.queue.Get(context.Background(), task.JobID)
		if err != nil || j.State.Active() {
			t.Errorf("task %d's job %d still %s after Stop (%v)", task.ID, task.JobID, j.State, err)
		}
	}
}

// TestEngineEventBased: pushes, deletions and a late signature reach the
// destination through the event log and the Consume trigger; filtered
// tags do not; a REPLICATION event ends each execution.
func TestEngineEventBased(t *testing.T) {
	r := newRig(t)
	r.policy(PolicyRecord{Name: "ev", Destination: "dst", Trigger: TriggerEvent, Tags: []string{"v*"}, ReplicateDeletion: true})
	c, err := events.NewConsumer(r.src.Metadata, ConsumerName, events.TxFunc(r.eng.Consume), events.WithPoll(20*time.Millisecond),
		events.WithDone(func([]meta.Event) { r.runner.Wake() }))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	d := push(t, r.src.Host, "team/app:v1")
	push(t, r.src.Host, "team/app:dev")
	eventually.True(t, "v1 replicated", func() bool { return slices.Equal(tagsOf(t, r.dst.Host, "team/app"), []string{"v1"}) })
	sd, _ := sign(t, r.src.Host, "team/app", d)
	eventually.True(t, "late signature replicated", func() bool {
		_, err := remote.Head(ref(t, r.dst.Host, "team/app@"+sd.String()))
		return err == nil
	})
	if err := remote.Delete(ref(t, r.src.Host, "team/app:v1")); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "tag deletion replicated", func() bool {
		return !slices.Contains(tagsOf(t, r.dst.Host, "team/app"), "v1")
	})
	if slices.Contains(tagsOf(t, r.dst.Host, "team/app"), "dev") {
		t.Error("the filtered tag dev was replicated")
	}
	var repl []meta.Event
	eventually.True(t, "REPLICATION events", func() bool {
		repl = repl[:0]
		_ = r.src.Metadata.View(context.Background(), func(tx meta.Tx) error {
			all, err := tx.Events().List(0, 0)
			for _, e := range all {
				if e.Type == events.Replication {
					repl = append(repl, e)
				}
			}
			return err
		})
		return len(repl) >= 3
	})
	for _, e := range repl {
		if e.Details["policy"] != "ev" || e.Details["trigger"] != "event_based" || e.Result != "success" {
			t.Errorf("REPLICATION event %+v", e)
		}
	}
}

// TestEnginePullAndSchedule: a scheduled pull policy copies from the
// remote registry into this one, with a label filter.
func TestEnginePullAndSchedule(t *testing.T) {
	r := newRig(t)
	labeled, _ := random.Image(128, 1)
	labeled, _ = mutate.Config(labeled, v1.Config{Labels: map[string]string{"tier": "prod"}})
	if err := remote.Write(ref(t, r.dst.Host, "up/app:v1"), labeled); err != nil {
		t.Fatal(err)
	}
	push(t, r.dst.Host, "up/app:v2") // no label
	r.policy(PolicyRecord{Name: "pull", Source: "dst", Trigger: TriggerScheduled, Cron: "* * * * * *",
		Labels: []string{"tier=prod"}, Namespace: "cache"})
	eventually.True(t, "scheduled pull", func() bool { return slices.Equal(tagsOf(t, r.src.Host, "cache/up/app"), []string{"v1"}) })
	r.policy(PolicyRecord{Name: "pull", Source: "dst", Trigger: TriggerManual})
	var ids []uint64
	_ = r.src.Metadata.View(context.Background(), func(tx meta.Tx) error {
		all, err := Executions.In(tx).List("", 0)
		for _, e := range all {
			if e.Trigger == TriggerScheduled {
				ids = append(ids, e.ID)
			}
		}
		return err
	})
	if len(ids) == 0 {
		t.Fatal("no scheduled execution recorded")
	}
	if e := r.wait(ids[0]); e.Status != StatusSucceeded {
		t.Errorf("scheduled execution %+v", e)
	}
}

// TestEngineMountsSharedBlobs: an image already copied to one destination
// repository is mounted, not sent again, into another (the destination
// refuses mounts from repositories without the blob).
func TestEngineMountsSharedBlobs(t *testing.T) {
	r := newRig(t, registry.WithAnonymousMount(false))
	img, _ := random.Image(256<<10, 2)
	for _, s := range []string{"team/a:v1", "team/b:v1"} {
		if err := remote.Write(ref(t, r.src.Host, s), img); err != nil {
			t.Fatal(err)
		}
	}
	r.policy(PolicyRecord{Name: "a", Destination: "dst", Repositories: []string{"team/a"}})
	r.policy(PolicyRecord{Name: "b", Destination: "dst", Repositories: []string{"team/b"}})
	first := r.wait(r.start("a"))
	second := r.wait(r.start("b"))
	if first.Status != StatusSucceeded || second.Status != StatusSucceeded {
		t.Fatalf("executions %+v %+v", first, second)
	}
	raw, _ := img.RawManifest()
	if first.Bytes < 512<<10 || second.Bytes > int64(len(raw)) {
		t.Errorf("first copy sent %d bytes, second %d: want the layers once, then only the %d-byte manifest", first.Bytes, second.Bytes, len(raw))
	}
	if _, err := remote.Image(ref(t, r.dst.Host, "team/b:v1")); err != nil {
		t.Error(err)
	}
}

// TestEngineRetriesBlobsWithinATask: the destination answers 503 to the
// first two blob data uploads (PATCH); with blob retries the task succeeds at
// its first attempt, without them it needs a second.
func TestEngineRetriesBlobsWithinATask(t *testing.T) {
	for _, c := range []struct {
		retries, attempts int
	}{{retries: 3, attempts: 1}, {retries: -1, attempts: 2}} {
		var engOpts []EngineOption
		if c.retries < 0 {
			engOpts = append(engOpts, WithBlobRetries(-1)) // no retries within a task at all
		}
		r := newRigWith(t, engOpts)
		target, _ := url.Parse("http://" + r.dst.Host)
		proxy := httputil.NewSingleHostReverseProxy(target)
		var failed atomic.Int32
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if req.Method == http.MethodPatch && failed.Load() < 2 {
				failed.Add(1)
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			proxy.ServeHTTP(w, req)
		}))
		push(t, r.src.Host, "team/app:v1")
		r.put(func(tx meta.Tx) error {
			return Registries.In(tx).Put(Registry{Name: "front", URL: front.URL})
		})
		p := PolicyRecord{Name: "p", Destination: "front", BlobRetries: c.retries, TaskAttempts: 3}
		if c.retries < 0 {
			p.BlobRetries = 0
		}
		r.policy(p)
		e := r.wait(r.start("p"))
		tasks := r.tasks(e.ID)
		// With retries the refusals are absorbed within the first attempt;
		// without, the task needs more than one (the refusals may fall in
		// one attempt or two: layers upload concurrently).
		ok := e.Status == StatusSucceeded && len(tasks) == 1 && failed.Load() == 2
		if ok && c.attempts == 1 {
			ok = tasks[0].Attempts == 1
		} else if ok {
			ok = tasks[0].Attempts >= 2
		}
		if !ok {
			t.Errorf("blob retries %d: execution %+v, tasks %+v (want attempts %s %d), %d refusals", c.retries, e, tasks, map[bool]string{true: "=", false: ">="}[c.attempts == 1], c.attempts, failed.Load())
		}
		front.Close()
	}
}

// TestEndpointTLS: an https endpoint is reached with its CA bundle, or
// with Insecure, and refused without either; malformed records name the
// field.
func TestEndpointTLS(t *testing.T) {
	dst := registrytest.New(t)
	srv := httptest.NewTLSServer(dst.Handler)
	defer srv.Close()
	ca := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))
	ctx := context.Background()
	if err := Ping(ctx, Registry{Name: "tls", URL: srv.URL, CACert: ca}, WithGuard(loopback)); err != nil {
		t.Errorf("with the CA bundle: %v", err)
	}
	if err := Ping(ctx, Registry{Name: "tls", URL: srv.URL, Insecure: true}, WithGuard(loopback)); err != nil {
		t.Errorf("insecure: %v", err)
	}
	if err := Ping(ctx, Registry{Name: "tls", URL: srv.URL}, WithGuard(loopback)); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("without trust: %v, want a certificate error", err)
	}
	// An https endpoint on a loopback address is never tried over plain
	// HTTP (go-containerregistry would fall back to it).
	plain := "https://" + dst.Host
	if err := Ping(ctx, Registry{Name: "plain", URL: plain, Insecure: true}, WithGuard(loopback)); err == nil || !strings.Contains(err.Error(), "refusing plain HTTP") {
		t.Errorf("https endpoint served over plain HTTP: %v, want a refusal", err)
	}
	for field, rec := range map[string]Registry{
		"url":    {Name: "x", URL: "ftp://h"},
		"caCert": {Name: "x", URL: srv.URL, CACert: "not pem"},
		"name":   {URL: srv.URL},
	} {
		if err := CheckEndpoint(rec, WithGuard(loopback)); err == nil || !strings.HasPrefix(err.Error(), field+":") {
			t.Errorf("%+v: %v, want an error naming %s", rec, err, field)
		}
	}
}
