package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
)

// nextID is the id after the largest of items' ids (1 for none).
func nextID[T any](items []T, id func(T) int64) int64 {
	var next int64 = 1
	for _, x := range items {
		next = max(next, id(x)+1)
	}
	return next
}

// SetGrant lets user or group name (kind "user" or "group") perform
// actions on the repositories of project whose names match pattern, a
// doublestar pattern inside the project: Berth's repository-scoped grant,
// beside or instead of a role. It replaces the actions of an earlier grant
// to the same subject and pattern; no actions remove that grant. It
// returns the grant's id (0 when removed). actor needs the member
// permission to create, update (replace) or delete grants in project, and
// both the grant it replaces or removes and the new one must lie within
// actor's own rights (see mayGrant). See knownMember for when a user must
// have an account.
func (m *Manager) SetGrant(ctx context.Context, actor auth.Principal, project, kind, name, pattern string, actions []string) (int64, error) {
	if kind != "user" && kind != "group" {
		return 0, fmt.Errorf("%w: grant kind %q is not user or group", ErrInvalid, kind)
	}
	if name == "" || len(name) > 255 {
		return 0, fmt.Errorf("%w: a grant's member name has 1 to 255 characters", ErrInvalid)
	}
	if len(actions) > 0 {
		if err := validGrant(project, Grant{Project: project, Pattern: pattern, Actions: actions}); err != nil {
			return 0, err
		}
	}
	g := MemberGrant{Kind: kind, Name: name, Pattern: pattern, Actions: slices.Clone(actions)}
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		p, err := Projects.In(tx).Get(project)
		if err != nil {
			return err
		}
		same := func(x MemberGrant) bool { return x.Kind == kind && x.Name == name && x.Pattern == pattern }
		var (
			action = rbac.ActionCreate
			given  []Grant
		)
		if len(actions) > 0 {
			given = append(given, Grant{Project: project, Pattern: pattern, Actions: actions})
		}
		if i := slices.IndexFunc(p.Grants, same); i >= 0 {
			g.ID, action = p.Grants[i].ID, rbac.ActionUpdate
			given = append(given, Grant{Project: project, Pattern: pattern, Actions: p.Grants[i].Actions})
		} else {
			g.ID = nextID(p.Grants, func(x MemberGrant) int64 { return x.ID })
		}
		if len(actions) == 0 {
			action = rbac.ActionDelete
		}
		if err := m.mayGrant(tx, actor, project, action, given); err != nil {
			return fmt.Errorf("grant %s to %s %s: %w", pattern, kind, name, err)
		}
		if len(actions) > 0 {
			if err := knownMember(tx, actor, kind, name); err != nil {
				return err
			}
		}
		p.Grants = slices.DeleteFunc(p.Grants, same)
		if len(actions) > 0 {
			p.Grants = append(p.Grants, g)
		}
		p.UpdatedAt = m.now().UTC()
		if err := Projects.In(tx).Put(p); err != nil {
			return err
		}
		if err := generation.Bump(tx, PolicyGeneration); err != nil {
			return err
		}
		return record(ctx, tx, meta.Event{Type: events.ChangeMember, Operator: actor.Name, Project: project, Resource: kind + ":" + name,
			Details: map[string]string{"grant": pattern, "actions": strings.Join(actions, ",")}})
	})
	if err != nil {
		return 0, err
	}
	sub := memberSubject(Member{Kind: kind, Name: name})
	if err := m.authz.RemoveGrant(project, sub, pattern); err != nil {
		return 0, err
	}
	if len(actions) == 0 {
		return 0, nil
	}
	return g.ID, m.authz.AddGrant(project, sub, pattern, actions...)
}

// applyMemberGrants gives the grants stored in project p in a.
func applyMemberGrants(a *rbac.Authorizer, p Project) error {
	for _, g := range p.Grants {
		sub := memberSubject(Member{Kind: g.Kind, Name: g.Name})
		if err := a.AddGrant(p.Name, sub, g.Pattern, g.Actions...); err != nil {
			return fmt.Errorf("accounts: project %s: %w", p.Name, err)
		}
	}
	return nil
}

// grantsFor lists the grants of project p that reach principal name (a
// user) or its groups, as robot-style grants.
func grantsFor(p Project, user string, groups []string) []Grant {
	var out []Grant
	for _, g := range p.Grants {
		if (g.Kind == "user" && g.Name == user) || (g.Kind == "group" && slices.Contains(groups, g.Name)) {
			out = append(out, Grant{Project: p.Name, Pattern: g.Pattern, Actions: g.Actions})
		}
	}
	return out
}
