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
// the project and may only hand out a subset of what it may do itself.
func (m *Manager) CreateRobot(ctx context.Context, creator auth.Principal, spec RobotSpec) (string, string, error) {
	if err := validName(spec.Name); err != nil {
		return "", "", fmt.Errorf("%w: robot %v", ErrInvalid, err)
	}
	if spec.Project == "" && !creator.Admin {
		return "", "", fmt.Errorf("%w: only system administrators create system robots", ErrForbidden)
	}
	if !spec.ExpiresAt.IsZero() && !spec.ExpiresAt.After(m.now()) {
		return "", "", fmt.Errorf("%w: expiry %v is in the past", ErrInvalid, spec.ExpiresAt)
	}
	for _, g := range spec.Grants {
		if spec.Project != "" && g.Project != spec.Project {
			return "", "", fmt.Errorf("%w: grant %s outside project %s", ErrInvalid, g.Pattern, spec.Project)
		}
		if len(g.Actions) == 0 {
			return "", "", fmt.Errorf("%w: grant %s has no actions", ErrInvalid, g.Pattern)
		}
		if !strings.HasPrefix(g.Pattern, g.Project+"/") || !doublestar.ValidatePattern(g.Pattern) {
			return "", "", fmt.Errorf("%w: grant pattern %s must be a valid pattern inside project %s", ErrInvalid, g.Pattern, g.Project)
		}
	}
	if !creator.Admin {
		if ok, err := m.authz.Can(creator, spec.Project, rbac.ResourceRobot, rbac.ActionCreate); err != nil || !ok {
			if err != nil {
				return "", "", err
			}
			return "", "", fmt.Errorf("%w: %s may not create robots in %s", ErrForbidden, creator.Name, spec.Project)
		}
		if err := m.withinCreator(ctx, creator, spec.Grants); err != nil {
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
		return tx.Robots().Put(r)
	})
	if err != nil {
		return "", "", err
	}
	if err := m.applyGrants(r); err != nil {
		return "", "", err
	}
	return r.Name, secret, nil
}

// withinCreator checks that every grant is covered by what creator may do:
// for each grant, every action is one the creator's permissions allow on
// every repository the grant's pattern can match.
func (m *Manager) withinCreator(ctx context.Context, creator auth.Principal, grants []meta.Grant) error {
	caps, err := m.capabilities(ctx, creator)
	if err != nil {
		return err
	}
	for _, g := range grants {
		for _, act := range g.Actions {
			if !slices.ContainsFunc(caps, func(c meta.Grant) bool {
				return c.Project == g.Project && slices.Contains(c.Actions, act) && covers(c.Pattern, g.Pattern)
			}) {
				return fmt.Errorf("%w: %s may not grant %s on %s", ErrForbidden, creator.Name, act, g.Pattern)
			}
		}
	}
	return nil
}

// capabilities lists what creator may do on repositories, as grants: its
// role in each project it is a member of (directly, or through a group)
// over the whole project, and a robot's own grants.
func (m *Manager) capabilities(ctx context.Context, creator auth.Principal) ([]meta.Grant, error) {
	var caps []meta.Grant
	err := m.store.View(ctx, func(tx meta.Tx) error {
		if creator.Kind == auth.Robot {
			r, err := tx.Robots().Get(creator.Name)
			if err != nil {
				return err
			}
			caps = append(caps, r.Grants...)
			return nil
		}
		projects, err := tx.Projects().List("", 0)
		if err != nil {
			return err
		}
		for _, p := range projects {
			role := RoleIn(p, creator)
			if role == "" {
				continue
			}
			var acts []string
			for _, perm := range rbac.Matrix[role] {
				if perm.Resource == auth.TypeRepository {
					acts = append(acts, perm.Action)
				}
			}
			caps = append(caps, meta.Grant{Project: p.Name, Pattern: p.Name + "/**", Actions: acts})
		}
		return nil
	})
	return caps, err
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
	err := m.store.Update(ctx, func(tx meta.Tx) error { return tx.Robots().Delete(name) })
	if err != nil {
		return err
	}
	return m.authz.RemoveSubject(rbac.Subject(auth.Robot, name))
}
