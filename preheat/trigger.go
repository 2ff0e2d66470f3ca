package preheat

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// ScheduleName is the name of a policy's schedule on the job runner.
func ScheduleName(policy int64) string { return schedulePrefix + strconv.FormatInt(policy, 10) }

// schedulePrefix starts the names of the preheat schedules.
const schedulePrefix = "preheat/"

// Schedule puts an enabled scheduled policy on r's scheduler, or takes
// any other off it: a fire enqueues a RunKind job (once per tick across
// the instances sharing the store: the jobs package keys fires), whose
// execution is triggered SCHEDULE.
func Schedule(r *jobs.Runner, p Policy) error {
	if !p.Enabled || p.Trigger.Type != TriggerScheduled {
		r.Unschedule(ScheduleName(p.ID))
		return nil
	}
	return r.Schedule(ScheduleName(p.ID), p.Trigger.Settings.Cron, jobs.Spec{Kind: RunKind, MaxAttempts: planAttempts,
		Payload: runPayload{PolicyID: p.ID, Project: p.Project, Policy: p.Name, Trigger: ExecSchedule}})
}

// ScheduleAll schedules every stored scheduled policy and takes the
// schedules of policies no longer stored off r: at start, and again
// whenever PoliciesGeneration moves, so that policies saved or deleted
// through another instance sharing the store reach this one's runner
// (within the watcher's interval). It only reads the store.
func ScheduleAll(ctx context.Context, store meta.Store, r *jobs.Runner) error {
	var policies []Policy
	if err := store.View(ctx, func(tx meta.Tx) error {
		var err error
		policies, err = Policies.In(tx).List("", 0)
		return err
	}); err != nil {
		return err
	}
	stored := map[string]bool{}
	for _, p := range policies {
		stored[ScheduleName(p.ID)] = true
		if err := Schedule(r, p); err != nil {
			return err
		}
	}
	for _, name := range r.Scheduled(schedulePrefix) {
		if !stored[name] {
			r.Unschedule(name)
		}
	}
	return nil
}

// Consume is the event trigger, an events.TxFunc (register it under
// ConsumerName): for each enabled event-based policy of a project, the
// tags a batch's PUSH_ARTIFACT events push, and (for policies with a
// vulnerability filter, which a scan can change) the tags of the
// artifacts its SCANNING_COMPLETED events name, that the policy's
// repository and tag patterns select become one RunKind job, enqueued in
// the transaction that moves the cursor: exactly once across instances.
// The job applies the other filters and the dedupe, and records an
// execution (triggered EVENT) only when something is to be preheated.
// Only images are considered, as in Harbor; pushes by digest alone carry
// no tag and are not preheated.
func (s *Service) Consume(_ context.Context, tx meta.Tx, batch []meta.Event) error {
	byProject := map[string][]meta.Event{}
	for _, ev := range batch {
		if (ev.Type == events.PushArtifact || ev.Type == events.ScanningCompleted) && ev.Repository != "" {
			byProject[naming.ProjectOf(ev.Repository)] = append(byProject[naming.ProjectOf(ev.Repository)], ev)
		}
	}
	now := s.stamp()
	for _, project := range slices.Sorted(func(yield func(string) bool) {
		for p := range byProject {
			if !yield(p) {
				return
			}
		}
	}) {
		policies, err := projectPolicies(tx, project)
		if err != nil || len(policies) == 0 {
			if err != nil {
				return err
			}
			continue
		}
		proj, err := accounts.Projects.In(tx).Get(project)
		if err != nil {
			continue // the project is gone: so are its policies' reasons
		}
		for _, p := range policies {
			if !p.Enabled || p.Trigger.Type != TriggerEventBased || !current(p, proj) {
				continue
			}
			items := eventItems(p, byProject[project])
			if len(items) == 0 {
				continue
			}
			if _, err := enqueueRun(tx, runPayload{PolicyID: p.ID, Project: p.Project, Policy: p.Name, Trigger: ExecEvent, Items: items}, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// eventItems are the tags evs name that p's names select, each once, at
// most MaxTasksPerExecution.
func eventItems(p Policy, evs []meta.Event) []item {
	var out []item
	seen := map[item]bool{}
	for _, ev := range evs {
		if ev.Type == events.ScanningCompleted && p.Filters.Vulnerability == "" {
			continue
		}
		if ev.MediaType != "" && !slices.Contains(imageMediaTypes, ev.MediaType) {
			continue
		}
		for _, tag := range tagsOf(ev) {
			it := item{Repository: ev.Repository, Tag: tag}
			if seen[it] || !p.Filters.Names(p.Project, ev.Repository, tag) || len(out) == MaxTasksPerExecution {
				continue
			}
			seen[it] = true
			out = append(out, it)
		}
	}
	return out
}

// tagsOf are the tags an event names: Details["tags"] when it lists
// several, else its Tag.
func tagsOf(ev meta.Event) []string {
	if all := ev.Details["tags"]; all != "" {
		return strings.Split(all, ",")
	}
	if ev.Tag != "" {
		return []string{ev.Tag}
	}
	return nil
}
