package cluster

import (
	"crypto/rand"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/berthreg/berth/internal/eventually"
)

// gcRun is the admin API's view of a collection.
type gcRun struct {
	ID       uint64 `json:"id"`
	Status   string `json:"job_status"`
	Progress struct {
		Phase  string `json:"phase"`
		Report struct {
			DeletedManifests int `json:"deletedManifests"`
			DeletedBlobs     int `json:"deletedBlobs"`
			Skipped          int `json:"skipped"`
		} `json:"report"`
	} `json:"progress"`
}

// TestGCWhilePushing: a collection with no grace window, started through
// one instance's admin API, runs while clients push straight to the
// other instances images made of the very layers it is collecting (those
// of untagged manifests, found unreferenced by its mark phase). Pushes
// that lose the race fail cleanly and are pushed again; afterwards every
// tag in the registry, these and every other test's, pulls whole from
// every instance, and the collection did delete the garbage nobody
// pushed again.
func TestGCWhilePushing(t *testing.T) {
	c := need(t)
	cl := c.client(t)
	repo := cl.project(t, "lb-gc") + "/app"

	// Garbage: untagged images (pushed by digest) whose layers the
	// pushers below use again, and untagged images nobody uses again.
	var shared []v1.Layer
	for i := range 8 {
		img, err := random.Image(16<<10, 2)
		if err != nil {
			t.Fatal(err)
		}
		d, _ := img.Digest()
		if err := cl.push(t, c.host, repo+"@"+d.String(), img, 1); err != nil {
			t.Fatalf("push garbage %d: %v", i, err)
		}
		if i < 4 {
			ls, _ := img.Layers()
			shared = append(shared, ls...)
		}
	}
	var mu sync.Mutex
	reuse := func() (v1.Image, error) {
		mu.Lock()
		l := shared[randInt(len(shared))]
		mu.Unlock()
		fresh, err := random.Layer(1024, types.DockerLayer)
		if err != nil {
			return nil, err
		}
		img, err := mutate.AppendLayers(empty.Image, l, fresh)
		if err != nil {
			return nil, err
		}
		// A fresh config (and so manifest) each time.
		cf, _ := img.ConfigFile()
		cf = cf.DeepCopy()
		cf.Config.Labels = map[string]string{"n": rand.Text()}
		return mutate.ConfigFile(img, cf)
	}

	gcOn, pushOn := c.instances[0], c.instances[1:]
	a := newAcked()
	stop := make(chan struct{})
	stopOnce := sync.OnceFunc(func() { close(stop) })
	t.Cleanup(stopOnce)
	var waits []func()
	for i, in := range pushOn {
		waits = append(waits, cl.pushers(t, 2, in.host, repo, "i"+string(rune('a'+i)), 10, reuse, a, stop, stopOnce))
	}
	a.waitFor(t, 4, stop)

	h := cl.must(t, gcOn.url, "POST", "/system/gc/schedule",
		`{"schedule":{"type":"Manual"},"parameters":{"delete_untagged":true,"grace_minutes":-1}}`, nil, http.StatusCreated)
	loc := strings.TrimPrefix(h.Get("Location"), "/api/v2.0")
	var run gcRun
	eventually.True(t, "the collection "+loc+" to end", func() bool {
		cl.must(t, gcOn.url, "GET", loc, "", &run, http.StatusOK)
		return run.Status == "Success" || run.Status == "Error" || run.Status == "Stopped"
	})
	// Pushes go on after it, then stop.
	n := len(a.snapshot())
	a.waitFor(t, n+4, stop)
	stopOnce()
	for _, w := range waits {
		w()
	}
	if run.Status != "Success" {
		t.Fatalf("collection %s: %+v", loc, run)
	}
	rep := run.Progress.Report
	t.Logf("collection %d: deleted %d manifests, %d blobs, skipped %d in use again; %d pushes acknowledged; answers: %s",
		run.ID, rep.DeletedManifests, rep.DeletedBlobs, rep.Skipped, len(a.snapshot()), cl.rec)
	// The four images nobody reuses go, with their layers and configs.
	if rep.DeletedManifests < 4 || rep.DeletedBlobs < 4*3 {
		t.Errorf("the collection deleted %d manifests and %d blobs, want at least the 4 untagged images nobody reused (4 manifests, 12 blobs)",
			rep.DeletedManifests, rep.DeletedBlobs)
	}

	got := a.snapshot()
	for _, in := range c.instances {
		for tag, d := range got {
			cl.verify(t, in.host, repo+":"+tag, d)
		}
	}
	// Every tag of every repository, pulled through each instance.
	catalog, err := remote.Catalog(t.Context(), ref(t, c.host, "x:x").Context().Registry, cl.opts...)
	if err != nil {
		t.Fatal(err)
	}
	pulled := 0
	for _, r := range catalog {
		for _, tag := range cl.tags(t, c.host, r) {
			if strings.HasPrefix(tag, "sha256-") {
				continue // a tag-named attachment, not necessarily an image
			}
			desc, err := remote.Head(ref(t, c.host, r+":"+tag), cl.opts...)
			if err != nil {
				t.Errorf("HEAD %s:%s: %v", r, tag, err)
				continue
			}
			if !desc.MediaType.IsImage() {
				continue
			}
			for _, in := range c.instances {
				cl.verify(t, in.host, r+":"+tag, desc.Digest)
			}
			pulled++
		}
	}
	if tags := cl.tags(t, c.host, repo); !slices.Equal(tags, slices.Sorted(mapKeys(got))) {
		t.Errorf("%s has %d tags, want the %d acknowledged", repo, len(tags), len(got))
	}
	t.Logf("pulled every image tag of %d repositories (%d tags) from each of %d instances", len(catalog), pulled, len(c.instances))
}

// randInt is a random number in [0, n).
func randInt(n int) int {
	var b [1]byte
	_, _ = rand.Read(b[:])
	return int(b[0]) % n
}
