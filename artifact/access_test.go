package artifact_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/metatest"
)

// The Service's rules hold for Go callers: a guest reads but cannot
// delete, a grant holder sees only the repositories its pattern
// matches, and a private repository does not exist to anyone else.
func TestRulesForGoCallers(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.m.CreateProject(ctx, e.admin, "team", false); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	for _, repo := range []string{"team/app-web", "team/db"} {
		metatest.Put(t, e.store, repo, manifest(repo, at), "v1")
	}
	for _, u := range []string{"guest", "granted", "stranger"} {
		if err := e.m.SetUser(ctx, u, u+"-password", false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.m.AddMember(ctx, e.admin, "team", "user", "guest", rbac.Guest); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.SetGrant(ctx, e.admin, "team", "user", "granted", "team/app-*", []string{"pull"}); err != nil {
		t.Fatal(err)
	}
	user := func(name string) auth.Principal { return auth.Principal{Name: name, Kind: auth.User} }
	guest, granted, stranger := user("guest"), user("granted"), user("stranger")

	list, total, err := e.svc.ListRepositories(ctx, guest, "team", artifact.RepositoryQuery{})
	if err != nil || total != 2 || len(list) != 2 {
		t.Fatalf("the guest lists %d of %d, %v", len(list), total, err)
	}
	if err := e.svc.DeleteRepository(ctx, guest, "team/db"); !errors.Is(err, artifact.ErrForbidden) {
		t.Errorf("a guest deletes a repository: %v, want ErrForbidden", err)
	}
	if err := e.svc.DeleteArtifact(ctx, guest, "team/db", "v1"); !errors.Is(err, artifact.ErrForbidden) {
		t.Errorf("a guest deletes an artifact: %v, want ErrForbidden", err)
	}
	list, total, err = e.svc.ListRepositories(ctx, granted, "team", artifact.RepositoryQuery{})
	var got []string
	for _, r := range list {
		got = append(got, r.Name)
	}
	if err != nil || total != 1 || !slices.Equal(got, []string{"team/app-web"}) {
		t.Errorf("the grant holder lists %q of %d, %v", got, total, err)
	}
	if _, _, err := e.svc.ListArtifacts(ctx, granted, "team/db", artifact.ArtifactQuery{}); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("the grant holder lists team/db: %v, want not found", err)
	}
	for _, p := range []auth.Principal{stranger, auth.AnonymousPrincipal} {
		if _, _, err := e.svc.ListRepositories(ctx, p, "team", artifact.RepositoryQuery{}); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("%q lists a private project: %v, want not found", p.Name, err)
		}
		if _, err := e.svc.GetArtifact(ctx, p, "team/db", "v1", artifact.With{}); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("%q reads a private artifact: %v, want not found", p.Name, err)
		}
		res, err := e.svc.Search(ctx, p, "team")
		if err != nil || len(res.Projects) != 0 || len(res.Repositories) != 0 {
			t.Errorf("%q searches and finds %+v, %v", p.Name, res, err)
		}
	}
	if err := e.svc.DeleteRepository(ctx, e.admin, "team/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.GetRepository(ctx, e.admin, "team/db"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("a deleted repository: %v", err)
	}
	// Without a registry to go through, writes say so.
	if err := e.svc.DeleteArtifact(ctx, e.admin, "team/app-web", "v1"); !errors.Is(err, artifact.ErrNoRegistry) {
		t.Errorf("a delete without a registry: %v", err)
	}
}
