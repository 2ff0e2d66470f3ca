package accounts

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/meta/bolt"
)

func openStore(t *testing.T) (meta.Store, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "meta.db")
	s, err := bolt.Open(p, bolt.NoSync())
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

func newManager(t *testing.T, s meta.Store) *Manager {
	t.Helper()
	m, err := New(t.Context(), s, WithHashCost(bcrypt.MinCost)) // the tests hash many secrets
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// clockedManager returns a Manager over a fresh store (closed at the end of
// the test) whose clock reads *now.
func clockedManager(t *testing.T) (*Manager, meta.Store, *time.Time) {
	t.Helper()
	s, _ := openStore(t)
	t.Cleanup(func() { s.Close() })
	m := newManager(t, s)
	now := time.Now()
	m.now = func() time.Time { return now }
	return m, s, &now
}

func allowed(t *testing.T, m *Manager, p auth.Principal, repo string) []string {
	t.Helper()
	got, err := m.Authorizer().Allowed(t.Context(), p, auth.Resource{Type: auth.TypeRepository, Name: repo},
		[]string{auth.ActionPull, auth.ActionPush, auth.ActionDelete})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func login(t *testing.T, m *Manager, name, secret string) (auth.Principal, error) {
	t.Helper()
	return m.Authenticate(t.Context(), name, secret)
}

func TestUsersAndProjects(t *testing.T) {
	s, _ := openStore(t)
	defer s.Close()
	m := newManager(t, s)
	ctx := t.Context()
	for _, u := range []string{"alice", "bob"} {
		if err := m.SetUser(ctx, u, u+"-password", false); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SetUser(ctx, "root", "root-password", true); err != nil {
		t.Fatal(err)
	}
	if p, err := login(t, m, "alice", "alice-password"); err != nil || p.Name != "alice" || p.Kind != auth.User || p.Admin {
		t.Fatalf("alice logs in: %+v, %v", p, err)
	}
	if p, err := login(t, m, "root", "root-password"); err != nil || !p.Admin {
		t.Fatalf("root logs in as admin: %+v, %v", p, err)
	}
	for _, c := range [][2]string{{"alice", "wrong"}, {"alice", ""}, {"nobody", "x"}, {"", ""}} {
		if _, err := login(t, m, c[0], c[1]); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("login %q/%q: %v, want ErrBadCredentials", c[0], c[1], err)
		}
	}
	if err := m.SetUser(ctx, "carol", "short", false); !errors.Is(err, ErrInvalid) {
		t.Errorf("a short password: %v", err)
	}
	if err := m.SetUser(ctx, "Carol!", "long-enough", false); !errors.Is(err, ErrInvalid) {
		t.Errorf("a bad user name: %v", err)
	}

	alice := auth.Principal{Name: "alice", Kind: auth.User}
	bob := auth.Principal{Name: "bob", Kind: auth.User}
	if err := m.CreateProject(ctx, alice, "team", false); err != nil {
		t.Fatal(err)
	}
	if err := m.CreateProject(ctx, alice, "team", true); !errors.Is(err, ErrExists) {
		t.Errorf("creating team twice: %v", err)
	}
	if got := allowed(t, m, alice, "team/app"); !slices.Equal(got, []string{"pull", "push", "delete"}) {
		t.Errorf("the creator (projectAdmin): %v", got)
	}
	if got := allowed(t, m, bob, "team/app"); len(got) != 0 {
		t.Errorf("a non-member: %v", got)
	}
	id, err := m.AddMember(ctx, alice, "team", "user", "bob", rbac.Guest)
	if err != nil || id != 2 {
		t.Fatalf("AddMember = %d, %v; want id 2 after the creator's 1", id, err)
	}
	if _, err := m.AddMember(ctx, alice, "team", "user", "bob", rbac.Developer); !errors.Is(err, ErrExists) {
		t.Errorf("adding bob again: %v", err)
	}
	if err := m.UpdateMember(ctx, alice, "team", "user", "bob", rbac.Developer); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, m, bob, "team/app"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Errorf("bob as developer: %v", got)
	}
	if _, err := m.AddMember(ctx, alice, "team", "user", "carl", "owner"); !errors.Is(err, ErrInvalid) {
		t.Errorf("an unknown role: %v", err)
	}
	if err := m.UpdateMember(ctx, alice, "team", "user", "carl", rbac.Guest); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("updating a non-member: %v", err)
	}

	// Deleting a user drops the account and its memberships.
	if err := m.SetUser(ctx, "temp", "temp-password", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddMember(ctx, alice, "team", "user", "temp", rbac.Maintainer); err != nil {
		t.Fatal(err)
	}
	temp := auth.Principal{Name: "temp", Kind: auth.User}
	if err := m.DeleteUser(ctx, "temp"); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, m, temp, "team/app"); len(got) != 0 {
		t.Errorf("a deleted user keeps %v", got)
	}
	if _, err := login(t, m, "temp", "temp-password"); err == nil {
		t.Error("a deleted user logs in")
	}
	if err := m.DeleteUser(ctx, "temp"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("deleting a missing user: %v", err)
	}

	// The policy survives a restart: a new Manager loads it from the store.
	m2 := newManager(t, s)
	if got := allowed(t, m2, bob, "team/app"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Errorf("after reload, bob: %v", got)
	}
	if err := m2.RemoveMember(ctx, alice, "team", "user", "bob"); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, m2, bob, "team/app"); len(got) != 0 {
		t.Errorf("bob after removal: %v", got)
	}

	// A project with repositories cannot be deleted.
	if err := s.Update(ctx, func(tx meta.Tx) error { _, _, err := tx.Repositories().Ensure("team/app"); return err }); err != nil {
		t.Fatal(err)
	}
	if err := m2.DeleteProject(ctx, "team"); !errors.Is(err, ErrNotEmpty) {
		t.Errorf("deleting a project with a repository: %v", err)
	}
	if err := m2.CreateProject(ctx, alice, "empty", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m2.CreateRobot(ctx, alice, RobotSpec{Project: "empty", Name: "ci",
		Grants: []Grant{{Project: "empty", Pattern: "empty/**", Actions: []string{"pull"}}}}); err != nil {
		t.Fatal(err)
	}
	if err := m2.DeleteProject(ctx, "empty"); err != nil {
		t.Fatalf("deleting an empty project: %v", err)
	}
	if _, err := m2.Project(ctx, "empty"); !errors.Is(err, rbac.ErrNoProject) {
		t.Errorf("the deleted project: %v", err)
	}
	if err := s.View(ctx, func(tx meta.Tx) error { _, err := Robots.In(tx).Get("robot$empty+ci"); return err }); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("the deleted project's robot: %v", err)
	}
}

func TestRobots(t *testing.T) {
	m, s, clock := clockedManager(t)
	ctx := t.Context()
	now := *clock
	admin := auth.Principal{Name: "alice", Kind: auth.User}
	dev := auth.Principal{Name: "bob", Kind: auth.User}
	if err := m.CreateProject(ctx, admin, "team", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddMember(ctx, admin, "team", "user", "bob", rbac.Developer); err != nil {
		t.Fatal(err)
	}
	spec := RobotSpec{Project: "team", Name: "ci", ExpiresAt: now.Add(time.Hour),
		Grants: []Grant{{Project: "team", Pattern: "team/app-*", Actions: []string{"pull", "push"}}}}
	name, secret, err := m.CreateRobot(ctx, admin, spec)
	if err != nil || name != "robot$team+ci" || len(secret) < 40 {
		t.Fatalf("CreateRobot = %q, %q, %v", name, secret, err)
	}
	err = s.View(ctx, func(tx meta.Tx) error {
		r, err := Robots.In(tx).Get(name)
		if err == nil && string(r.SecretHash) == secret {
			t.Error("the robot's secret is stored in the clear")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	robot, err := login(t, m, name, secret)
	if err != nil || robot.Kind != auth.Robot {
		t.Fatalf("the robot logs in: %+v, %v", robot, err)
	}
	if got := allowed(t, m, robot, "team/app-web"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Errorf("robot on its pattern: %v", got)
	}
	if got := allowed(t, m, robot, "team/db"); len(got) != 0 {
		t.Errorf("robot outside its pattern: %v", got)
	}
	if _, _, err := m.CreateRobot(ctx, admin, spec); !errors.Is(err, ErrExists) {
		t.Errorf("a second robot of the same name: %v", err)
	}

	// Rotation: the old secret stops working.
	fresh, err := m.RotateRobotSecret(ctx, admin, name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, m, name, secret); err == nil {
		t.Error("the old secret still works after rotation")
	}
	if _, err := login(t, m, name, fresh); err != nil {
		t.Errorf("the rotated secret: %v", err)
	}
	// Disabled, then expired: refused.
	if err := m.SetRobotDisabled(ctx, admin, name, true); err != nil {
		t.Fatal(err)
	}
	if _, err := login(t, m, name, fresh); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a disabled robot: %v", err)
	}
	if err := m.SetRobotDisabled(ctx, admin, name, false); err != nil {
		t.Fatal(err)
	}
	*clock = now.Add(2 * time.Hour)
	if _, err := login(t, m, name, fresh); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("an expired robot: %v", err)
	}

	// Who may create what.
	other := RobotSpec{Project: "team", Name: "other", Grants: []Grant{{Project: "team", Pattern: "team/**", Actions: []string{"pull"}}}}
	if _, _, err := m.CreateRobot(ctx, dev, other); !errors.Is(err, ErrForbidden) {
		t.Errorf("a developer creates a robot: %v", err)
	}
	if _, _, err := m.CreateRobot(ctx, robot, other); !errors.Is(err, ErrForbidden) {
		t.Errorf("a robot creates a robot: %v", err)
	}
	if _, _, err := m.CreateRobot(ctx, admin, RobotSpec{Name: "system"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a project admin creates a system robot: %v", err)
	}
	outside := RobotSpec{Project: "team", Name: "escape", Grants: []Grant{{Project: "other", Pattern: "other/**", Actions: []string{"pull"}}}}
	if _, _, err := m.CreateRobot(ctx, admin, outside); !errors.Is(err, ErrInvalid) {
		t.Errorf("a grant outside the robot's project: %v", err)
	}
	if _, _, err := m.CreateRobot(ctx, admin, RobotSpec{Project: "team", Name: "old", ExpiresAt: now.Add(-time.Minute)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an expiry in the past: %v", err)
	}
	if err := m.DeleteRobot(ctx, admin, name); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, m, robot, "team/app-web"); len(got) != 0 {
		t.Errorf("a deleted robot: %v", got)
	}
}

func TestCovers(t *testing.T) {
	for _, c := range []struct {
		outer, inner string
		want         bool
	}{
		{"team/**", "team/app-*", true},
		{"team/**", "team/a/b", true},
		{"team/app-*", "team/app-*", true},
		{"team/app-*", "team/app-web", false}, // conservative: only equal patterns under a non-** pattern
		{"team/app/**", "team/**", false},
		{"team/**", "teamx/**", false},
		{"team/a*/**", "team/ab/c", false},
	} {
		if got := covers(c.outer, c.inner); got != c.want {
			t.Errorf("covers(%q, %q) = %v, want %v", c.outer, c.inner, got, c.want)
		}
	}
}

// TestWithinCreator: a member hands out only what its role allows.
func TestWithinCreator(t *testing.T) {
	s, _ := openStore(t)
	defer s.Close()
	m := newManager(t, s)
	ctx := context.Background()
	admin := auth.Principal{Name: "root", Kind: auth.User, Admin: true}
	if err := m.CreateProject(ctx, admin, "team", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddMember(ctx, admin, "team", "group", "devs", rbac.Developer); err != nil {
		t.Fatal(err)
	}
	carol := auth.Principal{Name: "carol", Kind: auth.User, Groups: []string{"devs"}}
	if err := m.withinCreator(ctx, carol, RobotSpec{Grants: []Grant{{Project: "team", Pattern: "team/x", Actions: []string{"pull", "push"}}}}); err != nil {
		t.Errorf("a developer (through a group) grants pull and push: %v", err)
	}
	if err := m.withinCreator(ctx, carol, RobotSpec{Grants: []Grant{{Project: "team", Pattern: "team/x", Actions: []string{"delete"}}}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a developer grants delete: %v", err)
	}
	if err := m.withinCreator(ctx, carol, RobotSpec{Grants: []Grant{{Project: "other", Pattern: "other/x", Actions: []string{"pull"}}}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a developer grants in another project: %v", err)
	}
	if err := m.withinCreator(ctx, carol, RobotSpec{Grants: []Grant{{Project: "team", Resource: rbac.ResourceRobot, Actions: []string{"create"}}}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a developer grants robot creation: %v", err)
	}
	if _, err := m.AddMember(ctx, auth.Principal{Name: "root", Kind: auth.User}, "team", "user", "dan", rbac.ProjectAdmin); err != nil {
		t.Fatal(err)
	}
	dan := auth.Principal{Name: "dan", Kind: auth.User}
	if err := m.withinCreator(ctx, dan, RobotSpec{Grants: []Grant{{Project: "team", Resource: rbac.ResourceRobot, Actions: []string{"create", "read"}}}}); err != nil {
		t.Errorf("a project admin grants robot management: %v", err)
	}
}

func TestCreatingProjects(t *testing.T) {
	s, _ := openStore(t)
	defer s.Close()
	m := newManager(t, s)
	ctx := t.Context()
	dave := auth.Principal{Name: "dave", Kind: auth.User}
	robot := auth.Principal{Name: "robot$x", Kind: auth.Robot}
	push := []string{auth.ActionPull, auth.ActionPush}
	repo := auth.Resource{Type: auth.TypeRepository, Name: "newproj/app"}
	if got, _ := m.Authorizer().Allowed(ctx, dave, repo, push); len(got) != 0 {
		t.Fatalf("push to a missing project without auto-creation: %v", got)
	}
	for _, p := range []auth.Principal{auth.AnonymousPrincipal, robot} {
		if got, _ := m.CreatingProjects().Allowed(ctx, p, repo, push); len(got) != 0 {
			t.Fatalf("%s created a project: %v", p.Kind, got)
		}
	}
	if got, _ := m.CreatingProjects().Allowed(ctx, dave, auth.Resource{Type: auth.TypeRepository, Name: "pullonly/app"}, []string{auth.ActionPull}); len(got) != 0 {
		t.Fatalf("a pull created a project: %v", got)
	}
	got, err := m.CreatingProjects().Allowed(ctx, dave, repo, push)
	if err != nil || !slices.Equal(got, push) {
		t.Fatalf("first push with auto-creation: %v, %v", got, err)
	}
	p, err := m.Project(ctx, "newproj")
	if err != nil || p.Public {
		t.Fatalf("the created project: %+v, %v (want private)", p, err)
	}
	if _, err := m.Project(ctx, "pullonly"); !errors.Is(err, rbac.ErrNoProject) {
		t.Fatalf("a project was created for a pull: %v", err)
	}
}

func TestRoleIn(t *testing.T) {
	proj := Project{Members: []Member{
		{Kind: "group", Name: "devs", Role: string(rbac.Developer)},
		{Kind: "user", Name: "dave", Role: string(rbac.Guest)},
		{Kind: "group", Name: "leads", Role: string(rbac.Maintainer)},
		{Kind: "user", Name: "robot$x", Role: string(rbac.ProjectAdmin)},
	}}
	for _, c := range []struct {
		p    auth.Principal
		want rbac.Role
	}{
		{auth.Principal{Name: "dave", Kind: auth.User}, rbac.Guest},
		{auth.Principal{Name: "dave", Kind: auth.User, Groups: []string{"devs"}}, rbac.Developer},
		{auth.Principal{Name: "erin", Kind: auth.User, Groups: []string{"devs", "leads"}}, rbac.Maintainer},
		{auth.Principal{Name: "robot$x", Kind: auth.Robot}, ""}, // robots are never user members
		{auth.Principal{Name: "frank", Kind: auth.User}, ""},
	} {
		if got := RoleIn(proj, c.p); got != c.want {
			t.Errorf("RoleIn(%+v) = %q, want %q", c.p, got, c.want)
		}
	}
}

// TestRobotsCreateRobots: a robot holding robot creation makes robots with
// a subset of its own permissions and no longer life; a system robot's
// grants on "*" reach every project, present and future.
func TestRobotsCreateRobots(t *testing.T) {
	m, s, clock := clockedManager(t)
	ctx := t.Context()
	now := *clock
	admin := auth.Principal{Name: "root", Kind: auth.User, Admin: true}
	for _, p := range []string{"team", "other"} {
		if err := m.CreateProject(ctx, admin, p, false); err != nil {
			t.Fatal(err)
		}
	}
	pull := []string{auth.ActionPull}
	_, secret, err := m.CreateRobot(ctx, admin, RobotSpec{Project: "team", Name: "mgr", ExpiresAt: now.Add(2 * time.Hour),
		Grants: []Grant{
			{Project: "team", Pattern: "team/**", Actions: []string{"pull", "push"}},
			{Project: "team", Resource: rbac.ResourceRobot, Actions: []string{"create", "read"}},
		}})
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := login(t, m, "robot$team+mgr", secret)
	if err != nil {
		t.Fatal(err)
	}
	child := func(name string, exp time.Duration, grants ...Grant) RobotSpec {
		spec := RobotSpec{Project: "team", Name: name, Grants: grants}
		if exp != 0 {
			spec.ExpiresAt = now.Add(exp)
		}
		return spec
	}
	name, csecret, err := m.CreateRobot(ctx, mgr, child("child", time.Hour, Grant{Project: "team", Pattern: "team/app-*", Actions: pull}))
	if err != nil {
		t.Fatalf("a robot with robot creation makes a narrower robot: %v", err)
	}
	kid, err := login(t, m, name, csecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, m, kid, "team/app-web"); !slices.Equal(got, pull) {
		t.Errorf("the child on its pattern: %v", got)
	}
	if got := allowed(t, m, kid, "team/db"); len(got) != 0 {
		t.Errorf("the child outside its pattern: %v", got)
	}
	for _, c := range []struct {
		what string
		spec RobotSpec
		want error
	}{
		{"an action the creator lacks", child("c1", time.Hour, Grant{Project: "team", Pattern: "team/**", Actions: []string{"delete"}}), ErrForbidden},
		{"a permission the creator lacks", child("c2", time.Hour, Grant{Project: "team", Resource: rbac.ResourceRobot, Actions: []string{"delete"}}), ErrForbidden},
		{"no expiry", child("c3", 0, Grant{Project: "team", Pattern: "team/**", Actions: pull}), ErrForbidden},
		{"a later expiry", child("c4", 3*time.Hour, Grant{Project: "team", Pattern: "team/**", Actions: pull}), ErrForbidden},
		{"another project", RobotSpec{Project: "other", Name: "c5", ExpiresAt: now.Add(time.Hour), Grants: []Grant{{Project: "other", Pattern: "other/**", Actions: pull}}}, ErrForbidden},
		{"a system robot", RobotSpec{Name: "c6", ExpiresAt: now.Add(time.Hour), Grants: []Grant{{Project: "team", Pattern: "team/**", Actions: pull}}}, ErrForbidden},
		{"a resource pattern", child("c7", time.Hour, Grant{Project: "team", Resource: rbac.ResourceRobot, Pattern: "x", Actions: []string{"read"}}), ErrInvalid},
		{"an unknown resource", child("c8", time.Hour, Grant{Project: "team", Resource: "quota", Actions: []string{"read"}}), ErrInvalid},
		{"a repository action on a resource", child("c9", time.Hour, Grant{Project: "team", Resource: rbac.ResourceRobot, Actions: pull}), ErrInvalid},
	} {
		if _, _, err := m.CreateRobot(ctx, mgr, c.spec); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.what, err, c.want)
		}
	}
	// The child, without robot creation, creates nothing.
	if _, _, err := m.CreateRobot(ctx, kid, child("grandchild", time.Minute, Grant{Project: "team", Pattern: "team/app-*", Actions: pull})); !errors.Is(err, ErrForbidden) {
		t.Errorf("a robot without robot creation: %v", err)
	}

	// A system robot over every project, including one created later.
	_, ssecret, err := m.CreateRobot(ctx, admin, RobotSpec{Name: "ops", Grants: []Grant{
		{Project: "*", Pattern: "**", Actions: pull},
		{Project: "*", Resource: rbac.ResourceRobot, Actions: []string{"create"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	ops, err := login(t, m, "robot$ops", ssecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CreateProject(ctx, admin, "later", false); err != nil {
		t.Fatal(err)
	}
	for _, repo := range []string{"team/x", "other/y", "later/z"} {
		if got := allowed(t, m, ops, repo); !slices.Equal(got, pull) {
			t.Errorf("a system robot on %s: %v", repo, got)
		}
	}
	if got := allowed(t, m, ops, "missing/z"); len(got) != 0 {
		t.Errorf("a system robot on a project that does not exist: %v", got)
	}
	if _, _, err := m.CreateRobot(ctx, ops, RobotSpec{Project: "other", Name: "puller", Grants: []Grant{{Project: "other", Pattern: "other/**", Actions: pull}}}); err != nil {
		t.Errorf("a system robot with robot creation makes a project robot: %v", err)
	}
	if _, _, err := m.CreateRobot(ctx, ops, RobotSpec{Name: "pusher", Grants: []Grant{{Project: "*", Pattern: "**", Actions: []string{"push"}}}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a system robot hands out push it lacks: %v", err)
	}
	if _, _, err := m.CreateRobot(ctx, mgr, RobotSpec{Project: "team", Name: "wide", ExpiresAt: now.Add(time.Hour), Grants: []Grant{{Project: "*", Pattern: "**", Actions: pull}}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a project robot with a grant on every project: %v", err)
	}

	// The policy comes back from the store.
	m2 := newManager(t, s)
	if got := allowed(t, m2, ops, "later/z"); !slices.Equal(got, pull) {
		t.Errorf("after reload, the system robot: %v", got)
	}
	if ok, err := m2.Authorizer().Can(mgr, "team", rbac.ResourceRobot, rbac.ActionCreate); err != nil || !ok {
		t.Errorf("after reload, the robot's robot creation: %v, %v", ok, err)
	}
}

// TestHashCost: WithHashCost sets the cost of new hashes, within bcrypt's
// range, and the default is bcrypt's.
func TestHashCost(t *testing.T) {
	for _, tc := range []struct {
		opts []Option
		want int
	}{
		{nil, bcrypt.DefaultCost},
		{[]Option{WithHashCost(bcrypt.MinCost)}, bcrypt.MinCost},
		{[]Option{WithHashCost(1)}, bcrypt.MinCost},
		{[]Option{WithHashCost(6)}, 6},
	} {
		s, _ := openStore(t)
		m, err := New(t.Context(), s, tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.SetUser(t.Context(), "carol", "carol-password", false); err != nil {
			t.Fatal(err)
		}
		var u User
		if err := s.View(t.Context(), func(tx meta.Tx) error { var err error; u, err = Users.In(tx).Get("carol"); return err }); err != nil {
			t.Fatal(err)
		}
		if got, err := bcrypt.Cost(u.PasswordHash); err != nil || got != tc.want {
			t.Errorf("cost = %d, %v; want %d", got, err, tc.want)
		}
		if _, err := m.Authenticate(t.Context(), "carol", "carol-password"); err != nil {
			t.Error(err)
		}
	}
}
