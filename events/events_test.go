package events

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/internal/txcount"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

func openStore(t *testing.T) meta.Store { return teststores.Open(t) }

// serve runs a registry over s with hooks.
func serve(t *testing.T, s meta.Store, hooks registry.Hooks) string {
	t.Helper()
	h, err := registry.New(memory.New(), s, registry.WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func logged(t *testing.T, s meta.Store) []meta.Event {
	t.Helper()
	var out []meta.Event
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		var err error
		out, err = tx.Events().List(0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRecorder: pushes, tag deletes and manifest deletes are logged in
// their transaction, pulls when sampled; a change whose transaction fails
// leaves neither the change nor its event.
func TestRecorder(t *testing.T) {
	s := openStore(t)
	bell := &Bell{}
	rec := newTestRecorder(t, s, WithRecorderBell(bell), WithPullSample(1))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = rec.Run(ctx) }()
	var refuse bool
	guard := registry.Hooks{
		Authorize: func(_ context.Context, ev *registry.Event) error { ev.Operator = "alice"; return nil },
		InTx: func(context.Context, meta.Tx, *registry.Event) error {
			if refuse {
				return errors.New("quota exceeded")
			}
			return nil
		},
	}
	host := serve(t, s, registry.Chain(guard, rec.Hooks()))
	ref, _ := name.ParseReference(host+"/team/app:v1", name.Insecure)
	img, _ := random.Image(256, 1)
	rung := bell.Wait()
	if err := remote.Write(ref, img, remote.WithAuth(nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-rung:
	case <-time.After(5 * time.Second):
		t.Error("the bell did not ring after a push")
	}
	d, _ := img.Digest()
	if _, err := remote.Get(ref); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the pull event", func() bool { return len(logged(t, s)) >= 3 })

	tagRef, _ := name.ParseReference(host+"/team/app:v1", name.Insecure)
	if err := remote.Delete(tagRef); err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(ref.Context().Digest(d.String())); err != nil {
		t.Fatal(err)
	}
	refuse = true
	if err := remote.Write(ref, img); err == nil {
		t.Error("the refused push succeeded")
	}

	evs := logged(t, s)
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	if want := []string{CreateRepository, PushArtifact, PullArtifact, DeleteTag, DeleteArtifact}; !slices.Equal(types, want) {
		t.Fatalf("logged %v, want %v", types, want)
	}
	if evs[0].Repository != "team/app" || evs[0].Operator != "alice" {
		t.Errorf("repository creation %+v", evs[0])
	}
	evs = evs[1:]
	push := evs[0]
	if push.Operator != "alice" || push.Repository != "team/app" || push.Project != "team" || push.Digest != d.String() ||
		push.Tag != "v1" || push.MediaType == "" || push.Size == 0 || push.Result != "success" || push.Seq == 0 {
		t.Errorf("push event %+v", push)
	}
	if evs[2].Tag != "v1" || evs[2].Digest != d.String() || evs[3].Digest != d.String() {
		t.Errorf("delete events %+v, %+v", evs[2], evs[3])
	}
}

func TestPullSampling(t *testing.T) {
	s := openStore(t)
	rec := newTestRecorder(t, s) // PullSample 0: pulls are not recorded
	host := serve(t, s, rec.Hooks())
	ref, _ := name.ParseReference(host+"/team/app:v1", name.Insecure)
	img, _ := random.Image(64, 1)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := remote.Get(ref); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(rec.pulls); n != 0 {
		t.Errorf("%d pulls queued with sampling off", n)
	}
	if evs := logged(t, s); len(evs) != 2 || evs[1].Type != PushArtifact {
		t.Errorf("%d events, want the repository's creation and the push only", len(evs))
	}
}

func appendEvents(t *testing.T, s meta.Store, repos ...string) {
	t.Helper()
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		for _, r := range repos {
			if _, err := tx.Events().Append(meta.Event{Type: PushArtifact, Repository: r}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestConsumerAtLeastOnce: a Func consumer sees every event in order; a
// failed batch is handed again; a new consumer with the same name resumes
// from the cursor; FromNow skips what was there.
func TestConsumerAtLeastOnce(t *testing.T) {
	s := openStore(t)
	appendEvents(t, s, "a/1", "a/2", "a/3")
	var mu sync.Mutex
	var seen []uint64
	fail := true
	hook := Func(func(_ context.Context, batch []meta.Event) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range batch {
			seen = append(seen, e.Seq)
		}
		if fail {
			fail = false
			return errors.New("receiver down")
		}
		return nil
	})
	c := newTestConsumer(t, s, "hook", hook, WithBatch(2))
	if _, err := c.Step(t.Context()); err == nil {
		t.Fatal("the failing batch reported success")
	}
	for {
		n, err := c.Step(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if want := []uint64{1, 2, 1, 2, 3}; !slices.Equal(seen, want) {
		t.Errorf("seen %v, want %v (the failed batch again, then the rest)", seen, want)
	}
	if cur, _ := Cursor(t.Context(), s, "hook"); cur != 3 {
		t.Errorf("cursor %d, want 3", cur)
	}
	// A restart resumes after the cursor.
	appendEvents(t, s, "a/4")
	seen = nil
	again := newTestConsumer(t, s, "hook", hook)
	if _, err := again.Step(t.Context()); err != nil || !slices.Equal(seen, []uint64{4}) {
		t.Errorf("after a restart: %v, %v", seen, err)
	}
	// FromNow: only later events.
	seen = nil
	late := newTestConsumer(t, s, "late", hook, WithFrom(FromNow))
	if n, err := late.Step(t.Context()); n != 0 || err != nil {
		t.Errorf("FromNow saw %d, %v", n, err)
	}
	appendEvents(t, s, "a/5")
	if _, err := late.Step(t.Context()); err != nil || !slices.Equal(seen, []uint64{5}) {
		t.Errorf("FromNow then: %v, %v", seen, err)
	}
}

// TestConsumerTxExactlyOnce: a Tx consumer's writes commit with its
// cursor: a failing batch writes nothing and is handed again.
func TestConsumerTxExactlyOnce(t *testing.T) {
	s := openStore(t)
	appendEvents(t, s, "a/1", "b/1")
	fail := true
	c := newTestConsumer(t, s, "jobs", TxFunc(func(_ context.Context, tx meta.Tx, batch []meta.Event) error {
		for _, e := range batch {
			if _, err := tx.Jobs().Enqueue(meta.Job{Kind: "deliver", Payload: []byte(e.Repository)}, time.Now()); err != nil {
				return err
			}
		}
		if fail {
			fail = false
			return errors.New("crash before the cursor moved")
		}
		return nil
	}))
	if _, err := c.Step(t.Context()); err == nil {
		t.Fatal("the failing batch reported success")
	}
	if n, err := c.Step(t.Context()); n != 2 || err != nil {
		t.Fatalf("second step: %d, %v", n, err)
	}
	var jobs []meta.Job
	_ = s.View(t.Context(), func(tx meta.Tx) error { jobs, _ = tx.Jobs().List(meta.JobFilter{}, 0, 0); return nil })
	if len(jobs) != 2 {
		t.Errorf("%d jobs enqueued, want exactly 2", len(jobs))
	}
}

// TestConsumerRunWakesOnBell: Run handles events as soon as the bell
// rings, with a poll far in the future.
func TestConsumerRunWakesOnBell(t *testing.T) {
	s := txcount.New(openStore(t))
	bell := &Bell{}
	got := make(chan uint64, 10)
	c := newTestConsumer(t, s, "fast", Func(func(_ context.Context, batch []meta.Event) error {
		for _, e := range batch {
			got <- e.Seq
		}
		return nil
	}), WithBell(bell), WithPoll(time.Hour))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = c.Run(ctx) }()
	// Once the first step has read the empty log, only the bell can bring
	// the event in before the hour's poll. (Run takes the bell's channel
	// before each step, so a ring during that step is not lost either.)
	eventually.True(t, "the first step", func() bool { return s.Views() >= 1 })
	appendEvents(t, s, "x/1")
	bell.Ring()
	select {
	case seq := <-got:
		if seq != 1 {
			t.Errorf("got %d", seq)
		}
	case <-time.After(time.Minute): // an hour short of the poll; only a failing test waits it out
		t.Fatal("the consumer did not wake on the bell")
	}
}

func TestNewConsumerRejects(t *testing.T) {
	s := openStore(t)
	nop := Func(func(context.Context, []meta.Event) error { return nil })
	for want, c := range map[string]struct {
		store meta.Store
		name  string
		h     Handler
		opts  []ConsumerOption
	}{
		"nil store":  {nil, "x", nop, nil},
		"empty name": {s, "", nop, nil},
		"no handler": {s, "x", nil, nil},
		"nil Func":   {s, "x", Func(nil), nil},
		"WithBatch":  {s, "x", nop, []ConsumerOption{WithBatch(-1)}},
		"WithPoll":   {s, "x", nop, []ConsumerOption{WithPoll(-time.Second)}},
		"WithRetry":  {s, "x", nop, []ConsumerOption{WithRetry(-time.Second)}},
	} {
		if _, err := NewConsumer(c.store, c.name, c.h, c.opts...); err == nil {
			t.Errorf("%s: accepted", want)
		}
	}
	if _, err := NewRecorder(s, WithPullSample(1.5)); err == nil || !strings.Contains(err.Error(), "WithPullSample") {
		t.Errorf("NewRecorder(WithPullSample(1.5)) = %v, want an error naming it", err)
	}
	if _, err := NewRecorder(nil); err == nil {
		t.Error("NewRecorder(nil) accepted")
	}
}

func newTestConsumer(t testing.TB, s meta.Store, name string, h Handler, opts ...ConsumerOption) *Consumer {
	t.Helper()
	c, err := NewConsumer(s, name, h, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestRecorder(t testing.TB, s meta.Store, opts ...RecorderOption) *Recorder {
	t.Helper()
	r, err := NewRecorder(s, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A pull a pull-through cache fetched from an upstream says which.
func TestPullEventNamesTheUpstream(t *testing.T) {
	ev := &registry.Event{Action: registry.ActionPullManifest, Repository: "hub/library/app", Tags: []string{"v1"}, Upstream: "dockerhub"}
	e, ok := FromRegistry(ev)
	if !ok || e.Type != PullArtifact || e.Details["upstream"] != "dockerhub" {
		t.Errorf("pull event %+v", e)
	}
	ev.Upstream = ""
	if e, _ := FromRegistry(ev); e.Details["upstream"] != "" {
		t.Errorf("a pull the cache served names an upstream: %+v", e)
	}
}
