package label

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/meta"
)

// Service keeps the labels and who may manage them, for Go callers and
// the API alike. Make one with New.
type Service struct {
	store    meta.Store
	authz    Authorizer
	projects Projects
	now      func() time.Time
}

// Option configures a Service made by New.
type Option func(*Service)

// WithClock sets the clock of creation and update times (default
// time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns the Service over store (the registry's metadata store),
// deciding rights with authz and seeing projects through projects (an
// *accounts.Manager and its Authorizer()).
func New(store meta.Store, authz Authorizer, projects Projects, opts ...Option) (*Service, error) {
	s := &Service{store: store, authz: authz, projects: projects, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	switch {
	case store == nil:
		return nil, errors.New("label: New: nil store")
	case authz == nil:
		return nil, errors.New("label: New: nil authorizer")
	case projects == nil:
		return nil, errors.New("label: New: nil projects")
	}
	return s, nil
}

// stamp is the time of a change: UTC, to the microsecond the stores keep.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Filter selects the labels List returns.
type Filter struct {
	// Scope is Global or ProjectScope; empty is ProjectScope when a
	// project is named, else Global (as Harbor's default).
	Scope Scope
	// Project (a name) or ProjectID (its accounts.Project.ID) names the
	// project of a ProjectScope listing.
	Project   string
	ProjectID uint64
	// Name, when set, keeps the labels whose names contain it.
	Name string
}

// List returns the labels of a scope that f keeps, in id order: the
// global labels, which anybody may read, or one project's, which whoever
// sees the project may read (meta.ErrNotFound for others).
func (s *Service) List(ctx context.Context, p auth.Principal, f Filter) ([]Label, error) {
	q := Label{Scope: f.Scope, Project: f.Project, ProjectID: f.ProjectID}
	if q.Scope == "" {
		q.Scope = Global
		if q.Project != "" || q.ProjectID != 0 {
			q.Scope = ProjectScope
		}
	}
	switch q.Scope {
	case Global:
		if q.Project != "" || q.ProjectID != 0 {
			return nil, invalid("scope", "the global scope has no project")
		}
	case ProjectScope:
		proj, err := s.project(ctx, p, q)
		if err != nil {
			return nil, err
		}
		q.Project = proj.Name
	default:
		return nil, invalid("scope", "%q is not %q (global) or %q (project)", q.Scope, Global, ProjectScope)
	}
	var all []Label
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = inScope(tx, q.Scope, q.Project)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := make([]Label, 0, len(all))
	for _, l := range all {
		if strings.Contains(l.Name, f.Name) {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, b Label) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Get returns label id, if p may read it (see List): meta.ErrNotFound
// otherwise, as for a label that does not exist.
func (s *Service) Get(ctx context.Context, p auth.Principal, id int64) (Label, error) {
	var l Label
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		l, err = load(tx, id)
		return err
	})
	if err != nil {
		return Label{}, err
	}
	if err := s.readable(ctx, p, l); err != nil {
		return Label{}, err
	}
	return l, nil
}

// Create creates label l (its Name, Description, Color, Scope, and for
// a project label Project or ProjectID) with the next id, and returns
// it. System administrators create global labels; project
// administrators and maintainers their project's. A name taken in the
// scope is ErrExists; a bad field an *InputError.
func (s *Service) Create(ctx context.Context, p auth.Principal, l Label) (Label, error) {
	if l.Scope == "" {
		l.Scope = Global
	}
	if err := l.Check(); err != nil {
		return Label{}, err
	}
	if l.Scope == ProjectScope {
		proj, err := s.project(ctx, p, l)
		if err != nil {
			return Label{}, err
		}
		l.Project, l.ProjectID = proj.Name, proj.ID
	}
	if err := s.manageable(ctx, p, l); err != nil {
		return Label{}, err
	}
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if l.Scope == ProjectScope {
			proj, err := accounts.Projects.In(tx).Get(l.Project)
			if err == nil && proj.ID != l.ProjectID {
				err = notFound("project %s", l.Project) // deleted and created again meanwhile
			}
			if err != nil {
				return err
			}
		}
		if err := claimName(tx, l); err != nil {
			return err
		}
		id, err := nextID(tx)
		if err != nil {
			return err
		}
		l.ID = id
		l.CreatedAt = s.stamp()
		l.UpdatedAt = l.CreatedAt
		return put(tx, l)
	})
	if err != nil {
		return Label{}, err
	}
	return l, nil
}

// managed loads label id for p to change: meta.ErrNotFound when p may
// not read it, ErrForbidden (ErrUnauthenticated) when p may read but
// not manage it.
func (s *Service) managed(ctx context.Context, p auth.Principal, id int64) (Label, error) {
	l, err := s.Get(ctx, p, id)
	if err != nil {
		return Label{}, err
	}
	return l, s.manageable(ctx, p, l)
}

// Update changes the name, description and color of label l.ID to l's,
// for those who may manage it (see Create), and returns it. Its scope
// and project stay: l's, when set, must be the label's (else an
// *InputError).
func (s *Service) Update(ctx context.Context, p auth.Principal, l Label) (Label, error) {
	old, err := s.managed(ctx, p, l.ID)
	if err != nil {
		return Label{}, err
	}
	switch {
	case l.Scope != "" && l.Scope != old.Scope:
		return Label{}, invalid("scope", "a label's scope cannot change (%q)", old.Scope)
	case l.Project != "" && l.Project != old.Project:
		return Label{}, invalid("project_name", "a label's project cannot change (%q)", old.Project)
	case l.ProjectID != 0 && l.ProjectID != old.ProjectID:
		return Label{}, invalid("project_id", "a label's project cannot change (%d)", old.ProjectID)
	}
	next := old
	next.Name, next.Description, next.Color = l.Name, l.Description, l.Color
	if err := next.Check(); err != nil {
		return Label{}, err
	}
	var out Label
	err = s.store.Update(ctx, func(tx meta.Tx) error {
		cur, err := load(tx, l.ID)
		if err != nil {
			return err
		}
		out = cur
		out.Name, out.Description, out.Color = l.Name, l.Description, l.Color
		if out.Name != cur.Name {
			if err := claimName(tx, out); err != nil {
				return err
			}
			if err := ignoreMissing(tx.Records(kindNames).Delete(nameKey(cur))); err != nil {
				return err
			}
		}
		out.UpdatedAt = s.stamp()
		return put(tx, out)
	})
	if err != nil {
		return Label{}, err
	}
	return out, nil
}

// Delete deletes label id and detaches it from every artifact, in one
// transaction, for those who may manage it (see Create). Its id is not
// given again.
func (s *Service) Delete(ctx context.Context, p auth.Principal, id int64) error {
	if _, err := s.managed(ctx, p, id); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx meta.Tx) error {
		l, err := load(tx, id)
		if err != nil {
			return err
		}
		return purge(tx, l)
	})
}
