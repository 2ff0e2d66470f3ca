package artifact_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/berthreg/berth/artifact"
)

// best is the shortest of runs calls of f: the cost of f with the least
// interference from whatever else the machine does.
func best(runs int, f func()) time.Duration {
	var least time.Duration
	for i := range runs {
		start := time.Now()
		f()
		if d := time.Since(start); i == 0 || d < least {
			least = d
		}
	}
	return least
}

// A page of a repository of 100 000 tagged artifacts, and of a project
// of 10 000 repositories, is answered without reading the whole
// repository or project: it costs about what a page of a small one
// does. Reading the whole (as a store without the push-order index and
// counters must) costs thousands of times more; the bound allows a
// busy machine's noise.
func TestPagesDoNotReadEverything(t *testing.T) {
	artifacts, repos := 100000, 10000
	if testing.Short() {
		artifacts, repos = 20000, 2000
	}
	// The store backends' own paging costs are metatest's to show; here
	// the Service over the embedded one.
	e := newBoltEnv(t)
	ctx := t.Context()
	for _, proj := range []string{"big", "small", "many"} {
		if err := e.m.CreateProject(ctx, e.admin, proj, false); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, e.store, "big/app", artifacts)
	fill(t, e.store, "small/app", 20)
	names := make([]string, repos)
	for i := range names {
		names[i] = fmt.Sprintf("many/r%05d", i)
	}
	ensure(t, e.store, names)
	// The small project (one page of 10) is in a store of its own: a count that read every
	// repository name would then cost the big one far more.
	lone := newBoltEnv(t)
	if err := lone.m.CreateProject(ctx, lone.admin, "lone", false); err != nil {
		t.Fatal(err)
	}
	var few []string
	for i := range 10 {
		few = append(few, fmt.Sprintf("lone/r%d", i))
	}
	ensure(t, lone.store, few)

	page := func(repo string, q artifact.ArtifactQuery) func() {
		return func() {
			list, total, err := e.svc.ListArtifacts(ctx, e.admin, repo, q)
			if err != nil || len(list) != 10 || total < 10 {
				t.Fatalf("%s: %d of %d, %v", repo, len(list), total, err)
			}
		}
	}
	repoPage := func(e env, project string, want int) func() {
		return func() {
			list, total, err := e.svc.ListRepositories(ctx, e.admin, project, artifact.RepositoryQuery{Limit: 10})
			if err != nil || len(list) != min(10, want) || total != want {
				t.Fatalf("%s: %d of %d, %v", project, len(list), total, err)
			}
		}
	}
	// What the pages hold.
	list, total, err := e.svc.ListArtifacts(ctx, e.admin, "big/app", artifact.ArtifactQuery{Limit: 2, With: artifact.With{Tags: true}})
	if err != nil || total != artifacts || len(list) != 2 || list[0].Tags[0].Name != fmt.Sprintf("t%06d", artifacts-1) {
		t.Fatalf("big/app's newest: %+v of %d, %v", list, total, err)
	}
	const bound = 8.0
	q := artifact.ArtifactQuery{Limit: 10, With: artifact.With{Tags: true}}
	for _, c := range []struct {
		what       string
		big, small func()
	}{
		{"artifacts, first page", page("big/app", q), page("small/app", q)},
		{"artifacts, oldest first", page("big/app", artifact.ArtifactQuery{Limit: 10, Sort: "push_time"}), page("small/app", artifact.ArtifactQuery{Limit: 10, Sort: "push_time"})},
		{"repositories, first page", repoPage(e, "many", repos), repoPage(lone, "lone", 10)},
		{"artifacts, one tag", func() {
			if list, _, err := e.svc.ListArtifacts(ctx, e.admin, "big/app", artifact.ArtifactQuery{Tag: "t000007", Limit: 10}); err != nil || len(list) != 1 {
				t.Fatalf("tag t000007 of big/app: %d, %v", len(list), err)
			}
		}, func() {
			if list, _, err := e.svc.ListArtifacts(ctx, e.admin, "small/app", artifact.ArtifactQuery{Tag: "t000007", Limit: 10}); err != nil || len(list) != 1 {
				t.Fatalf("tag t000007 of small/app: %d, %v", len(list), err)
			}
		}},
	} {
		c.big()
		c.small()
		b, s := best(15, c.big), best(15, c.small)
		ratio := float64(b) / float64(s)
		t.Logf("%s: big %v, small %v, ratio %.2f", c.what, b, s, ratio)
		if ratio > bound {
			t.Errorf("%s: a page of the big one costs %.1f× a page of the small one (%v against %v), want at most %.0f×", c.what, ratio, b, s, bound)
		}
	}
}
