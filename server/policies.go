package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/label"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/quota"
	"github.com/berthreg/berth/registry"
	"github.com/berthreg/berth/retention"
	"github.com/berthreg/berth/scan/securityhub"
	"github.com/berthreg/berth/storage"
	"github.com/berthreg/berth/trust"
)

// policies are the artifact policies enforced in the metadata store's
// transactions: each wraps the store, and everything that writes
// manifests and tags (the registry, garbage collection, the API,
// replication, retention) writes through store, so no writer escapes
// them.
type policies struct {
	// store is the raw store with every policy's wrapper around it.
	store meta.Store
	// quotas is nil when quota.enabled is false.
	quotas    *quota.Service
	immutable *immutable.Service
	// retention is made by addJobs, once the job queue exists.
	retention *retention.Service
	// pulls records pull times for retention's templates.
	pulls *retention.PullTimes
	// trust gates pulls on verified cosign signatures.
	trust *trust.Service
	// cleanups delete what the policies keep of a deleted project.
	cleanups []accounts.ProjectCleanup
}

// openPolicies wraps raw in the policies cfg enables: the quota count
// innermost (a refused change is refused before it is counted), then
// tag immutability. watcher tells them of rule changes made elsewhere.
func openPolicies(cfg Config, raw meta.Store, driver storage.Driver, watcher *generation.Watcher, logger *slog.Logger) (policies, error) {
	p := policies{store: raw}
	if cfg.Quota.enabled() {
		q, err := openQuota(cfg.Quota, raw, quota.WithLogger(logger))
		if err != nil {
			return p, err
		}
		p.quotas, p.store = q, q.Store()
		p.cleanups = append(p.cleanups, q.DeleteProject)
	}
	im, err := immutable.New(p.store, immutable.WithWatcher(watcher))
	if err != nil {
		return p, err
	}
	p.immutable, p.store = im, im.Store()
	p.cleanups = append(p.cleanups, im.DeleteProject)
	// Whoever deletes a manifest or a repository (the registry, the API,
	// retention, garbage collection, the proxy caches' expiry) drops its
	// label attachments in the same transaction.
	p.store = label.Forgetting(p.store)
	p.cleanups = append(p.cleanups, label.DeleteProject)
	p.store = securityhub.Forgetting(p.store)
	if p.pulls, err = retention.NewPullTimes(raw, retention.WithPullLogger(logger)); err != nil {
		return p, err
	}
	verifier, err := cfg.Trust.verifier()
	if err != nil {
		return p, err
	}
	if p.trust, err = trust.New(raw, driver, verifier, trust.WithWatcher(watcher)); err != nil {
		return p, err
	}
	p.cleanups = append(p.cleanups, p.trust.DeleteProject)
	return p, nil
}

// hooks are the registry hooks of the policies: pull times, and the
// content trust gate, which lets the scanners' own pulls through.
func (p *policies) hooks() registry.Hooks {
	return registry.Chain(p.pulls.Hooks(), p.trust.Hooks(scannerPull))
}

// addJobs registers the policies' jobs and schedules on b's runner, and
// the pull times' writer on its tasks.
func (p *policies) addJobs(ctx context.Context, b *background, cfg Config) error {
	if p.quotas != nil {
		if err := addQuotaJob(b.runner, cfg.Quota, p.quotas); err != nil {
			return err
		}
	}
	var err error
	p.retention, err = retention.New(p.store, b.queue, retention.WithImmutable(p.immutable.Immutable), retention.WithLogger(b.logger))
	if err != nil {
		return err
	}
	p.cleanups = append(p.cleanups, p.retention.DeleteProject)
	b.runner.Handle(retention.JobKind, p.retention.Job(), jobs.KindOptions{Limit: 2, MaxAttempts: 3})
	if err := retention.ScheduleAll(ctx, p.store, b.runner); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	if err := b.watcher.Watch(retention.Generation, func(ctx context.Context) error {
		return retention.ScheduleAll(ctx, p.store, b.runner)
	}); err != nil {
		return err
	}
	b.tasks = append(b.tasks, p.pulls.Run)
	return nil
}
