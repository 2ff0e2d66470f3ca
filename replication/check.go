package replication

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// CheckPolicy reports what is wrong with a policy record, naming the
// field: exactly one side a stored endpoint, valid patterns, a known
// trigger (event-based only in push mode, where this registry's events
// are seen), a valid cron for a scheduled one, no negative numbers.
func CheckPolicy(tx meta.Tx, rec PolicyRecord) error {
	if rec.Name == "" {
		return errors.New("name: required")
	}
	if (rec.Source == "") == (rec.Destination == "") {
		return errors.New("source, destination: exactly one must name a registry endpoint (the other is this registry)")
	}
	for field, ep := range map[string]string{"source": rec.Source, "destination": rec.Destination} {
		if ep == "" {
			continue
		}
		if _, err := Registries.In(tx).Get(ep); errors.Is(err, meta.ErrNotFound) {
			return fmt.Errorf("%s: no registry endpoint %q", field, ep)
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
			return fmt.Errorf("cron: %q: %v", rec.Cron, err)
		}
	case TriggerEvent:
		if rec.Source != "" {
			return errors.New("trigger: event_based needs this registry as the source (push mode)")
		}
	default:
		return fmt.Errorf("trigger: %q is not manual, scheduled or event_based", rec.Trigger)
	}
	if rec.Namespace != "" {
		if _, err := name.NewRepository(rec.Namespace + "/x"); err != nil {
			return fmt.Errorf("namespace: %q is not a repository path", rec.Namespace)
		}
	}
	switch {
	case rec.Flatten < -1:
		return errors.New("flatten: must be -1 (all but the last component) or more")
	case rec.Speed < 0:
		return errors.New("speed: must not be negative")
	case rec.TaskAttempts < 0:
		return errors.New("taskAttempts: must not be negative")
	case rec.BlobRetries < 0:
		return errors.New("blobRetries: must not be negative")
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
	if e.Scheduler == nil {
		return nil
	}
	return Schedule(e.Scheduler, rec)
}

// Deleted takes a deleted policy's schedule off the scheduler.
func (e *Engine) Deleted(policy string) {
	if e.Scheduler != nil {
		e.Scheduler.Unschedule(ScheduleName(policy))
	}
}

// CheckPolicy implements the admin API's check (CheckPolicy).
func (e *Engine) CheckPolicy(tx meta.Tx, rec PolicyRecord) error {
	return CheckPolicy(tx, rec)
}

// CheckEndpoint implements the admin API's check (CheckEndpoint), with
// the engine's guard.
func (e *Engine) CheckEndpoint(rec Registry) error {
	return CheckEndpoint(rec, WithGuard(e.Guard))
}

// Ping implements the admin API's check (Ping), with the engine's guard.
func (e *Engine) Ping(ctx context.Context, rec Registry) error {
	return Ping(ctx, rec, WithGuard(e.Guard))
}
