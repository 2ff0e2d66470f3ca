package preheat

import (
	"errors"
	"slices"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/meta"
)

// Who may do what, decided in the transaction of the operation from the
// accounts records (accounts.Projects, accounts.Robots), so that a Go
// caller and the admin API meet the same rules.
//
// Harbor's RBAC matrix gives its "preheat-policy" resource (create, read,
// update, delete, list) to the projectAdmin role alone: maintainers,
// developers, guests and limited guests get none of it (goharbor/harbor
// src/common/rbac/project/rbac_role.go, v2.x), and preheat instances are
// a system resource. Berth mirrors that with its roles: system
// administrators and the project's administrators (as user members or
// through a group) manage and read a project's policies, executions,
// tasks and logs; instances are the system administrators'. Berth's
// robot accounts hold no preheat permission (its RBAC has no such
// resource), so robots are refused.

// anonymous reports a principal without an account.
func anonymous(p auth.Principal) bool { return p.Kind == auth.Anonymous || p.Name == "" }

// admin reports whether p is a signed-in system administrator.
func admin(p auth.Principal) bool { return p.Admin && !anonymous(p) }

// refused is the error of a caller who may not act: ErrUnauthenticated
// for an anonymous one, else ErrForbidden.
func refused(p auth.Principal, what string) error {
	if anonymous(p) {
		return refuse(ErrUnauthenticated, "preheat: sign in to %s", what)
	}
	return refuse(ErrForbidden, "preheat: %s may not %s", p.Name, what)
}

// systemAdmin checks that p may manage (and read) provider instances.
func systemAdmin(p auth.Principal, what string) error {
	if admin(p) {
		return nil
	}
	return refused(p, what+" (system administrators only)")
}

// projectAdmin checks, in tx, that p may manage and read the preheat
// policies of project (see above) and returns the project. A project
// that does not exist, or that p may not see at all, is ErrNotFound; an
// anonymous caller is ErrUnauthenticated whatever the project.
func projectAdmin(tx meta.Tx, p auth.Principal, project, what string) (accounts.Project, error) {
	if anonymous(p) {
		return accounts.Project{}, refused(p, what)
	}
	proj, err := accounts.Projects.In(tx).Get(project)
	if err != nil {
		return proj, missing(err, "project %s", project)
	}
	if admin(p) || accounts.RoleIn(proj, p) == rbac.ProjectAdmin {
		return proj, nil
	}
	seen, err := visible(tx, proj, p)
	switch {
	case err != nil:
		return proj, err
	case !seen:
		return accounts.Project{}, notFound("project %s", project)
	}
	return proj, refused(p, what+" of project "+project+" (project administrators only)")
}

// visible reports whether p may see proj at all: a public project, or
// one it is a member of, holds grants in, or (a robot) belongs to.
func visible(tx meta.Tx, proj accounts.Project, p auth.Principal) (bool, error) {
	if proj.Public || accounts.RoleIn(proj, p) != "" {
		return true, nil
	}
	for _, g := range proj.Grants {
		if (g.Kind == "user" && p.Kind == auth.User && g.Name == p.Name) || (g.Kind == "group" && slices.Contains(p.Groups, g.Name)) {
			return true, nil
		}
	}
	if p.Kind != auth.Robot {
		return false, nil
	}
	r, err := accounts.Robots.In(tx).Get(p.Name)
	if errors.Is(err, meta.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if r.Project == proj.Name {
		return true, nil
	}
	return slices.ContainsFunc(r.Grants, func(g accounts.Grant) bool { return g.Project == proj.Name || g.Project == "*" }), nil
}
