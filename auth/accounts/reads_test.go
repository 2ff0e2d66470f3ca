package accounts

import (
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/internal/testbolt"
	"github.com/berthreg/berth/meta"
)

// readFixture is a Manager over a real store with an administrator, users
// alice (member of team) and bob (no project), projects team (private),
// open (public) and secret (private), and robots of team and of secret.
func readFixture(t *testing.T) (m *Manager, adm, alice, bob auth.Principal) {
	t.Helper()
	m, err := New(t.Context(), testbolt.Open(t), WithHashCost(bcrypt.MinCost))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, u := range []string{"admin", "alice", "bob"} {
		if err := m.SetUser(ctx, u, u+"-password", u == "admin"); err != nil {
			t.Fatal(err)
		}
	}
	adm = auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	alice = auth.Principal{Name: "alice", Kind: auth.User}
	bob = auth.Principal{Name: "bob", Kind: auth.User}
	for _, p := range []struct {
		name   string
		public bool
	}{{"team", false}, {"open", true}, {"secret", false}} {
		if err := m.CreateProject(ctx, adm, p.name, p.public); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.AddMember(ctx, adm, "team", "user", "alice", rbac.ProjectAdmin); err != nil {
		t.Fatal(err)
	}
	for _, project := range []string{"team", "secret"} {
		if _, _, err := m.CreateRobot(ctx, adm, RobotSpec{Project: project, Name: "ci",
			Grants: []Grant{{Project: project, Pattern: project + "/**", Actions: []string{auth.ActionPull}}}}); err != nil {
			t.Fatal(err)
		}
	}
	return m, adm, alice, bob
}

func projectNames(ps []Project) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// TestReadsFollowVisibility: a Go caller of GetProject, ListProjects,
// GetRobot and ListRobots sees what the admin API shows the same
// principal, with the same errors: hidden records are meta.ErrNotFound
// like missing ones, user accounts are for administrators and the account
// itself (ErrForbidden), and no hash or session leaves the Manager.
func TestReadsFollowVisibility(t *testing.T) {
	m, adm, alice, bob := readFixture(t)
	ctx := t.Context()

	all, total, err := m.ListProjects(ctx, adm, ProjectFilter{}, Page{Number: 1})
	if err != nil || total != 3 || !slices.Equal(projectNames(all), []string{"open", "secret", "team"}) {
		t.Fatalf("admin's projects: %v (%d), %v", projectNames(all), total, err)
	}
	got, total, err := m.ListProjects(ctx, alice, ProjectFilter{}, Page{Number: 1, Size: 10})
	if err != nil || total != 2 || !slices.Equal(projectNames(got), []string{"open", "team"}) {
		t.Errorf("alice's projects: %v (%d), %v", projectNames(got), total, err)
	}
	got, total, _ = m.ListProjects(ctx, bob, ProjectFilter{}, Page{Number: 1, Size: 10})
	if total != 1 || !slices.Equal(projectNames(got), []string{"open"}) {
		t.Errorf("bob's projects: %v (%d)", projectNames(got), total)
	}
	got, total, _ = m.ListProjects(ctx, auth.AnonymousPrincipal, ProjectFilter{}, Page{Number: 1, Size: 10})
	if total != 1 || !slices.Equal(projectNames(got), []string{"open"}) {
		t.Errorf("anonymous projects: %v (%d)", projectNames(got), total)
	}
	private := false
	got, total, _ = m.ListProjects(ctx, adm, ProjectFilter{Public: &private}, Page{Number: 2, Size: 1})
	if total != 2 || !slices.Equal(projectNames(got), []string{"team"}) {
		t.Errorf("admin's private projects, page 2 of size 1: %v (%d)", projectNames(got), total)
	}
	got, total, _ = m.ListProjects(ctx, alice, ProjectFilter{Name: "secret"}, Page{Number: 1, Size: 10})
	if total != 0 || len(got) != 0 || got == nil {
		t.Errorf("alice asking for secret by name: %v (%d); want an empty, non-nil page", projectNames(got), total)
	}
	if got, _, _ = m.ListProjects(ctx, adm, ProjectFilter{}, Page{Number: 1 << 62, Size: 100}); len(got) != 0 {
		t.Errorf("a page far past the end: %v", projectNames(got))
	}
	if _, _, err := m.ListProjects(ctx, adm, ProjectFilter{}, Page{Number: 0, Size: 10}); !errors.Is(err, ErrInvalid) {
		t.Errorf("page 0: %v, want ErrInvalid", err)
	}

	if p, err := m.GetProject(ctx, alice, "team"); err != nil || p.Name != "team" || p.ID == 0 {
		t.Errorf("alice gets team: %+v, %v", p, err)
	}
	for _, name := range []string{"secret", "nosuch"} {
		if _, err := m.GetProject(ctx, bob, name); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("bob gets %s: %v, want meta.ErrNotFound", name, err)
		}
	}

	robots, total, err := m.ListRobots(ctx, alice, Page{Number: 1, Size: 10})
	if err != nil || total != 1 || robots[0].Name != RobotName("team", "ci") || robots[0].SecretHash != nil {
		t.Errorf("alice's robots: %+v (%d), %v", robots, total, err)
	}
	if _, total, _ := m.ListRobots(ctx, bob, Page{Number: 1, Size: 10}); total != 0 {
		t.Errorf("bob sees %d robots", total)
	}
	if _, total, _ := m.ListRobots(ctx, adm, Page{Number: 1, Size: 10}); total != 2 {
		t.Errorf("admin sees %d robots, want 2", total)
	}
	if r, err := m.GetRobot(ctx, alice, RobotName("team", "ci")); err != nil || r.SecretHash != nil || r.Project != "team" {
		t.Errorf("alice gets team's robot: %+v, %v", r, err)
	}
	for _, name := range []string{RobotName("secret", "ci"), RobotName("team", "nosuch")} {
		if _, err := m.GetRobot(ctx, alice, name); !errors.Is(err, meta.ErrNotFound) {
			t.Errorf("alice gets %s: %v, want meta.ErrNotFound", name, err)
		}
	}
	if _, err := m.GetRobot(ctx, auth.AnonymousPrincipal, RobotName("team", "ci")); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("anonymous gets a robot: %v", err)
	}

	signedIn, err := m.Authenticate(ctx, "alice", "alice-password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.StartSession(ctx, signedIn, time.Hour); err != nil {
		t.Fatal(err)
	}
	u, err := m.GetUser(ctx, alice, "alice")
	if err != nil || u.Name != "alice" || u.PasswordHash != nil || u.Sessions != nil {
		t.Errorf("alice reads herself: %+v, %v", u, err)
	}
	if _, err := m.GetUser(ctx, alice, "bob"); !errors.Is(err, ErrForbidden) {
		t.Errorf("alice reads bob: %v, want ErrForbidden", err)
	}
	if _, err := m.GetUser(ctx, adm, "nosuch"); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("admin reads a missing user: %v", err)
	}
	users, total, err := m.ListUsers(ctx, adm, UserFilter{}, Page{Number: 1, Size: 2})
	if err != nil || total != 3 || len(users) != 2 || users[0].Name != "admin" || users[0].PasswordHash != nil {
		t.Errorf("admin lists users: %+v (%d), %v", users, total, err)
	}
	if users, total, _ = m.ListUsers(ctx, adm, UserFilter{Name: "bob"}, Page{Number: 1, Size: 2}); total != 1 || users[0].Name != "bob" {
		t.Errorf("admin lists bob: %+v (%d)", users, total)
	}
	for _, p := range []auth.Principal{alice, auth.AnonymousPrincipal, {Name: "admin", Kind: auth.Anonymous, Admin: true}} {
		if _, _, err := m.ListUsers(ctx, p, UserFilter{}, Page{Number: 1}); !errors.Is(err, ErrForbidden) {
			t.Errorf("%+v lists users: %v, want ErrForbidden", p, err)
		}
	}
}
