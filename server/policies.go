package server

import (
	"log/slog"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/quota"
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
	// cleanups delete what the policies keep of a deleted project.
	cleanups []accounts.ProjectCleanup
}

// openPolicies wraps raw in the policies cfg enables: the quota count
// innermost (a refused change is refused before it is counted), then
// tag immutability. watcher tells them of rule changes made elsewhere.
func openPolicies(cfg Config, raw meta.Store, watcher *generation.Watcher, logger *slog.Logger) (policies, error) {
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
	return p, nil
}

// addJobs registers the policies' jobs and schedules on runner.
func (p policies) addJobs(runner *jobs.Runner, cfg Config) error {
	if p.quotas != nil {
		return addQuotaJob(runner, cfg.Quota, p.quotas)
	}
	return nil
}
