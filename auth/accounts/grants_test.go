package accounts

import (
	"errors"
	"slices"
	"testing"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// TestMemberGrants: a user or group granted actions on a repository pattern
// gets them there and nowhere else, without any role; grants are replaced,
// removed, reloaded, and dropped with their user.
func TestMemberGrants(t *testing.T) {
	m, s, _ := clockedManager(t)
	ctx := t.Context()
	admin := auth.Principal{Name: "root", Kind: auth.User, Admin: true}
	if err := m.CreateProject(ctx, admin, "team", false); err != nil {
		t.Fatal(err)
	}
	owner := auth.Principal{Name: "root", Kind: auth.User} // team's projectAdmin, as a non-administrator
	kim := auth.Principal{Name: "kim", Kind: auth.User}
	ops := auth.Principal{Name: "lee", Kind: auth.User, Groups: []string{"ops"}}
	pullPush := []string{"pull", "push"}

	id, err := m.SetGrant(ctx, owner, "team", "user", "kim", "team/app-*", pullPush)
	if err != nil || id != 1 {
		t.Fatalf("SetGrant = %d, %v", id, err)
	}
	if _, err := m.SetGrant(ctx, owner, "team", "group", "ops", "team/infra/**", []string{"pull"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  auth.Principal
		repo string
		want []string
	}{
		{kim, "team/app-web", pullPush},
		{kim, "team/db", nil},
		{ops, "team/infra/dns", []string{"pull"}},
		{ops, "team/app-web", nil},
	} {
		if got := allowed(t, m, c.who, c.repo); !slices.Equal(got, c.want) {
			t.Errorf("%s on %s: %v, want %v", c.who.Name, c.repo, got, c.want)
		}
	}

	// Replacing keeps the id and takes the old actions away.
	if id, err := m.SetGrant(ctx, owner, "team", "user", "kim", "team/app-*", []string{"pull"}); err != nil || id != 1 {
		t.Errorf("replace = %d, %v", id, err)
	}
	if got := allowed(t, m, kim, "team/app-web"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("after replace: %v", got)
	}
	// The policy comes back from the store.
	if got := allowed(t, newManager(t, s), ops, "team/infra/dns"); !slices.Equal(got, []string{"pull"}) {
		t.Errorf("after reload: %v", got)
	}

	// Refusals.
	for what, c := range map[string]struct {
		project, kind, name, pattern string
		want                         error
	}{
		"another project's pattern": {"team", "user", "kim", "other/**", ErrInvalid},
		"a bad pattern":             {"team", "user", "kim", "team/[", ErrInvalid},
		"a robot kind":              {"team", "robot", "x", "team/**", ErrInvalid},
		"no name":                   {"team", "user", "", "team/**", ErrInvalid},
		"no project":                {"missing", "user", "kim", "missing/**", meta.ErrNotFound},
	} {
		if _, err := m.SetGrant(ctx, owner, c.project, c.kind, c.name, c.pattern, []string{"pull"}); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", what, err, c.want)
		}
	}
	if _, err := m.SetGrant(ctx, owner, "team", "user", "kim", "team/**", []string{"admin"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("an unknown action: %v", err)
	}

	// Removing, and deleting the user, take the grant away.
	if id, err := m.SetGrant(ctx, owner, "team", "group", "ops", "team/infra/**", nil); err != nil || id != 0 {
		t.Errorf("remove = %d, %v", id, err)
	}
	if got := allowed(t, m, ops, "team/infra/dns"); len(got) != 0 {
		t.Errorf("after removal: %v", got)
	}
	if err := m.SetUser(ctx, "kim", "kim-password", false); err != nil {
		t.Fatal(err)
	}
	if err := m.DeleteUser(ctx, "kim"); err != nil {
		t.Fatal(err)
	}
	if got := allowed(t, newManager(t, s), kim, "team/app-web"); len(got) != 0 {
		t.Errorf("a deleted user's grant after reload: %v", got)
	}
}
