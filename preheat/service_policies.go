package preheat

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
)

// PoliciesGeneration is the generation counter (package generation) the
// Service bumps in each transaction that creates, updates or deletes a
// policy: an instance watching it runs ScheduleAll again when another
// instance changed one.
const PoliciesGeneration = "preheat.policies"

// projectPolicies lists the policies stored under project's name, in name
// order (of every incarnation of the project: see current).
func projectPolicies(tx meta.Tx, project string) ([]Policy, error) {
	prefix := PolicyKey(project, "")
	var out []Policy
	after := prefix
	for {
		page, err := Policies.In(tx).List(after, 256)
		if err != nil {
			return nil, err
		}
		for _, p := range page {
			if !strings.HasPrefix(p.Key(), prefix) {
				return out, nil
			}
			out = append(out, p)
		}
		if len(page) < 256 {
			return out, nil
		}
		after = page[len(page)-1].Key()
	}
}

// current reports whether p belongs to proj as it is now, not to an
// earlier project of the same name (policies from a host without
// project ids, 0, belong).
func current(p Policy, proj accounts.Project) bool {
	return p.ProjectID == 0 || proj.ID == 0 || p.ProjectID == proj.ID
}

// policyIn reads policy name of proj in tx, or ErrNotFound.
func policyIn(tx meta.Tx, proj accounts.Project, name string) (Policy, error) {
	p, err := Policies.In(tx).Get(PolicyKey(proj.Name, name))
	if err == nil && !current(p, proj) {
		err = meta.ErrNotFound
	}
	return p, missing(err, "preheat policy %s of project %s", name, proj.Name)
}

// withProvider fills p's ProviderName from the instances.
func withProvider(tx meta.Tx, p Policy) (Policy, error) {
	in, err := instanceByID(tx, p.ProviderID)
	switch {
	case errors.Is(err, meta.ErrNotFound):
	case err != nil:
		return p, err
	default:
		p.ProviderName = in.Name
	}
	return p, nil
}

// Policies returns page of project's policies, in name order, and how
// many it has: for its administrators.
func (s *Service) Policies(ctx context.Context, actor auth.Principal, project string, page Page) ([]Policy, int, error) {
	var list []Policy
	err := s.store.View(ctx, func(tx meta.Tx) error {
		proj, err := projectAdmin(tx, actor, project, "list the preheat policies")
		if err != nil {
			return err
		}
		all, err := projectPolicies(tx, project)
		if err != nil {
			return err
		}
		list = list[:0]
		for _, p := range all {
			if !current(p, proj) {
				continue
			}
			if p, err = withProvider(tx, p); err != nil {
				return err
			}
			list = append(list, p)
		}
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	return window(list, page)
}

// Policy returns policy name of project (ErrNotFound when it has none):
// for its administrators.
func (s *Service) Policy(ctx context.Context, actor auth.Principal, project, name string) (Policy, error) {
	var p Policy
	err := s.store.View(ctx, func(tx meta.Tx) error {
		proj, err := projectAdmin(tx, actor, project, "read the preheat policies")
		if err != nil {
			return err
		}
		if p, err = policyIn(tx, proj, name); err != nil {
			return err
		}
		p, err = withProvider(tx, p)
		return err
	})
	return p, err
}

// checkProvider checks in tx that p's instance exists and is enabled.
func checkProvider(tx meta.Tx, p Policy) (Instance, error) {
	in, err := instanceByID(tx, p.ProviderID)
	switch {
	case errors.Is(err, meta.ErrNotFound):
		return in, invalid("provider_id", "no preheat instance %d", p.ProviderID)
	case err != nil:
		return in, err
	case !in.Enabled:
		return in, invalid("provider_id", "preheat instance %s is disabled", in.Name)
	}
	return in, nil
}

// CreatePolicy stores p as a new policy of p.Project, which must exist:
// for its administrators. It must pass CheckPolicy and name an enabled
// instance (ErrInvalid naming the field); its name must be free in the
// project (ErrExists); the project may hold at most
// MaxPoliciesPerProject (ErrLimit). It gets a new id, the project's id,
// its creator (actor) and times, and a scheduled one is scheduled. It
// returns the stored policy.
func (s *Service) CreatePolicy(ctx context.Context, actor auth.Principal, p Policy) (Policy, error) {
	p = normalized(p)
	now := s.stamp()
	p.CreatedAt, p.UpdatedAt, p.CreatedBy = now, now, actor.Name
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		proj, err := projectAdmin(tx, actor, p.Project, "create preheat policies")
		if err != nil {
			return err
		}
		if err := CheckPolicy(p); err != nil {
			return err
		}
		all, err := projectPolicies(tx, p.Project)
		if err != nil {
			return err
		}
		n := 0
		for _, old := range all {
			switch {
			case !current(old, proj):
				// Left by an earlier project of the name: it goes now.
				if err := deletePolicy(tx, old, now); err != nil {
					return err
				}
			case old.Name == p.Name:
				return refuse(ErrExists, "preheat policy %s of project %s exists", p.Name, p.Project)
			default:
				n++
			}
		}
		if n >= MaxPoliciesPerProject {
			return refuse(ErrLimit, "preheat: project %s has %d policies: at most %d", p.Project, n, MaxPoliciesPerProject)
		}
		in, err := checkProvider(tx, p)
		if err != nil {
			return err
		}
		if p.ID, err = nextID(tx, seqPolicy); err != nil {
			return err
		}
		p.ProjectID, p.ProviderName = proj.ID, ""
		if err := putPolicy(tx, p); err != nil {
			return err
		}
		p.ProviderName = in.Name
		return nil
	})
	if err != nil {
		return Policy{}, err
	}
	return p, s.saved(p)
}

// putPolicy stores p (without its read-only name of the provider) and
// bumps PoliciesGeneration.
func putPolicy(tx meta.Tx, p Policy) error {
	p.ProviderName = ""
	if err := Policies.In(tx).Put(p); err != nil {
		return err
	}
	return generation.Bump(tx, PoliciesGeneration)
}

// UpdatePolicy replaces the settings of policy p.Name of p.Project with
// p's, checked as for CreatePolicy (its id, project id, creator and
// creation time stay; ErrNotFound when there is no such policy), and
// reschedules it: for the project's administrators. It returns the stored
// policy.
func (s *Service) UpdatePolicy(ctx context.Context, actor auth.Principal, p Policy) (Policy, error) {
	p = normalized(p)
	p.UpdatedAt = s.stamp()
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		proj, err := projectAdmin(tx, actor, p.Project, "update preheat policies")
		if err != nil {
			return err
		}
		if err := CheckPolicy(p); err != nil {
			return err
		}
		old, err := policyIn(tx, proj, p.Name)
		if err != nil {
			return err
		}
		in, err := checkProvider(tx, p)
		if err != nil {
			return err
		}
		p.ID, p.ProjectID, p.CreatedBy, p.CreatedAt = old.ID, old.ProjectID, old.CreatedBy, old.CreatedAt
		if err := putPolicy(tx, p); err != nil {
			return err
		}
		p.ProviderName = in.Name
		return nil
	})
	if err != nil {
		return Policy{}, err
	}
	return p, s.saved(p)
}

// DeletePolicy deletes policy name of project with its executions, tasks
// and logs, and takes it off the scheduler; ErrInUse while one of its
// executions is in progress (stop it first): for the project's
// administrators. Its id is not given again.
func (s *Service) DeletePolicy(ctx context.Context, actor auth.Principal, project, name string) error {
	var p Policy
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		proj, err := projectAdmin(tx, actor, project, "delete preheat policies")
		if err != nil {
			return err
		}
		if p, err = policyIn(tx, proj, name); err != nil {
			return err
		}
		execs, err := policyExecutions(tx, p.ID)
		if err != nil {
			return err
		}
		for _, e := range execs {
			if !e.Status.Final() {
				return refuse(ErrInUse, "preheat policy %s of project %s has execution %d in progress (stop it first)", name, project, e.ID)
			}
		}
		if err := deletePolicy(tx, p, s.stamp()); err != nil {
			return err
		}
		return generation.Bump(tx, PoliciesGeneration)
	})
	if err != nil {
		return err
	}
	s.deleted(p)
	return nil
}

// saved keeps the scheduler in step with a stored policy.
func (s *Service) saved(p Policy) error {
	if s.scheduler == nil {
		return nil
	}
	if err := Schedule(s.scheduler, p); err != nil {
		return fmt.Errorf("preheat policy %s of project %s stored, but not scheduled: %w", p.Name, p.Project, err)
	}
	return nil
}

// deleted takes a deleted policy off the scheduler.
func (s *Service) deleted(p Policy) {
	if s.scheduler != nil {
		s.scheduler.Unschedule(ScheduleName(p.ID))
	}
}
