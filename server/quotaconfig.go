package server

import (
	"fmt"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/quota"
)

// QuotaConfig sets the projects' storage quotas (each project's own
// limit is set through the admin API: a project's storage_limit, or
// /api/v2.0/quotas).
type QuotaConfig struct {
	// Enabled counts usage and enforces limits (BERTH_QUOTA_ENABLED,
	// default true). Off, nothing is counted, the quotas API answers 501
	// and storage_limit is ignored (Harbor's quota_per_project_enable).
	Enabled *bool `yaml:"enabled"`
	// DefaultLimit is the storage limit, in bytes, of a project created
	// without one: -1 (the default) for none (BERTH_QUOTA_DEFAULT_LIMIT).
	DefaultLimit int64 `yaml:"defaultLimit"`
	// WarnAt is the share of a project's limit, in percent, whose
	// crossing records a QUOTA_WARNING event: default 85, 0 for none
	// (BERTH_QUOTA_WARN_AT).
	WarnAt int `yaml:"warnAt"`
	// RecomputeSchedule is when every project's usage is recomputed from
	// its manifests and compared with the counter, a cron spec with
	// seconds (default "0 0 4 * * 0", Sundays at 04:00; BERTH_QUOTA_RECOMPUTE_SCHEDULE):
	// drift is logged and kept in the job's result, not fixed (a job of
	// kind quota.recompute with {"fix": true} fixes it).
	RecomputeSchedule string `yaml:"recomputeSchedule"`
}

// validate checks the quota settings.
func (c QuotaConfig) validate() error {
	switch {
	case c.DefaultLimit < quota.Unlimited:
		return fmt.Errorf("config: quota.defaultLimit %d must be -1 (none) or a number of bytes", c.DefaultLimit)
	case c.WarnAt < 0 || c.WarnAt > 100:
		return fmt.Errorf("config: quota.warnAt %d must be a percentage from 0 to 100", c.WarnAt)
	}
	return nil
}

// enabled reports whether quotas are on (the default).
func (c QuotaConfig) enabled() bool { return c.Enabled == nil || *c.Enabled }

// addQuotaJob registers the recompute job on runner, on c's schedule.
func addQuotaJob(runner *jobs.Runner, c QuotaConfig, q *quota.Service) error {
	runner.Handle(quota.JobKind, q.Job(), jobs.KindOptions{Limit: 1, MaxAttempts: 3})
	if c.RecomputeSchedule == "" {
		return nil
	}
	if err := runner.Schedule("quota-recompute", c.RecomputeSchedule, jobs.Spec{Kind: quota.JobKind}); err != nil {
		return fmt.Errorf("config: quota.recomputeSchedule: %w", err)
	}
	return nil
}

// openQuota is the quota service over store, as c sets it.
func openQuota(c QuotaConfig, store meta.Store, opts ...quota.Option) (*quota.Service, error) {
	return quota.New(store, append([]quota.Option{quota.WithDefaultLimit(c.DefaultLimit), quota.WithWarnAt(c.WarnAt)}, opts...)...)
}
