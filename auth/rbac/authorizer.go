package rbac

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/registry/naming"
)

// modelText is the casbin model: RBAC with domains (a domain is a project),
// where a policy's object is "type:pattern" (a doublestar pattern over
// repository names) or a bare project resource type, and role permissions
// hold in every domain ("*") for the members of that domain.
const modelText = `
[request_definition]
r = sub, dom, obj, act

[policy_definition]
p = sub, dom, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = (r.sub == p.sub || g(r.sub, p.sub, r.dom)) && (p.dom == "*" || p.dom == r.dom) && objectMatch(r.obj, p.obj) && r.act == p.act
`

// ErrNoProject is what a ProjectLookup returns for a project that does not
// exist.
var ErrNoProject = errors.New("rbac: no such project")

// Project is what the Authorizer needs to know of a project.
type Project struct {
	// Name is the project name.
	Name string
	// Public projects may be pulled from by anyone, anonymous included.
	Public bool
}

// ProjectLookup finds projects by name.
type ProjectLookup interface {
	// Project returns the named project or an error wrapping ErrNoProject.
	Project(ctx context.Context, name string) (Project, error)
}

// Authorizer is an auth.Authorizer over a casbin enforcer. Its policy
// methods take effect for the next decision.
type Authorizer struct {
	e        *casbin.SyncedEnforcer
	projects ProjectLookup
}

var _ auth.Authorizer = (*Authorizer)(nil)

// New returns an Authorizer with the role permissions of Matrix and no
// members or grants, looking projects up in projects.
func New(projects ProjectLookup) (*Authorizer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("rbac: model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("rbac: enforcer: %w", err)
	}
	e.AddFunction("objectMatch", func(args ...any) (any, error) {
		if len(args) != 2 {
			return false, errors.New("objectMatch takes two arguments")
		}
		obj, _ := args[0].(string)
		pattern, _ := args[1].(string)
		return objectMatch(obj, pattern), nil
	})
	a := &Authorizer{e: e, projects: projects}
	for role, perms := range Matrix {
		for _, p := range perms {
			if _, err := e.AddPolicy(roleSubject(role), "*", roleObject(p.Resource), p.Action); err != nil {
				return nil, fmt.Errorf("rbac: role policy: %w", err)
			}
		}
	}
	return a, nil
}

// roleObject is the object of a role permission: every repository of the
// project, or the project resource itself.
func roleObject(resource string) string {
	if resource == auth.TypeRepository {
		return auth.TypeRepository + ":**"
	}
	return resource
}

// objectMatch matches a request object against a policy object: equal
// bare resources, or the same type with a name matching the pattern.
func objectMatch(obj, pattern string) bool {
	ot, on, oHas := strings.Cut(obj, ":")
	pt, pn, pHas := strings.Cut(pattern, ":")
	if ot != pt || oHas != pHas {
		return false
	}
	if !oHas {
		return true
	}
	ok, err := doublestar.Match(pn, on)
	return err == nil && ok
}

func roleSubject(r Role) string { return "role:" + string(r) }

// Subject names a principal in the policy: "user:alice", "robot:…",
// "group:devs".
func Subject(kind auth.Kind, name string) string { return string(kind) + ":" + name }

// GroupSubject names a group in the policy.
func GroupSubject(name string) string { return "group:" + name }

// subjects are the policy subjects a principal acts as.
func subjects(p auth.Principal) []string {
	if p.Kind == auth.Anonymous {
		return nil
	}
	out := []string{Subject(p.Kind, p.Name)}
	for _, g := range p.Groups {
		out = append(out, GroupSubject(g))
	}
	return out
}

// validRole reports a known role.
func validRole(r Role) bool {
	_, ok := Matrix[r]
	return ok
}

// AddMember gives subject (see Subject, GroupSubject) role in project,
// replacing any role it had there.
func (a *Authorizer) AddMember(project, subject string, role Role) error {
	if !validRole(role) {
		return fmt.Errorf("rbac: unknown role %q", role)
	}
	if project == "" || project == "*" || subject == "" {
		return errors.New("rbac: AddMember needs a project and a subject")
	}
	if err := a.RemoveMember(project, subject); err != nil {
		return err
	}
	_, err := a.e.AddGroupingPolicy(subject, roleSubject(role), project)
	return err
}

// RemoveMember takes subject's role in project away.
func (a *Authorizer) RemoveMember(project, subject string) error {
	_, err := a.e.RemoveFilteredGroupingPolicy(0, subject, "", project)
	return err
}

// AddGrant lets subject perform actions on the repositories of project
// whose names match pattern, a doublestar pattern that must start with the
// project's own name ("team/app-*", "team/**"), so that a grant never
// reaches into another project. Project "*" is every project (a system
// robot's grant), and its pattern may name any repository ("**",
// "*/base-images").
func (a *Authorizer) AddGrant(project, subject, pattern string, actions ...string) error {
	if project == "" || subject == "" {
		return errors.New("rbac: AddGrant needs a project and a subject")
	}
	if (project != "*" && !strings.HasPrefix(pattern, project+"/")) || !doublestar.ValidatePattern(pattern) {
		return fmt.Errorf("rbac: grant pattern %q must be a valid pattern inside project %q", pattern, project)
	}
	for _, act := range actions {
		if !slices.Contains(RepositoryActions, act) {
			return fmt.Errorf("rbac: grant action %q is not pull, push or delete", act)
		}
		if _, err := a.e.AddPolicy(subject, project, auth.TypeRepository+":"+pattern, act); err != nil {
			return err
		}
	}
	return nil
}

// RemoveGrant takes away what AddGrant gave subject on the repositories
// of project matching pattern.
func (a *Authorizer) RemoveGrant(project, subject, pattern string) error {
	_, err := a.e.RemoveFilteredPolicy(0, subject, project, auth.TypeRepository+":"+pattern)
	return err
}

// AddPermission lets subject perform action on a project resource
// (ResourceProject, ResourceMember, ResourceRobot) of project, "*" for
// every project: what a robot allowed to manage robots holds.
func (a *Authorizer) AddPermission(project, subject, resource, action string) error {
	if project == "" || subject == "" {
		return errors.New("rbac: AddPermission needs a project and a subject")
	}
	if !slices.Contains(ProjectResources, resource) || !slices.Contains(ResourceActions, action) {
		return fmt.Errorf("rbac: %s %s is not a project resource permission", resource, action)
	}
	_, err := a.e.AddPolicy(subject, project, resource, action)
	return err
}

// RemoveSubject drops every membership and grant of subject (a deleted
// user, group or robot).
func (a *Authorizer) RemoveSubject(subject string) error {
	if _, err := a.e.RemoveFilteredGroupingPolicy(0, subject); err != nil {
		return err
	}
	_, err := a.e.RemoveFilteredPolicy(0, subject)
	return err
}

// RemoveProject drops every membership and grant in project.
func (a *Authorizer) RemoveProject(project string) error {
	if _, err := a.e.RemoveFilteredGroupingPolicy(2, project); err != nil {
		return err
	}
	_, err := a.e.RemoveFilteredPolicy(1, project)
	return err
}

// Allowed implements auth.Authorizer: the actions of actions that p may
// perform on r. A system administrator may do everything in any project,
// and gets "registry:catalog:*"; others never get the catalog. Pulls from a
// public project are allowed to anyone. A repository in a project that does
// not exist allows nothing but an administrator's pull (which then finds
// nothing).
func (a *Authorizer) Allowed(ctx context.Context, p auth.Principal, r auth.Resource, actions []string) ([]string, error) {
	admin := p.Admin && p.Kind != auth.Anonymous
	if r.Type != auth.TypeRepository {
		if admin {
			return append([]string(nil), actions...), nil
		}
		return nil, nil
	}
	project := naming.ProjectOf(r.Name)
	proj, err := a.projects.Project(ctx, project)
	if errors.Is(err, ErrNoProject) {
		// Nothing to push into: repositories live in projects. An admin may
		// still look (and be told the repository is unknown).
		if admin && slices.Contains(actions, auth.ActionPull) {
			return []string{auth.ActionPull}, nil
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if admin {
		return append([]string(nil), actions...), nil
	}
	var out []string
	for _, act := range actions {
		ok := act == auth.ActionPull && proj.Public
		for _, sub := range subjects(p) {
			if ok {
				break
			}
			ok, err = a.e.Enforce(sub, project, auth.TypeRepository+":"+r.Name, act)
			if err != nil {
				return nil, fmt.Errorf("rbac: %w", err)
			}
		}
		if ok {
			out = append(out, act)
		}
	}
	return out, nil
}

// Can reports whether p may perform action on a project resource
// (ResourceProject, ResourceMember, ResourceRobot) of project: the admin
// API's check.
func (a *Authorizer) Can(p auth.Principal, project, resource, action string) (bool, error) {
	if p.Admin && p.Kind != auth.Anonymous {
		return true, nil
	}
	for _, sub := range subjects(p) {
		ok, err := a.e.Enforce(sub, project, resource, action)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
