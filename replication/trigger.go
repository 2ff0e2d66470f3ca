package replication

import (
	"context"
	"strings"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/registry/naming"
)

// Consume is the event-based trigger, an events.Consumer Tx function: for
// each enabled event-based policy, the pushes (and, with
// ReplicateDeletion, the deletions) of a batch whose repository and tag
// it selects become one execution, started in the transaction that moves
// the cursor. Events appended while a destination is down are thus never
// lost: their tasks retry until it returns.
func (e *Engine) Consume(_ context.Context, tx meta.Tx, batch []meta.Event) error {
	policies, err := Policies.In(tx).List("", 0)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	for _, rec := range policies {
		if !rec.Enabled || rec.Trigger != TriggerEvent || rec.Source != "" {
			continue
		}
		f := Filter{Repositories: rec.Repositories, ExcludeRepositories: rec.ExcludeRepositories, Tags: rec.Tags, ExcludeTags: rec.ExcludeTags}
		var items []Item
		for _, ev := range batch {
			for _, it := range itemsOf(ev, rec.ReplicateDeletion) {
				if f.Repository(it.Repository) && (it.Tag == "" || naming.IsAttachmentTag(it.Tag) || f.Tag(it.Tag)) {
					items = append(items, it)
				}
			}
		}
		if len(items) == 0 {
			continue
		}
		if _, err := startTx(tx, runPayload{Policy: rec.Name, Trigger: TriggerEvent, Items: items}, now); err != nil {
			return err
		}
	}
	return nil
}

// itemsOf is what an event asks a push policy to replicate.
func itemsOf(ev meta.Event, deletions bool) []Item {
	switch ev.Type {
	case events.PushArtifact:
		tags := []string{ev.Tag}
		if all := ev.Details["tags"]; all != "" {
			tags = strings.Split(all, ",")
		}
		var out []Item
		for _, tag := range tags {
			it := Item{Operation: OpCopy, Repository: ev.Repository, Tag: tag}
			if tag == "" {
				it.Digest = ev.Digest
			}
			out = append(out, it)
		}
		return out
	case events.DeleteTag:
		if deletions && ev.Tag != "" {
			return []Item{{Operation: OpDeletion, Repository: ev.Repository, Tag: ev.Tag}}
		}
	case events.DeleteArtifact:
		if deletions && ev.Digest != "" {
			return []Item{{Operation: OpDeletion, Repository: ev.Repository, Digest: ev.Digest}}
		}
	}
	return nil
}

// ScheduleName is the name of a policy's schedule on the job runner.
func ScheduleName(policy string) string { return "replication/" + policy }

// Schedule puts an enabled scheduled policy on r's scheduler, or takes
// any other off it: call it whenever a policy is saved.
func Schedule(r *jobs.Runner, rec PolicyRecord) error {
	if !rec.Enabled || rec.Trigger != TriggerScheduled {
		r.Unschedule(ScheduleName(rec.Name))
		return nil
	}
	return r.Schedule(ScheduleName(rec.Name), rec.Cron, jobs.Spec{Kind: RunKind,
		Payload: runPayload{Policy: rec.Name, Trigger: TriggerScheduled}})
}

// PoliciesGeneration is the generation counter (package generation) the
// Service bumps in each transaction that creates, updates or deletes a
// policy: an instance watching it runs ScheduleAll again when another
// instance changed one.
const PoliciesGeneration = "replication.policies"

// ScheduleAll schedules every stored scheduled policy and takes the
// schedules of policies no longer stored off r: at start, and again
// whenever PoliciesGeneration moves, so that policies saved or deleted
// through another instance sharing the store reach this one's runner. It
// only reads the store.
func ScheduleAll(ctx context.Context, s meta.Store, r *jobs.Runner) error {
	var policies []PolicyRecord
	if err := s.View(ctx, func(tx meta.Tx) error {
		var err error
		policies, err = Policies.In(tx).List("", 0)
		return err
	}); err != nil {
		return err
	}
	stored := map[string]bool{}
	for _, rec := range policies {
		stored[ScheduleName(rec.Name)] = true
		if err := Schedule(r, rec); err != nil {
			return err
		}
	}
	for _, name := range r.Scheduled(ScheduleName("")) {
		if !stored[name] {
			r.Unschedule(name)
		}
	}
	return nil
}
