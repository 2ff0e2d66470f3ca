package retention_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
	"github.com/berthreg/berth/registry/naming"
	"github.com/berthreg/berth/retention"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

// fixture is a repository holding every kind of manifest retention
// meets, and what a run of the Rainbond policy must delete from it.
type fixture struct {
	repo   string
	byName map[string]digest.Digest
	// wantDeleted are the names of the manifests a run deletes.
	wantDeleted []string
}

func manifest(name string, pushed time.Time) meta.Manifest {
	return meta.Manifest{Digest: digest.FromString(name), MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 10, PushedAt: pushed}
}

// newFixture pushes into team/app: images v1…v10 (v1 oldest); an index
// "multi" (older still) with two untagged children; a referrer of v10
// and one of v1; cosign's legacy signature tag of v2; an untagged image
// pushed last.
func newFixture(t *testing.T, s meta.Store) fixture {
	f := fixture{repo: "team/app", byName: map[string]digest.Digest{}}
	add := func(name string, m meta.Manifest, tags ...string) {
		metatest.Put(t, s, f.repo, m, tags...)
		f.byName[name] = m.Digest
	}
	c1, c2 := manifest("child 1", day(0)), manifest("child 2", day(0))
	add("c1", c1)
	add("c2", c2)
	idx := manifest("multi", day(0))
	idx.MediaType = "application/vnd.oci.image.index.v1+json"
	idx.Manifests = []meta.Descriptor{{Digest: c1.Digest}, {Digest: c2.Digest}}
	add("multi", idx, "multi")
	for i := 1; i <= 10; i++ {
		add(fmt.Sprint("v", i), manifest(fmt.Sprint("image ", i), day(i)), fmt.Sprint("v", i))
	}
	ref10, ref1 := manifest("sbom of v10", day(12)), manifest("sbom of v1", day(12))
	ref10.Subject, ref1.Subject = f.byName["v10"], f.byName["v1"]
	add("ref10", ref10)
	add("ref1", ref1)
	add("sig2", manifest("signature of v2", day(12)), naming.AttachmentTags(f.byName["v2"])[0])
	add("u1", manifest("untagged", day(11)))
	// latestPushedK 3 on every tag and untagged keeps u1, v10, v9; v2
	// is immutable; ref10 and sig2 stay with theirs.
	f.wantDeleted = []string{"v1", "v3", "v4", "v5", "v6", "v7", "v8", "multi", "c1", "c2", "ref1"}
	return f
}

// rainbond is the policy the Rainbond seed recommends: the 3 most
// recently pushed artifacts of every repository, untagged ones included,
// monthly.
func rainbond(project string) retention.Policy {
	return retention.Policy{Project: project, Schedule: "0 0 0 1 */1 *", Rules: []retention.Rule{{
		Template: retention.LatestPushed, Count: 3, Untagged: true,
		Repositories: immutable.Selector{Decoration: immutable.Matches, Pattern: "**"},
		Tags:         immutable.Selector{Decoration: immutable.Matches, Pattern: "**"},
	}}}
}

// snapshot lists everything the registry holds in s: repositories,
// manifest records and tags.
func snapshot(t *testing.T, s meta.Store) string {
	t.Helper()
	var b strings.Builder
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		repos, err := tx.Repositories().List("", 0)
		if err != nil {
			return err
		}
		for _, r := range repos {
			ds, err := tx.Manifests().List(r, "", 0)
			if err != nil {
				return err
			}
			for _, d := range ds {
				m, err := tx.Manifests().Get(r, d)
				if err != nil {
					return err
				}
				raw, _ := json.Marshal(m)
				fmt.Fprintf(&b, "%s %s\n", r, raw)
			}
			tags, err := tx.Tags().List(r, "", 0)
			if err != nil {
				return err
			}
			for _, tag := range tags {
				d, err := tx.Tags().Get(r, tag)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "%s:%s %s\n", r, tag, d)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

type env struct {
	raw, store meta.Store
	svc        *retention.Service
	queue      *jobs.Queue
}

func newEnv(t *testing.T, open teststores.Opener) env {
	t.Helper()
	raw := open(t)
	if err := raw.Update(t.Context(), func(tx meta.Tx) error {
		return accounts.Projects.In(tx).Put(accounts.Project{Name: "team"})
	}); err != nil {
		t.Fatal(err)
	}
	im, err := immutable.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Create(t.Context(), "team", immutable.Rule{
		Repositories: immutable.Selector{Decoration: immutable.Matches, Pattern: "**"},
		Tags:         immutable.Selector{Decoration: immutable.Matches, Pattern: "v2"}}); err != nil {
		t.Fatal(err)
	}
	q, err := jobs.NewQueue(raw)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := retention.New(im.Store(), q, retention.WithImmutable(im.Immutable),
		retention.WithClock(func() time.Time { return day(20) }), retention.WithDeleteBatch(4))
	if err != nil {
		t.Fatal(err)
	}
	return env{raw: raw, store: im.Store(), svc: svc, queue: q}
}

// run runs project's policy now through its job and returns the
// execution.
func (e env) run(t *testing.T, project string, dry bool) retention.Execution {
	t.Helper()
	ctx := t.Context()
	ex, err := e.svc.Start(ctx, project, dry)
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.queue.Get(ctx, ex.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Job().Run(ctx, j); err != nil {
		t.Fatal(err)
	}
	if ex, err = e.svc.Execution(ctx, project, ex.ID); err != nil {
		t.Fatal(err)
	}
	return ex
}

func names(f fixture, arts []retention.Artifact) []string {
	byDigest := map[digest.Digest]string{}
	for n, d := range f.byName {
		byDigest[d] = n
	}
	var out []string
	for _, a := range arts {
		out = append(out, byDigest[a.Digest])
	}
	slices.Sort(out)
	return out
}

// The dry run reports exactly what the real run then deletes, and
// changes nothing; the real run leaves the kept manifests whole.
func TestDryRunMatchesTheRealRun(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		e := newEnv(t, open)
		f := newFixture(t, e.store)
		if _, err := e.svc.SetPolicy(t.Context(), rainbond("team")); err != nil {
			t.Fatal(err)
		}
		before := snapshot(t, e.raw)
		dry := e.run(t, "team", true)
		if after := snapshot(t, e.raw); after != before {
			t.Fatalf("the dry run changed the store:\nbefore\n%s\nafter\n%s", before, after)
		}
		want := slices.Clone(f.wantDeleted)
		slices.Sort(want)
		if dry.Status != retention.StatusSucceed || len(dry.Repositories) != 1 {
			t.Fatalf("dry run %+v", dry)
		}
		if got := names(f, dry.Repositories[0].Delete); !slices.Equal(got, want) {
			t.Fatalf("the dry run would delete %v, want %v", got, want)
		}
		if dry.Artifacts != 12 || dry.Retained != 4 || dry.Deleted != len(want) {
			t.Fatalf("dry run counts: %d artifacts, %d retained, %d deleted", dry.Artifacts, dry.Retained, dry.Deleted)
		}
		real := e.run(t, "team", false)
		if got := names(f, real.Repositories[0].Delete); !slices.Equal(got, want) || real.Deleted != len(want) {
			t.Fatalf("the real run deleted %v, want %v", got, want)
		}
		// What is left is exactly the rest, with its tags.
		if err := e.raw.View(t.Context(), func(tx meta.Tx) error {
			for name, d := range f.byName {
				_, err := tx.Manifests().Get(f.repo, d)
				gone := slices.Contains(want, name)
				if gone != (err != nil) {
					t.Errorf("%s: deleted %v, want %v (%v)", name, err != nil, gone, err)
				}
			}
			for _, tag := range []string{"v2", "v9", "v10"} {
				if _, err := tx.Tags().Get(f.repo, tag); err != nil {
					t.Errorf("tag %s: %v", tag, err)
				}
			}
			evs, err := tx.Events().List(0, 0)
			var finished []meta.Event
			for _, ev := range evs {
				if ev.Type == events.TagRetention {
					finished = append(finished, ev)
				}
			}
			if len(finished) != 2 || finished[0].Details["dry_run"] != "true" || finished[1].Details["deleted"] != "11" {
				t.Errorf("TAG_RETENTION events %+v", finished)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// A second run deletes nothing more.
		if again := e.run(t, "team", false); again.Deleted != 0 {
			t.Fatalf("second run deleted %d", again.Deleted)
		}
		exs, err := e.svc.Executions(t.Context(), "team")
		if err != nil || len(exs) != 3 || exs[0].ID != real.ID+1 && exs[0].ID <= real.ID {
			t.Fatalf("executions %d, %v", len(exs), err)
		}
	})
}

// The Rainbond rule on 10 tags keeps 3.
func TestLatestPushedKeepsThree(t *testing.T) {
	e := newEnv(t, teststores.Open)
	for i := 1; i <= 10; i++ {
		metatest.Put(t, e.store, "team/web", manifest(fmt.Sprint("web ", i), day(i)), fmt.Sprint("r", i))
	}
	if _, err := e.svc.SetPolicy(t.Context(), rainbond("team")); err != nil {
		t.Fatal(err)
	}
	ex := e.run(t, "team", false)
	if ex.Deleted != 7 || ex.Retained != 3 {
		t.Fatalf("execution %+v", ex)
	}
	if err := e.raw.View(t.Context(), func(tx meta.Tx) error {
		tags, err := tx.Tags().List("team/web", "", 0)
		if !slices.Equal(tags, []string{"r10", "r8", "r9"}) {
			t.Errorf("tags left %v, want r8, r9, r10", tags)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// The templates on pull and push times, with pull times recorded by the
// batcher.
func TestTemplates(t *testing.T) {
	e := newEnv(t, teststores.Open)
	ctx := t.Context()
	for i := 1; i <= 5; i++ {
		metatest.Put(t, e.store, "team/t", manifest(fmt.Sprint("t ", i), day(i*3)), fmt.Sprint("t", i))
	}
	d := func(i int) digest.Digest { return digest.FromString(fmt.Sprint("t ", i)) }
	now := day(20)
	pulls, err := retention.NewPullTimes(e.raw, retention.WithPullClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	pulls.Pulled("team/t", d(1))
	now = day(19)
	pulls.Pulled("team/t", d(2))
	if err := pulls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// An older pull time never overwrites a newer one.
	now = day(2)
	pulls.Pulled("team/t", d(1))
	if err := pulls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rule retention.Rule
		kept []int
	}{
		{retention.Rule{Template: retention.LatestPulled, Count: 1}, []int{1}},
		{retention.Rule{Template: retention.LatestPulled, Count: 3}, nil}, // checked below
		{retention.Rule{Template: retention.PulledWithin, Count: 5}, []int{1, 2}},
		{retention.Rule{Template: retention.PushedWithin, Count: 6}, []int{5}},    // pushed day 15; now is day 20
		{retention.Rule{Template: retention.PushedWithin, Count: 9}, []int{4, 5}}, // days 12 and 15
		{retention.Rule{Template: retention.Always}, []int{1, 2, 3, 4, 5}},
	} {
		r := c.rule
		r.Repositories = immutable.Selector{Decoration: immutable.Matches, Pattern: "t"}
		r.Tags = immutable.Selector{Decoration: immutable.Matches, Pattern: "t*"}
		if _, err := e.svc.SetPolicy(ctx, retention.Policy{Project: "team", Rules: []retention.Rule{r}}); err != nil {
			t.Fatal(err)
		}
		plans, err := e.svc.Plan(ctx, "team")
		if err != nil {
			t.Fatal(err)
		}
		deleted := map[digest.Digest]bool{}
		for _, a := range plans[0].Delete {
			deleted[a.Digest] = true
		}
		var kept []int
		for i := 1; i <= 5; i++ {
			if !deleted[d(i)] {
				kept = append(kept, i)
			}
		}
		if c.rule.Template == retention.LatestPulled && c.rule.Count == 3 {
			// Never pulled ones tie at the zero time: the third is one of them.
			if len(kept) != 3 || kept[0] != 1 || kept[1] != 2 {
				t.Errorf("%s %d keeps %v", r.Template, r.Count, kept)
			}
			continue
		}
		if !slices.Equal(kept, c.kept) {
			t.Errorf("%s %d keeps %v, want %v", r.Template, r.Count, kept, c.kept)
		}
	}
}

func TestPolicyChecks(t *testing.T) {
	e := newEnv(t, teststores.Open)
	ctx := t.Context()
	good := rainbond("team")
	for field, tweak := range map[string]func(p *retention.Policy){
		"template":             func(p *retention.Policy) { p.Rules[0].Template = "keepSome" },
		"count":                func(p *retention.Policy) { p.Rules[0].Count = 0 },
		"repositories.pattern": func(p *retention.Policy) { p.Rules[0].Repositories.Pattern = "[" },
		"tags.decoration":      func(p *retention.Policy) { p.Rules[0].Tags.Decoration = "is" },
		"schedule":             func(p *retention.Policy) { p.Schedule = "monthly-ish" },
		"rules":                func(p *retention.Policy) { p.Rules = slices.Repeat(p.Rules, 16) },
	} {
		p := rainbond("team")
		p.Rules = slices.Clone(p.Rules)
		tweak(&p)
		if _, err := e.svc.SetPolicy(ctx, p); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("bad %s: %v", field, err)
		}
	}
	good.Project = "nope"
	if _, err := e.svc.SetPolicy(ctx, good); err == nil {
		t.Error("a policy of a missing project was stored")
	}
	if _, err := e.svc.Start(ctx, "team", true); err == nil {
		t.Error("a run without a policy started")
	}
}

// ScheduleAll puts the policies with a schedule on the runner, and takes
// a schedule off once its policy has none or is gone.
func TestScheduleAll(t *testing.T) {
	e := newEnv(t, teststores.Open)
	ctx := t.Context()
	r, err := jobs.NewRunner(e.raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.SetPolicy(ctx, rainbond("team")); err != nil {
		t.Fatal(err)
	}
	if err := retention.ScheduleAll(ctx, e.raw, r); err != nil {
		t.Fatal(err)
	}
	if spec, _, ok := r.ScheduleOf(retention.ScheduleName("team")); !ok || spec != "0 0 0 1 */1 *" {
		t.Fatalf("schedule of team: %q, %v", spec, ok)
	}
	manual := rainbond("team")
	manual.Schedule = ""
	if _, err := e.svc.SetPolicy(ctx, manual); err != nil {
		t.Fatal(err)
	}
	if err := retention.ScheduleAll(ctx, e.raw, r); err != nil {
		t.Fatal(err)
	}
	if got := r.Scheduled(retention.ScheduleName("")); len(got) != 0 {
		t.Fatalf("schedules left: %v", got)
	}
}

// A project's executions are its own: another project's, keyed next to
// them, are not listed.
func TestExecutionsOfOneProject(t *testing.T) {
	e := newEnv(t, teststores.Open)
	ctx := t.Context()
	for _, name := range []string{"team2", "tea"} {
		if err := e.raw.Update(ctx, func(tx meta.Tx) error {
			return accounts.Projects.In(tx).Put(accounts.Project{Name: name})
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, project := range []string{"team", "team2", "tea", "team2"} {
		if _, err := e.svc.SetPolicy(ctx, rainbond(project)); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Start(ctx, project, true); err != nil {
			t.Fatal(err)
		}
	}
	for project, want := range map[string]int{"team": 1, "team2": 2, "tea": 1} {
		exs, err := e.svc.Executions(ctx, project)
		if err != nil || len(exs) != want {
			t.Fatalf("%s: %d executions, %v; want %d", project, len(exs), err, want)
		}
		for _, ex := range exs {
			if ex.Project != project {
				t.Fatalf("%s lists an execution of %s", project, ex.Project)
			}
		}
	}
}

// Pulls are counted per repository across flushes, a failed flush's
// counts wait for the next, and ForgetRepository starts a repository
// afresh.
func TestPullCounts(t *testing.T) {
	e := newEnv(t, teststores.Open)
	ctx := t.Context()
	metatest.Put(t, e.store, "team/a", manifest("a", day(1)), "v1")
	pulls, err := retention.NewPullTimes(e.raw)
	if err != nil {
		t.Fatal(err)
	}
	d := digest.FromString("a")
	for range 3 {
		pulls.Pulled("team/a", d)
	}
	pulls.Pulled("team/b", d)
	if err := pulls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	pulls.Pulled("team/a", d)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := pulls.Flush(cancelled); err == nil {
		t.Fatal("a flush under a cancelled context succeeded")
	}
	if err := pulls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	counts := func() map[string]int64 {
		var got map[string]int64
		if err := e.raw.View(ctx, func(tx meta.Tx) error {
			var err error
			got, err = retention.PullCountsIn(tx, []string{"team/a", "team/b", "team/c"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := counts(); got["team/a"] != 4 || got["team/b"] != 1 || len(got) != 2 {
		t.Errorf("counts %v, want team/a 4, team/b 1", got)
	}
	if err := e.raw.Update(ctx, func(tx meta.Tx) error { return retention.ForgetRepository(tx, "team/a") }); err != nil {
		t.Fatal(err)
	}
	if got := counts(); got["team/a"] != 0 || got["team/b"] != 1 {
		t.Errorf("after ForgetRepository: %v", got)
	}
	if err := e.raw.View(ctx, func(tx meta.Tx) error {
		times, err := retention.PullTimesIn(tx, "team/a", []digest.Digest{d})
		if err == nil && len(times) != 0 {
			t.Errorf("pull times kept after ForgetRepository: %v", times)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
