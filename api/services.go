package api

import (
	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/webhook"
)

// defaultServices makes, over store, the domain services no option gave:
// stored schedules without a scheduler (read, and run by hand) and the
// webhook policies. Without a store there are none (their endpoints are
// 501).
func (h *Handler) defaultServices(store meta.Store) {
	if store == nil {
		return
	}
	if h.schedules == nil {
		h.schedules, _ = jobs.NewSchedules(store, []jobs.ScheduledJob{gc.ScheduledJob(), engine.ScanAllJob()})
	}
	if h.webhooks == nil {
		h.webhooks, _ = webhook.NewPolicies(store)
	}
}
