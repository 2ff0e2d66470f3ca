package api

import (
	"github.com/berthreg/berth/artifact"
	"github.com/berthreg/berth/gc"
	"github.com/berthreg/berth/immutable"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/quota"
	"github.com/berthreg/berth/scan/engine"
	"github.com/berthreg/berth/scan/securityhub"
	"github.com/berthreg/berth/webhook"
)

// defaultServices makes, over store, the domain services no option gave:
// stored schedules without a scheduler (read, and run by hand), the
// webhook policies, projects' scan settings and the artifact view.
// Without a store there are none (their endpoints are 501). The Handler
// keeps the services, not the store: it never opens a transaction.
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
	if h.projectScans == nil {
		h.projectScans = engine.NewProjectSettings(store)
	}
	h.artifacts = engine.NewArtifacts(store)

	if h.immutable == nil {
		h.immutable, _ = immutable.New(store)
	}
	if h.content == nil && h.m != nil {
		var opts []artifact.Option
		if h.immutable != nil {
			opts = append(opts, artifact.WithImmutable(h.immutable.Immutable))
		}
		h.content, _ = artifact.New(store, h.m.Authorizer(), h.m, opts...)
	}
	if !h.quotasSet {
		h.quotas, _ = quota.New(store)
	}
	if h.securityHub == nil {
		h.securityHub, _ = securityhub.New(store)
	}
}
