package rbac

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

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
// methods take effect for the next decision; Load replaces the whole
// policy at once.
type Authorizer struct {
	projects ProjectLookup
	// e is the enforcer of the current policy: Load swaps in another,
	// so each decision loads it once and sees one whole policy.
	e atomic.Pointer[casbin.SyncedEnforcer]
	// changing is held shared by the policy methods while they change
	// the enforcer and count the change, and by Load to swap.
	changing sync.RWMutex
	changes  atomic.Uint64
	// loading makes Loads run one at a time, so an earlier read of the
	// source is never swapped in after a later one.
	loading sync.Mutex
	// members, on the fresh Authorizer a Load fills, holds the (subject,
	// project) pairs given a role so far: AddMember then skips removing a
	// role nobody gave, which costs a rebuild of every role link each time
	// (a Load of n members would be quadratic).
	members map[[2]string]bool
}

var _ auth.Authorizer = (*Authorizer)(nil)

// New returns an Authorizer with the role permissions of Matrix and no
// members or grants, looking projects up in projects.
func New(projects ProjectLookup) (*Authorizer, error) {
	e, err := newEnforcer()
	if err != nil {
		return nil, err
	}
	a := &Authorizer{projects: projects}
	a.e.Store(e)
	return a, nil
}

// newEnforcer returns an enforcer with the role permissions of Matrix
// and nothing else.
func newEnforcer() (*casbin.SyncedEnforcer, error) {
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
	for role, perms := range Matrix {
		for _, p := range perms {
			if _, err := e.AddPolicy(roleSubject(role), "*", roleObject(p.Resource), p.Action); err != nil {
				return nil, fmt.Errorf("rbac: role policy: %w", err)
			}
		}
	}
	return e, nil
}

// loadTries bounds how often Load reads its source again because the
// policy changed meanwhile.
const loadTries = 3

// Load replaces the members, grants and permissions (the role matrix
// stays) with what fill gives a fresh Authorizer, all at once: a decision
// made meanwhile sees the old policy or the new one, never a part of the
// new one. fill reads them from where they are kept (the metadata store)
// and adds them with the policy methods; its error aborts the Load and
// leaves the policy as it was.
//
// Changes are expected to reach the source before this Authorizer (a
// change committed, then applied here). When a policy method changes this
// Authorizer while fill runs, fill may have read the source before that
// change: Load then runs fill again (up to three times in all, then swaps
// what it has: the caller's next Load, prompted by the change itself,
// catches up). Loads run one at a time.
func (a *Authorizer) Load(fill func(staged *Authorizer) error) error {
	a.loading.Lock()
	defer a.loading.Unlock()
	for try := 1; ; try++ {
		seen := a.changes.Load()
		e, err := newEnforcer()
		if err != nil {
			return err
		}
		staged := &Authorizer{projects: a.projects, members: map[[2]string]bool{}}
		staged.e.Store(e)
		if err := fill(staged); err != nil {
			return err
		}
		a.changing.Lock()
		if a.changes.Load() != seen && try < loadTries {
			a.changing.Unlock()
			continue
		}
		a.e.Store(e)
		a.changing.Unlock()
		return nil
	}
}

// change runs f on the current enforcer and counts the change (see
// Load).
func (a *Authorizer) change(f func(e *casbin.SyncedEnforcer) error) error {
	a.changing.RLock()
	defer a.changing.RUnlock()
	defer a.changes.Add(1)
	return f(a.e.Load())
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
	return a.change(func(e *casbin.SyncedEnforcer) error {
		key := [2]string{subject, project}
		given := a.members[key]
		if a.members == nil {
			// Removing rebuilds every role link: only when there is a
			// role to replace (a new project's creator has none).
			had, err := e.GetFilteredGroupingPolicy(0, subject, "", project)
			if err != nil {
				return err
			}
			given = len(had) > 0
		}
		if given {
			if _, err := e.RemoveFilteredGroupingPolicy(0, subject, "", project); err != nil {
				return err
			}
		}
		if a.members != nil {
			a.members[key] = true
		}
		_, err := e.AddGroupingPolicy(subject, roleSubject(role), project)
		return err
	})
}

// RemoveMember takes subject's role in project away.
func (a *Authorizer) RemoveMember(project, subject string) error {
	return a.change(func(e *casbin.SyncedEnforcer) error {
		_, err := e.RemoveFilteredGroupingPolicy(0, subject, "", project)
		return err
	})
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
	}
	return a.change(func(e *casbin.SyncedEnforcer) error {
		for _, act := range actions {
			if _, err := e.AddPolicy(subject, project, auth.TypeRepository+":"+pattern, act); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveGrant takes away what AddGrant gave subject on the repositories
// of project matching pattern.
func (a *Authorizer) RemoveGrant(project, subject, pattern string) error {
	return a.change(func(e *casbin.SyncedEnforcer) error {
		_, err := e.RemoveFilteredPolicy(0, subject, project, auth.TypeRepository+":"+pattern)
		return err
	})
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
	return a.change(func(e *casbin.SyncedEnforcer) error {
		_, err := e.AddPolicy(subject, project, resource, action)
		return err
	})
}

// RemoveSubject drops every membership and grant of subject (a deleted
// user, group or robot).
func (a *Authorizer) RemoveSubject(subject string) error {
	return a.change(func(e *casbin.SyncedEnforcer) error {
		if _, err := e.RemoveFilteredGroupingPolicy(0, subject); err != nil {
			return err
		}
		_, err := e.RemoveFilteredPolicy(0, subject)
		return err
	})
}

// RemoveProject drops every membership and grant in project.
func (a *Authorizer) RemoveProject(project string) error {
	return a.change(func(e *casbin.SyncedEnforcer) error {
		if _, err := e.RemoveFilteredGroupingPolicy(2, project); err != nil {
			return err
		}
		_, err := e.RemoveFilteredPolicy(1, project)
		return err
	})
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
	e := a.e.Load() // one policy for the whole decision
	var out []string
	for _, act := range actions {
		ok := act == auth.ActionPull && proj.Public
		for _, sub := range subjects(p) {
			if ok {
				break
			}
			ok, err = e.Enforce(sub, project, auth.TypeRepository+":"+r.Name, act)
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

// Domains returns the projects in which p (its account or its groups)
// holds a role or a permission of its own (a robot's, a grant), in name
// order: the projects it may act in beyond public ones. Administrators'
// rights hold everywhere and are not listed.
func (a *Authorizer) Domains(p auth.Principal) []string {
	e := a.e.Load()
	seen := map[string]bool{}
	for _, sub := range subjects(p) {
		rules, err := e.GetFilteredPolicy(0, sub)
		if err != nil {
			continue
		}
		for _, rule := range rules {
			if len(rule) > 1 && rule[1] != "*" {
				seen[rule[1]] = true
			}
		}
		roles, err := e.GetFilteredGroupingPolicy(0, sub)
		if err != nil {
			continue
		}
		for _, g := range roles {
			if len(g) > 2 {
				seen[g[2]] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Can reports whether p may perform action on a project resource
// (ResourceProject, ResourceMember, ResourceRobot) of project: the admin
// API's check.
func (a *Authorizer) Can(p auth.Principal, project, resource, action string) (bool, error) {
	if p.Admin && p.Kind != auth.Anonymous {
		return true, nil
	}
	e := a.e.Load()
	for _, sub := range subjects(p) {
		ok, err := e.Enforce(sub, project, resource, action)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
