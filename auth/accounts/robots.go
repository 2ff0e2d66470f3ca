package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// RobotSpec describes a robot to create.
type RobotSpec struct {
	// Project is the robot's project ("" for a system robot, which only a
	// system administrator may create).
	Project string
	// Name is the short name; the account is RobotName(Project, Name).
	Name string
	// Description says what it is for.
	Description string
	// Grants are what it may do; a project robot's grants stay in its
	// project.
	Grants []meta.Grant
	// ExpiresAt ends its validity (zero: never).
	ExpiresAt time.Time
}

// CreateRobot creates a robot for creator and returns its account name and
// its secret, which is stored only hashed and shown this once. A creator
// that is not a system administrator must be allowed to create robots in
// the project ("*" for a system robot) and may only hand out a subset of
// what it may do itself; a robot creating a robot also cannot give it a
// longer life than its own.
func (m *Manager) CreateRobot(ctx context.Context, creator auth.Principal, spec RobotSpec) (string, string, error) {
	if err := validName(spec.Name); err != nil {
		return "", "", fmt.Errorf("%w: robot %v", ErrInvalid, err)
	}
	if !spec.ExpiresAt.IsZero() && !spec.ExpiresAt.After(m.now()) {
		return "", "", fmt.Errorf("%w: expiry %v is in the past", ErrInvalid, spec.ExpiresAt)
	}
	for _, g := range spec.Grants {
		if err := validGrant(spec.Project, g); err != nil {
			return "", "", err
		}
	}
	if !creator.Admin {
		scope := spec.Project
		if scope == "" {
			scope = "*"
		}
		if ok, err := m.authz.Can(creator, scope, rbac.ResourceRobot, rbac.ActionCreate); err != nil || !ok {
			if err != nil {
				return "", "", err
			}
			if spec.Project == "" {
				return "", "", fmt.Errorf("%w: %s may not create system robots", ErrForbidden, creator.Name)
			}
			return "", "", fmt.Errorf("%w: %s may not create robots in %s", ErrForbidden, creator.Name, spec.Project)
		}
		if err := m.withinCreator(ctx, creator, spec); err != nil {
			return "", "", err
		}
	}
	secret := newSecret()
	h, err := m.hash(secret)
	if err != nil {
		return "", "", err
	}
	now := m.now().UTC()
	r := meta.Robot{
		Name: RobotName(spec.Project, spec.Name), Project: spec.Project, Description: spec.Description,
		SecretHash: h, Grants: spec.Grants, ExpiresAt: spec.ExpiresAt.UTC(), CreatedBy: creator.Name,
		CreatedAt: now, UpdatedAt: now,
	}
	err = m.store.Update(ctx, func(tx meta.Tx) error {
		if spec.Project != "" {
			if _, err := tx.Projects().Get(spec.Project); err != nil {
				return err
			}
		}
		if _, err := tx.Robots().Get(r.Name); err == nil {
			return fmt.Errorf("robot %s: %w", r.Name, ErrExists)
		}
		if err := tx.Robots().Put(r); err != nil {
			return err
		}
		return record(ctx, tx, meta.Event{Type: events.CreateRobot, Operator: creator.Name, Project: r.Project, Resource: r.Name})
	})
	if err != nil {
		return "", "", err
	}
	if err := m.applyGrants(r); err != nil {
		return "", "", err
	}
	return r.Name, secret, nil
}

// validGrant checks one grant of a robot of project ("" for a system
// robot): a project robot's grants stay in its project; repository grants
// have a valid pattern inside their project (any pattern for "*") and
// repository actions; other grants name a project resource and its actions.
func validGrant(project string, g meta.Grant) error {
	switch {
	case project != "" && g.Project != project:
		return fmt.Errorf("%w: grant in %q outside project %s", ErrInvalid, g.Project, project)
	case g.Project == "":
		return fmt.Errorf("%w: grant without a project", ErrInvalid)
	case len(g.Actions) == 0:
		return fmt.Errorf("%w: grant %s%s in %s has no actions", ErrInvalid, g.Resource, g.Pattern, g.Project)
	}
	valid := rbac.RepositoryActions
	if g.Resource == "" {
		if (g.Project != "*" && !strings.HasPrefix(g.Pattern, g.Project+"/")) || !doublestar.ValidatePattern(g.Pattern) {
			return fmt.Errorf("%w: grant pattern %q must be a valid pattern inside project %s", ErrInvalid, g.Pattern, g.Project)
		}
	} else {
		if !slices.Contains(rbac.ProjectResources, g.Resource) {
			return fmt.Errorf("%w: grant resource %q is not one of %v", ErrInvalid, g.Resource, rbac.ProjectResources)
		}
		if g.Pattern != "" {
			return fmt.Errorf("%w: grant on %s has a pattern", ErrInvalid, g.Resource)
		}
		valid = rbac.ResourceActions
	}
	for _, act := range g.Actions {
		if !slices.Contains(valid, act) {
			return fmt.Errorf("%w: grant action %q is not one of %v", ErrInvalid, act, valid)
		}
	}
	return nil
}

// withinCreator checks that spec is no more than creator may do: for each
// grant, every action is one the creator's permissions allow on every
// resource the grant can reach, and, for a robot creator with an expiry,
// the new robot expires no later.
func (m *Manager) withinCreator(ctx context.Context, creator auth.Principal, spec RobotSpec) error {
	caps, expires, err := m.capabilities(ctx, creator)
	if err != nil {
		return err
	}
	if !expires.IsZero() && (spec.ExpiresAt.IsZero() || spec.ExpiresAt.After(expires)) {
		return fmt.Errorf("%w: %s expires at %v and may not create a robot that outlives it", ErrForbidden, creator.Name, expires.UTC())
	}
	for _, g := range spec.Grants {
		for _, act := range g.Actions {
			if !slices.ContainsFunc(caps, func(c meta.Grant) bool {
				return (c.Project == "*" || c.Project == g.Project) && c.Resource == g.Resource &&
					slices.Contains(c.Actions, act) && covers(c.Pattern, g.Pattern)
			}) {
				return fmt.Errorf("%w: %s may not grant %s on %s%s in %s", ErrForbidden, creator.Name, act, g.Resource, g.Pattern, g.Project)
			}
		}
	}
	return nil
}

// capabilities lists what creator may do, as grants, and when a robot
// creator expires: a user's role in each project it is a member of
// (directly, or through a group) and its repository grants, a robot's own
// grants.
func (m *Manager) capabilities(ctx context.Context, creator auth.Principal) ([]meta.Grant, time.Time, error) {
	var (
		caps    []meta.Grant
		expires time.Time
	)
	err := m.store.View(ctx, func(tx meta.Tx) error {
		if creator.Kind == auth.Robot {
			r, err := tx.Robots().Get(creator.Name)
			if err != nil {
				return err
			}
			caps, expires = r.Grants, r.ExpiresAt
			return nil
		}
		projects, err := tx.Projects().List("", 0)
		if err != nil {
			return err
		}
		for _, p := range projects {
			caps = append(caps, grantsFor(p, creator.Name, creator.Groups)...)
			role := RoleIn(p, creator)
			if role == "" {
				continue
			}
			for _, perm := range rbac.Matrix[role] {
				g := meta.Grant{Project: p.Name, Resource: perm.Resource, Actions: []string{perm.Action}}
				if perm.Resource == auth.TypeRepository {
					g.Resource, g.Pattern = "", p.Name+"/**"
				}
				caps = append(caps, g)
			}
		}
		return nil
	})
	return caps, expires, err
}

// covers reports, conservatively, whether every name matching inner also
// matches outer: they are equal, or outer is a literal prefix followed by
// "**" that inner's literal start extends.
func covers(outer, inner string) bool {
	if outer == inner {
		return true
	}
	prefix, ok := strings.CutSuffix(outer, "**")
	if !ok || strings.ContainsAny(prefix, `*?[]{}\`) {
		return false
	}
	lit := inner
	if i := strings.IndexAny(inner, `*?[]{}\`); i >= 0 {
		lit = inner[:i]
	}
	return strings.HasPrefix(lit, prefix) && doublestar.ValidatePattern(inner)
}

// RotateRobotSecret replaces a robot's secret and returns the new one.
func (m *Manager) RotateRobotSecret(ctx context.Context, name string) (string, error) {
	secret := newSecret()
	h, err := m.hash(secret)
	if err != nil {
		return "", err
	}
	err = m.updateRobot(ctx, name, func(r *meta.Robot) { r.SecretHash = h })
	return secret, err
}

// SetRobotDisabled disables or enables a robot.
func (m *Manager) SetRobotDisabled(ctx context.Context, name string, disabled bool) error {
	return m.updateRobot(ctx, name, func(r *meta.Robot) { r.Disabled = disabled })
}

func (m *Manager) updateRobot(ctx context.Context, name string, change func(*meta.Robot)) error {
	return m.store.Update(ctx, func(tx meta.Tx) error {
		r, err := tx.Robots().Get(name)
		if err != nil {
			return err
		}
		change(&r)
		r.UpdatedAt = m.now().UTC()
		return tx.Robots().Put(r)
	})
}

// DeleteRobot deletes a robot and its grants.
func (m *Manager) DeleteRobot(ctx context.Context, name string) error {
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		r, err := tx.Robots().Get(name)
		if err != nil {
			return err
		}
		if err := tx.Robots().Delete(name); err != nil {
			return err
		}
		return record(ctx, tx, meta.Event{Type: events.DeleteRobot, Project: r.Project, Resource: name})
	})
	if err != nil {
		return err
	}
	return m.authz.RemoveSubject(rbac.Subject(auth.Robot, name))
}
