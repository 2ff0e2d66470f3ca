package rbac

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/berthreg/berth/auth"
)

// projectMap is a ProjectLookup over a map.
type projectMap map[string]bool // name → public

func (m projectMap) Project(_ context.Context, name string) (Project, error) {
	pub, ok := m[name]
	if !ok {
		return Project{}, fmt.Errorf("%q: %w", name, ErrNoProject)
	}
	return Project{Name: name, Public: pub}, nil
}

func user(name string, groups ...string) auth.Principal {
	return auth.Principal{Name: name, Kind: auth.User, Groups: groups}
}

func newAuthorizer(t *testing.T) *Authorizer {
	t.Helper()
	a, err := New(projectMap{"team": false, "public": true, "other": false})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var all = []string{auth.ActionPull, auth.ActionPush, auth.ActionDelete}

func allowed(t *testing.T, a *Authorizer, p auth.Principal, repo string) []string {
	t.Helper()
	got, err := a.Allowed(t.Context(), p, auth.Resource{Type: auth.TypeRepository, Name: repo}, all)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRoleMatrix(t *testing.T) {
	a := newAuthorizer(t)
	want := map[Role][]string{
		LimitedGuest: {"pull"},
		Guest:        {"pull"},
		Developer:    {"pull", "push"},
		Maintainer:   {"pull", "push", "delete"},
		ProjectAdmin: {"pull", "push", "delete"},
	}
	for _, role := range Roles {
		name := string(role) + "-user"
		if err := a.AddMember("team", Subject(auth.User, name), role); err != nil {
			t.Fatal(err)
		}
		if got := allowed(t, a, user(name), "team/app/api"); !slices.Equal(got, want[role]) {
			t.Errorf("%s in team/app/api: %v, want %v", role, got, want[role])
		}
		if got := allowed(t, a, user(name), "other/app"); len(got) != 0 {
			t.Errorf("%s of team got %v in another private project", role, got)
		}
	}
	for _, tc := range []struct {
		role     Role
		resource string
		action   string
		want     bool
	}{
		{LimitedGuest, ResourceMember, ActionRead, false},
		{Guest, ResourceMember, ActionRead, true},
		{Developer, ResourceRobot, ActionRead, false},
		{Maintainer, ResourceRobot, ActionRead, true},
		{Maintainer, ResourceMember, ActionCreate, false},
		{ProjectAdmin, ResourceMember, ActionCreate, true},
		{ProjectAdmin, ResourceProject, ActionDelete, true},
	} {
		got, err := a.Can(user(string(tc.role)+"-user"), "team", tc.resource, tc.action)
		if err != nil || got != tc.want {
			t.Errorf("%s %s %s: %v, %v; want %v", tc.role, tc.action, tc.resource, got, err, tc.want)
		}
	}
}

func TestPublicAnonymousAdminAndUnknown(t *testing.T) {
	a := newAuthorizer(t)
	if got := allowed(t, a, auth.AnonymousPrincipal, "public/app"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("anonymous on a public project: %v, want [pull]", got)
	}
	if got := allowed(t, a, auth.AnonymousPrincipal, "team/app"); len(got) != 0 {
		t.Errorf("anonymous on a private project: %v", got)
	}
	if got := allowed(t, a, user("stranger"), "public/app"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("a non-member on a public project: %v, want [pull]", got)
	}
	admin := auth.Principal{Name: "admin", Kind: auth.User, Admin: true}
	if got := allowed(t, a, admin, "team/app"); !slices.Equal(got, all) {
		t.Errorf("admin: %v", got)
	}
	if got := allowed(t, a, user("stranger"), "nosuch/app"); len(got) != 0 {
		t.Errorf("unknown project: %v", got)
	}
	if got := allowed(t, a, admin, "nosuch/app"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("unknown project, admin: %v, want [pull] only", got)
	}
	catalog := auth.Resource{Type: auth.TypeRegistry, Name: "catalog"}
	if got, _ := a.Allowed(t.Context(), user("stranger"), catalog, []string{"*"}); len(got) != 0 {
		t.Errorf("catalog for a non-admin: %v", got)
	}
	if got, _ := a.Allowed(t.Context(), admin, catalog, []string{"*"}); !slices.Equal(got, []string{"*"}) {
		t.Errorf("catalog for an admin: %v", got)
	}
	// An anonymous principal flagged admin by mistake stays anonymous.
	if got := allowed(t, a, auth.Principal{Kind: auth.Anonymous, Admin: true}, "team/app"); len(got) != 0 {
		t.Errorf("anonymous with Admin set: %v", got)
	}
}

func TestGrantsAndGroups(t *testing.T) {
	a := newAuthorizer(t)
	robot := auth.Principal{Name: "robot$team+ci", Kind: auth.Robot}
	if err := a.AddGrant("team", Subject(auth.Robot, robot.Name), "team/app-*", "pull", "push"); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, a, robot, "team/app-web"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Errorf("robot on a matching repository: %v", got)
	}
	for _, repo := range []string{"team/app", "team/other", "team/app-web/sub", "other/app-web"} {
		if got := allowed(t, a, robot, repo); len(got) != 0 {
			t.Errorf("robot limited to team/app-* got %v on %s", got, repo)
		}
	}
	for _, bad := range []string{"other/**", "**", "team*/x", "team/[", "tea/**"} {
		if err := a.AddGrant("team", "user:x", bad, "pull"); err == nil {
			t.Errorf("AddGrant accepted pattern %q outside project team", bad)
		}
	}
	if err := a.AddGrant("team", "user:x", "team/**", "own"); err == nil {
		t.Error("AddGrant accepted an unknown action")
	}

	// A group's role reaches its members; changes apply at once.
	if err := a.AddMember("team", GroupSubject("devs"), Developer); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, a, user("carol", "devs"), "team/app"); !slices.Equal(got, []string{"pull", "push"}) {
		t.Errorf("group member: %v", got)
	}
	if err := a.AddMember("team", GroupSubject("devs"), Guest); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, a, user("carol", "devs"), "team/app"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("after demotion to guest: %v", got)
	}
	if err := a.RemoveMember("team", GroupSubject("devs")); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, a, user("carol", "devs"), "team/app"); len(got) != 0 {
		t.Errorf("after removal: %v", got)
	}
	if err := a.RemoveSubject(Subject(auth.Robot, robot.Name)); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, a, robot, "team/app-web"); len(got) != 0 {
		t.Errorf("deleted robot: %v", got)
	}
	// A member's role in one project does not leak into another.
	if err := a.AddMember("other", Subject(auth.User, "dave"), ProjectAdmin); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, a, user("dave"), "team/app"); len(got) != 0 {
		t.Errorf("admin of other got %v in team", got)
	}
	if err := a.RemoveProject("other"); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, a, user("dave"), "other/app"); len(got) != 0 {
		t.Errorf("after RemoveProject: %v", got)
	}
	if err := a.AddMember("team", "user:x", "owner"); err == nil {
		t.Error("AddMember accepted an unknown role")
	}
}

// TestEveryProjectAndPermissions: grants on "*" reach every existing
// project; permissions on project resources answer Can, in their project or
// in every one.
func TestEveryProjectAndPermissions(t *testing.T) {
	a := newAuthorizer(t)
	bot := auth.Principal{Name: "robot$ops", Kind: auth.Robot}
	sub := Subject(auth.Robot, bot.Name)
	if err := a.AddGrant("*", sub, "*/base-*", auth.ActionPull); err != nil {
		t.Fatal(err)
	}
	for repo, want := range map[string]int{"team/base-os": 1, "other/base-go": 1, "team/app": 0, "missing/base-os": 0} {
		if got := allowed(t, a, bot, repo); len(got) != want {
			t.Errorf("a grant on every project, %s: %v", repo, got)
		}
	}
	if err := a.AddPermission("team", sub, ResourceRobot, ActionCreate); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		project, resource, action string
		want                      bool
	}{
		{"team", ResourceRobot, ActionCreate, true},
		{"team", ResourceRobot, ActionDelete, false},
		{"other", ResourceRobot, ActionCreate, false},
		{"team", ResourceMember, ActionCreate, false},
	} {
		if ok, err := a.Can(bot, c.project, c.resource, c.action); err != nil || ok != c.want {
			t.Errorf("Can(%s, %s, %s) = %v, %v", c.project, c.resource, c.action, ok, err)
		}
	}
	if err := a.AddPermission("*", sub, ResourceMember, ActionRead); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Can(bot, "other", ResourceMember, ActionRead); !ok {
		t.Error("a permission on every project does not reach other")
	}
	for _, bad := range [][2]string{{"quota", ActionRead}, {ResourceRobot, auth.ActionPull}} {
		if err := a.AddPermission("team", sub, bad[0], bad[1]); err == nil {
			t.Errorf("AddPermission(%s, %s) accepted", bad[0], bad[1])
		}
	}
	if err := a.AddGrant("team", sub, "other/**", auth.ActionPull); err == nil {
		t.Error("a project grant reaching into another project was accepted")
	}
}
