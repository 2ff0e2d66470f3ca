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
	"github.com/berthreg/berth/generation"
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
	Grants []Grant
	// ExpiresAt ends its validity (zero: never).
	ExpiresAt time.Time
	// Disabled creates it disabled.
	Disabled bool
}

// CreateRobot creates a robot for creator and returns its account name and
// its secret, which is stored only hashed and shown this once. A creator
// that is not a system administrator must be allowed to create robots in
// the project ("*" for a system robot) and may only hand out a subset of
// what it may do itself; a robot creating a robot also cannot give it a
// longer life than its own.
func (m *Manager) CreateRobot(ctx context.Context, creator auth.Principal, spec RobotSpec) (string, string, error) {
	r, secret, err := m.CreateRobotRecord(ctx, creator, spec)
	return r.Name, secret, err
}

// CreateRobotRecord is CreateRobot returning the robot as stored (its
// creation time, its expiry in UTC; without its secret hash) instead of
// only its name.
func (m *Manager) CreateRobotRecord(ctx context.Context, creator auth.Principal, spec RobotSpec) (Robot, string, error) {
	if err := validName(spec.Name); err != nil {
		return Robot{}, "", fmt.Errorf("%w: robot %v", ErrInvalid, err)
	}
	if !spec.ExpiresAt.IsZero() && !spec.ExpiresAt.After(m.now()) {
		return Robot{}, "", fmt.Errorf("%w: expiry %v is in the past", ErrInvalid, spec.ExpiresAt)
	}
	for _, g := range spec.Grants {
		if err := validGrant(spec.Project, g); err != nil {
			return Robot{}, "", err
		}
	}
	if !creator.Admin {
		scope := spec.Project
		if scope == "" {
			scope = "*"
		}
		if ok, err := m.authz.Can(creator, scope, rbac.ResourceRobot, rbac.ActionCreate); err != nil || !ok {
			if err != nil {
				return Robot{}, "", err
			}
			if spec.Project == "" {
				return Robot{}, "", fmt.Errorf("%w: %s may not create system robots", ErrForbidden, creator.Name)
			}
			return Robot{}, "", fmt.Errorf("%w: %s may not create robots in %s", ErrForbidden, creator.Name, spec.Project)
		}
		if err := m.withinCreator(ctx, creator, spec); err != nil {
			return Robot{}, "", err
		}
	}
	secret := newSecret()
	h, err := m.hash(secret)
	if err != nil {
		return Robot{}, "", err
	}
	now := m.now().UTC()
	r := Robot{
		Name: RobotName(spec.Project, spec.Name), Project: spec.Project, Description: spec.Description,
		SecretHash: h, Grants: spec.Grants, ExpiresAt: spec.ExpiresAt.UTC(), CreatedBy: creator.Name,
		CreatedAt: now, UpdatedAt: now, Disabled: spec.Disabled,
	}
	err = m.store.Update(ctx, func(tx meta.Tx) error {
		if spec.Project != "" {
			if _, err := Projects.In(tx).Get(spec.Project); err != nil {
				return err
			}
		}
		if _, err := Robots.In(tx).Get(r.Name); err == nil {
			return fmt.Errorf("robot %s: %w", r.Name, ErrExists)
		}
		if err := Robots.In(tx).Put(r); err != nil {
			return err
		}
		if err := generation.Bump(tx, PolicyGeneration); err != nil {
			return err
		}
		return record(ctx, tx, meta.Event{Type: events.CreateRobot, Operator: creator.Name, Project: r.Project, Resource: r.Name})
	})
	if err != nil {
		return Robot{}, "", err
	}
	if err := applyGrants(m.authz, r); err != nil {
		return Robot{}, "", err
	}
	r.SecretHash = nil
	return r, secret, nil
}

// validGrant checks one grant of a robot of project ("" for a system
// robot): a project robot's grants stay in its project; repository grants
// have a valid pattern inside their project (any pattern for "*") and
// repository actions; other grants name a project resource and its actions.
func validGrant(project string, g Grant) error {
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

// withinCreator checks that spec is no more than creator may do (see
// within).
func (m *Manager) withinCreator(ctx context.Context, creator auth.Principal, spec RobotSpec) error {
	return m.store.View(ctx, func(tx meta.Tx) error {
		caps, expires, err := capabilities(tx, creator)
		if err != nil {
			return err
		}
		return within(creator, caps, expires, spec.Grants, spec.ExpiresAt)
	})
}

// within checks that grants, valid until expiresAt (zero: never), are no
// more than p may do, as caps and expires (see capabilities) say: every
// action of every grant is one of p's capabilities allows on every
// resource the grant can reach, and, when p expires, they expire no later.
// It is the ceiling of every grant and of every robot p creates or acts
// on.
func within(p auth.Principal, caps []Grant, expires time.Time, grants []Grant, expiresAt time.Time) error {
	if !expires.IsZero() && (expiresAt.IsZero() || expiresAt.After(expires)) {
		return fmt.Errorf("%w: %s expires at %v and may not hand out or act on rights that outlive it", ErrForbidden, p.Name, expires.UTC())
	}
	for _, g := range grants {
		for _, act := range g.Actions {
			if !slices.ContainsFunc(caps, func(c Grant) bool {
				return (c.Project == "*" || c.Project == g.Project) && c.Resource == g.Resource &&
					slices.Contains(c.Actions, act) && covers(c.Pattern, g.Pattern)
			}) {
				return fmt.Errorf("%w: %s may not grant or act on %s on %s%s in %s", ErrForbidden, p.Name, act, g.Resource, g.Pattern, g.Project)
			}
		}
	}
	return nil
}

// capabilities lists, in tx, what p may do, as grants, and when a robot p
// expires: a user's role in each project it is a member of (directly, or
// through a group) and its repository grants, a robot's own grants.
func capabilities(tx meta.Tx, p auth.Principal) ([]Grant, time.Time, error) {
	if p.Kind == auth.Robot {
		r, err := Robots.In(tx).Get(p.Name)
		if err != nil {
			return nil, time.Time{}, err
		}
		return r.Grants, r.ExpiresAt, nil
	}
	projects, err := Projects.In(tx).List("", 0)
	if err != nil {
		return nil, time.Time{}, err
	}
	var caps []Grant
	for _, proj := range projects {
		caps = append(caps, grantsFor(proj, p.Name, p.Groups)...)
		caps = append(caps, roleGrants(proj.Name, RoleIn(proj, p))...)
	}
	return caps, time.Time{}, nil
}

// roleGrants lists what role may do in project, as grants (none for "").
func roleGrants(project string, role rbac.Role) []Grant {
	var out []Grant
	for _, perm := range rbac.Matrix[role] {
		g := Grant{Project: project, Resource: perm.Resource, Actions: []string{perm.Action}}
		if perm.Resource == auth.TypeRepository {
			g.Resource, g.Pattern = "", project+"/**"
		}
		out = append(out, g)
	}
	return out
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

// RotateRobotSecret replaces the secret of robot name for actor and
// returns the new one. See mayActOnRobot for who may.
func (m *Manager) RotateRobotSecret(ctx context.Context, actor auth.Principal, name string) (string, error) {
	secret := newSecret()
	h, err := m.hash(secret)
	if err != nil {
		return "", err
	}
	err = m.updateRobot(ctx, actor, name, func(r *Robot) error {
		r.SecretHash = h
		return nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// SetRobotDisabled disables or enables robot name for actor. See
// mayActOnRobot for who may; besides, a robot never enables itself.
func (m *Manager) SetRobotDisabled(ctx context.Context, actor auth.Principal, name string, disabled bool) error {
	return m.updateRobot(ctx, actor, name, func(r *Robot) error {
		if !disabled && actor.Kind == auth.Robot && actor.Name == r.Name {
			return fmt.Errorf("%w: robot %s may not enable itself", ErrForbidden, r.Name)
		}
		r.Disabled = disabled
		return nil
	})
}

// updateRobot applies change to robot name if actor may update it.
func (m *Manager) updateRobot(ctx context.Context, actor auth.Principal, name string, change func(*Robot) error) error {
	return m.store.Update(ctx, func(tx meta.Tx) error {
		r, err := Robots.In(tx).Get(name)
		if err != nil {
			return err
		}
		if err := m.mayActOnRobot(tx, actor, r, rbac.ActionUpdate); err != nil {
			return err
		}
		if err := change(&r); err != nil {
			return err
		}
		r.UpdatedAt = m.now().UTC()
		return Robots.In(tx).Put(r)
	})
}

// mayActOnRobot checks, in tx, that actor may perform action (update,
// delete) on robot r: a system administrator may; anyone else needs the
// robot permission for action in r's project ("*" for a system robot), and
// r's grants and expiry must lie within actor's own rights, as for
// creating it (see within). Without the second rule a robot allowed to
// update robots could take over a stronger one by refreshing its secret,
// or re-enable one an administrator disabled.
func (m *Manager) mayActOnRobot(tx meta.Tx, actor auth.Principal, r Robot, action string) error {
	if actor.Kind == auth.Anonymous {
		return fmt.Errorf("%w: anonymous requests may not manage robots", ErrForbidden)
	}
	if actor.Admin {
		return nil
	}
	scope := r.Project
	if scope == "" {
		scope = "*"
	}
	ok, err := m.authz.Can(actor, scope, rbac.ResourceRobot, action)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: %s may not %s robot %s", ErrForbidden, actor.Name, action, r.Name)
	}
	caps, expires, err := capabilities(tx, actor)
	if err != nil {
		return err
	}
	if err := within(actor, caps, expires, r.Grants, r.ExpiresAt); err != nil {
		return fmt.Errorf("robot %s: %w", r.Name, err)
	}
	return nil
}

// DeleteRobot deletes robot name and its grants for actor. See
// mayActOnRobot for who may.
func (m *Manager) DeleteRobot(ctx context.Context, actor auth.Principal, name string) error {
	err := m.store.Update(ctx, func(tx meta.Tx) error {
		r, err := Robots.In(tx).Get(name)
		if err != nil {
			return err
		}
		if err := m.mayActOnRobot(tx, actor, r, rbac.ActionDelete); err != nil {
			return err
		}
		if err := Robots.In(tx).Delete(name); err != nil {
			return err
		}
		if err := generation.Bump(tx, PolicyGeneration); err != nil {
			return err
		}
		return record(ctx, tx, meta.Event{Type: events.DeleteRobot, Operator: actor.Name, Project: r.Project, Resource: name})
	})
	if err != nil {
		return err
	}
	return m.authz.RemoveSubject(rbac.Subject(auth.Robot, name))
}

// robotUsable reports whether robot r may sign in now: enabled and not
// expired.
func (m *Manager) robotUsable(r Robot) bool {
	return !r.Disabled && (r.ExpiresAt.IsZero() || m.now().Before(r.ExpiresAt))
}
