package label_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
)

// TestAttachAndDetach: who may push labels artifacts; Of, Names and
// ArtifactsWith read the attachments; a label of another project is
// refused; deleting a label detaches it everywhere.
func TestAttachAndDetach(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	prod := e.create(admin, label.Label{Name: "prod", Scope: label.Global})
	qa := e.create(alice, label.Label{Name: "qa", Scope: label.ProjectScope, Project: "team"})
	pubL := e.create(alice, label.Label{Name: "p", Scope: label.ProjectScope, Project: "pub"})
	privL := e.create(admin, label.Label{Name: "v", Scope: label.ProjectScope, Project: "priv"})
	v1, v2 := digest.FromString("team/app:v1"), digest.FromString("team/app:v2")

	d, err := e.svc.Attach(ctx, dev, "team/app", "v1", prod.ID)
	if err != nil || d != v1 {
		t.Fatalf("a developer attaching: %v, %v", d, err)
	}
	if _, err := e.svc.Attach(ctx, e.robot, "team/app", v1.String(), qa.ID); err != nil {
		t.Fatalf("a robot that may push attaching by digest: %v", err)
	}
	_, err = e.svc.Attach(ctx, dev, "team/app", "v1", qa.ID)
	wantErr(t, "attaching twice", err, label.ErrExists)
	for _, c := range []struct {
		who  auth.Principal
		want error
	}{{gus, label.ErrForbidden}, {bob, meta.ErrNotFound}, {anon, meta.ErrNotFound}} {
		_, err := e.svc.Attach(ctx, c.who, "team/app", "v2", prod.ID)
		wantErr(t, c.who.Name+" attaching", err, c.want)
		wantErr(t, c.who.Name+" detaching", e.svc.Detach(ctx, c.who, "team/app", "v1", prod.ID), c.want)
	}
	_, err = e.svc.Attach(ctx, anon, "pub/app", "v1", prod.ID)
	wantErr(t, "anonymous attaching in a public project", err, label.ErrUnauthenticated)

	// A project label stays in its project.
	_, err = e.svc.Attach(ctx, alice, "pub/app", "v1", qa.ID)
	wantField(t, "a team label in pub", err, "id")
	_, err = e.svc.Attach(ctx, alice, "pub/app", "v1", privL.ID)
	wantErr(t, "a label of a project alice does not see", err, meta.ErrNotFound)
	_, err = e.svc.Attach(ctx, alice, "pub/app", "v1", pubL.ID)
	must(t, err)

	// Bad references name their field; missing artifacts are not found.
	_, err = e.svc.Attach(ctx, dev, "team/app", "sha256:short", prod.ID)
	wantField(t, "a bad digest", err, "reference")
	_, err = e.svc.Attach(ctx, dev, "team/app", "-tag", prod.ID)
	wantField(t, "a bad tag", err, "reference")
	_, err = e.svc.Attach(ctx, dev, "team/App", "v1", prod.ID)
	wantField(t, "a bad repository", err, "repository_name")
	_, err = e.svc.Attach(ctx, dev, "team/app", "v9", prod.ID)
	wantErr(t, "a missing tag", err, meta.ErrNotFound)
	_, err = e.svc.Attach(ctx, dev, "team/app", "v1", 99)
	wantErr(t, "a missing label", err, meta.ErrNotFound)

	// Reads.
	if got := e.namesOn("team/app", v1); got != "[prod qa]" {
		t.Errorf("Names of v1: %s", got)
	}
	e.view(func(tx meta.Tx) error {
		of, err := label.Of(tx, "team/app", []digest.Digest{v1, v2, "sha256:none"})
		if err != nil {
			return err
		}
		if len(of) != 1 || names(of[v1]) != "[prod qa]" {
			t.Errorf("Of = %v", of)
		}
		for repo, want := range map[string][]digest.Digest{"team/app": {v1}, "team/other": {}, "team": {}} {
			got, err := label.ArtifactsWith(tx, repo, prod.ID)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("ArtifactsWith(%s, prod) = %v, %v; want %v", repo, got, err, want)
			}
		}
		return nil
	})
	if ls, err := e.svc.Attached(ctx, gus, "team/app", "v1"); err != nil || names(ls) != "[prod qa]" {
		t.Errorf("a guest reading v1's labels: %s, %v", names(ls), err)
	}
	_, err = e.svc.Attached(ctx, bob, "team/app", "v1")
	wantErr(t, "a stranger reading v1's labels", err, meta.ErrNotFound)

	// Detach.
	must(t, e.svc.Detach(ctx, dev, "team/app", "v1", qa.ID))
	wantErr(t, "detaching twice", e.svc.Detach(ctx, dev, "team/app", "v1", qa.ID), meta.ErrNotFound)
	if got := e.namesOn("team/app", v1); got != "[prod]" {
		t.Errorf("after detaching qa: %s", got)
	}

	// Deleting a label detaches it everywhere.
	_, err = e.svc.Attach(ctx, dev, "team/other", "v2", prod.ID)
	must(t, err)
	must(t, e.svc.Delete(ctx, admin, prod.ID))
	if got := e.namesOn("team/app", v1) + e.namesOn("team/other", digest.FromString("team/other:v2")); got != "[][]" {
		t.Errorf("after deleting prod: %s", got)
	}
	e.view(func(tx meta.Tx) error {
		for _, kind := range []string{"artifactLabels", "labelArtifacts"} {
			recs, err := tx.Records(kind).List("", 0)
			if err != nil {
				return err
			}
			if len(recs) != 1 { // pub/app's label p, and nothing else
				t.Errorf("%s after the deletion: %d records", kind, len(recs))
			}
		}
		return nil
	})
}

// TestForget: Forget drops one artifact's attachments, ForgetRepository
// a repository's, and nothing else.
func TestForget(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.create(admin, label.Label{Name: "a", Scope: label.Global})
	b := e.create(admin, label.Label{Name: "b", Scope: label.Global})
	for _, repo := range []string{"team/app", "team/other"} {
		for _, tag := range []string{"v1", "v2"} {
			for _, id := range []int64{a.ID, b.ID} {
				if _, err := e.svc.Attach(ctx, admin, repo, tag, id); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	d := func(s string) digest.Digest { return digest.FromString(s) }
	must(t, e.store.Update(ctx, func(tx meta.Tx) error { return label.Forget(tx, "team/app", d("team/app:v1")) }))
	must(t, e.store.Update(ctx, func(tx meta.Tx) error { return label.ForgetRepository(tx, "team/other") }))
	got := strings.Join([]string{e.namesOn("team/app", d("team/app:v1")), e.namesOn("team/app", d("team/app:v2")),
		e.namesOn("team/other", d("team/other:v1")), e.namesOn("team/other", d("team/other:v2"))}, " ")
	if got != "[] [a b] [] []" {
		t.Errorf("after forgetting: %s", got)
	}
	e.view(func(tx meta.Tx) error {
		for _, id := range []int64{a.ID, b.ID} {
			if ds, err := label.ArtifactsWith(tx, "team/app", id); err != nil || len(ds) != 1 || ds[0] != d("team/app:v2") {
				t.Errorf("label %d in team/app: %v, %v", id, ds, err)
			}
			if ds, err := label.ArtifactsWith(tx, "team/other", id); err != nil || len(ds) != 0 {
				t.Errorf("label %d in team/other: %v, %v", id, ds, err)
			}
		}
		return nil
	})
}

// TestResolve: ids and names, the project's labels before the global
// ones; another project's labels are not found.
func TestResolve(t *testing.T) {
	e := newEnv(t)
	g := e.create(admin, label.Label{Name: "prod", Scope: label.Global})
	p := e.create(alice, label.Label{Name: "prod", Scope: label.ProjectScope, Project: "team"})
	q := e.create(alice, label.Label{Name: "qa", Scope: label.ProjectScope, Project: "team"})
	e.view(func(tx meta.Tx) error {
		for _, c := range []struct {
			project string
			refs    []string
			want    []int64
		}{
			{"team", []string{"prod", "qa", fmt.Sprint(g.ID)}, []int64{p.ID, q.ID, g.ID}},
			{"pub", []string{"prod"}, []int64{g.ID}},
		} {
			if got, err := label.Resolve(tx, c.project, c.refs); err != nil || !slices.Equal(got, c.want) {
				t.Errorf("Resolve(%s, %q) = %v, %v; want %v", c.project, c.refs, got, err, c.want)
			}
		}
		for _, refs := range [][]string{{"qa"}, {fmt.Sprint(q.ID)}, {"nope"}, {"99"}} {
			_, err := label.Resolve(tx, "pub", refs)
			wantErr(t, fmt.Sprintf("Resolve(pub, %q)", refs), err, meta.ErrNotFound)
		}
		return nil
	})
}

// TestProjectDeleted: a deleted project's labels go with it (the
// cleanup); a project created again under the name starts with none,
// even where the cleanup did not run.
func TestProjectDeleted(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	must(t, e.m.CreateProject(ctx, alice, "tmp", false))
	old := e.create(alice, label.Label{Name: "x", Scope: label.ProjectScope, Project: "tmp"})
	must(t, e.m.DeleteProject(ctx, "tmp"))
	e.view(func(tx meta.Tx) error {
		if _, err := tx.Records("labelNames").Get("p/tmp/x"); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("the name index after the cleanup: %v", err)
		}
		return nil
	})
	must(t, e.m.CreateProject(ctx, alice, "tmp", false))
	_, err := e.svc.Get(ctx, admin, old.ID)
	wantErr(t, "a label of the deleted project", err, meta.ErrNotFound)
	again := e.create(alice, label.Label{Name: "x", Scope: label.ProjectScope, Project: "tmp"})

	// Without the cleanup (another Manager over the store), the old label
	// stays stored but is neither shown nor in the way.
	plain, err := accountsWithoutCleanup(t, e)
	must(t, err)
	must(t, plain.DeleteProject(ctx, "tmp"))
	must(t, plain.CreateProject(ctx, alice, "tmp", false))
	if ls, err := e.svc.List(ctx, admin, label.Filter{Project: "tmp"}); err != nil || len(ls) != 0 {
		t.Errorf("labels of the new tmp: %v, %v", ls, err)
	}
	_, err = e.svc.Get(ctx, admin, again.ID)
	wantErr(t, "a stale label", err, meta.ErrNotFound)
	third := e.create(alice, label.Label{Name: "x", Scope: label.ProjectScope, Project: "tmp"})
	if third.ID <= again.ID {
		t.Errorf("ids %d then %d", again.ID, third.ID)
	}
}

// TestForgetting: deletions through Forgetting's store drop the
// attachments of what they delete, and only those.
func TestForgetting(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	l := e.create(admin, label.Label{Name: "a", Scope: label.Global})
	d := func(s string) digest.Digest { return digest.FromString(s) }
	for _, repo := range []string{"team/app", "team/other"} {
		for _, tag := range []string{"v1", "v2"} {
			if _, err := e.svc.Attach(ctx, admin, repo, tag, l.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	store := label.Forgetting(e.store)
	must(t, store.Update(ctx, func(tx meta.Tx) error { return tx.Manifests().Delete("team/app", d("team/app:v1")) }))
	must(t, store.Update(ctx, func(tx meta.Tx) error { return tx.Repositories().Delete("team/other") }))
	err := store.Update(ctx, func(tx meta.Tx) error { return tx.Manifests().Delete("team/app", d("gone")) })
	wantErr(t, "deleting a missing manifest", err, meta.ErrNotFound)
	e.view(func(tx meta.Tx) error {
		for repo, want := range map[string][]digest.Digest{"team/app": {d("team/app:v2")}, "team/other": {}} {
			if got, err := label.ArtifactsWith(tx, repo, l.ID); err != nil || !slices.Equal(got, want) {
				t.Errorf("ArtifactsWith(%s) = %v, %v; want %v", repo, got, err, want)
			}
		}
		return nil
	})
	if got := e.namesOn("team/app", d("team/app:v2")); got != "[a]" {
		t.Errorf("the artifact left: %s", got)
	}
}
