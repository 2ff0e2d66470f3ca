package replication

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

func TestEventTriggerOncePerEventAcrossInstances(t *testing.T) {
	teststores.Each(t, testEventTriggerOncePerEventAcrossInstances)
}

// testEventTriggerOncePerEventAcrossInstances: three instances' engines
// consume the event log under the one cursor; each push becomes an item
// of exactly one execution of the event-based policy.
func testEventTriggerOncePerEventAcrossInstances(t *testing.T, open teststores.Opener) {
	s := open(t)
	if err := s.Update(t.Context(), func(tx meta.Tx) error {
		return Policies.In(tx).Put(PolicyRecord{Name: "mirror", Enabled: true, Trigger: TriggerEvent, Destination: "dst"})
	}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 3)
	t.Cleanup(func() {
		cancel()
		for range 3 {
			<-done
		}
	})
	for range 3 {
		e, err := NewEngine(s, testjobs.Queue(t, s))
		if err != nil {
			t.Fatal(err)
		}
		c, err := events.NewConsumer(s, ConsumerName, events.TxFunc(e.Consume), events.WithFrom(events.FromNow),
			events.WithPoll(time.Millisecond), events.WithBatch(3))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Init(t.Context()); err != nil {
			t.Fatal(err)
		}
		go func() { defer func() { done <- struct{}{} }(); _ = c.Run(ctx) }()
	}
	var tags []string
	for round := range 15 {
		var got []string
		if err := s.Update(t.Context(), func(tx meta.Tx) error {
			got = nil // the function may run more than once
			for i := range 1 + round%3 {
				tag := "v" + strconv.Itoa(round) + "." + strconv.Itoa(i)
				if _, err := tx.Events().Append(meta.Event{Type: events.PushArtifact, Repository: "team/app", Tag: tag}); err != nil {
					return err
				}
				got = append(got, tag)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		tags = append(tags, got...)
		time.Sleep(time.Millisecond)
	}
	var last uint64
	_ = s.View(t.Context(), func(tx meta.Tx) error { last, _ = tx.Events().Last(); return nil })
	eventually.True(t, "the consumers at the end of the log", func() bool {
		cur, err := events.Cursor(t.Context(), s, ConsumerName)
		return err == nil && cur == last
	})
	var runs []meta.Job
	var execs []Execution
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		var err error
		if runs, err = tx.Jobs().List(meta.JobFilter{Kind: RunKind}, 0, 0); err != nil {
			return err
		}
		execs, err = Executions.In(tx).List("", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, j := range runs {
		var pl runPayload
		if err := json.Unmarshal(j.Payload, &pl); err != nil {
			t.Fatal(err)
		}
		for _, it := range pl.Items {
			count[it.Tag]++
		}
	}
	for _, tag := range tags {
		if count[tag] != 1 {
			t.Errorf("push of %s: in %d executions, want 1", tag, count[tag])
		}
	}
	if len(count) != len(tags) || len(execs) != len(runs) {
		t.Errorf("%d items in %d executions (%d recorded) for %d pushes", len(count), len(runs), len(execs), len(tags))
	}
}

// TestScheduleAllFollowsTheStore: ScheduleAll, run again on an instance,
// picks up a scheduled policy saved through another instance, the change
// of its cron, and takes off the schedule of one deleted there (it used
// to keep firing it); other schedules of the runner stay.
func TestScheduleAllFollowsTheStore(t *testing.T) {
	s := teststores.Backends()[0].Open(t)
	r := testjobs.Runner(t, s)
	if err := r.Schedule("delivery-prune", "0 45 3 * * *", jobs.Spec{Kind: "webhook.prune"}); err != nil {
		t.Fatal(err)
	}
	put := func(fn func(tx meta.Tx) error) {
		t.Helper()
		if err := s.Update(t.Context(), fn); err != nil {
			t.Fatal(err)
		}
	}
	put(func(tx meta.Tx) error {
		return Policies.In(tx).Put(PolicyRecord{Name: "nightly", Enabled: true, Trigger: TriggerScheduled, Cron: "0 0 1 * * *", Destination: "dst"})
	})
	if err := ScheduleAll(t.Context(), s, r); err != nil {
		t.Fatal(err)
	}
	if spec, _, ok := r.ScheduleOf(ScheduleName("nightly")); !ok || spec != "0 0 1 * * *" {
		t.Fatalf("saved elsewhere: %q, %v", spec, ok)
	}
	put(func(tx meta.Tx) error {
		return Policies.In(tx).Put(PolicyRecord{Name: "nightly", Enabled: true, Trigger: TriggerScheduled, Cron: "0 0 2 * * *", Destination: "dst"})
	})
	if err := ScheduleAll(t.Context(), s, r); err != nil {
		t.Fatal(err)
	}
	if spec, _, ok := r.ScheduleOf(ScheduleName("nightly")); !ok || spec != "0 0 2 * * *" {
		t.Fatalf("changed elsewhere: %q, %v", spec, ok)
	}
	put(func(tx meta.Tx) error { return Policies.In(tx).Delete("nightly") })
	if err := ScheduleAll(t.Context(), s, r); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := r.ScheduleOf(ScheduleName("nightly")); ok {
		t.Error("the deleted policy is still scheduled")
	}
	if _, _, ok := r.ScheduleOf("delivery-prune"); !ok {
		t.Error("ScheduleAll took off a schedule that is not a policy's")
	}
}
