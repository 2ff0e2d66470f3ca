package api

import (
	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan/engine"
)

// defaultServices makes, over store, the domain services no option gave:
// stored schedules without a scheduler (read, and run by hand).
func (h *Handler) defaultServices(store meta.Store) {
	if h.schedules == nil && store != nil {
		h.schedules, _ = jobs.NewSchedules(store, []jobs.ScheduledJob{gc.ScheduledJob(), engine.ScanAllJob()})
	}
}
