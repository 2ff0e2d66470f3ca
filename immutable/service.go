package immutable

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/fillcache"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Generation is the change counter bumped with every rule change, which
// a Service made WithWatcher watches.
const Generation = "immutableRules"

// Errors of the rule methods.
var (
	// ErrInvalid reports a rule that fails Check, or one too many.
	ErrInvalid = errors.New("immutable: invalid rule")
	// ErrNotFound reports a missing project or rule.
	ErrNotFound = errors.New("immutable: not found")
)

// Service keeps the projects' immutability rules and enforces them on
// the store Store returns. Make one with New.
type Service struct {
	store   meta.Store
	watcher *generation.Watcher
	now     func() time.Time
	// rules caches each project's rules once the watcher has polled
	// (live); without a watcher every check reads the store.
	rules *fillcache.Cache[string, ruleSet]
	live  atomic.Bool
}

// Option configures a Service made by New.
type Option func(*Service)

// WithWatcher makes the service keep each project's rules in memory,
// emptied whenever w sees Generation or accounts.PolicyGeneration move:
// another instance's change applies here within w's bound (package
// generation); this instance's at once.
func WithWatcher(w *generation.Watcher) Option { return func(s *Service) { s.watcher = w } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// New returns the immutability service over store, the registry's
// metadata store (or a store wrapping it).
func New(store meta.Store, opts ...Option) (*Service, error) {
	if store == nil {
		return nil, errors.New("immutable: New: nil store")
	}
	s := &Service{store: store, now: time.Now, rules: fillcache.New[string, ruleSet](10000)}
	for _, o := range opts {
		o(s)
	}
	if s.watcher != nil {
		if err := fillcache.ResetOn(s.rules, &s.live, s.watcher, Generation, accounts.PolicyGeneration); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// rulesIn returns the rules in force in project, read in tx unless the
// cache holds them.
func (s *Service) rulesIn(tx meta.Tx, project string) (ruleSet, error) {
	return fillcache.Through(s.rules, &s.live, project, func() (ruleSet, error) {
		pr, err := records.In(tx).Get(project)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return nil, err
		}
		var rs ruleSet
		for _, r := range pr.Rules {
			if !r.Disabled {
				rs = append(rs, r)
			}
		}
		return rs, nil
	})
}

// immutableIn reports whether tag of repo is immutable, in tx. cosign's
// signature, attestation and SBOM tags never are: signing an immutable
// tag's image must still work.
func (s *Service) immutableIn(tx meta.Tx, repo, tag string) (bool, error) {
	if naming.IsAttachmentTag(tag) {
		return false, nil
	}
	rs, err := s.rulesIn(tx, naming.ProjectOf(repo))
	if err != nil {
		return false, err
	}
	return rs.immutable(repo, tag), nil
}

// Immutable reports whether tag of repo (a full repository name) is
// immutable: retention keeps such tags, and the API shows them.
func (s *Service) Immutable(ctx context.Context, repo, tag string) (bool, error) {
	var ok bool
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		ok, err = s.immutableIn(tx, repo, tag)
		return err
	})
	return ok, err
}

// Rules returns project's rules, in id order.
func (s *Service) Rules(ctx context.Context, project string) ([]Rule, error) {
	var out []Rule
	err := s.store.View(ctx, func(tx meta.Tx) error {
		if _, err := accounts.Projects.In(tx).Get(project); err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "project "+project)
		}
		pr, err := records.In(tx).Get(project)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		out = pr.Rules
		return nil
	})
	if out == nil {
		out = []Rule{}
	}
	return out, err
}

// change runs fn on project's rules in a write transaction, stores them
// and bumps Generation; the cache forgets them once it committed.
func (s *Service) change(ctx context.Context, project string, fn func(*projectRules) error) error {
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := accounts.Projects.In(tx).Get(project); err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "project "+project)
		}
		pr, err := records.In(tx).Get(project)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		pr.Project = project
		pr.Rules = slices.Clone(pr.Rules)
		if err := fn(&pr); err != nil {
			return err
		}
		pr.UpdatedAt = s.now().UTC()
		if err := records.In(tx).Put(pr); err != nil {
			return err
		}
		return generation.Bump(tx, Generation)
	})
	if err == nil {
		s.rules.Reset()
	}
	return err
}

// Create adds r to project's rules (at most MaxRules) with the next id,
// and returns it.
func (s *Service) Create(ctx context.Context, project string, r Rule) (Rule, error) {
	if err := r.Check(); err != nil {
		return r, err
	}
	err := s.change(ctx, project, func(pr *projectRules) error {
		if len(pr.Rules) >= MaxRules {
			return fmt.Errorf("%w: project %s has %d rules, the most it may have", ErrInvalid, project, MaxRules)
		}
		pr.LastID++
		r.ID = pr.LastID
		pr.Rules = append(pr.Rules, r)
		return nil
	})
	return r, err
}

// Update replaces the rule of project with r's id.
func (s *Service) Update(ctx context.Context, project string, r Rule) (Rule, error) {
	if err := r.Check(); err != nil {
		return r, err
	}
	err := s.change(ctx, project, func(pr *projectRules) error {
		i := slices.IndexFunc(pr.Rules, func(x Rule) bool { return x.ID == r.ID })
		if i < 0 {
			return fmt.Errorf("%w: rule %d of project %s", ErrNotFound, r.ID, project)
		}
		pr.Rules[i] = r
		return nil
	})
	return r, err
}

// Delete removes the rule of project with id.
func (s *Service) Delete(ctx context.Context, project string, id int64) error {
	return s.change(ctx, project, func(pr *projectRules) error {
		i := slices.IndexFunc(pr.Rules, func(x Rule) bool { return x.ID == id })
		if i < 0 {
			return fmt.Errorf("%w: rule %d of project %s", ErrNotFound, id, project)
		}
		pr.Rules = slices.Delete(pr.Rules, i, i+1)
		return nil
	})
}

// DeleteProject deletes project's rules: accounts.WithProjectCleanup
// runs it when a project is deleted, so a project re-created under the
// name starts without them.
func (s *Service) DeleteProject(tx meta.Tx, project string, _ time.Time) error {
	if err := records.In(tx).Delete(project); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	return generation.Bump(tx, Generation)
}
