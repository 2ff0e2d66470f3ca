package accounts

import (
	"errors"
	"slices"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

// instance is a Manager as one server instance has it: over the shared
// store, its policy kept fresh by its own watcher, polled by hand.
type instance struct {
	m *Manager
	w *generation.Watcher
}

func newInstance(t *testing.T, s meta.Store) instance {
	t.Helper()
	w, err := generation.NewWatcher(s)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(t.Context(), s, WithHashCost(bcrypt.MinCost), WithWatcher(w))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	return instance{m: m, w: w}
}

// TestPolicyChangesReachOtherInstances: each change of the policy made
// through one instance (a project with its creator, a member, a role
// change, a grant, a robot, its deletion and re-creation with fewer
// rights, a member removed, a user deleted, a project deleted and made
// again by someone else) reaches
// another instance's authorizer at its watcher's next poll, not before:
// each bumps PolicyGeneration in its transaction.
func TestPolicyChangesReachOtherInstances(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		s := open(t)
		a, b := newInstance(t, s), newInstance(t, s)
		ctx := t.Context()
		owner := auth.Principal{Name: "owner", Kind: auth.User}
		bob := auth.Principal{Name: "bob", Kind: auth.User}
		robot := auth.Principal{Name: "robot$team+ci", Kind: auth.Robot}
		sysAdmin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
		// step makes a change through a, then checks that b still
		// decides as before until its watcher polls, and as a does after.
		step := func(what string, change func() error, p auth.Principal, before, after []string) {
			t.Helper()
			gen, _ := b.w.Seen(PolicyGeneration)
			if err := change(); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if got := allowed(t, a.m, p, "team/app"); !slices.Equal(got, after) {
				t.Fatalf("%s: on the instance that made it, %s may %v; want %v", what, p.Name, got, after)
			}
			if got := allowed(t, b.m, p, "team/app"); !slices.Equal(got, before) {
				t.Fatalf("%s: on the other instance before its poll, %s may %v; want %v", what, p.Name, got, before)
			}
			if err := b.w.Poll(ctx); err != nil {
				t.Fatal(err)
			}
			if now, _ := b.w.Seen(PolicyGeneration); now <= gen {
				t.Fatalf("%s: the generation did not move (%d, then %d)", what, gen, now)
			}
			if got := allowed(t, b.m, p, "team/app"); !slices.Equal(got, after) {
				t.Fatalf("%s: on the other instance after its poll, %s may %v; want %v", what, p.Name, got, after)
			}
		}
		pullPush := []string{"pull", "push"}
		all := []string{"pull", "push", "delete"}
		if err := a.m.SetUser(ctx, "bob", "bob-password", false); err != nil {
			t.Fatal(err)
		}
		step("create the project", func() error { return a.m.CreateProject(ctx, owner, "team", false) }, owner, nil, all)
		step("add a member", func() error {
			_, err := a.m.AddMember(ctx, owner, "team", "user", "bob", rbac.Guest)
			return err
		}, bob, nil, []string{"pull"})
		step("change the role", func() error { return a.m.UpdateMember(ctx, owner, "team", "user", "bob", rbac.Developer) }, bob, []string{"pull"}, pullPush)
		step("remove the member", func() error { return a.m.RemoveMember(ctx, owner, "team", "user", "bob") }, bob, pullPush, nil)
		step("grant", func() error {
			_, err := a.m.SetGrant(ctx, owner, "team", "user", "bob", "team/app", []string{"pull"})
			return err
		}, bob, nil, []string{"pull"})
		step("delete the user", func() error { return a.m.DeleteUser(ctx, "bob") }, bob, []string{"pull"}, nil)

		var secret string
		spec := RobotSpec{Project: "team", Name: "ci", Grants: []Grant{{Project: "team", Pattern: "team/**", Actions: pullPush}}}
		step("create a robot", func() error {
			var err error
			_, secret, err = a.m.CreateRobot(ctx, owner, spec)
			return err
		}, robot, nil, pullPush)
		if _, err := b.m.Authenticate(ctx, robot.Name, secret); err != nil {
			t.Fatalf("the robot on the other instance: %v", err)
		}
		step("delete the robot", func() error { return a.m.DeleteRobot(ctx, owner, robot.Name) }, robot, pullPush, nil)
		if _, err := b.m.Authenticate(ctx, robot.Name, secret); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("the deleted robot on the other instance: %v, want ErrBadCredentials", err)
		}
		// Re-created under its name with pull only: the other instance
		// must not keep the first robot's push.
		spec.Grants[0].Actions = []string{"pull"}
		step("re-create the robot with less", func() error {
			_, _, err := a.m.CreateRobot(ctx, owner, spec)
			return err
		}, robot, nil, []string{"pull"})
		// Deleted and created again by someone else: the other instance
		// must not keep the first owner's role in it.
		step("delete the project and create it again", func() error {
			if err := a.m.DeleteRobot(ctx, sysAdmin, robot.Name); err != nil {
				return err
			}
			if err := a.m.DeleteProject(ctx, "team"); err != nil {
				return err
			}
			return a.m.CreateProject(ctx, auth.Principal{Name: "other", Kind: auth.User}, "team", false)
		}, owner, all, nil)
	})
}

// TestOwnProjectCreationNeedsNoReload: a project created through an
// instance is applied to its own policy, so its watcher's poll after it
// does not read the whole policy again (at 10 000 projects that read
// costs far more than the creation); a change made elsewhere in between
// still makes it read, and the creator's rights hold on both instances.
func TestOwnProjectCreationNeedsNoReload(t *testing.T) {
	s := teststores.Open(t)
	a, b := newInstance(t, s), newInstance(t, s)
	ctx := t.Context()
	owner := auth.Principal{Name: "owner", Kind: auth.User}
	before := a.m.loads.Load()
	for _, name := range []string{"one", "two", "three"} {
		if err := a.m.CreateProject(ctx, owner, name, false); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.m.loads.Load() - before; got != 0 {
		t.Errorf("creating 3 projects read the whole policy %d times; want 0", got)
	}
	if got := allowed(t, a.m, owner, "two/app"); !slices.Equal(got, []string{"pull", "push", "delete"}) {
		t.Errorf("the creator may %v in two", got)
	}
	// Made through b: a's next creation cannot know a's policy is whole.
	if err := b.m.CreateProject(ctx, owner, "four", false); err != nil {
		t.Fatal(err)
	}
	before = a.m.loads.Load()
	if err := a.m.CreateProject(ctx, owner, "five", false); err != nil {
		t.Fatal(err)
	}
	if got := a.m.loads.Load() - before; got != 1 {
		t.Errorf("after a change elsewhere, the poll read the whole policy %d times; want 1", got)
	}
	if got := allowed(t, a.m, owner, "four/app"); !slices.Equal(got, []string{"pull", "push", "delete"}) {
		t.Errorf("on a, the creator may %v in four (made through b)", got)
	}
}
