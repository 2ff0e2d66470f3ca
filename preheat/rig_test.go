package preheat_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/netguard"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/scan/engine"
)

// The principals of the rig: a system administrator, team's project
// administrator (alice), maintainer, developer, guest and limited guest,
// a signed-in user of no project (bob), team's robot, and anonymous.
var (
	admin = auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	alice = auth.Principal{Name: "alice", Kind: auth.User}
	mia   = auth.Principal{Name: "mia", Kind: auth.User}
	dev   = auth.Principal{Name: "dev", Kind: auth.User}
	gus   = auth.Principal{Name: "gus", Kind: auth.User}
	lim   = auth.Principal{Name: "lim", Kind: auth.User}
	bob   = auth.Principal{Name: "bob", Kind: auth.User}
	anon  = auth.AnonymousPrincipal
)

// registryURL is the external URL the rig's Service builds image URLs on.
const registryURL = "https://registry.example"

// rig is a Service over a real store (teststores: bbolt, or PostgreSQL
// under BERTH_TEST_META=postgres) with real accounts (projects "team",
// private, and "pub", public, both alice's), real labels and scan
// records, a real job queue and runner, and the in-test provider fake
// registered as vendor "fake".
type rig struct {
	t      *testing.T
	store  meta.Store
	m      *accounts.Manager
	labels *label.Service
	queue  *jobs.Queue
	runner *jobs.Runner
	svc    *preheat.Service
	fake   *fakeP2P
	arts   *storeArtifacts
	robot  auth.Principal
	cancel context.CancelFunc
	done   chan struct{}
}

func newRig(t *testing.T, run bool, opts ...preheat.Option) *rig {
	t.Helper()
	ctx := t.Context()
	store := teststores.Open(t)
	m, err := accounts.New(ctx, store, accounts.WithHashCost(bcrypt.MinCost), accounts.WithProjectCleanup(preheat.DeleteProject, label.DeleteProject))
	must(t, err)
	for _, u := range []string{"admin", "alice", "mia", "dev", "gus", "lim", "bob"} {
		must(t, m.SetUser(ctx, u, u+"-password", u == "admin"))
	}
	must(t, m.CreateProject(ctx, alice, "team", false))
	must(t, m.CreateProject(ctx, alice, "pub", true))
	for user, role := range map[string]rbac.Role{"mia": rbac.Maintainer, "dev": rbac.Developer, "gus": rbac.Guest, "lim": rbac.LimitedGuest} {
		_, err := m.AddMember(ctx, alice, "team", "user", user, role)
		must(t, err)
	}
	name, secret, err := m.CreateRobot(ctx, admin, accounts.RobotSpec{Project: "team", Name: "ci",
		Grants: []accounts.Grant{{Project: "team", Pattern: "team/**", Actions: []string{auth.ActionPull, auth.ActionPush}},
			{Project: "team", Resource: rbac.ResourceProject, Actions: []string{rbac.ActionRead, rbac.ActionUpdate}}}})
	must(t, err)
	robot, err := m.Authenticate(ctx, name, secret)
	must(t, err)
	labels, err := label.New(store, m.Authorizer(), m)
	must(t, err)

	r := &rig{t: t, store: store, m: m, labels: labels, fake: newFake(), robot: robot}
	r.runner = testjobs.Runner(t, store, jobs.WithPoll(20*time.Millisecond), jobs.WithWorkers(4))
	r.queue = testjobs.Queue(t, store, jobs.WithNotify(r.runner.Wake))
	r.arts = newStoreArtifacts(store)
	all := append([]preheat.Option{
		preheat.WithProvider("fake", r.fake.factory), preheat.WithRegistryURL(registryURL),
		preheat.WithPullCredentials(func(_ context.Context, repo string) (map[string]string, error) {
			return map[string]string{"Authorization": "Bearer pull-" + repo}, nil
		}),
		preheat.WithPolling(10*time.Millisecond, time.Minute), preheat.WithScheduler(r.runner),
	}, opts...)
	r.svc, err = preheat.New(store, r.queue, r.arts, all...)
	must(t, err)
	r.svc.Register(r.runner, jobs.KindOptions{Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if run {
		r.run()
	}
	return r
}

// run runs the job runner until the test ends.
func (r *rig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		_ = r.runner.Run(ctx)
	}()
	r.t.Cleanup(func() {
		cancel()
		<-r.done
	})
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Media types of the rig's artifacts.
const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociConfig   = "application/vnd.oci.image.config.v1+json"
	helmConfig  = "application/vnd.cncf.helm.config.v1+json"
)

// push stores a manifest of repo (an image unless artifactType says
// otherwise) tagged with tags, as a push records it, and returns its
// digest.
func (r *rig) push(repo, artifactType string, tags ...string) digest.Digest {
	r.t.Helper()
	d := digest.FromString(repo + "|" + artifactType + "|" + strings.Join(tags, ","))
	if artifactType == "" {
		artifactType = ociConfig
	}
	must(r.t, r.store.Update(context.Background(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure(repo); err != nil {
			return err
		}
		if err := tx.Manifests().Put(repo, meta.Manifest{Digest: d, MediaType: ociManifest, ArtifactType: artifactType, Size: 100}); err != nil {
			return err
		}
		for _, tag := range tags {
			if err := tx.Tags().Put(repo, tag, d); err != nil {
				return err
			}
		}
		return nil
	}))
	return d
}

// scanned records a successful scan of repo@d that found severity
// ("None" for nothing), as the scan engine keeps it.
func (r *rig) scanned(repo string, d digest.Digest, severity string) {
	r.t.Helper()
	must(r.t, r.store.Update(context.Background(), func(tx meta.Tx) error {
		return engine.Reports.In(tx).Put(engine.ScanReport{Repository: repo, Digest: d, Status: engine.ScanSuccess, Severity: severity,
			ScannedAt: time.Now().UTC()})
	}))
}

// label attaches a (new or existing) project label of team to repo@d.
func (r *rig) label(repo string, d digest.Digest, name string) {
	r.t.Helper()
	ctx := context.Background()
	ls, err := r.labels.List(ctx, alice, label.Filter{Scope: label.ProjectScope, Project: "team", Name: name})
	must(r.t, err)
	var id int64
	for _, l := range ls {
		if l.Name == name {
			id = l.ID
		}
	}
	if id == 0 {
		l, err := r.labels.Create(ctx, alice, label.Label{Name: name, Scope: label.ProjectScope, Project: "team"})
		must(r.t, err)
		id = l.ID
	}
	_, err = r.labels.Attach(ctx, alice, repo, d.String(), id)
	must(r.t, err)
}

// instance creates an enabled instance of the fake vendor as admin.
func (r *rig) instance(name string) preheat.Instance {
	r.t.Helper()
	in, err := r.svc.CreateInstance(context.Background(), admin, preheat.Instance{Name: name, Vendor: "fake",
		Endpoint: "https://" + name + ".p2p.example", AuthMode: preheat.AuthBasic,
		AuthInfo: map[string]string{"username": "harbor", "password": "s3cret-" + name}, Enabled: true})
	must(r.t, err)
	return in
}

// policy creates a policy of team as alice.
func (r *rig) policy(p preheat.Policy) preheat.Policy {
	r.t.Helper()
	if p.Project == "" {
		p.Project = "team"
	}
	if p.Trigger.Type == "" {
		p.Trigger.Type = preheat.TriggerManual
	}
	p.Enabled = true
	out, err := r.svc.CreatePolicy(context.Background(), alice, p)
	must(r.t, err)
	return out
}

// finished waits for execution id of policy name of team to end and
// returns it.
func (r *rig) finished(name string, id uint64) preheat.Execution {
	r.t.Helper()
	var e preheat.Execution
	eventually.Within(r.t, 30*time.Second, fmt.Sprintf("execution %d of %s ends", id, name), func() bool {
		var err error
		e, err = r.svc.Execution(context.Background(), alice, "team", name, id)
		must(r.t, err)
		return e.Status.Final()
	})
	return e
}

// tasks returns the tasks of execution id of policy name of team.
func (r *rig) tasks(name string, id uint64) []preheat.Task {
	r.t.Helper()
	ts, _, err := r.svc.Tasks(context.Background(), alice, "team", name, id, preheat.Page{})
	must(r.t, err)
	return ts
}

// storeArtifacts is the rig's Artifacts: preheat.StoreArtifacts over
// the real store (tags, manifests, label.Names, the scan engine's
// reports), with Signed an in-test set: package trust verifies cosign
// signatures, which needs keys, signing and a storage driver, and is
// tested in its own package; what matters here is how the Service uses
// the answer. fail, when set, makes listing fail.
type storeArtifacts struct {
	preheat.Artifacts
	mu sync.Mutex
	// signed holds "repo@digest" of the signed artifacts.
	signed map[string]bool
	// fail, when set, is the error the listings return.
	fail error
}

func newStoreArtifacts(store meta.Store) *storeArtifacts {
	a := &storeArtifacts{signed: map[string]bool{}}
	a.Artifacts = preheat.StoreArtifacts(store, func(_ context.Context, repo string, d digest.Digest) (bool, error) {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.signed[repo+"@"+d.String()], nil
	})
	return a
}

func (a *storeArtifacts) failing() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.fail
}

func (a *storeArtifacts) Repositories(ctx context.Context, project string) ([]string, error) {
	if err := a.failing(); err != nil {
		return nil, err
	}
	return a.Artifacts.Repositories(ctx, project)
}

func (a *storeArtifacts) Tagged(ctx context.Context, repo string) ([]preheat.Artifact, error) {
	if err := a.failing(); err != nil {
		return nil, err
	}
	return a.Artifacts.Tagged(ctx, repo)
}

// fakeP2P is the in-test provider (vendor "fake"). The real providers
// (preheat/dragonfly, preheat/kraken) are tested in their packages
// against their vendors' APIs; what is tested here is how the Service
// drives the Provider seam: what it asks, with which image URL and
// headers, how it polls, and what it records. Its health check is a real
// HTTP request through the Service's client when the endpoint is on
// 127.0.0.1 (to test the outbound guard and Insecure), else canned.
type fakeP2P struct {
	mu sync.Mutex
	// images are the images asked for, in order; endpoints the
	// endpoints providers were made from.
	images    []preheat.Image
	endpoints []preheat.Endpoint
	// healthErr is what Health answers off loopback.
	healthErr error
	// preheatFails is how many Preheat calls fail before they succeed;
	// preheatErr is their error.
	preheatFails int
	preheatErr   error
	// running is how many status reads a job is RUNNING before it ends
	// with final (and message); -1 keeps it running for ever.
	running int
	final   preheat.Status
	message string
	// reads counts the status reads per job.
	reads map[string]int
	next  int
}

func newFake() *fakeP2P {
	return &fakeP2P{running: 2, final: preheat.StatusSuccess, reads: map[string]int{}}
}

func (f *fakeP2P) factory(e preheat.Endpoint) (preheat.Provider, error) {
	if !strings.HasPrefix(e.URL, "http://") && !strings.HasPrefix(e.URL, "https://") {
		return nil, fmt.Errorf("%w: %q", preheat.ErrBadEndpoint, e.URL)
	}
	f.mu.Lock()
	f.endpoints = append(f.endpoints, e)
	f.mu.Unlock()
	return &fakeClient{f: f, e: e}, nil
}

// set changes the fake's behaviour under its lock.
func (f *fakeP2P) set(fn func(f *fakeP2P)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// asked returns the images asked for so far.
func (f *fakeP2P) asked() []preheat.Image {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]preheat.Image(nil), f.images...)
}

type fakeClient struct {
	f *fakeP2P
	e preheat.Endpoint
}

func (c *fakeClient) Health(ctx context.Context) error {
	if strings.Contains(c.e.URL, "://127.0.0.1") {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.e.URL+"/healthy", nil)
		if err != nil {
			return err
		}
		c.e.Authorize(req)
		resp, err := c.e.HTTPClient().Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health: %s", resp.Status)
		}
		return nil
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	return c.f.healthErr
}

func (c *fakeClient) Preheat(_ context.Context, img preheat.Image) (preheat.Job, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	if c.f.preheatFails > 0 {
		c.f.preheatFails--
		return preheat.Job{}, c.f.preheatErr
	}
	c.f.images = append(c.f.images, img)
	c.f.next++
	return preheat.Job{ID: fmt.Sprintf("job-%d", c.f.next), Status: preheat.StatusPending}, nil
}

func (c *fakeClient) Job(_ context.Context, id string) (preheat.Job, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.reads[id]++
	if c.f.running < 0 || c.f.reads[id] <= c.f.running {
		return preheat.Job{ID: id, Status: preheat.StatusRunning}, nil
	}
	return preheat.Job{ID: id, Status: c.f.final, Message: c.f.message}, nil
}

// loopbackGuard allows 127.0.0.1 (the tests' own servers).
func loopbackGuard() *netguard.Guard {
	g, err := netguard.Parse("127.0.0.1")
	if err != nil {
		panic(err)
	}
	return g
}
