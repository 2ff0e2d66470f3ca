package preheat_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta/bolt"
	"github.com/berthreg/berth/preheat"
	"github.com/berthreg/berth/scan"
)

// catalog is a host's Artifacts: here, a fixed list of images.
type catalog []preheat.Artifact

func (c catalog) Repositories(_ context.Context, project string) ([]string, error) {
	return []string{project + "/app"}, nil
}

func (c catalog) Tagged(_ context.Context, repo string) ([]preheat.Artifact, error) { return c, nil }

func (c catalog) Labels(context.Context, string, string) ([]string, error) { return nil, nil }

func (c catalog) Signed(context.Context, string, string) (bool, error) { return false, nil }

func (c catalog) Severity(context.Context, string, string) (scan.Severity, bool, error) {
	return "", false, nil
}

// instant is a provider whose preheats finish at once.
type instant struct {
	mu  *sync.Mutex
	got *[]string
}

func (p instant) Health(context.Context) error { return nil }

func (p instant) Preheat(_ context.Context, img preheat.Image) (preheat.Job, error) {
	p.mu.Lock()
	*p.got = append(*p.got, img.URL)
	p.mu.Unlock()
	return preheat.Job{ID: "1", Status: preheat.StatusSuccess}, nil
}

func (p instant) Job(context.Context, string) (preheat.Job, error) {
	return preheat.Job{}, errors.New("finished at once")
}

// A system administrator registers a provider instance; a project
// administrator creates a policy and runs it; the job runner runs the
// execution, one task per image.
func Example() {
	dir, err := os.MkdirTemp("", "berth-preheat-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		panic(err)
	}
	defer store.Close()
	ctx := context.Background()
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	alice := auth.Principal{Name: "alice", Kind: auth.User}
	m, err := accounts.New(ctx, store)
	if err != nil {
		panic(err)
	}
	if err := m.CreateProject(ctx, alice, "team", false); err != nil { // alice administers team
		panic(err)
	}

	// ended hears of every job attempt the runner finishes: the example
	// reads the execution again after each, instead of sleeping.
	ended := make(chan struct{}, 1)
	runner, _ := jobs.NewRunner(store, jobs.WithPoll(10*time.Millisecond), jobs.WithObserver(func(jobs.Attempt) {
		select {
		case ended <- struct{}{}:
		default:
		}
	}))
	queue, _ := jobs.NewQueue(store, jobs.WithNotify(runner.Wake))
	var (
		mu  sync.Mutex
		got []string
	)
	images := catalog{
		{Repository: "team/app", Tag: "v1", Digest: "sha256:1111", MediaType: "application/vnd.oci.image.manifest.v1+json"},
		{Repository: "team/app", Tag: "v2", Digest: "sha256:2222", MediaType: "application/vnd.oci.image.manifest.v1+json"},
	}
	svc, err := preheat.New(store, queue, images, preheat.WithRegistryURL("https://registry.example"),
		preheat.WithProvider("dragonfly", func(preheat.Endpoint) (preheat.Provider, error) { return instant{&mu, &got}, nil }))
	if err != nil {
		panic(err)
	}
	svc.Register(runner, jobs.KindOptions{})
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = runner.Run(rctx) }()
	defer func() { stop(); <-done }()

	in, err := svc.CreateInstance(ctx, admin, preheat.Instance{Name: "df", Vendor: "dragonfly", Endpoint: "https://df.example",
		AuthMode: preheat.AuthOAuth, AuthInfo: map[string]string{"token": "s3cret"}, Enabled: true})
	fmt.Println(in.Name, in.Status, in.AuthInfo["token"] == "", err)

	_, err = svc.CreatePolicy(ctx, alice, preheat.Policy{Name: "warm", Project: "team", ProviderID: in.ID,
		Filters: preheat.Filters{Tag: "v*"}, Trigger: preheat.Trigger{Type: preheat.TriggerManual}, Enabled: true})
	fmt.Println(err)
	exec, _ := svc.Start(ctx, alice, "team", "warm")
	for !exec.Status.Final() {
		<-ended
		exec, _ = svc.Execution(ctx, alice, "team", "warm", exec.ID)
	}
	fmt.Println(exec.Trigger, exec.Status, exec.Metrics.Success, "of", exec.Metrics.Total)
	mu.Lock()
	fmt.Println(len(got), "preheated, e.g.", got[0][:len("https://registry.example/v2/team/app/manifests/")]+"…")
	mu.Unlock()
	// Output:
	// df Unknown true <nil>
	// <nil>
	// MANUAL Success 2 of 2
	// 2 preheated, e.g. https://registry.example/v2/team/app/manifests/…
}

// The filters' names select tags of repositories inside the policy's
// project, as the event trigger does with what is pushed.
func ExampleFilters_Names() {
	f := preheat.Filters{Repository: "app*", Tag: "v*"}
	fmt.Println(f.Names("team", "team/app", "v1"), f.Names("team", "team/app", "latest"), f.Names("team", "other/app", "v1"))
	// Output: true false false
}
