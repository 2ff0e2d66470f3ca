package preheat

import (
	"context"
	"errors"
	"slices"

	"github.com/berthreg/berth/auth"
	"github.com/berthreg/berth/meta"
)

// Vendors returns the registered vendors, in name order (Harbor's list of
// providers): for system administrators.
func (s *Service) Vendors(actor auth.Principal) ([]string, error) {
	if err := systemAdmin(actor, "list preheat providers"); err != nil {
		return nil, err
	}
	return s.vendorNames(), nil
}

// allInstances lists every instance, in id order (at most MaxInstances).
func allInstances(tx meta.Tx) ([]Instance, error) { return Instances.In(tx).List("", 0) }

// instanceNamed finds instance name in tx, or ErrNotFound.
func instanceNamed(tx meta.Tx, name string) (Instance, error) {
	all, err := allInstances(tx)
	if err != nil {
		return Instance{}, err
	}
	if i := slices.IndexFunc(all, func(in Instance) bool { return in.Name == name }); i >= 0 {
		return all[i], nil
	}
	return Instance{}, notFound("preheat instance %s", name)
}

// instanceByID reads instance id in tx, or ErrNotFound.
func instanceByID(tx meta.Tx, id int64) (Instance, error) {
	if id <= 0 {
		return Instance{}, notFound("preheat instance %d", id)
	}
	in, err := Instances.In(tx).Get(IDKey(id))
	return in, missing(err, "preheat instance %d", id)
}

// Instances returns page of the instances, in id order, without their
// secrets, and how many there are: for system administrators.
func (s *Service) Instances(ctx context.Context, actor auth.Principal, page Page) ([]Instance, int, error) {
	if err := systemAdmin(actor, "list preheat instances"); err != nil {
		return nil, 0, err
	}
	var all []Instance
	if err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = allInstances(tx)
		return err
	}); err != nil {
		return nil, 0, err
	}
	for i := range all {
		all[i] = redacted(all[i])
	}
	return window(all, page)
}

// Instance returns instance name without its secrets (ErrNotFound when
// there is none): for system administrators.
func (s *Service) Instance(ctx context.Context, actor auth.Principal, name string) (Instance, error) {
	return s.readInstance(ctx, actor, func(tx meta.Tx) (Instance, error) { return instanceNamed(tx, name) })
}

// InstanceByID returns instance id without its secrets (ErrNotFound when
// there is none): for system administrators.
func (s *Service) InstanceByID(ctx context.Context, actor auth.Principal, id int64) (Instance, error) {
	return s.readInstance(ctx, actor, func(tx meta.Tx) (Instance, error) { return instanceByID(tx, id) })
}

func (s *Service) readInstance(ctx context.Context, actor auth.Principal, get func(meta.Tx) (Instance, error)) (Instance, error) {
	if err := systemAdmin(actor, "read preheat instances"); err != nil {
		return Instance{}, err
	}
	var in Instance
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		in, err = get(tx)
		return err
	})
	return redacted(in), err
}

// CreateInstance validates in (checkInstance: ErrInvalid naming the
// field) and stores it as a new instance with a new id, status
// HealthUnknown and its setup time; ErrExists when its name or endpoint
// is taken, ErrLimit past MaxInstances. A default instance takes the
// mark from the one that had it. It returns the stored instance, without
// its secrets: for system administrators.
func (s *Service) CreateInstance(ctx context.Context, actor auth.Principal, in Instance) (Instance, error) {
	if err := systemAdmin(actor, "create preheat instances"); err != nil {
		return Instance{}, err
	}
	in = normalizedInstance(in)
	in.ID, in.Status, in.SetupTimestamp = 0, HealthUnknown, s.now().Unix()
	if err := s.checkInstance(in); err != nil {
		return Instance{}, err
	}
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		all, err := allInstances(tx)
		if err != nil {
			return err
		}
		if len(all) >= MaxInstances {
			return refuse(ErrLimit, "preheat: at most %d instances", MaxInstances)
		}
		if err := unique(all, in); err != nil {
			return err
		}
		if in.ID, err = nextID(tx, seqInstance); err != nil {
			return err
		}
		return putInstance(tx, all, in)
	})
	if err != nil {
		return Instance{}, err
	}
	return redacted(in), nil
}

// unique refuses an instance whose name or endpoint another of all has.
func unique(all []Instance, in Instance) error {
	for _, o := range all {
		switch {
		case o.ID == in.ID:
		case o.Name == in.Name:
			return refuse(ErrExists, "preheat instance %s exists", in.Name)
		case o.Endpoint == in.Endpoint:
			return refuse(ErrExists, "preheat instance %s has endpoint %s", o.Name, in.Endpoint)
		}
	}
	return nil
}

// putInstance stores in; a default one takes the mark from the others of
// all.
func putInstance(tx meta.Tx, all []Instance, in Instance) error {
	if in.Default {
		for _, o := range all {
			if o.ID != in.ID && o.Default {
				o.Default = false
				if err := Instances.In(tx).Put(o); err != nil {
					return err
				}
			}
		}
	}
	return Instances.In(tx).Put(in)
}

// UpdateInstance replaces the settings of instance name with in's
// (validated as for CreateInstance; in.Name "" keeps the name, another
// renames it): the id, the setup time and the vendor stay (a change of
// vendor is ErrInvalid). Secrets in leaves out are kept while the
// endpoint and auth mode stay; after a change of either, every secret
// must be given again (a secret is never sent where it was not given
// for). Disabling an instance a policy uses is ErrInUse. A change of
// endpoint or credentials resets the status to HealthUnknown. It returns
// the stored instance without its secrets: for system administrators.
func (s *Service) UpdateInstance(ctx context.Context, actor auth.Principal, name string, in Instance) (Instance, error) {
	if err := systemAdmin(actor, "update preheat instances"); err != nil {
		return Instance{}, err
	}
	in = normalizedInstance(in)
	if in.Name == "" {
		in.Name = name
	}
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		old, err := instanceNamed(tx, name)
		if err != nil {
			return err
		}
		if in.Vendor == "" {
			in.Vendor = old.Vendor
		}
		if in.Vendor != old.Vendor {
			return invalid("vendor", "cannot be changed (%s)", old.Vendor)
		}
		in.ID, in.SetupTimestamp, in.Status = old.ID, old.SetupTimestamp, old.Status
		keepSecrets(&in, old)
		if in.Endpoint != old.Endpoint || in.AuthMode != old.AuthMode {
			for k, secret := range authKeys[in.AuthMode] {
				if secret && in.AuthInfo[k] == "" {
					return invalid("auth_info."+k, "required: the endpoint or auth mode changed, so the secrets must be given again")
				}
			}
		}
		if err := s.checkInstance(in); err != nil {
			return err
		}
		if in.Endpoint != old.Endpoint || in.AuthMode != old.AuthMode || !sameMap(in.AuthInfo, old.AuthInfo) || in.Insecure != old.Insecure {
			in.Status = HealthUnknown
		}
		all, err := allInstances(tx)
		if err != nil {
			return err
		}
		if err := unique(all, in); err != nil {
			return err
		}
		if !in.Enabled && old.Enabled {
			if p, used, err := usedBy(tx, in.ID); err != nil {
				return err
			} else if used {
				return refuse(ErrInUse, "preheat %s is used by policy %s of project %s: it cannot be disabled", describeInstance(old), p.Name, p.Project)
			}
		}
		return putInstance(tx, all, in)
	})
	if err != nil {
		return Instance{}, err
	}
	return redacted(in), nil
}

// sameMap reports whether a and b hold the same entries.
func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// usedBy returns a policy that preheats into instance id, if any.
func usedBy(tx meta.Tx, id int64) (Policy, bool, error) {
	all, err := Policies.In(tx).List("", 0)
	if err != nil {
		return Policy{}, false, err
	}
	if i := slices.IndexFunc(all, func(p Policy) bool { return p.ProviderID == id }); i >= 0 {
		return all[i], true, nil
	}
	return Policy{}, false, nil
}

// DeleteInstance deletes instance name; ErrInUse while a policy uses it
// (as in Harbor): for system administrators. Its id is not given again.
func (s *Service) DeleteInstance(ctx context.Context, actor auth.Principal, name string) error {
	if err := systemAdmin(actor, "delete preheat instances"); err != nil {
		return err
	}
	return s.store.Update(ctx, func(tx meta.Tx) error {
		in, err := instanceNamed(tx, name)
		if err != nil {
			return err
		}
		if p, used, err := usedBy(tx, in.ID); err != nil {
			return err
		} else if used {
			return refuse(ErrInUse, "preheat %s is used by policy %s of project %s", describeInstance(in), p.Name, p.Project)
		}
		return Instances.In(tx).Delete(IDKey(in.ID))
	})
}

// PingInstance checks that an instance answers its provider's health
// check within PingTimeout: in.ID set pings that stored instance with
// in's settings when in gives an endpoint (secrets left out kept as
// UpdateInstance keeps them), with its stored ones otherwise, and
// records the result as its status; in.ID 0 pings an instance not
// stored. A failure is ErrPingFailed wrapping the provider's error; a bad
// record ErrInvalid: for system administrators.
func (s *Service) PingInstance(ctx context.Context, actor auth.Principal, in Instance) error {
	if err := systemAdmin(actor, "ping preheat instances"); err != nil {
		return err
	}
	var stored Instance
	if in.ID != 0 {
		if err := s.store.View(ctx, func(tx meta.Tx) error {
			var err error
			stored, err = instanceByID(tx, in.ID)
			return err
		}); err != nil {
			return err
		}
		if in.Endpoint == "" {
			in = stored
		} else {
			in = normalizedInstance(in)
			in.Vendor = stored.Vendor
			keepSecrets(&in, stored)
		}
	} else {
		in = normalizedInstance(in)
	}
	if err := s.checkReach(in); err != nil {
		return err
	}
	p, err := s.provider(in)
	if err != nil {
		return invalid("endpoint", "%w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, PingTimeout)
	defer cancel()
	perr := p.Health(pctx)
	if in.ID != 0 {
		s.noteHealth(ctx, in, perr)
	}
	if perr != nil {
		return &ruleError{kinds: []error{ErrPingFailed, perr}, msg: "preheat: " + in.Endpoint + " is not healthy: " + perr.Error()}
	}
	return nil
}

// noteHealth records a health check of in as the status of the stored
// instance, if it is still reached as in was.
func (s *Service) noteHealth(ctx context.Context, in Instance, healthErr error) {
	status := Healthy
	if healthErr != nil {
		status = Unhealthy
	}
	err := s.store.Update(context.WithoutCancel(ctx), func(tx meta.Tx) error {
		cur, err := instanceByID(tx, in.ID)
		if errors.Is(err, meta.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if cur.Status == status || cur.Endpoint != in.Endpoint || cur.AuthMode != in.AuthMode || !sameMap(cur.AuthInfo, in.AuthInfo) {
			return nil
		}
		cur.Status = status
		return Instances.In(tx).Put(cur)
	})
	if err != nil {
		s.logger.Warn("preheat: recording an instance's health", "instance", in.Name, "err", err)
	}
}

// ProviderSummary is an instance as a project's administrators see it,
// to choose one for a policy (Harbor's providers under a project):
// neither its endpoint nor its credentials.
type ProviderSummary struct {
	// ID is what a policy's provider_id names.
	ID int64
	// Name and Vendor describe it.
	Name   string
	Vendor string
	// Enabled and Default are the instance's.
	Enabled bool
	Default bool
}

// ProvidersUnderProject lists the instances a policy of project may
// preheat into, in id order: for the project's administrators (and
// system administrators).
func (s *Service) ProvidersUnderProject(ctx context.Context, actor auth.Principal, project string) ([]ProviderSummary, error) {
	var out []ProviderSummary
	err := s.store.View(ctx, func(tx meta.Tx) error {
		if _, err := projectAdmin(tx, actor, project, "list the preheat providers"); err != nil {
			return err
		}
		all, err := allInstances(tx)
		if err != nil {
			return err
		}
		out = out[:0]
		for _, in := range all {
			out = append(out, ProviderSummary{ID: in.ID, Name: in.Name, Vendor: in.Vendor, Enabled: in.Enabled, Default: in.Default})
		}
		return nil
	})
	return out, err
}
