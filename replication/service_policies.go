package replication

import (
	"context"
	"fmt"
	"slices"

	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
)

// Policies returns every replication policy, in name order.
func (s *Service) Policies(ctx context.Context) ([]PolicyRecord, error) {
	var all []PolicyRecord
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = Policies.In(tx).List("", 0)
		return err
	})
	return all, err
}

// Policy returns policy name, or meta.ErrNotFound.
func (s *Service) Policy(ctx context.Context, name string) (PolicyRecord, error) {
	var rec PolicyRecord
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		rec, err = Policies.In(tx).Get(name)
		return missing(err, "replication policy %s", name)
	})
	return rec, err
}

// CreatePolicy stores rec as a new policy (ErrExists when the name is
// taken) once CheckPolicy accepts it, stamped with its creation and
// update times (CreatedBy is the caller's), and schedules it. It returns
// the stored policy.
func (s *Service) CreatePolicy(ctx context.Context, rec PolicyRecord) (PolicyRecord, error) {
	if err := CheckName(rec.Name); err != nil {
		return PolicyRecord{}, err
	}
	t := now()
	rec.CreatedAt, rec.UpdatedAt = t, t
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := Policies.In(tx).Get(rec.Name); err == nil {
			return refuse(ErrExists, "replication policy %s exists", rec.Name)
		}
		if err := CheckPolicy(tx, rec); err != nil {
			return err
		}
		return putPolicy(tx, rec)
	})
	if err != nil {
		return PolicyRecord{}, err
	}
	return rec, s.saved(rec)
}

// putPolicy stores rec and bumps PoliciesGeneration.
func putPolicy(tx meta.Tx, rec PolicyRecord) error {
	if err := Policies.In(tx).Put(rec); err != nil {
		return err
	}
	return generation.Bump(tx, PoliciesGeneration)
}

// UpdatePolicy replaces policy rec.Name with rec once CheckPolicy accepts
// it (its creator and creation time stay; meta.ErrNotFound when there is
// no such policy), and reschedules it. It returns the stored policy.
func (s *Service) UpdatePolicy(ctx context.Context, rec PolicyRecord) (PolicyRecord, error) {
	if err := CheckName(rec.Name); err != nil {
		return PolicyRecord{}, err
	}
	rec.UpdatedAt = now()
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		old, err := Policies.In(tx).Get(rec.Name)
		if err != nil {
			return missing(err, "replication policy %s", rec.Name)
		}
		rec.CreatedBy, rec.CreatedAt = old.CreatedBy, old.CreatedAt
		if err := CheckPolicy(tx, rec); err != nil {
			return err
		}
		return putPolicy(tx, rec)
	})
	if err != nil {
		return PolicyRecord{}, err
	}
	return rec, s.saved(rec)
}

// saved tells the engine's scheduler of a stored policy.
func (s *Service) saved(rec PolicyRecord) error {
	if err := s.engine.Saved(rec); err != nil {
		return fmt.Errorf("replication policy %s stored, but not scheduled: %w", rec.Name, err)
	}
	return nil
}

// DeletePolicy deletes policy name and its schedule; ErrInUse while an
// execution of it is in progress. Its executions are kept.
func (s *Service) DeletePolicy(ctx context.Context, name string) error {
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := Policies.In(tx).Get(name); err != nil {
			return missing(err, "replication policy %s", name)
		}
		execs, err := Executions.In(tx).List("", 0)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(execs, func(e Execution) bool { return e.Policy == name && !e.Status.Final() }); i >= 0 {
			return refuse(ErrInUse, "replication policy %s has execution %d in progress (stop it first)", name, execs[i].ID)
		}
		if err := Policies.In(tx).Delete(name); err != nil {
			return err
		}
		return generation.Bump(tx, PoliciesGeneration)
	})
	if err != nil {
		return err
	}
	s.engine.Deleted(name)
	return nil
}
