package replication

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// CheckName reports a name an endpoint or a policy cannot have (a
// *FieldError about "name"): naming.CheckName's rule.
func CheckName(name string) error {
	if err := naming.CheckName(name); err != nil {
		return invalid("name", "%v", err)
	}
	return nil
}

// CheckPolicy reports what is wrong with a policy record as a *FieldError
// (ErrInvalid) naming the field: a valid name (CheckName), exactly one
// side a stored endpoint, valid patterns, a known trigger (event-based
// only in push mode, where this registry's events are seen), a valid cron
// for a scheduled one, no negative numbers. Other errors are the store's.
func CheckPolicy(tx meta.Tx, rec PolicyRecord) error {
	if err := CheckName(rec.Name); err != nil {
		return err
	}
	if (rec.Source == "") == (rec.Destination == "") {
		return invalid("source, destination", "exactly one must name a registry endpoint (the other is this registry)")
	}
	for _, side := range [...]struct{ field, name string }{{"source", rec.Source}, {"destination", rec.Destination}} {
		if side.name == "" {
			continue
		}
		if _, err := Registries.In(tx).Get(side.name); errors.Is(err, meta.ErrNotFound) {
			return invalid(side.field, "no registry endpoint %q", side.name)
		} else if err != nil {
			return err
		}
	}
	f := Filter{Repositories: rec.Repositories, ExcludeRepositories: rec.ExcludeRepositories, Tags: rec.Tags,
		ExcludeTags: rec.ExcludeTags, Labels: rec.Labels, ArtifactTypes: rec.ArtifactTypes}
	if err := f.Check(); err != nil {
		return err
	}
	switch rec.Trigger {
	case TriggerManual:
	case TriggerScheduled:
		if err := jobs.ValidSchedule(rec.Cron); err != nil {
			return invalid("cron", "%q: %v", rec.Cron, err)
		}
	case TriggerEvent:
		if rec.Source != "" {
			return invalid("trigger", "event_based needs this registry as the source (push mode)")
		}
	default:
		return invalid("trigger", "%q is not manual, scheduled or event_based", rec.Trigger)
	}
	if rec.Namespace != "" {
		if _, err := name.NewRepository(rec.Namespace + "/x"); err != nil {
			return invalid("namespace", "%q is not a repository path", rec.Namespace)
		}
	}
	switch {
	case rec.Flatten < -1:
		return invalid("flatten", "must be -1 (all but the last component) or more")
	case rec.Speed < 0:
		return invalid("speed", "must not be negative")
	case rec.TaskAttempts < 0:
		return invalid("taskAttempts", "must not be negative")
	case rec.BlobRetries < 0:
		return invalid("blobRetries", "must not be negative")
	}
	return nil
}

// Ping checks that an endpoint answers the distribution API's version
// check with its credentials accepted.
func Ping(ctx context.Context, rec Registry, opts ...EndpointOption) error {
	r, err := RemoteOf(rec, opts...)
	if err != nil {
		return err
	}
	reg, err := name.NewRegistry(r.Host, r.With(nil).nameOptions()...)
	if err != nil {
		return err
	}
	// Asking for the catalog scope makes token services check the
	// credentials (anonymous is refused where they are wrong).
	_, err = transport.NewWithContext(ctx, reg, r.Auth, r.Transport, []string{reg.Scope(transport.PullScope)})
	return err
}

// Saved keeps the scheduler in step with a stored or changed policy.
func (e *Engine) Saved(rec PolicyRecord) error {
	if e.scheduler == nil {
		return nil
	}
	return Schedule(e.scheduler, rec)
}

// Deleted takes a deleted policy's schedule off the scheduler.
func (e *Engine) Deleted(policy string) {
	if e.scheduler != nil {
		e.scheduler.Unschedule(ScheduleName(policy))
	}
}

// Ping pings an endpoint (see the function Ping) with the engine's
// guard.
func (e *Engine) Ping(ctx context.Context, rec Registry) error {
	return Ping(ctx, rec, WithGuard(e.guard))
}
