package accounts

import (
	"context"
	"errors"
	"slices"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/rbac"
	"github.com/berthreg/berth/registry/naming"
)

// CreatingProjects returns an auth.Authorizer that, when a user (not a
// robot, not anonymous) asks to push to a repository whose project does not
// exist, first creates that project, private, with the user as its
// ProjectAdmin; then it decides as m.Authorizer() does. Without it a push
// to a missing project is refused.
func (m *Manager) CreatingProjects() auth.Authorizer { return creating{m} }

type creating struct{ m *Manager }

func (c creating) Allowed(ctx context.Context, p auth.Principal, r auth.Resource, actions []string) ([]string, error) {
	if r.Type == auth.TypeRepository && p.Kind == auth.User && slices.Contains(actions, auth.ActionPush) {
		project := naming.ProjectOf(r.Name)
		_, err := c.m.Project(ctx, project)
		if errors.Is(err, rbac.ErrNoProject) {
			err = c.m.CreateProject(ctx, p, project, false)
			if errors.Is(err, ErrExists) || errors.Is(err, ErrInvalid) {
				err = nil // created meanwhile, or a name no project can have
			}
		}
		if err != nil {
			return nil, err
		}
	}
	return c.m.authz.Allowed(ctx, p, r, actions)
}
