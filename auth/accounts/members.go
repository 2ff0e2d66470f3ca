package accounts

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
)

// AddMember makes user or group name (kind "user" or "group") a member of
// project with role, for actor, and returns the membership's id. It is
// ErrExists when name is a member already: UpdateMember changes a role.
// See mayGiveRoles for who may give which role, and knownMember for when
// a user must have an account.
func (m *Manager) AddMember(ctx context.Context, actor auth.Principal, project, kind, name string, role rbac.Role) (int64, error) {
	if err := validMember(kind, name, role); err != nil {
		return 0, err
	}
	mem := Member{Kind: kind, Name: name, Role: string(role)}
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		p, err := Projects.In(tx).Get(project)
		if err != nil {
			return err
		}
		if err := m.mayGiveRoles(tx, actor, project, rbac.ActionCreate, role); err != nil {
			return err
		}
		if slices.ContainsFunc(p.Members, sameMember(kind, name)) {
			return fmt.Errorf("%s %s in project %s: %w", kind, name, project, ErrExists)
		}
		if err := knownMember(tx, actor, kind, name); err != nil {
			return err
		}
		mem.ID = nextID(p.Members, func(x Member) int64 { return x.ID })
		p.Members = append(p.Members, mem)
		return m.putMembers(ctx, tx, actor, p, mem)
	})
	if err != nil {
		return 0, err
	}
	return mem.ID, m.authz.AddMember(project, memberSubject(mem), role)
}

// UpdateMember gives member name (kind "user" or "group") of project role
// instead of its current one, for actor; meta.ErrNotFound when name is not
// a member. Both roles must be ones actor may give (see mayGiveRoles).
func (m *Manager) UpdateMember(ctx context.Context, actor auth.Principal, project, kind, name string, role rbac.Role) error {
	if err := validMember(kind, name, role); err != nil {
		return err
	}
	return m.changeMember(ctx, actor, project, kind, name, role)
}

// RemoveMember takes member name (kind "user" or "group") out of project,
// for actor; meta.ErrNotFound when name is not a member. Its role must be
// one actor may give (see mayGiveRoles).
func (m *Manager) RemoveMember(ctx context.Context, actor auth.Principal, project, kind, name string) error {
	return m.changeMember(ctx, actor, project, kind, name, "")
}

// changeMember gives an existing member role, or removes it for "".
func (m *Manager) changeMember(ctx context.Context, actor auth.Principal, project, kind, name string, role rbac.Role) error {
	mem := Member{Kind: kind, Name: name, Role: string(role)}
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		p, err := Projects.In(tx).Get(project)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(p.Members, sameMember(kind, name))
		if i < 0 {
			return fmt.Errorf("%s %s in project %s: %w", kind, name, project, meta.ErrNotFound)
		}
		action, roles := rbac.ActionUpdate, []rbac.Role{rbac.Role(p.Members[i].Role), role}
		if role == "" {
			action, roles = rbac.ActionDelete, roles[:1]
		}
		if err := m.mayGiveRoles(tx, actor, project, action, roles...); err != nil {
			return err
		}
		mem.ID = p.Members[i].ID
		if role == "" {
			p.Members = slices.Delete(p.Members, i, i+1)
		} else {
			p.Members[i] = mem
		}
		return m.putMembers(ctx, tx, actor, p, mem)
	})
	if err != nil {
		return err
	}
	if role == "" {
		return m.authz.RemoveMember(project, memberSubject(mem))
	}
	return m.authz.AddMember(project, memberSubject(mem), role)
}

// putMembers stores p, whose membership mem changed, and records it.
func (m *Manager) putMembers(ctx context.Context, tx meta.Tx, actor auth.Principal, p Project, mem Member) error {
	p.UpdatedAt = m.now().UTC()
	if err := Projects.In(tx).Put(p); err != nil {
		return err
	}
	if err := generation.Bump(tx, PolicyGeneration); err != nil {
		return err
	}
	return record(ctx, tx, meta.Event{Type: events.ChangeMember, Operator: actor.Name, Project: p.Name,
		Resource: mem.Kind + ":" + mem.Name, Details: map[string]string{"role": mem.Role}})
}

func sameMember(kind, name string) func(Member) bool {
	return func(x Member) bool { return x.Kind == kind && x.Name == name }
}

// validMember checks the arguments of a membership.
func validMember(kind, name string, role rbac.Role) error {
	if kind != "user" && kind != "group" {
		return fmt.Errorf("%w: member kind %q is not user or group", ErrInvalid, kind)
	}
	if !slices.Contains(rbac.Roles, role) {
		return fmt.Errorf("%w: unknown role %q", ErrInvalid, role)
	}
	if name == "" || len(name) > 255 {
		return fmt.Errorf("%w: a member name has 1 to 255 characters", ErrInvalid)
	}
	return nil
}

// knownMember checks, in tx, the user a membership or grant names, for
// actor. Only for a system administrator, who may list the users anyway,
// must the account exist (meta.ErrNotFound otherwise). Anyone else is
// answered alike whether or not it does: a membership or grant for a name
// without an account is kept and applies to the account of that name once
// there is one (as a group's does for its members). Otherwise adding a
// member would tell a project admin which user names exist on the whole
// registry, outside their project. Groups are named by the identity
// providers and never looked up.
func knownMember(tx meta.Tx, actor auth.Principal, kind, name string) error {
	if kind != "user" || !actor.Admin {
		return nil
	}
	if _, err := Users.In(tx).Get(name); err != nil {
		return fmt.Errorf("user %s: %w", name, err)
	}
	return nil
}

// mayGiveRoles checks, in tx, that actor may perform action (create,
// update, delete) on the members of project with each of roles: a system
// administrator may; anyone else needs the member permission for action in
// project, and each role's permissions (rbac.Matrix) must lie within
// actor's own rights there (see within). So a projectAdmin manages every
// role, and a robot holding member permissions only roles no stronger than
// its own grants; nobody hands out, changes or takes away a role above
// their own. A membership has no expiry, and an expiring robot's is not
// compared with it.
func (m *Manager) mayGiveRoles(tx meta.Tx, actor auth.Principal, project, action string, roles ...rbac.Role) error {
	var grants []Grant
	for _, r := range roles {
		grants = append(grants, roleGrants(project, r)...)
	}
	if err := m.mayGrant(tx, actor, project, action, grants); err != nil {
		return fmt.Errorf("role %v: %w", roles, err)
	}
	return nil
}

// mayGrant checks, in tx, that actor may perform action (create, update,
// delete) on the members of project for memberships or grants that give
// grants: a system administrator may; anyone else needs the member
// permission for action in project and grants within its own rights,
// expiry aside.
func (m *Manager) mayGrant(tx meta.Tx, actor auth.Principal, project, action string, grants []Grant) error {
	if actor.Kind == auth.Anonymous {
		return fmt.Errorf("%w: anonymous requests may not manage members", ErrForbidden)
	}
	if actor.Admin {
		return nil
	}
	ok, err := m.authz.Can(actor, project, rbac.ResourceMember, action)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s may not %s members of %s", ErrForbidden, actor.Name, action, project)
	}
	caps, _, err := capabilities(tx, actor)
	if err != nil {
		return err
	}
	return within(actor, caps, time.Time{}, grants, time.Time{})
}
