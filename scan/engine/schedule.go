package engine

import "github.com/berthreg/berth/jobs"

// ScanAllJob is scanning every image as jobs.Schedules runs it: schedule
// ScanAllScheduleName, an AllKind job; its parameters (Harbor's) are
// unused.
func ScanAllJob() jobs.ScheduledJob {
	return jobs.NewScheduledJob(ScanAllScheduleName, func(map[string]any) (jobs.Spec, error) {
		return jobs.Spec{Kind: AllKind}, nil
	})
}
