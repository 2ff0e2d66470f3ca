package quota_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/quota"
	"github.com/berthreg/berth/registry"
)

// blob is a blob of n bytes named by s.
func blob(s string, n int64) meta.Blob {
	return meta.Blob{Digest: digest.FromString(s), Size: n}
}

// image is a manifest of size n referencing config and layers (declared
// with the sizes given; what counts is the size linked).
func image(name string, n int64, config meta.Blob, layers ...meta.Blob) meta.Manifest {
	m := meta.Manifest{Digest: digest.FromString("manifest " + name), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: n,
		Config: meta.Descriptor{MediaType: "application/vnd.oci.image.config.v1+json", Digest: config.Digest, Size: config.Size}}
	for _, l := range layers {
		m.Layers = append(m.Layers, meta.Descriptor{MediaType: "application/vnd.oci.image.layer.v1.tar+gzip", Digest: l.Digest, Size: l.Size})
	}
	return m
}

// push links m's blobs into repo and puts m there, through s.
func push(ctx context.Context, s meta.Store, repo string, m meta.Manifest, blobs ...meta.Blob) error {
	return s.Update(ctx, func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure(repo); err != nil {
			return err
		}
		for _, b := range blobs {
			if err := tx.Blobs().Link(repo, b); err != nil {
				return err
			}
		}
		return tx.Manifests().Put(repo, m)
	})
}

func deleteManifest(ctx context.Context, s meta.Store, repo string, d digest.Digest) error {
	return s.Update(ctx, func(tx meta.Tx) error { return tx.Manifests().Delete(repo, d) })
}

func newService(t *testing.T, open teststores.Opener, opts ...quota.Option) (*quota.Service, meta.Store) {
	t.Helper()
	raw := open(t)
	svc, err := quota.New(raw, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return svc, raw
}

func used(t *testing.T, svc *quota.Service, project string) int64 {
	t.Helper()
	q, err := svc.Get(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	return q.Used
}

func clean(t *testing.T, svc *quota.Service, project string) {
	t.Helper()
	rep, err := svc.Recompute(context.Background(), project, false)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Clean() {
		t.Fatalf("recompute of %s: %+v, want no drift", project, rep)
	}
}

func TestUsageCountsEachDigestOncePerProject(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, _ := newService(t, open)
		s, ctx := svc.Store(), context.Background()
		base, c1, c2, l1, l2 := blob("base", 1000), blob("c1", 10), blob("c2", 20), blob("l1", 300), blob("l2", 500)
		a := image("a", 100, c1, base, l1)
		b := image("b", 200, c2, base, l2)
		if err := push(ctx, s, "p/a", a, c1, base, l1); err != nil {
			t.Fatal(err)
		}
		if got, want := used(t, svc, "p"), int64(100+10+1000+300); got != want {
			t.Fatalf("after a: used %d, want %d", got, want)
		}
		// b shares base, in another repository of the project: counted once.
		if err := push(ctx, s, "p/b", b, c2, base, l2); err != nil {
			t.Fatal(err)
		}
		all := int64(100 + 10 + 1000 + 300 + 200 + 20 + 500)
		if got := used(t, svc, "p"); got != all {
			t.Fatalf("after b: used %d, want %d", got, all)
		}
		// Pushing a again, and a into a second repository, adds nothing.
		if err := push(ctx, s, "p/a", a); err != nil {
			t.Fatal(err)
		}
		if err := push(ctx, s, "p/c", a, c1, base, l1); err != nil {
			t.Fatal(err)
		}
		if got := used(t, svc, "p"); got != all {
			t.Fatalf("after re-pushes: used %d, want %d", got, all)
		}
		// Another project counts its own.
		if err := push(ctx, s, "q/a", a, c1, base, l1); err != nil {
			t.Fatal(err)
		}
		if got := used(t, svc, "q"); got != 1410 {
			t.Fatalf("q: used %d, want 1410", got)
		}
		clean(t, svc, "p")
		// a is still in p/c: deleting it from p/a frees nothing.
		if err := deleteManifest(ctx, s, "p/a", a.Digest); err != nil {
			t.Fatal(err)
		}
		if got := used(t, svc, "p"); got != all {
			t.Fatalf("after deleting a from p/a: used %d, want %d", got, all)
		}
		// Deleting it from p/c frees a, c1 and l1, not base (b holds it).
		if err := deleteManifest(ctx, s, "p/c", a.Digest); err != nil {
			t.Fatal(err)
		}
		if got, want := used(t, svc, "p"), all-100-10-300; got != want {
			t.Fatalf("after deleting a from p/c: used %d, want %d", got, want)
		}
		clean(t, svc, "p")
		// Deleting the repository of b frees the rest.
		if err := s.Update(ctx, func(tx meta.Tx) error { return tx.Repositories().Delete("p/b") }); err != nil {
			t.Fatal(err)
		}
		if got := used(t, svc, "p"); got != 0 {
			t.Fatalf("after deleting p/b: used %d, want 0", got)
		}
		clean(t, svc, "p")
		clean(t, svc, "q")
	})
}

// A manifest may declare any size for a layer; the size counted is the
// one the registry stored.
func TestUsageCountsStoredSizes(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, _ := newService(t, open)
		s, ctx := svc.Store(), context.Background()
		c, l := blob("c", 10), blob("big", 1<<20)
		m := image("liar", 50, meta.Blob{Digest: c.Digest, Size: 0}, meta.Blob{Digest: l.Digest, Size: 1})
		if err := push(ctx, s, "p/x", m, c, l); err != nil {
			t.Fatal(err)
		}
		if got, want := used(t, svc, "p"), int64(50+10+1<<20); got != want {
			t.Fatalf("used %d, want %d", got, want)
		}
	})
}

func TestLimitRefusesAndDeleteFrees(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, raw := newService(t, open)
		s, ctx := svc.Store(), context.Background()
		if _, err := svc.SetLimit(ctx, "p", 2000); err != nil {
			t.Fatal(err)
		}
		c, l1, l2 := blob("c", 10), blob("l1", 900), blob("l2", 1500)
		a, b := image("a", 90, c, l1), image("b", 90, c, l2)
		if err := push(ctx, s, "p/r", a, c, l1); err != nil {
			t.Fatal(err)
		}
		err := push(ctx, s, "p/r", b, c, l2)
		var ex *quota.ExceededError
		if !errors.As(err, &ex) || !errors.Is(err, quota.ErrExceeded) {
			t.Fatalf("push over the limit: %v, want an *ExceededError", err)
		}
		if ex.Project != "p" || ex.Limit != 2000 || ex.Usage != 1000 || ex.Adding != 1590 || ex.Repository != "p/r" || ex.Digest != b.Digest {
			t.Fatalf("refusal %+v", ex)
		}
		var re *registry.Error
		if !errors.As(err, &re) || re.Status != http.StatusForbidden || re.Code != registry.CodeDenied {
			t.Fatalf("refusal as a registry error: %+v", re)
		}
		// Nothing of the refused push was written.
		if err := raw.View(ctx, func(tx meta.Tx) error {
			_, err := tx.Manifests().Get("p/r", b.Digest)
			return err
		}); !errors.Is(err, meta.ErrNotFound) {
			t.Fatalf("refused manifest: %v, want not found", err)
		}
		if got := used(t, svc, "p"); got != 1000 {
			t.Fatalf("used %d after the refusal, want 1000", got)
		}
		// The refusal is in the event log.
		var exceed []meta.Event
		if err := raw.View(ctx, func(tx meta.Tx) error {
			evs, err := tx.Events().List(0, 0)
			for _, e := range evs {
				if e.Type == events.QuotaExceed {
					exceed = append(exceed, e)
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(exceed) != 1 || exceed[0].Project != "p" || exceed[0].Repository != "p/r" || exceed[0].Details["adding"] != "1590" {
			t.Fatalf("QUOTA_EXCEED events: %+v", exceed)
		}
		// Deleting a frees room for b.
		if err := deleteManifest(ctx, s, "p/r", a.Digest); err != nil {
			t.Fatal(err)
		}
		if err := push(ctx, s, "p/r", b, c, l2); err != nil {
			t.Fatalf("push after the delete: %v", err)
		}
		if got := used(t, svc, "p"); got != 1600 {
			t.Fatalf("used %d, want 1600", got)
		}
		// A limit below usage is accepted, and refuses what adds.
		if q, err := svc.SetLimit(ctx, "p", 100); err != nil || q.Used != 1600 || q.Limit != 100 {
			t.Fatalf("SetLimit below usage: %+v, %v", q, err)
		}
		if err := push(ctx, s, "p/r", a, c, l1); !errors.Is(err, quota.ErrExceeded) {
			t.Fatalf("push over a lowered limit: %v", err)
		}
		// What adds nothing is still accepted (a re-push).
		if err := push(ctx, s, "p/r", b); err != nil {
			t.Fatalf("re-push adding nothing: %v", err)
		}
		clean(t, svc, "p")
	})
}

func TestWarning(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, raw := newService(t, open, quota.WithWarnAt(50), quota.WithShards(4))
		s, ctx := svc.Store(), context.Background()
		if _, err := svc.SetLimit(ctx, "p", 10000); err != nil {
			t.Fatal(err)
		}
		var pushed int
		for i := range 9 {
			c := blob(fmt.Sprint("c", i), 900)
			if err := push(ctx, s, "p/r", image(fmt.Sprint(i), 100, c), c); err != nil {
				t.Fatal(err)
			}
			pushed++
		}
		var warnings []meta.Event
		if err := raw.View(ctx, func(tx meta.Tx) error {
			evs, err := tx.Events().List(0, 0)
			for _, e := range evs {
				if e.Type == events.QuotaWarning {
					warnings = append(warnings, e)
				}
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// 1000 bytes a push: the fifth reaches 5000, half the limit.
		if len(warnings) != 1 || warnings[0].Details["usage"] != "5000" || warnings[0].Digest != image("4", 100, blob("c4", 900)).Digest.String() {
			t.Fatalf("after %d pushes, QUOTA_WARNING events: %+v", pushed, warnings)
		}
	})
}

func TestSetLimitNeedsAnAdministrator(t *testing.T) {
	svc, _ := newService(t, teststores.Open)
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Name: "alice"})
	if _, err := svc.SetLimit(ctx, "p", 10); !errors.Is(err, quota.ErrForbidden) {
		t.Fatalf("SetLimit as a user: %v, want ErrForbidden", err)
	}
	admin := auth.WithPrincipal(context.Background(), auth.Principal{Name: "root", Admin: true})
	if _, err := svc.SetLimit(admin, "p", 10); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []int64{-2, -100} {
		if _, err := svc.SetLimit(admin, "p", bad); !errors.Is(err, quota.ErrInvalid) {
			t.Fatalf("SetLimit(%d): %v, want ErrInvalid", bad, err)
		}
	}
}

// Pushers racing into one project near its limit never take it over,
// and leave the counter exact.
func TestConcurrentPushesNearTheLimit(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, _ := newService(t, open, quota.WithShards(8))
		s, ctx := svc.Store(), context.Background()
		const size, fit = 1000, 150 // each image is 1000 bytes; 150 fit
		if _, err := svc.SetLimit(ctx, "p", size*fit+size/2); err != nil {
			t.Fatal(err)
		}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			accepted int
			failures []error
		)
		for w := range 16 {
			wg.Go(func() {
				for i := 0; ; i++ {
					c := blob(fmt.Sprint("config ", w, " ", i), size-100)
					err := push(ctx, s, fmt.Sprint("p/r", w%4), image(fmt.Sprint(w, " ", i), 100, c), c)
					mu.Lock()
					switch {
					case err == nil:
						accepted++
					case errors.Is(err, quota.ErrExceeded):
						mu.Unlock()
						return
					default:
						failures = append(failures, err)
					}
					mu.Unlock()
					if len(failures) > 0 {
						return
					}
				}
			})
		}
		wg.Wait()
		if len(failures) > 0 {
			t.Fatalf("pushes failed: %v", failures)
		}
		if accepted != fit {
			t.Fatalf("accepted %d pushes, want %d", accepted, fit)
		}
		if got := used(t, svc, "p"); got != size*fit {
			t.Fatalf("used %d, want %d", got, size*fit)
		}
		clean(t, svc, "p")
	})
}

func TestRecomputeFindsAndFixesDrift(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, raw := newService(t, open)
		s, ctx := svc.Store(), context.Background()
		c, l := blob("c", 10), blob("l", 90)
		if err := push(ctx, s, "p/r", image("a", 100, c, l), c, l); err != nil {
			t.Fatal(err)
		}
		// A manifest put behind the service's back is not counted.
		c2 := blob("c2", 1000)
		if err := push(ctx, raw, "p/r", image("b", 100, c2), c2); err != nil {
			t.Fatal(err)
		}
		rep, err := svc.Recompute(ctx, "p", false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Counted != 200 || rep.Actual != 1300 || rep.Drift != -1100 || rep.MarksWrong != 2 || rep.HoldersWrong != 2 || rep.Fixed {
			t.Fatalf("report %+v", rep)
		}
		if rep, err = svc.Recompute(ctx, "p", true); err != nil || !rep.Fixed {
			t.Fatalf("fix: %+v, %v", rep, err)
		}
		clean(t, svc, "p")
		if got := used(t, svc, "p"); got != 1300 {
			t.Fatalf("used %d after the fix, want 1300", got)
		}
	})
}

func TestJobReportsDrift(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, raw := newService(t, open)
		s, ctx := svc.Store(), context.Background()
		c := blob("c", 10)
		if err := push(ctx, s, "p/r", image("a", 100, c), c); err != nil {
			t.Fatal(err)
		}
		if err := push(ctx, raw, "q/r", image("b", 100, c), c); err != nil {
			t.Fatal(err)
		}
		q, err := jobs.NewQueue(raw)
		if err != nil {
			t.Fatal(err)
		}
		run := func(payload string) quota.JobResult {
			t.Helper()
			j, err := q.Enqueue(ctx, jobs.Spec{Kind: quota.JobKind, Payload: json.RawMessage(payload)})
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Job().Run(ctx, j); err != nil {
				t.Fatal(err)
			}
			if j, err = q.Get(ctx, j.ID); err != nil {
				t.Fatal(err)
			}
			var res quota.JobResult
			if err := json.Unmarshal(j.Result, &res); err != nil {
				t.Fatal(err)
			}
			return res
		}
		res := run(`{}`)
		if res.Projects != 2 || len(res.Drifted) != 1 || res.Drifted[0].Project != "q" || res.Drifted[0].Drift != -110 || res.Drifted[0].Fixed {
			t.Fatalf("report-only run: %+v", res)
		}
		if res := run(`{"project":"q","fix":true}`); res.Projects != 1 || len(res.Drifted) != 1 || !res.Drifted[0].Fixed {
			t.Fatalf("fixing run: %+v", res)
		}
		if res := run(`{}`); len(res.Drifted) != 0 {
			t.Fatalf("after the fix: %+v", res)
		}
	})
}

// A project keeps the default limit it had when KeepDefault ran; one
// without a limit follows the default.
func TestKeepDefault(t *testing.T) {
	raw := teststores.Open(t)
	ctx := context.Background()
	old, err := quota.New(raw, quota.WithDefaultLimit(500))
	if err != nil {
		t.Fatal(err)
	}
	if err := old.KeepDefault(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	if _, err := old.SetLimit(ctx, "set", 7); err != nil {
		t.Fatal(err)
	}
	if err := old.KeepDefault(ctx, "set"); err != nil {
		t.Fatal(err)
	}
	changed, err := quota.New(raw, quota.WithDefaultLimit(900))
	if err != nil {
		t.Fatal(err)
	}
	for project, want := range map[string]int64{"kept": 500, "set": 7, "other": 900} {
		if q, err := changed.Get(ctx, project); err != nil || q.Limit != want {
			t.Errorf("%s: limit %d, %v; want %d", project, q.Limit, err, want)
		}
	}
}

// A pull-through cache puts a manifest before its blobs (they come on
// demand): the manifest counts at once, each blob when a fill links it,
// once; a link that is no fill counts nothing; the books stay clean, and
// a delete gives everything back.
func TestFillCountsBlobsAsTheyArrive(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		svc, _ := newService(t, open)
		s, ctx := svc.Store(), context.Background()
		c, l := blob("c", 10), blob("layer", 1000)
		m := image("cached", 50, c, l)
		if err := push(ctx, s, "hub/app", m); err != nil { // sparse: no blob yet
			t.Fatal(err)
		}
		if got := used(t, svc, "hub"); got != 50 {
			t.Fatalf("after the manifest: used %d, want 50", got)
		}
		link := func(ctx context.Context, b meta.Blob) {
			t.Helper()
			if err := s.Update(ctx, func(tx meta.Tx) error { return tx.Blobs().Link("hub/app", b) }); err != nil {
				t.Fatal(err)
			}
		}
		fill := meta.MarkFill(ctx)
		link(fill, l)
		link(fill, l) // again: counted once
		if got := used(t, svc, "hub"); got != 1050 {
			t.Fatalf("after the layer's fill: used %d, want 1050", got)
		}
		link(ctx, blob("stray", 7)) // no fill, no manifest holds it
		link(fill, c)
		if got := used(t, svc, "hub"); got != 1060 {
			t.Fatalf("after the config's fill: used %d, want 1060", got)
		}
		clean(t, svc, "hub")
		if err := deleteManifest(ctx, s, "hub/app", m.Digest); err != nil {
			t.Fatal(err)
		}
		if got := used(t, svc, "hub"); got != 0 {
			t.Fatalf("after the delete: used %d, want 0", got)
		}
	})
}
