package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage/memory"
)

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a local HTTP receiver answering status (settable).
type receiver struct {
	mu     sync.Mutex
	status int
	got    []received
	url    string
	// observe, when set, runs on each request before it is answered.
	observe func()
}

func newReceiver(t *testing.T, status int) *receiver {
	r := &receiver{status: status}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{req.Header.Clone(), b, time.Now()})
		st, observe := r.status, r.observe
		r.mu.Unlock()
		if observe != nil {
			observe()
		}
		w.WriteHeader(st)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

func (r *receiver) setStatus(s int) { r.mu.Lock(); r.status = s; r.mu.Unlock() }

// stack is a registry with the event recorder, the webhook dispatcher and
// a job runner with the deliverer, over one bbolt store.
type stack struct {
	store meta.Store
	host  string
	queue *jobs.Queue
}

func newStack(t *testing.T, opts jobs.KindOptions, policies ...Policy) *stack {
	t.Helper()
	return newGuardedStack(t, loopbackAllowed, opts, policies...)
}

// loopbackAllowed lets deliveries reach the tests' receivers on 127.0.0.1.
var loopbackAllowed = netguard.New(netguard.AllowNetworks(netip.MustParsePrefix("127.0.0.0/8")))

// newGuardedStack is newStack with deliveries checked by guard.
func newGuardedStack(t *testing.T, guard *netguard.Guard, opts jobs.KindOptions, policies ...Policy) *stack {
	t.Helper()
	s := teststores.Open(t)
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		for _, p := range policies {
			if err := PolicyRecords.In(tx).Put(p); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	bell := &events.Bell{}
	rec, err := events.NewRecorder(s, events.WithRecorderBell(bell))
	if err != nil {
		t.Fatal(err)
	}
	operator := registry.Hooks{Authorize: func(_ context.Context, ev *registry.Event) error { ev.Operator = "alice"; return nil }}
	h, err := registry.New(memory.New(), s, registry.WithHooks(registry.Chain(operator, rec.Hooks())))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	runner := testjobs.Runner(t, s, jobs.WithPoll(5*time.Millisecond))
	runner.Handle(JobKind, newDeliverer(t, s, host, WithGuard(guard)), opts)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = runner.Run(ctx) })
	d, err := Dispatcher(s, bell, runner.Wake, events.WithPoll(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	// The dispatcher's cursor starts at the end of the log: it exists
	// before anything is pushed.
	if err := d.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	return &stack{store: s, host: host, queue: testjobs.Queue(t, s, jobs.WithNotify(runner.Wake))}
}

func (s *stack) push(t *testing.T, ref string) string {
	t.Helper()
	r, err := name.ParseReference(s.host+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, _ := random.Image(128, 1)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

func (s *stack) deliveries(t *testing.T) []Delivery {
	t.Helper()
	var out []Delivery
	_ = s.store.View(context.Background(), func(tx meta.Tx) error { out, _ = DeliveryRecords.In(tx).List("", 0); return nil })
	return out
}

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// TestPushDelivered: a push reaches an HTTP target as Harbor's payload,
// field by field, signed and with the Authorization header; a CloudEvents
// target gets a valid CloudEvent; Slack gets a message; policies that do
// not match send nothing.
func TestPushDelivered(t *testing.T) {
	harbor, ce, slack, other := newReceiver(t, 200), newReceiver(t, 204), newReceiver(t, 200), newReceiver(t, 200)
	s := newStack(t, jobs.KindOptions{},
		Policy{Name: "deploy", Project: "team", Repositories: "team/app*", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
			Targets: []Target{
				{Type: "http", Address: harbor.url, AuthHeader: "Bearer hook-token", Secret: secret},
				{Type: "http", Address: ce.url, Format: "cloudevents", Secret: secret},
				{Type: "slack", Address: slack.url},
			}},
		Policy{Name: "off", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: false, Targets: []Target{{Type: "http", Address: other.url}}},
		Policy{Name: "deletes", EventTypes: []string{"DELETE_ARTIFACT"}, Enabled: true, Targets: []Target{{Type: "http", Address: other.url}}},
	)
	before := time.Now().Unix()
	dg := s.push(t, "team/app:v1")
	s.push(t, "team/db:v1") // outside the pattern
	eventually.True(t, "three deliveries", func() bool {
		return len(harbor.requests()) == 1 && len(ce.requests()) == 1 && len(slack.requests()) == 1
	})

	got := harbor.requests()[0]
	if err := Verify(got.header, secret, got.body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("the signature does not verify: %v", err)
	}
	if got.header.Get("Authorization") != "Bearer hook-token" || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", got.header)
	}
	var p struct {
		Type      string `json:"type"`
		OccurAt   int64  `json:"occur_at"`
		Operator  string `json:"operator"`
		EventData struct {
			Resources []struct {
				Digest      string `json:"digest"`
				Tag         string `json:"tag"`
				ResourceURL string `json:"resource_url"`
			} `json:"resources"`
			Repository struct {
				DateCreated  int64  `json:"date_created"`
				Name         string `json:"name"`
				Namespace    string `json:"namespace"`
				RepoFullName string `json:"repo_full_name"`
				RepoType     string `json:"repo_type"`
			} `json:"repository"`
		} `json:"event_data"`
	}
	if err := json.Unmarshal(got.body, &p); err != nil {
		t.Fatal(err)
	}
	res, repo := p.EventData.Resources, p.EventData.Repository
	if p.Type != "PUSH_ARTIFACT" || p.OccurAt < before || p.OccurAt > time.Now().Unix() || p.Operator != "alice" {
		t.Errorf("type/occur_at/operator: %s", got.body)
	}
	if len(res) != 1 || res[0].Digest != dg || res[0].Tag != "v1" || res[0].ResourceURL != s.host+"/team/app:v1" {
		t.Errorf("resources: %s", got.body)
	}
	if repo.Name != "app" || repo.Namespace != "team" || repo.RepoFullName != "team/app" || repo.RepoType != "private" || repo.DateCreated < before {
		t.Errorf("repository: %s", got.body)
	}

	cgot := ce.requests()[0]
	if err := Verify(cgot.header, secret, cgot.body, time.Now(), 5*time.Minute); err != nil {
		t.Errorf("the CloudEvent's signature: %v", err)
	}
	var event cloudevents.Event
	if err := json.Unmarshal(cgot.body, &event); err != nil {
		t.Fatalf("not a CloudEvent: %v: %s", err, cgot.body)
	}
	if err := event.Validate(); err != nil || event.SpecVersion() != "1.0" || event.Type() != "harbor.artifact.pushed" ||
		event.Subject() != "team/app" || cgot.header.Get("Content-Type") != "application/cloudevents+json" {
		t.Errorf("CloudEvent %v (%v)", event, err)
	}
	if !strings.Contains(string(event.Data()), dg) {
		t.Errorf("CloudEvent data: %s", event.Data())
	}
	if !strings.Contains(string(slack.requests()[0].body), "team/app:v1") {
		t.Errorf("Slack message: %s", slack.requests()[0].body)
	}
	if n := len(other.requests()); n != 0 {
		t.Errorf("a disabled or non-matching policy sent %d", n)
	}
	for _, d := range s.deliveries(t) {
		if len(d.Attempts) != 1 || d.Attempts[0].Status/100 != 2 || d.EventType != "PUSH_ARTIFACT" {
			t.Errorf("delivery log %+v", d)
		}
	}
}

// TestFailingReceiver: a receiver answering 500 gets retries on the
// queue's growing backoff schedule, then the delivery is a dead letter with
// every attempt logged; redelivery after the receiver recovers delivers it.
// A 4xx is not retried.
//
// The schedule is asserted as the queue records it (each attempt's
// not-before time, read while the attempt runs), against lower bounds only:
// a busy machine delays attempts, it never brings them forward. That the
// delays grow is Backoff's own test.
func TestFailingReceiver(t *testing.T) {
	down, gone := newReceiver(t, 500), newReceiver(t, 404)
	base := 40 * time.Millisecond
	s := newStack(t, jobs.KindOptions{MaxAttempts: 4, Backoff: base, MaxBackoff: time.Second},
		Policy{Name: "p", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
			Targets: []Target{{Type: "http", Address: down.url}, {Type: "http", Address: gone.url}}})
	var (
		mu       sync.Mutex
		schedule = map[uint64][]meta.Job{} // job id -> the job as each attempt ran
	)
	down.mu.Lock()
	down.observe = func() {
		running, err := s.queue.List(context.Background(), meta.JobFilter{Kind: JobKind, State: meta.JobRunning}, 0, 0)
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, j := range running {
			schedule[j.ID] = append(schedule[j.ID], j)
		}
	}
	down.mu.Unlock()
	s.push(t, "team/app:v1")
	dead := func() []meta.Job {
		js, _ := s.queue.List(context.Background(), meta.JobFilter{State: meta.JobDead}, 0, 0)
		return js
	}
	eventually.True(t, "two dead letters", func() bool { return len(dead()) == 2 })
	reqs := down.requests()
	if len(reqs) != 4 {
		t.Fatalf("%d attempts at the failing receiver, want 4", len(reqs))
	}
	if n := len(gone.requests()); n != 1 {
		t.Errorf("the 404 receiver got %d attempts, want 1", n)
	}
	var failing Delivery
	for _, d := range s.deliveries(t) {
		if d.Address == down.url {
			failing = d
		}
	}
	if len(failing.Attempts) != 4 || failing.Attempts[3].Status != 500 || failing.Attempts[3].Error == "" {
		t.Fatalf("delivery log %+v", failing)
	}
	mu.Lock()
	ran := schedule[failing.JobID]
	mu.Unlock()
	if len(ran) != 4 {
		t.Fatalf("the failing delivery's job was seen running %d times, want 4: %+v", len(ran), ran)
	}
	for i, j := range ran {
		if j.Attempts != i+1 {
			t.Errorf("request %d came from attempt %d", i+1, j.Attempts)
		}
		if reqs[i].at.Before(j.RunAt) {
			t.Errorf("attempt %d ran at %v, before its not-before time %v", i+1, reqs[i].at, j.RunAt)
		}
		if i == 0 {
			continue
		}
		// The retry was scheduled when the attempt before it ended, which
		// was after its request: at least the least backoff after that.
		least := min(base<<(i-1), time.Second) / 2
		if gap := j.RunAt.Sub(reqs[i-1].at); gap < least {
			t.Errorf("attempt %d was scheduled %v after attempt %d's request, under the backoff's least %v", i+1, gap, i, least)
		}
	}

	down.setStatus(200)
	id, err := Redeliver(t.Context(), s.queue, failing.ID)
	if err != nil || id != failing.ID {
		t.Fatalf("Redeliver = %q, %v", id, err)
	}
	eventually.True(t, "the redelivery", func() bool { return len(down.requests()) == 5 })
	eventually.True(t, "the delivery to succeed", func() bool {
		j, _ := s.queue.Get(context.Background(), failing.JobID)
		return j.State == meta.JobSucceeded
	})
	// A delivery that succeeded is sent again as a new delivery.
	again, err := Redeliver(t.Context(), s.queue, failing.ID)
	if err != nil || again == failing.ID {
		t.Fatalf("Redeliver of a delivered one = %q, %v", again, err)
	}
	eventually.True(t, "the second redelivery", func() bool { return len(down.requests()) == 6 })
}

func TestVerifyRefuses(t *testing.T) {
	body := []byte(`{"type":"PUSH_ARTIFACT"}`)
	h := http.Header{}
	now := time.Now()
	Sign(h, secret, "msg_1", now, body)
	if err := Verify(h, secret, body, now, time.Minute); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for what, c := range map[string]struct {
		body   []byte
		secret string
		now    time.Time
	}{
		"a changed body":  {[]byte(`{"type":"DELETE_ARTIFACT"}`), secret, now},
		"another secret":  {body, "whsec_b3RoZXIgc2VjcmV0", now},
		"an old delivery": {body, secret, now.Add(10 * time.Minute)},
	} {
		if err := Verify(h, c.secret, c.body, c.now, time.Minute); err == nil {
			t.Errorf("%s verified", what)
		}
	}
}

// FuzzVerify: whatever headers and body a receiver is handed, Verify never
// panics, and accepts only what Sign produced for that body.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	good := http.Header{}
	body := []byte(`{"type":"PUSH_ARTIFACT"}`)
	Sign(good, secret, "id-1", now, body)
	f.Add(good.Get(HeaderID), good.Get(HeaderTimestamp), good.Get(HeaderSignature), body)
	f.Add("", "x", "v1,", []byte{})
	f.Add("id", "1700000000", "v1,AAAA v2,BBBB", []byte("x"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, b []byte) {
		h := http.Header{}
		h.Set(HeaderID, id)
		h.Set(HeaderTimestamp, ts)
		h.Set(HeaderSignature, sig)
		if Verify(h, secret, b, now, time.Minute) == nil {
			want := http.Header{}
			sec, _ := strconv.ParseInt(ts, 10, 64)
			Sign(want, secret, id, time.Unix(sec, 0), b)
			if !strings.Contains(" "+sig+" ", " "+want.Get(HeaderSignature)+" ") {
				t.Fatalf("accepted a signature Sign did not make: %q", sig)
			}
		}
	})
}

func TestPruneDeliveries(t *testing.T) {
	s := teststores.Open(t)
	old := time.Now().Add(-30 * 24 * time.Hour)
	var running, done meta.Job
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		running, _ = tx.Jobs().Enqueue(meta.Job{Kind: JobKind}, old)
		done, _ = tx.Jobs().Enqueue(meta.Job{Kind: JobKind}, old)
		done.State = meta.JobSucceeded
		if err := tx.Jobs().Put(done); err != nil {
			return err
		}
		for _, d := range []Delivery{
			{ID: DeliveryID(running.ID), JobID: running.ID, CreatedAt: old},
			{ID: DeliveryID(done.ID), JobID: done.ID, CreatedAt: old},
			{ID: DeliveryID(99), JobID: 99, CreatedAt: old},          // its job was pruned
			{ID: DeliveryID(100), JobID: 100, CreatedAt: time.Now()}, // recent
		} {
			if err := DeliveryRecords.In(tx).Put(d); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	n, err := PruneDeliveries(t.Context(), s, time.Now().Add(-7*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("PruneDeliveries = %d, %v; want 2", n, err)
	}
	var left []Delivery
	_ = s.View(t.Context(), func(tx meta.Tx) error { left, _ = DeliveryRecords.In(tx).List("", 0); return nil })
	if len(left) != 2 || left[0].JobID != running.ID || left[1].JobID != 100 {
		t.Errorf("left %+v", left)
	}
}

func newDeliverer(t testing.TB, s meta.Store, host string, opts ...DelivererOption) *Deliverer {
	t.Helper()
	d, err := NewDeliverer(s, host, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewDelivererRejects(t *testing.T) {
	if _, err := NewDeliverer(nil, "registry.example"); err == nil {
		t.Error("NewDeliverer(nil store) accepted")
	}
	_, err := NewDeliverer(teststores.Open(t), "registry.example", WithTransport(http.DefaultTransport), WithGuard(loopbackAllowed))
	if err == nil || !strings.Contains(err.Error(), "WithTransport and WithGuard") {
		t.Errorf("WithTransport with WithGuard: %v, want an error naming both", err)
	}
}
