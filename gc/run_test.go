package gc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/storage/memory"
)

// live is a registry over memory storage and bbolt, and its collector.
type live struct {
	host  string
	store meta.Store
	drv   *memory.Driver
	gc    *Collector
}

func start(t *testing.T) *live {
	t.Helper()
	s := teststores.Open(t)
	drv := memory.New()
	h, err := registry.New(drv, s, registry.WithDeletes(true))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewCollector(s, drv)
	if err != nil {
		t.Fatal(err)
	}
	return &live{host: strings.TrimPrefix(srv.URL, "http://"), store: s, drv: drv, gc: c}
}

func (l *live) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(l.host+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// objects lists storage's content-addressed objects.
func (l *live) objects(t *testing.T) []string {
	t.Helper()
	var out []string
	if err := l.drv.Walk(t.Context(), "blobs", func(fi storage.FileInfo) error { out = append(out, fi.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// pullAll pulls ref and reads every layer, checking digests.
func pullAll(ref name.Reference) error {
	img, err := remote.Image(ref)
	if err != nil {
		return err
	}
	if _, err := img.ConfigFile(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		want, _ := l.Digest()
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return err
		}
		if got := fmt.Sprintf("sha256:%x", h.Sum(nil)); got != want.String() {
			return fmt.Errorf("layer %s read back as %s", want, got)
		}
	}
	return nil
}

// signature is an artifact manifest whose subject is img.
func signature(t *testing.T, img v1.Image) v1.Image {
	t.Helper()
	sig, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	d, _ := img.Digest()
	raw, _ := img.RawManifest()
	return mutate.Subject(sig, v1.Descriptor{MediaType: m.MediaType, Digest: d, Size: int64(len(raw))}).(v1.Image)
}

// TestDryRunThenRun: a dry run deletes nothing and reports exactly what
// the real run then deletes: the untagged image and its signature, their
// blobs and an orphan object; the tagged image, its signature, an index
// with its children all pull completely afterwards.
func TestDryRunThenRun(t *testing.T) {
	l := start(t)
	keep, _ := random.Image(256, 2)
	drop, _ := random.Image(256, 2)
	idx, _ := random.Index(128, 1, 2)
	for ref, img := range map[string]v1.Image{"team/app:keep": keep, "team/app:drop": drop} {
		if err := remote.Write(l.ref(t, ref), img); err != nil {
			t.Fatal(err)
		}
	}
	if err := remote.WriteIndex(l.ref(t, "team/app:multi"), idx); err != nil {
		t.Fatal(err)
	}
	for ref, img := range map[string]v1.Image{"keep-sig": signature(t, keep), "drop-sig": signature(t, drop)} {
		d, _ := img.Digest()
		if err := remote.Write(l.ref(t, "team/app@"+d.String()), img); err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
	}
	if err := remote.Delete(l.ref(t, "team/app:drop")); err != nil {
		t.Fatal(err)
	}
	// An orphan: bytes in storage no metadata knows (a crash before the link).
	orphan := []byte("orphaned by a crash")
	od := digest.FromBytes(orphan)
	fw, _ := l.drv.Writer(t.Context(), storage.BlobPath(od), 0)
	_, _ = fw.Write(orphan)
	if err := fw.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}

	before := l.objects(t)
	opts := Options{DeleteUntagged: true, Grace: -1}
	dry := opts
	dry.DryRun = true
	plan, err := l.gc.Run(t.Context(), dry)
	if err != nil {
		t.Fatal(err)
	}
	if after := l.objects(t); !slices.Equal(after, before) {
		t.Fatalf("a dry run changed storage: %d objects, then %d", len(before), len(after))
	}
	if len(plan.Plan.Manifests) != 2 || plan.FreedBytes == 0 {
		t.Fatalf("dry run plan: %+v", plan.Plan)
	}
	rep, err := l.gc.Run(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if rep.DeletedManifests != len(plan.Plan.Manifests) || rep.DeletedBlobs != len(plan.Plan.Blobs) || rep.Skipped != 0 {
		t.Errorf("real run %+v differs from the dry run's plan (%d manifests, %d blobs)", rep, len(plan.Plan.Manifests), len(plan.Plan.Blobs))
	}
	if rep.DeletedOrphans != 1 {
		t.Errorf("orphans deleted: %d, want 1", rep.DeletedOrphans)
	}
	after := l.objects(t)
	gone := map[string]bool{}
	for _, p := range before {
		if !slices.Contains(after, p) {
			gone[p] = true
		}
	}
	want := map[string]bool{storage.BlobPath(od): true}
	for _, m := range plan.Plan.Manifests {
		want[storage.BlobPath(m.Digest)] = true
	}
	for _, b := range plan.Plan.Blobs {
		want[storage.BlobPath(b.Digest)] = true
	}
	if fmt.Sprint(gone) != fmt.Sprint(want) {
		t.Errorf("deleted from storage:\n %v\nwant exactly what the dry run planned:\n %v", gone, want)
	}

	if err := pullAll(l.ref(t, "team/app:keep")); err != nil {
		t.Errorf("the tagged image: %v", err)
	}
	ii, err := remote.Index(l.ref(t, "team/app:multi"))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := ii.IndexManifest()
	for _, c := range im.Manifests {
		if err := pullAll(l.ref(t, "team/app@"+c.Digest.String())); err != nil {
			t.Errorf("index child %s: %v", c.Digest, err)
		}
	}
	kd, _ := keep.Digest()
	refs, err := remote.Referrers(l.ref(t, "team/app@"+kd.String()).Context().Digest(kd.String()))
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := refs.IndexManifest()
	if len(rm.Manifests) != 1 {
		t.Fatalf("the kept image's referrers: %d, want its signature", len(rm.Manifests))
	}
	if err := pullAll(l.ref(t, "team/app@"+rm.Manifests[0].Digest.String())); err != nil {
		t.Errorf("the kept image's signature: %v", err)
	}
	dd, _ := drop.Digest()
	if _, err := remote.Image(l.ref(t, "team/app@"+dd.String())); err == nil {
		t.Error("the untagged image is still there")
	}
	// A second run finds nothing.
	again, err := l.gc.Run(t.Context(), opts)
	if err != nil || again.DeletedManifests+again.DeletedBlobs+again.DeletedOrphans != 0 {
		t.Errorf("a second run: %+v, %v", again, err)
	}
}

// TestConcurrentPushesSurviveCollection: goroutines push images sharing
// layers, delete tags and push again while collections with no grace
// window run in a loop; afterwards every tagged image pulls completely,
// and a final collection leaves nothing unreferenced behind.
func TestConcurrentPushesSurviveCollection(t *testing.T) {
	l := start(t)
	shared := make([]v1.Layer, 4)
	for i := range shared {
		shared[i], _ = random.Layer(512, types.OCILayer)
	}
	image := func(i int) v1.Image {
		own, _ := random.Layer(256, types.OCILayer)
		img, err := mutate.AppendLayers(mustRandom(t), shared[i%len(shared)], own)
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	ctx, cancel := context.WithCancel(t.Context())
	var collector sync.WaitGroup
	var gcErr error
	runs := 0
	collector.Go(func() {
		for ctx.Err() == nil {
			if _, err := l.gc.Run(ctx, Options{DeleteUntagged: true, Grace: -1}); err != nil && ctx.Err() == nil {
				gcErr = err
				return
			}
			runs++
			time.Sleep(2 * time.Millisecond) // room for pushes to finish between runs
		}
	})
	var mu sync.Mutex
	tagged := map[string]bool{}
	failed := 0
	var pushers sync.WaitGroup
	for w := range 4 {
		pushers.Go(func() {
			for i := range 12 {
				tag := fmt.Sprintf("team/app%d:t%d", w, i%3)
				// A clean failure is allowed, and the client pushes again
				// (blobs collected between upload and manifest are
				// uploaded again); a broken image never is: the pulls
				// below check.
				img := image(w*100 + i)
				var err error
				for try := 0; try < 50; try++ {
					if err = remote.Write(l.ref(t, tag), img); err == nil {
						break
					}
					mu.Lock()
					failed++
					mu.Unlock()
				}
				if err != nil {
					mu.Lock()
					delete(tagged, tag) // its earlier image went with the tag's move
					mu.Unlock()
					continue
				}
				mu.Lock()
				tagged[tag] = true
				mu.Unlock()
				if i%4 == 3 {
					if err := remote.Delete(l.ref(t, tag)); err == nil {
						mu.Lock()
						delete(tagged, tag)
						mu.Unlock()
					}
				}
			}
		})
	}
	pushers.Wait()
	cancel()
	collector.Wait()
	if gcErr != nil {
		t.Fatalf("collection failed: %v", gcErr)
	}
	if runs == 0 {
		t.Fatal("no collection ran during the pushes")
	}
	if len(tagged) < 4 {
		t.Fatalf("only %d tags survived the pushes: the test checks too little", len(tagged))
	}
	// Every tag still there pulls completely.
	for tag := range tagged {
		if err := pullAll(l.ref(t, tag)); err != nil {
			t.Errorf("%s after collections: %v\n%s", tag, err, l.explain(t, tag))
		}
	}
	// A final collection leaves only what tags reach.
	if _, err := l.gc.Run(t.Context(), Options{DeleteUntagged: true, Grace: -1}); err != nil {
		t.Fatal(err)
	}
	p, err := MakePlan(t.Context(), l.store, Options{DeleteUntagged: true, Grace: -1}, time.Now())
	if err != nil || len(p.Manifests)+len(p.Blobs) != 0 {
		t.Errorf("after a final collection, still collectable: %+v, %v", p, err)
	}
	t.Logf("%d collections ran during 48 pushes; %d attempts failed cleanly and were pushed again; %d tags checked", runs, failed, len(tagged))
}

func mustRandom(t *testing.T) v1.Image {
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestClaimsAndTombstones: a blob a writer has claimed (its bytes about to
// be relied on) is skipped by the sweep; while a blob's bytes are being
// deleted (tombstoned), a push of that digest is refused with 503 and a
// Retry-After, and succeeds once the deletion is over.
func TestClaimsAndTombstones(t *testing.T) {
	l := start(t)
	blob := []byte("a layer nobody uses yet")
	d := digest.FromBytes(blob)
	push := func() *http.Response {
		t.Helper()
		res, err := http.Post("http://"+l.host+"/v2/team/app/blobs/uploads/?digest="+d.String(), "application/octet-stream", bytes.NewReader(blob))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := push(); res.StatusCode != http.StatusCreated {
		t.Fatalf("push: %d", res.StatusCode)
	}
	if err := l.store.Update(t.Context(), func(tx meta.Tx) error { return tx.Collector().Claims().Claim(d, time.Now()) }); err != nil {
		t.Fatal(err)
	}
	rep, err := l.gc.Run(t.Context(), Options{Grace: -1})
	if err != nil || rep.DeletedBlobs != 0 || rep.Skipped != 1 {
		t.Fatalf("a claimed blob: %+v, %v", rep, err)
	}
	if _, err := l.drv.Stat(t.Context(), storage.BlobPath(d)); err != nil {
		t.Errorf("the claimed blob's bytes: %v", err)
	}
	if err := l.store.Update(t.Context(), func(tx meta.Tx) error {
		if err := tx.Collector().Claims().Release(d); err != nil {
			return err
		}
		return tx.Collector().Tombstones().Tombstone(d, time.Now()) // a collection deleting it right now
	}); err != nil {
		t.Fatal(err)
	}
	if res := push(); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Errorf("a push during the deletion: %d, Retry-After %q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// The collection finishes (a later run buries what a crash left).
	if _, err := l.gc.Run(t.Context(), Options{Grace: -1}); err != nil {
		t.Fatal(err)
	}
	if res := push(); res.StatusCode != http.StatusCreated {
		t.Errorf("a push after the deletion: %d", res.StatusCode)
	}
	if _, err := l.drv.Stat(t.Context(), storage.BlobPath(d)); err != nil {
		t.Errorf("the re-pushed blob's bytes: %v", err)
	}
}

// TestJobReportsProgress: a collection run as a job leaves its report (and
// its progress on the way) in the job's result.
func TestJobReportsProgress(t *testing.T) {
	l := start(t)
	img, _ := random.Image(128, 2)
	if err := remote.Write(l.ref(t, "team/app:x"), img); err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(l.ref(t, "team/app:x")); err != nil {
		t.Fatal(err)
	}
	r := testjobs.Runner(t, l.store, jobs.WithPoll(5*time.Millisecond))
	job, err := NewJob(l.store, l.drv)
	if err != nil {
		t.Fatal(err)
	}
	r.Handle(JobKind, job, jobs.KindOptions{Limit: 1, MaxAttempts: 1})
	q := testjobs.Queue(t, l.store, jobs.WithNotify(r.Wake))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	j, err := q.Enqueue(t.Context(), jobs.Spec{Kind: JobKind, Payload: Options{DeleteUntagged: true, Grace: -1}})
	if err != nil {
		t.Fatal(err)
	}
	eventually.True(t, "the collection job", func() bool {
		got, _ := q.Get(context.Background(), j.ID)
		return got.State == meta.JobSucceeded
	})
	got, _ := q.Get(t.Context(), j.ID)
	var p Progress
	if err := json.Unmarshal(got.Result, &p); err != nil {
		t.Fatalf("result %s: %v", got.Result, err)
	}
	if p.Phase != "done" || p.Report.DeletedManifests != 1 || p.Report.DeletedBlobs != 3 || p.Report.FreedBytes == 0 {
		t.Errorf("final progress %+v", p)
	}
}

// TestLegacySignatureGoesWithItsImage: a cosign signature attached by tag
// (sha256-<hex>.sig) stays while its image is tagged and goes with it.
func TestLegacySignatureGoesWithItsImage(t *testing.T) {
	l := start(t)
	img, _ := random.Image(128, 1)
	sig, _ := random.Image(64, 1)
	if err := remote.Write(l.ref(t, "team/app:v1"), img); err != nil {
		t.Fatal(err)
	}
	d, _ := img.Digest()
	sigTag := "team/app:sha256-" + d.Hex + ".sig"
	if err := remote.Write(l.ref(t, sigTag), sig); err != nil {
		t.Fatal(err)
	}
	opts := Options{DeleteUntagged: true, Grace: -1}
	if rep, err := l.gc.Run(t.Context(), opts); err != nil || rep.DeletedManifests != 0 {
		t.Fatalf("with the image tagged: %+v, %v", rep, err)
	}
	if err := pullAll(l.ref(t, sigTag)); err != nil {
		t.Errorf("the signature of a tagged image: %v", err)
	}
	if err := remote.Delete(l.ref(t, "team/app:v1")); err != nil {
		t.Fatal(err)
	}
	rep, err := l.gc.Run(t.Context(), opts)
	if err != nil || rep.DeletedManifests != 2 {
		t.Fatalf("after the image's tag went: %+v, %v", rep, err)
	}
	if _, err := remote.Image(l.ref(t, sigTag)); err == nil {
		t.Error("the signature outlived its image")
	}
}

// explain describes, for a failed pull, the metadata of the tag's
// manifest and of each blob it references: enough to tell a lost link
// from a lost record or a tombstone.
func (l *live) explain(t *testing.T, tag string) string {
	repo, name, _ := strings.Cut(tag, ":")
	var b strings.Builder
	_ = l.store.View(t.Context(), func(tx meta.Tx) error {
		d, err := tx.Tags().Get(repo, name)
		if err != nil {
			fmt.Fprintf(&b, "tag: %v\n", err)
			return nil
		}
		m, err := tx.Manifests().Get(repo, d)
		if err != nil {
			fmt.Fprintf(&b, "manifest %s: %v\n", d, err)
			return nil
		}
		fmt.Fprintf(&b, "manifest %s\n", d)
		for _, ref := range append([]meta.Descriptor{m.Config}, m.Layers...) {
			_, statErr := tx.Blobs().Stat(ref.Digest)
			_, linkErr := tx.Blobs().Linked(repo, ref.Digest)
			dead, _ := tx.Collector().Tombstones().Tombstoned(ref.Digest)
			touched, _ := tx.Collector().Collection().Touched(ref.Digest)
			fmt.Fprintf(&b, "  %s: record %v, link %v, tombstoned %v, touched %v\n", ref.Digest, statErr, linkErr, dead, touched)
		}
		return nil
	})
	return b.String()
}
