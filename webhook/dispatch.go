package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/meta"
)

// JobKind is the kind of delivery jobs.
const JobKind = "webhook.deliver"

// ConsumerName is the Dispatcher's cursor in the event log.
const ConsumerName = "webhook"

// delivery is a delivery job's payload: the policy by project, name and
// id (jobs from before ids have neither project nor id), the target's
// index and the event.
type delivery struct {
	Policy   string `json:"policy"`
	Project  string `json:"project,omitempty"`
	PolicyID uint64 `json:"policyId,omitempty"`
	Target   int    `json:"target"`
	Seq      uint64 `json:"seq"`
}

// DeliveryID is the delivery log id of a delivery job.
func DeliveryID(jobID uint64) string { return fmt.Sprintf("%020d", jobID) }

// Matches reports whether policy p sends event e: enabled, of a listed
// type, recorded after the policy's creation (its id), in its project
// (any for a system policy) and matching its repository pattern.
func Matches(p Policy, e meta.Event) bool {
	if !p.Enabled || !slices.Contains(p.EventTypes, e.Type) || (p.Project != "" && p.Project != e.Project) {
		return false
	}
	if p.ID != 0 && e.Seq <= p.ID {
		return false
	}
	if p.Repositories == "" {
		return true
	}
	ok, err := doublestar.Match(p.Repositories, e.Repository)
	return err == nil && ok
}

// Dispatch is the Dispatcher's events.Consumer Tx function: for each event
// and each target of each matching policy, a delivery job and its log
// record, in the transaction that moves the cursor. A policy left by an
// earlier project of the same name sends nothing.
func Dispatch(_ context.Context, tx meta.Tx, batch []meta.Event) error {
	all, err := PolicyRecords.In(tx).List("", 0)
	if err != nil || len(all) == 0 {
		return err
	}
	var policies []Policy
	for _, p := range all {
		ok, err := current(tx, p)
		if err != nil {
			return err
		}
		if ok {
			policies = append(policies, p)
		}
	}
	now := time.Now().UTC()
	for _, e := range batch {
		for _, p := range policies {
			if !Matches(p, e) {
				continue
			}
			for i, t := range p.Targets {
				if err := enqueue(tx, p, i, t, e, now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// enqueue adds the delivery job of event e to target i of p, and its log.
func enqueue(tx meta.Tx, p Policy, i int, t Target, e meta.Event, now time.Time) error {
	payload, err := json.Marshal(delivery{Policy: p.Name, Project: p.Project, PolicyID: p.ID, Target: i, Seq: e.Seq})
	if err != nil {
		return err
	}
	j, err := tx.Jobs().Enqueue(meta.Job{Kind: JobKind, Payload: payload}, now)
	if err != nil {
		return err
	}
	return DeliveryRecords.In(tx).Put(Delivery{ID: DeliveryID(j.ID), JobID: j.ID, Policy: p.Name, Project: p.Project, PolicyID: p.ID,
		Target: i, Address: t.Address, EventSeq: e.Seq, EventType: e.Type, CreatedAt: now})
}

// Dispatcher returns the consumer that dispatches events to webhooks; wake
// (a jobs.Runner's Wake) is called when it enqueued deliveries. A new
// cursor starts at the end of the log: events from before webhooks were
// set up are not sent. opts (a logger, a poll interval) are applied
// after the dispatcher's own.
func Dispatcher(s meta.Store, bell *events.Bell, wake func(), opts ...events.ConsumerOption) (*events.Consumer, error) {
	return events.NewConsumer(s, ConsumerName, events.TxFunc(Dispatch), append([]events.ConsumerOption{
		events.WithFrom(events.FromNow), events.WithBell(bell),
		events.WithDone(func([]meta.Event) {
			if wake != nil {
				wake()
			}
		})}, opts...)...)
}
