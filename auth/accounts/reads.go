package accounts

import (
	"context"
	"fmt"
	"slices"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
)

// Page selects one page of a listing: Number counts from 1, Size is the
// number of items on a page (0: every item from the start).
type Page struct {
	// Number is the page number, from 1.
	Number int
	// Size is the page size; 0 puts everything on page 1.
	Size int
}

// slice returns pg's page of all, never nil.
func slice[T any](all []T, pg Page) ([]T, error) {
	if pg.Number < 1 || pg.Size < 0 {
		return nil, fmt.Errorf("%w: page %d of size %d: the number counts from 1, the size from 0", ErrInvalid, pg.Number, pg.Size)
	}
	if pg.Size == 0 {
		if pg.Number > 1 {
			return []T{}, nil
		}
		return append([]T{}, all...), nil
	}
	start := len(all)
	if pg.Number-1 <= len(all)/pg.Size { // else the page starts past the end (and the product could overflow)
		start = min((pg.Number-1)*pg.Size, len(all))
	}
	return append([]T{}, all[start:min(start+pg.Size, len(all))]...), nil
}

// admin reports whether p is a signed-in system administrator.
func admin(p auth.Principal) bool { return p.Admin && p.Kind != auth.Anonymous }

// visible reports whether p may see project proj: it is public, p is a
// system administrator or a member, p (a robot, a grant's holder) holds
// rights of its own in it (domains, Authorizer.Domains of p), or may read
// the project or its robots. A project p may not see is, to p, a project
// that does not exist.
func (m *Manager) visible(proj Project, p auth.Principal, domains []string) bool {
	if proj.Public || admin(p) || RoleIn(proj, p) != "" {
		return true
	}
	if _, ok := slices.BinarySearch(domains, proj.Name); ok {
		return true
	}
	for _, res := range []string{rbac.ResourceProject, rbac.ResourceRobot} {
		if ok, err := m.authz.Can(p, proj.Name, res, rbac.ActionRead); err == nil && ok {
			return true
		}
	}
	return false
}

// notFound is the error of a record that is missing or hidden from the
// caller: the two are not told apart.
func notFound(what, name string) error {
	return fmt.Errorf("accounts: %s %s: %w", what, name, meta.ErrNotFound)
}

// GetProject returns project name as p sees it: meta.ErrNotFound when it
// does not exist or p may not see it (see ListProjects), so private names
// do not leak.
func (m *Manager) GetProject(ctx context.Context, p auth.Principal, name string) (Project, error) {
	var proj Project
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		proj, err = m.projectFor(tx, p, name)
		return err
	})
	return proj, err
}

// projectFor loads project name in tx if p may see it.
func (m *Manager) projectFor(tx meta.Tx, p auth.Principal, name string) (Project, error) {
	proj, err := Projects.In(tx).Get(name)
	if err == nil && !m.visible(proj, p, m.authz.Domains(p)) {
		return Project{}, notFound("project", name)
	}
	if err != nil {
		return Project{}, fmt.Errorf("accounts: project %s: %w", name, err)
	}
	return proj, nil
}

// ProjectFilter narrows ListProjects; the zero value keeps every project.
type ProjectFilter struct {
	// Name, when set, keeps only the project of that name.
	Name string
	// Public, when set, keeps only public (true) or private (false)
	// projects.
	Public *bool
}

// ListProjects returns page pg of the projects p may see that f keeps, in
// name order, and how many there are on every page together. p sees the
// public projects, those it is a member of (as a user or through a
// group), and those whose project or robots it may read (robots); a
// system administrator sees every project.
func (m *Manager) ListProjects(ctx context.Context, p auth.Principal, f ProjectFilter, pg Page) ([]Project, int, error) {
	var all []Project
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = Projects.In(tx).List("", 0)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var kept []Project
	domains := m.authz.Domains(p)
	for _, proj := range all {
		if m.visible(proj, p, domains) && (f.Public == nil || proj.Public == *f.Public) && (f.Name == "" || proj.Name == f.Name) {
			kept = append(kept, proj)
		}
	}
	out, err := slice(kept, pg)
	return out, len(kept), err
}

// mayReadUser checks that p may read user account name: a system
// administrator may read every account, a user its own.
func mayReadUser(p auth.Principal, name string) error {
	if admin(p) || (p.Kind == auth.User && p.Name == name) {
		return nil
	}
	return fmt.Errorf("%w: %s may not read user %s", ErrForbidden, p.Name, name)
}

// redactUser drops what a reader never sees of an account: its password
// and CLI secret hashes and its sessions.
func redactUser(u User) User {
	u.PasswordHash, u.CLISecretHash, u.Sessions = nil, nil, nil
	return u
}

// GetUser returns user account name for p, who must be a system
// administrator or the account itself (else ErrForbidden); meta.ErrNotFound
// when there is none. Hashes and sessions are left out.
func (m *Manager) GetUser(ctx context.Context, p auth.Principal, name string) (User, error) {
	if err := mayReadUser(p, name); err != nil {
		return User{}, err
	}
	var u User
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		u, err = Users.In(tx).Get(name)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("accounts: user %s: %w", name, err)
	}
	return redactUser(u), nil
}

// UserFilter narrows ListUsers; the zero value keeps every account.
type UserFilter struct {
	// Name, when set, keeps only the account of that name.
	Name string
}

// ListUsers returns page pg of the user accounts f keeps, in name order,
// and how many there are on every page together; only system
// administrators may list accounts (else ErrForbidden). Hashes and
// sessions are left out.
func (m *Manager) ListUsers(ctx context.Context, p auth.Principal, f UserFilter, pg Page) ([]User, int, error) {
	if !admin(p) {
		return nil, 0, fmt.Errorf("%w: only system administrators list users", ErrForbidden)
	}
	var all []User
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = Users.In(tx).List("", 0)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var kept []User
	for _, u := range all {
		if f.Name == "" || u.Name == f.Name {
			kept = append(kept, redactUser(u))
		}
	}
	out, err := slice(kept, pg)
	return out, len(kept), err
}

// mayReadRobot reports whether p may read robot r: a system administrator
// may read every robot; anyone else signed in needs the permission to
// read robots in r's project ("*" for a system robot).
func (m *Manager) mayReadRobot(p auth.Principal, r Robot) (bool, error) {
	switch {
	case admin(p):
		return true, nil
	case p.Kind == auth.Anonymous:
		return false, nil
	}
	scope := r.Project
	if scope == "" {
		scope = "*" // a system robot: managed with a permission on every project
	}
	return m.authz.Can(p, scope, rbac.ResourceRobot, rbac.ActionRead)
}

// GetRobot returns robot name for p: meta.ErrNotFound when it does not
// exist or p may not read it (see mayReadRobot), so names do not leak.
// Its secret hash is left out. Whether p may change it is for the
// operation that changes it to say.
func (m *Manager) GetRobot(ctx context.Context, p auth.Principal, name string) (Robot, error) {
	var r Robot
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		r, err = Robots.In(tx).Get(name)
		return err
	})
	if err != nil {
		return Robot{}, fmt.Errorf("accounts: robot %s: %w", name, err)
	}
	if ok, err := m.mayReadRobot(p, r); err != nil || !ok {
		return Robot{}, firstErr(err, notFound("robot", name))
	}
	r.SecretHash = nil
	return r, nil
}

// ListRobots returns page pg of the robots p may read (see GetRobot), in
// name order, and how many there are on every page together. Secret hashes
// are left out.
func (m *Manager) ListRobots(ctx context.Context, p auth.Principal, pg Page) ([]Robot, int, error) {
	var all []Robot
	err := m.store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = Robots.In(tx).List("", 0)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	var kept []Robot
	for _, r := range all {
		ok, err := m.mayReadRobot(p, r)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			r.SecretHash = nil
			kept = append(kept, r)
		}
	}
	out, err := slice(kept, pg)
	return out, len(kept), err
}

// firstErr is err if set, else fallback.
func firstErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}
