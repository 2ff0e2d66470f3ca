package label

import (
	"context"
	"fmt"
	"slices"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/registry/naming"
)

// Projects is what the Service needs of the accounts: projects as a
// caller sees them (*accounts.Manager implements it).
type Projects interface {
	// GetProject returns project name, or meta.ErrNotFound when it does
	// not exist or p may not see it.
	GetProject(ctx context.Context, p auth.Principal, name string) (accounts.Project, error)
	// ListProjects returns a page of the projects p may see.
	ListProjects(ctx context.Context, p auth.Principal, f accounts.ProjectFilter, pg accounts.Page) ([]accounts.Project, int, error)
}

// Authorizer decides rights: on repositories (Allowed) and on a
// project's resources (Can). *rbac.Authorizer implements it.
type Authorizer interface {
	auth.Authorizer
	// Can reports whether p may perform action on a resource of project.
	Can(p auth.Principal, project, resource, action string) (bool, error)
}

// admin reports whether p is a signed-in system administrator.
func admin(p auth.Principal) bool { return p.Admin && p.Kind != auth.Anonymous }

// refused is the error of a caller who may see what they act on but not
// act: ErrUnauthenticated for an anonymous one, else ErrForbidden.
func refused(p auth.Principal, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if p.Kind == auth.Anonymous {
		return fmt.Errorf("%w to %s", ErrUnauthenticated, what)
	}
	return fmt.Errorf("%w: %s may not %s", ErrForbidden, p.Name, what)
}

// project returns the project a label of l's scope belongs to, as p sees
// it: by name (l.Project), else by id (l.ProjectID, Harbor's
// project_id), else an *InputError. A project p may not see is
// meta.ErrNotFound.
func (s *Service) project(ctx context.Context, p auth.Principal, l Label) (accounts.Project, error) {
	switch {
	case l.Project != "":
		proj, err := s.projects.GetProject(ctx, p, l.Project)
		if err == nil && l.ProjectID != 0 && proj.ID != l.ProjectID {
			return proj, invalid("project_id", "%d is not the id of project %s", l.ProjectID, l.Project)
		}
		return proj, err
	case l.ProjectID != 0:
		all, _, err := s.projects.ListProjects(ctx, p, accounts.ProjectFilter{}, accounts.Page{Number: 1})
		if err != nil {
			return accounts.Project{}, err
		}
		if i := slices.IndexFunc(all, func(proj accounts.Project) bool { return proj.ID == l.ProjectID }); i >= 0 {
			return all[i], nil
		}
		return accounts.Project{}, notFound("project %d", l.ProjectID)
	}
	return accounts.Project{}, invalid("project_id", "required for a project label (or project_name)")
}

// readable checks that p may see label l: a global label anybody, a
// project label whoever sees its project (meta.ErrNotFound otherwise,
// as for a label that does not exist).
func (s *Service) readable(ctx context.Context, p auth.Principal, l Label) error {
	if l.Scope == Global {
		return nil
	}
	proj, err := s.projects.GetProject(ctx, p, l.Project)
	if err == nil && proj.ID != l.ProjectID {
		err = notFound("label %d", l.ID)
	}
	return err
}

// manageable checks that p may create, change and delete labels like l:
// system administrators the global labels; the project administrators
// and maintainers of a project (and those who may update it, such as a
// robot given that permission) its labels, as in Harbor. A project label
// of a project p may not see is meta.ErrNotFound.
func (s *Service) manageable(ctx context.Context, p auth.Principal, l Label) error {
	if admin(p) {
		return nil
	}
	if l.Scope == Global {
		return refused(p, "manage global labels")
	}
	proj, err := s.projects.GetProject(ctx, p, l.Project)
	if err != nil {
		return err
	}
	if role := accounts.RoleIn(proj, p); role == rbac.ProjectAdmin || role == rbac.Maintainer {
		return nil
	}
	if p.Kind != auth.Anonymous {
		ok, err := s.authz.Can(p, proj.Name, rbac.ResourceProject, rbac.ActionUpdate)
		if err != nil || ok {
			return err
		}
	}
	return refused(p, "manage the labels of project %s", proj.Name)
}

// canLabel checks that p may add labels to and remove them from the
// artifacts of repo: the push right (developers and up, as in Harbor).
// A repository p may not pull from, in a project p sees as private, is
// meta.ErrNotFound. It returns the project.
func (s *Service) canLabel(ctx context.Context, p auth.Principal, repo string) (accounts.Project, error) {
	if err := naming.CheckRepository(repo); err != nil {
		return accounts.Project{}, invalid("repository_name", "%v", err)
	}
	proj, err := s.projects.GetProject(ctx, p, naming.ProjectOf(repo))
	if err != nil {
		return proj, err
	}
	ok, err := s.authz.Allowed(ctx, p, auth.Resource{Type: auth.TypeRepository, Name: repo}, []string{auth.ActionPull, auth.ActionPush})
	switch {
	case err != nil:
		return proj, err
	case slices.Contains(ok, auth.ActionPush):
		return proj, nil
	case !slices.Contains(ok, auth.ActionPull):
		return proj, notFound("repository %s", repo)
	}
	return proj, refused(p, "label artifacts of %s", repo)
}

// usableIn checks that label l may be attached in project proj: global,
// or proj's own. A project label of another project p may see is an
// *InputError naming "id"; of one p may not see, meta.ErrNotFound.
func (s *Service) usableIn(ctx context.Context, p auth.Principal, l Label, proj accounts.Project) error {
	if l.Scope == Global || l.Project == proj.Name && l.ProjectID == proj.ID {
		return nil
	}
	if err := s.readable(ctx, p, l); err != nil {
		return err
	}
	return invalid("id", "label %d belongs to project %s, not %s", l.ID, l.Project, proj.Name)
}

// checkRead is the rule of reading attachments: whoever may pull from
// repo sees its artifacts' labels.
func (s *Service) checkRead(ctx context.Context, p auth.Principal, repo string) error {
	if err := naming.CheckRepository(repo); err != nil {
		return invalid("repository_name", "%v", err)
	}
	proj, err := s.projects.GetProject(ctx, p, naming.ProjectOf(repo))
	if err != nil || proj.Public {
		return err
	}
	ok, err := s.authz.Allowed(ctx, p, auth.Resource{Type: auth.TypeRepository, Name: repo}, []string{auth.ActionPull})
	if err == nil && len(ok) == 0 {
		err = notFound("repository %s", repo)
	}
	return err
}
