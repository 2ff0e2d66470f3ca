package replication

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/berthreg/berth/registrytest"
)

func TestFilter(t *testing.T) {
	f := Filter{Repositories: []string{"team/**"}, ExcludeRepositories: []string{"team/tmp-*"}, Tags: []string{"v*"}, ExcludeTags: []string{"*-rc*"}}
	for repo, want := range map[string]bool{"team/app": true, "team/a/b": true, "team/tmp-1": false, "other/app": false} {
		if got := f.Repository(repo); got != want {
			t.Errorf("Repository(%q) = %v", repo, got)
		}
	}
	for tag, want := range map[string]bool{"v1": true, "v2.0": true, "v2-rc1": false, "latest": false} {
		if got := f.Tag(tag); got != want {
			t.Errorf("Tag(%q) = %v", tag, got)
		}
	}
	if (Filter{}).Repository("anything") != true || (Filter{}).Tag("anything") != true {
		t.Error("an empty filter does not match everything")
	}
	if err := (Filter{Tags: []string{"v["}}).Check(); err == nil {
		t.Error("a bad pattern passed Check")
	}
}

// TestCopy: a tagged image with a signature (a referrer) and a tagged
// index copy between two registries with their referrers and children;
// a second copy transfers no manifest.
func TestCopy(t *testing.T) {
	src, dst := registrytest.New(t), registrytest.New(t)
	ep := Endpoint{Insecure: true}
	ref := func(host, s string) name.Reference {
		r, err := name.ParseReference(host+"/"+s, name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	img, _ := random.Image(256, 2)
	if err := remote.Write(ref(src.Host, "team/app:v1"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	m, _ := img.Manifest()
	raw, _ := img.RawManifest()
	sigBase, _ := random.Image(64, 1)
	sig := mutate.Subject(sigBase, v1.Descriptor{MediaType: m.MediaType, Digest: d, Size: int64(len(raw))}).(v1.Image)
	sd, _ := sig.Digest()
	if err := remote.Write(ref(src.Host, "team/app@"+sd.String()), sig); err != nil {
		t.Fatal(err)
	}
	idx, _ := random.Index(128, 1, 2)
	if err := remote.WriteIndex(ref(src.Host, "team/app:multi"), idx); err != nil {
		t.Fatal(err)
	}

	res, err := Copy(t.Context(), ep, src.Host+"/team/app", ep, dst.Host+"/mirror/app", "v1", CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Copied) != 2 || res.Copied[0] != d || res.Copied[1] != sd {
		t.Errorf("copied %v, want the image then its signature", res.Copied)
	}
	got, err := remote.Image(ref(dst.Host, "mirror/app:v1"))
	if err != nil {
		t.Fatal(err)
	}
	if gd, _ := got.Digest(); gd != d {
		t.Errorf("destination digest %s, want %s", gd, d)
	}
	layers, _ := got.Layers()
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	refs, err := remote.Referrers(ref(dst.Host, "mirror/app@"+d.String()).Context().Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	if im, _ := refs.IndexManifest(); len(im.Manifests) != 1 || im.Manifests[0].Digest != sd {
		t.Errorf("destination referrers %+v", im)
	}
	if _, err := Copy(t.Context(), ep, src.Host+"/team/app", ep, dst.Host+"/mirror/app", "multi", CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	di, err := remote.Index(ref(dst.Host, "mirror/app:multi"))
	if err != nil {
		t.Fatal(err)
	}
	dim, _ := di.IndexManifest()
	for _, c := range dim.Manifests {
		if _, err := remote.Image(ref(dst.Host, "mirror/app@"+c.Digest.String())); err != nil {
			t.Errorf("index child %s: %v", c.Digest, err)
		}
	}

	again, err := Copy(t.Context(), ep, src.Host+"/team/app", ep, dst.Host+"/mirror/app", "v1", CopyOptions{})
	if err != nil || len(again.Copied) != 0 || len(again.Skipped) != 2 {
		t.Errorf("a second copy: %+v, %v", again, err)
	}
	if _, err := Copy(t.Context(), ep, src.Host+"/team/app", ep, dst.Host+"/mirror/app", "missing", CopyOptions{}); err == nil {
		t.Error("copying a missing tag succeeded")
	}
}

func TestDestinationRepository(t *testing.T) {
	for _, c := range []struct {
		ns      string
		flatten int
		in, out string
	}{
		{"", 0, "team/app", "team/app"},
		{"mirror", 0, "team/app", "mirror/team/app"},
		{"mirror", 1, "team/sub/app", "mirror/sub/app"},
		{"mirror", -1, "team/sub/app", "mirror/app"},
		{"", -1, "team/sub/app", "app"},
	} {
		if got := (Policy{Namespace: c.ns, Flatten: c.flatten}).DestinationRepository(c.in); got != c.out {
			t.Errorf("ns %q flatten %d: %s → %s, want %s", c.ns, c.flatten, c.in, got, c.out)
		}
	}
}

// TestRunPolicy: a run copies exactly the selected tags of the selected
// repositories under the mapped names, leaves a conflicting destination
// tag alone without Override, and copies nothing the second time.
func TestRunPolicy(t *testing.T) {
	src, dst := registrytest.New(t), registrytest.New(t)
	push := func(host, s string) v1.Image {
		t.Helper()
		r, _ := name.ParseReference(host+"/"+s, name.Insecure)
		img, _ := random.Image(64, 1)
		if err := remote.Write(r, img); err != nil {
			t.Fatal(err)
		}
		return img
	}
	for _, s := range []string{"team/app:v1", "team/app:v2-rc1", "team/app:latest", "team/db:v1", "other/app:v1"} {
		push(src.Host, s)
	}
	push(dst.Host, "mirror/db:v1") // something else already there
	p := Policy{Source: src.Host, Destination: dst.Host, SourceEndpoint: Endpoint{Insecure: true}, DestinationEndpoint: Endpoint{Insecure: true},
		Filter: Filter{Repositories: []string{"team/**"}, Tags: []string{"v*"}, ExcludeTags: []string{"*-rc*"}}, Namespace: "mirror", Flatten: 1}
	sum, err := Run(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Tags != 2 || sum.Copied != 1 || sum.Conflicts != 1 {
		t.Errorf("first run %+v, want 2 tags: team/app:v1 copied, team/db:v1 a conflict", sum)
	}
	dstTags, _ := remote.List(mustRepo(t, dst.Host+"/mirror/app"))
	if len(dstTags) != 1 || dstTags[0] != "v1" {
		t.Errorf("destination mirror/app tags %v, want [v1]", dstTags)
	}
	again, err := Run(t.Context(), p)
	if err != nil || again.Copied != 0 {
		t.Errorf("second run %+v, %v", again, err)
	}
	p.Override = true
	over, err := Run(t.Context(), p)
	if err != nil || over.Copied != 1 || over.Conflicts != 0 {
		t.Errorf("with override %+v, %v", over, err)
	}
}

func mustRepo(t *testing.T, s string) name.Repository {
	r, err := name.NewRepository(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBandwidthLimit: a 200 MiB image replicated by a policy whose speed
// is 100 MiB/s takes no less than the limit allows (the upper bound on
// speed is what a limit promises; how close to it the copy gets depends on
// the machine, and is logged).
func TestBandwidthLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MiB")
	}
	r := newRig(t)
	const size, limit = 200 << 20, 100 << 20
	layer, err := random.Layer(size, "application/vnd.oci.image.layer.v1.tar")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref(t, r.src.Host, "big/app:v1"), img); err != nil {
		t.Fatal(err)
	}
	r.policy(PolicyRecord{Name: "big", Destination: "dst", Speed: limit >> 10})
	e := r.wait(r.start("big"))
	tasks := r.tasks(e.ID)
	if e.Status != StatusSucceeded || len(tasks) != 1 || e.Bytes < size {
		t.Fatalf("execution %+v", e)
	}
	took := tasks[0].EndTime.Sub(tasks[0].StartTime)
	rate := float64(e.Bytes) / took.Seconds()
	t.Logf("%d bytes in %v: %.1f MiB/s against a limit of %d MiB/s", e.Bytes, took.Round(time.Millisecond), rate/(1<<20), limit>>20)
	if rate > limit*1.1 {
		t.Errorf("copied at %.1f MiB/s, over the %d MiB/s limit by more than 10%%", rate/(1<<20), limit>>20)
	}
}

// TestLowLimitHoldsFromTheFirstByte: under a limit lower than the read
// size the first read is not a free burst.
func TestLowLimitHoldsFromTheFirstByte(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(make([]byte, 96<<10))
	}))
	defer srv.Close()
	c := &http.Client{Transport: Limit(nil, 32<<10)}
	start := time.Now()
	res, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if took := time.Since(start); n != 96<<10 || took < 2*time.Second {
		t.Errorf("96 KiB at 32 KiB/s: %d bytes in %v, want at least 2s (the first 32 KiB may pass at once)", n, took)
	}
}
