package label_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/opencontainers/go-digest"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
)

// env is a label Service over a fresh store with accounts: projects
// "team" (private: alice projectAdmin, mia maintainer, dev developer,
// gus guest), "pub" (public, alice projectAdmin) and "priv" (private,
// admin's), and a robot of team that may read it, pull and push there;
// each project's repository "app" and team's "other" hold artifacts
// tagged v1 and v2.
type env struct {
	t     *testing.T
	store meta.Store
	m     *accounts.Manager
	svc   *label.Service
	robot auth.Principal
}

var (
	admin = auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	alice = auth.Principal{Name: "alice", Kind: auth.User}
	mia   = auth.Principal{Name: "mia", Kind: auth.User}
	dev   = auth.Principal{Name: "dev", Kind: auth.User}
	gus   = auth.Principal{Name: "gus", Kind: auth.User}
	bob   = auth.Principal{Name: "bob", Kind: auth.User} // no member anywhere
	anon  = auth.AnonymousPrincipal
)

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	store := teststores.Open(t)
	m, err := accounts.New(ctx, store, accounts.WithHashCost(bcrypt.MinCost), accounts.WithProjectCleanup(label.DeleteProject))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"admin", "alice", "mia", "dev", "gus", "bob"} {
		if err := m.SetUser(ctx, u, u+"-password", u == "admin"); err != nil {
			t.Fatal(err)
		}
	}
	must(t, m.CreateProject(ctx, alice, "team", false))
	must(t, m.CreateProject(ctx, alice, "pub", true))
	must(t, m.CreateProject(ctx, admin, "priv", false))
	for user, role := range map[string]rbac.Role{"mia": rbac.Maintainer, "dev": rbac.Developer, "gus": rbac.Guest} {
		if _, err := m.AddMember(ctx, alice, "team", "user", user, role); err != nil {
			t.Fatal(err)
		}
	}
	name, secret, err := m.CreateRobot(ctx, admin, accounts.RobotSpec{Project: "team", Name: "ci",
		Grants: []accounts.Grant{{Project: "team", Pattern: "team/**", Actions: []string{auth.ActionPull, auth.ActionPush}},
			{Project: "team", Resource: rbac.ResourceProject, Actions: []string{rbac.ActionRead}}}})
	if err != nil {
		t.Fatal(err)
	}
	robot, err := m.Authenticate(ctx, name, secret)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := label.New(store, m.Authorizer(), m)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, m: m, svc: svc, robot: robot}
	for _, repo := range []string{"team/app", "team/other", "pub/app", "priv/app"} {
		e.manifest(repo, "v1")
		e.manifest(repo, "v2")
	}
	return e
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// manifest stores a manifest tagged tag in repo and returns its digest.
func (e *env) manifest(repo, tag string) digest.Digest {
	e.t.Helper()
	d := digest.FromString(repo + ":" + tag)
	must(e.t, e.store.Update(context.Background(), func(tx meta.Tx) error {
		if _, _, err := tx.Repositories().Ensure(repo); err != nil {
			return err
		}
		if err := tx.Manifests().Put(repo, meta.Manifest{Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json", Size: 100}); err != nil {
			return err
		}
		return tx.Tags().Put(repo, tag, d)
	}))
	return d
}

// create creates a label as p, failing the test on an error.
func (e *env) create(p auth.Principal, l label.Label) label.Label {
	e.t.Helper()
	out, err := e.svc.Create(e.t.Context(), p, l)
	if err != nil {
		e.t.Fatalf("create %+v as %s: %v", l, p.Name, err)
	}
	return out
}

// view runs fn in a read transaction.
func (e *env) view(fn func(tx meta.Tx) error) {
	e.t.Helper()
	must(e.t, e.store.View(context.Background(), fn))
}

// namesOn returns the names of the labels on repo@d.
func (e *env) namesOn(repo string, d digest.Digest) string {
	e.t.Helper()
	var names []string
	e.view(func(tx meta.Tx) error {
		var err error
		names, err = label.Names(tx, repo, d)
		return err
	})
	return fmt.Sprint(names)
}

// wantErr checks that err matches want.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

// accountsWithoutCleanup is another accounts Manager over e's store,
// which deletes projects without deleting their labels.
func accountsWithoutCleanup(t *testing.T, e *env) (*accounts.Manager, error) {
	t.Helper()
	return accounts.New(t.Context(), e.store, accounts.WithHashCost(bcrypt.MinCost))
}
