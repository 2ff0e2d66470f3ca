package artifact

import (
	"context"
	"fmt"
	"slices"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// scope is one project as a caller sees it.
type scope struct {
	proj accounts.Project
	// wide is set when the caller may pull every repository of the
	// project (an administrator, a member, anyone in a public project);
	// otherwise (robots, grants) each repository is checked.
	wide bool
}

// scopeOf returns project name as p sees it, or meta.ErrNotFound.
func (s *Service) scopeOf(ctx context.Context, p auth.Principal, name string) (scope, error) {
	proj, err := s.projects.GetProject(ctx, p, name)
	if err != nil {
		return scope{}, err
	}
	return scopeFor(proj, p), nil
}

// scopeFor is proj, which p sees, as p sees it.
func scopeFor(proj accounts.Project, p auth.Principal) scope {
	admin := p.Admin && p.Kind != auth.Anonymous
	return scope{proj: proj, wide: admin || proj.Public || accounts.RoleIn(proj, p) != ""}
}

// pullable reports whether p may pull from repo of sc.
func (s *Service) pullable(ctx context.Context, p auth.Principal, sc scope, repo string) (bool, error) {
	if sc.wide {
		return true, nil
	}
	ok, err := s.authz.Allowed(ctx, p, auth.Resource{Type: auth.TypeRepository, Name: repo}, []string{auth.ActionPull})
	return len(ok) > 0, err
}

// need checks that p may perform action on repo: meta.ErrNotFound when p
// may not even see it (so private names do not leak), ErrUnauthenticated
// for an anonymous caller who may see but not act, ErrForbidden for
// others.
func (s *Service) need(ctx context.Context, p auth.Principal, repo, action string) error {
	if err := naming.CheckRepository(repo); err != nil {
		return invalid("repository_name", err.Error())
	}
	sc, err := s.scopeOf(ctx, p, naming.ProjectOf(repo))
	if err != nil {
		return err
	}
	actions := []string{auth.ActionPull}
	if action != auth.ActionPull {
		actions = append(actions, action)
	}
	ok, err := s.authz.Allowed(ctx, p, auth.Resource{Type: auth.TypeRepository, Name: repo}, actions)
	if err != nil {
		return err
	}
	switch {
	case !sc.wide && !slices.Contains(ok, auth.ActionPull):
		return fmt.Errorf("artifact: repository %s: %w", repo, meta.ErrNotFound)
	case slices.Contains(ok, action):
		return nil
	case p.Kind == auth.Anonymous:
		return fmt.Errorf("%w to %s in %s", ErrUnauthenticated, action, repo)
	}
	return fmt.Errorf("%w: %s may not %s in %s", ErrForbidden, p.Name, action, repo)
}
