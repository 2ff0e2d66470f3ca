package replication

import (
	"context"
	"fmt"

	"github.com/berthreg/berth/meta"
)

// redacted is an endpoint as the Service returns it: without its
// password, HasPassword saying whether it has one.
func redacted(rec Registry) Registry {
	rec.HasPassword = rec.Password != ""
	rec.Password = ""
	return rec
}

// checkRegistry is the rule of a stored endpoint: a valid name, a usable
// address (with the engine's guard) and CA bundle.
func (s *Service) checkRegistry(rec Registry) error {
	if err := CheckName(rec.Name); err != nil {
		return err
	}
	return CheckEndpoint(rec, WithGuard(s.engine.guard))
}

// Registries returns every registry endpoint, in name order, without
// passwords.
func (s *Service) Registries(ctx context.Context) ([]Registry, error) {
	var all []Registry
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = Registries.In(tx).List("", 0)
		return err
	})
	for i := range all {
		all[i] = redacted(all[i])
	}
	return all, err
}

// Registry returns endpoint name without its password, or
// meta.ErrNotFound.
func (s *Service) Registry(ctx context.Context, name string) (Registry, error) {
	var rec Registry
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		rec, err = Registries.In(tx).Get(name)
		return missing(err, "registry %s", name)
	})
	return redacted(rec), err
}

// nextRegistryID is the id a new endpoint gets: one more than the
// highest in use (endpoints are few).
func nextRegistryID(tx meta.Tx) (int64, error) {
	all, err := Registries.In(tx).List("", 0)
	if err != nil {
		return 0, err
	}
	var top int64
	for _, r := range all {
		top = max(top, r.ID)
	}
	return top + 1, nil
}

// RegistryByID returns the endpoint with id, without its password, or
// meta.ErrNotFound.
func (s *Service) RegistryByID(ctx context.Context, id int64) (Registry, error) {
	var found Registry
	err := s.store.View(ctx, func(tx meta.Tx) error {
		all, err := Registries.In(tx).List("", 0)
		if err != nil {
			return err
		}
		for _, r := range all {
			if r.ID == id {
				found = r
				return nil
			}
		}
		return missing(meta.ErrNotFound, "registry %d", id)
	})
	return redacted(found), err
}

// assignRegistryIDs gives the endpoints made before endpoints had ids
// theirs, in name order after the others'.
func assignRegistryIDs(ctx context.Context, store meta.Store) error {
	return store.Update(ctx, func(tx meta.Tx) error {
		all, err := Registries.In(tx).List("", 0)
		if err != nil {
			return err
		}
		for _, r := range all {
			if r.ID != 0 {
				continue
			}
			if r.ID, err = nextRegistryID(tx); err != nil {
				return err
			}
			if err := Registries.In(tx).Put(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// CreateRegistry validates rec and stores it as a new endpoint, with its
// creation and update times; ErrExists when the name is taken. It
// returns the stored endpoint, without its password.
func (s *Service) CreateRegistry(ctx context.Context, rec Registry) (Registry, error) {
	if err := s.checkRegistry(rec); err != nil {
		return Registry{}, err
	}
	t := now()
	rec.CreatedAt, rec.UpdatedAt, rec.HasPassword = t, t, false
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := Registries.In(tx).Get(rec.Name); err == nil {
			return refuse(ErrExists, "registry %s exists", rec.Name)
		}
		var err error
		if rec.ID, err = nextRegistryID(tx); err != nil {
			return err
		}
		return Registries.In(tx).Put(rec)
	})
	if err != nil {
		return Registry{}, err
	}
	return redacted(rec), nil
}

// UpdateRegistry validates rec and replaces the settings of endpoint
// rec.Name with it (its creation time stays); keepPassword keeps the
// stored password instead of rec.Password (for a caller that never saw
// it). meta.ErrNotFound when there is no such endpoint.
func (s *Service) UpdateRegistry(ctx context.Context, rec Registry, keepPassword bool) (Registry, error) {
	if err := s.checkRegistry(rec); err != nil {
		return Registry{}, err
	}
	rec.UpdatedAt, rec.HasPassword = now(), false
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		old, err := Registries.In(tx).Get(rec.Name)
		if err != nil {
			return missing(err, "registry %s", rec.Name)
		}
		if keepPassword {
			rec.Password = old.Password
		}
		rec.CreatedAt, rec.ID = old.CreatedAt, old.ID
		return Registries.In(tx).Put(rec)
	})
	if err != nil {
		return Registry{}, err
	}
	return redacted(rec), nil
}

// DeleteRegistry deletes endpoint name; ErrInUse while a policy, or a
// WithRegistryUsers user, uses it.
func (s *Service) DeleteRegistry(ctx context.Context, name string) error {
	return s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := Registries.In(tx).Get(name); err != nil {
			return missing(err, "registry %s", name)
		}
		policies, err := Policies.In(tx).List("", 0)
		if err != nil {
			return err
		}
		for _, pol := range policies {
			if pol.Source == name || pol.Destination == name {
				return refuse(ErrInUse, "registry %s is used by replication policy %s", name, pol.Name)
			}
		}
		for _, used := range s.users {
			by, err := used(tx, name)
			if err != nil {
				return err
			}
			if by != "" {
				return refuse(ErrInUse, "registry %s is used by %s", name, by)
			}
		}
		return Registries.In(tx).Delete(name)
	})
}

// PingRegistry checks that an endpoint, stored or not, answers with its
// credentials accepted (within PingTimeout): ErrInvalid when it is not
// usable (CheckEndpoint: a ping does not check the name's form),
// ErrPingFailed when it does not answer. keepPassword pings with the
// password stored for endpoint rec.Name (meta.ErrNotFound without one).
func (s *Service) PingRegistry(ctx context.Context, rec Registry, keepPassword bool) error {
	if err := CheckEndpoint(rec, WithGuard(s.engine.guard)); err != nil {
		return err
	}
	if keepPassword {
		err := s.store.View(ctx, func(tx meta.Tx) error {
			old, err := Registries.In(tx).Get(rec.Name)
			rec.Password = old.Password
			return missing(err, "registry %s", rec.Name)
		})
		if err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, PingTimeout)
	defer cancel()
	if err := s.ping(ctx, rec); err != nil {
		return &ruleError{kind: ErrPingFailed, cause: err, msg: fmt.Sprintf("ping %s: %v", rec.URL, err)}
	}
	return nil
}
