package accounts

import (
	"errors"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
)

// TestMembersStayBelowTheirGranter: nobody gives, changes or takes away a
// role or a repository grant above their own rights. The review's case: a
// robot holding member create made anyone projectAdmin; and adding an
// existing member silently changed its role.
func TestMembersStayBelowTheirGranter(t *testing.T) {
	m, _, _ := clockedManager(t)
	ctx := t.Context()
	alice := auth.Principal{Name: "alice", Kind: auth.User}
	if err := m.CreateProject(ctx, alice, "team", false); err != nil {
		t.Fatal(err)
	}
	hr, _ := newRobot(t, m, alice, RobotSpec{Project: "team", Name: "hr", Grants: []Grant{
		{Project: "team", Pattern: "team/**", Actions: []string{auth.ActionPull}},
		{Project: "team", Resource: rbac.ResourceProject, Actions: []string{rbac.ActionRead}},
		{Project: "team", Resource: rbac.ResourceMember, Actions: []string{rbac.ActionRead, rbac.ActionCreate, rbac.ActionUpdate, rbac.ActionDelete}},
	}})
	for _, role := range []rbac.Role{rbac.ProjectAdmin, rbac.Maintainer, rbac.Developer} {
		if _, err := m.AddMember(ctx, hr, "team", "user", "bob", role); !errors.Is(err, ErrForbidden) {
			t.Errorf("a pull-only robot makes bob %s: %v", role, err)
		}
	}
	if _, err := m.AddMember(ctx, hr, "team", "user", "bob", rbac.Guest); err != nil {
		t.Errorf("the robot makes bob a guest: %v", err)
	}
	if _, err := m.AddMember(ctx, alice, "team", "user", "bob", rbac.ProjectAdmin); !errors.Is(err, ErrExists) {
		t.Errorf("adding an existing member: %v", err)
	}
	if err := m.UpdateMember(ctx, hr, "team", "user", "bob", rbac.Developer); !errors.Is(err, ErrForbidden) {
		t.Errorf("the robot raises bob to developer: %v", err)
	}
	if err := m.UpdateMember(ctx, hr, "team", "user", "bob", rbac.LimitedGuest); err != nil {
		t.Errorf("the robot lowers bob to limited guest: %v", err)
	}
	if err := m.UpdateMember(ctx, hr, "team", "user", "alice", rbac.Guest); !errors.Is(err, ErrForbidden) {
		t.Errorf("the robot demotes the project admin: %v", err)
	}
	if err := m.RemoveMember(ctx, hr, "team", "user", "alice"); !errors.Is(err, ErrForbidden) {
		t.Errorf("the robot removes the project admin: %v", err)
	}
	if got := allowed(t, m, alice, "team/app"); len(got) != 3 {
		t.Errorf("alice after the robot's attempts: %v", got)
	}

	// A member without member permissions, and anonymous, may not; a
	// project admin gives any role.
	if _, err := m.AddMember(ctx, alice, "team", "user", "carl", rbac.Maintainer); err != nil {
		t.Fatal(err)
	}
	carl := auth.Principal{Name: "carl", Kind: auth.User}
	if _, err := m.AddMember(ctx, carl, "team", "user", "dora", rbac.Guest); !errors.Is(err, ErrForbidden) {
		t.Errorf("a maintainer adds a member: %v", err)
	}
	if _, err := m.AddMember(ctx, auth.AnonymousPrincipal, "team", "user", "dora", rbac.Guest); !errors.Is(err, ErrForbidden) {
		t.Errorf("anonymous adds a member: %v", err)
	}
	if err := m.UpdateMember(ctx, alice, "team", "user", "bob", rbac.ProjectAdmin); err != nil {
		t.Errorf("the project admin makes bob one: %v", err)
	}

	// Repository grants have the same ceiling.
	if _, err := m.SetGrant(ctx, hr, "team", "user", "dora", "team/**", []string{auth.ActionPush}); !errors.Is(err, ErrForbidden) {
		t.Errorf("a pull-only robot grants push: %v", err)
	}
	if _, err := m.SetGrant(ctx, hr, "team", "user", "dora", "team/app", []string{auth.ActionPull}); err != nil {
		t.Errorf("the robot grants pull: %v", err)
	}
	if _, err := m.SetGrant(ctx, hr, "team", "user", "dora", "team/app", []string{auth.ActionPull, auth.ActionDelete}); !errors.Is(err, ErrForbidden) {
		t.Errorf("the robot widens a grant to delete: %v", err)
	}
	if _, err := m.SetGrant(ctx, alice, "team", "user", "eve", "team/tools/**", []string{auth.ActionDelete}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SetGrant(ctx, hr, "team", "user", "eve", "team/tools/**", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("the robot removes a grant above its rights: %v", err)
	}
	if _, err := m.SetGrant(ctx, carl, "team", "user", "eve", "team/tools/**", nil); !errors.Is(err, ErrForbidden) {
		t.Errorf("a maintainer removes a grant: %v", err)
	}
	if _, err := m.SetGrant(ctx, hr, "team", "user", "dora", "team/app", nil); err != nil {
		t.Errorf("the robot removes its own grant: %v", err)
	}
}

// TestMembershipsWaitForTheirAccount: a project admin adding a user name
// without an account gets the same answer as for one with an account (no
// enumeration of user names); the membership applies once the account
// exists. A system administrator is told the name is unknown.
func TestMembershipsWaitForTheirAccount(t *testing.T) {
	m, _, _ := clockedManager(t)
	ctx := t.Context()
	root := auth.Principal{Name: "root", Kind: auth.User, Admin: true}
	alice := auth.Principal{Name: "alice", Kind: auth.User}
	if err := m.CreateProject(ctx, alice, "team", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddMember(ctx, root, "team", "user", "nobody", rbac.Guest); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("an administrator adds an unknown user: %v", err)
	}
	if _, err := m.SetGrant(ctx, root, "team", "user", "nobody", "team/**", []string{auth.ActionPull}); !errors.Is(err, meta.ErrNotFound) {
		t.Errorf("an administrator grants an unknown user: %v", err)
	}
	if _, err := m.AddMember(ctx, alice, "team", "user", "later", rbac.Developer); err != nil {
		t.Errorf("a project admin adds a name without an account: %v", err)
	}
	if _, err := m.AddMember(ctx, alice, "team", "user", string(make([]byte, 256)), rbac.Guest); !errors.Is(err, ErrInvalid) {
		t.Errorf("a 256-byte name: %v", err)
	}
	if err := m.SetUser(ctx, "later", "later-password", false); err != nil {
		t.Fatal(err)
	}
	later, err := login(t, m, "later", "later-password")
	if err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, m, later, "team/app"); len(got) != 2 {
		t.Errorf("the account created after its membership: %v", got)
	}
}
