package gc

import (
	"fmt"
	"time"

	"github.com/berthreg/berth/jobs"
)

// ScheduleName names the collection schedule in the scheduler and its
// setting in the metadata store (see jobs.Schedules).
const ScheduleName = "gc.schedule"

// ScheduleParameters are the parameters of a scheduled or manual
// collection: Harbor's GC job parameters, plus Berth's grace window in
// minutes (-1 for none; 0 for the default).
type ScheduleParameters struct {
	// DeleteUntagged deletes manifests no tag reaches.
	DeleteUntagged bool `json:"delete_untagged"`
	// DryRun reports and deletes nothing.
	DryRun bool `json:"dry_run"`
	// Workers is how many deletions run at once (0: the default; at most
	// 5).
	Workers int `json:"workers,omitempty"`
	// GraceMinutes keeps what is younger (-1: no grace window).
	GraceMinutes int `json:"grace_minutes,omitempty"`
}

// Options are the collection options the parameters stand for.
func (p ScheduleParameters) Options() Options {
	o := Options{DeleteUntagged: p.DeleteUntagged, DryRun: p.DryRun, Workers: p.Workers}
	switch {
	case p.GraceMinutes < 0:
		o.Grace = -1
	case p.GraceMinutes > 0:
		o.Grace = time.Duration(p.GraceMinutes) * time.Minute
	}
	return o
}

// ScheduledJob is the collection as jobs.Schedules runs it: schedule
// ScheduleName, parameters ScheduleParameters (workers from 0 to 5, else
// jobs.ErrInvalid), a JobKind job.
func ScheduledJob() jobs.ScheduledJob {
	return jobs.NewScheduledJob(ScheduleName, func(p ScheduleParameters) (jobs.Spec, error) {
		if p.Workers < 0 || p.Workers > 5 {
			return jobs.Spec{}, fmt.Errorf("%w: parameters.workers: %d is not between 1 and 5", jobs.ErrInvalid, p.Workers)
		}
		return jobs.Spec{Kind: JobKind, Payload: p.Options()}, nil
	})
}
