package webhook

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/berthreg/berth/events"
	"github.com/berthreg/berth/internal/eventually"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

func TestDispatchOncePerEventAcrossInstances(t *testing.T) {
	teststores.Each(t, testDispatchOncePerEventAcrossInstances)
}

// testDispatchOncePerEventAcrossInstances: three instances' dispatchers
// share the store (and the cursor); each event that a policy matches
// becomes one delivery job, with its log record, per target: none is
// lost, none doubled.
func testDispatchOncePerEventAcrossInstances(t *testing.T, open teststores.Opener) {
	s := open(t)
	policy := Policy{Name: "deploy", Enabled: true, EventTypes: []string{"PUSH_ARTIFACT"},
		Targets: []Target{{Type: "http", Address: "http://127.0.0.1:1/a"}, {Type: "http", Address: "http://127.0.0.1:1/b"}}}
	if err := s.Update(t.Context(), func(tx meta.Tx) error { return PolicyRecords.In(tx).Put(policy) }); err != nil {
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
		d, err := Dispatcher(s, nil, nil, events.WithPoll(time.Millisecond), events.WithBatch(4))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Init(t.Context()); err != nil {
			t.Fatal(err)
		}
		go func() { defer func() { done <- struct{}{} }(); _ = d.Run(ctx) }()
	}
	var pushes []uint64
	for round := range 15 {
		var got []uint64
		if err := s.Update(t.Context(), func(tx meta.Tx) error {
			got = nil // the function may run more than once
			for i := range 1 + round%3 {
				seq, err := tx.Events().Append(meta.Event{Type: "PUSH_ARTIFACT", Repository: "team/app" + strconv.Itoa(i)})
				if err != nil {
					return err
				}
				got = append(got, seq)
				if _, err := tx.Events().Append(meta.Event{Type: "DELETE_TAG", Repository: "team/app"}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		pushes = append(pushes, got...)
		time.Sleep(time.Millisecond)
	}
	var last uint64
	_ = s.View(t.Context(), func(tx meta.Tx) error { last, _ = tx.Events().Last(); return nil })
	eventually.True(t, "the dispatchers at the end of the log", func() bool {
		cur, err := events.Cursor(t.Context(), s, ConsumerName)
		return err == nil && cur == last
	})
	var jobs []meta.Job
	var logged []Delivery
	if err := s.View(t.Context(), func(tx meta.Tx) error {
		var err error
		if jobs, err = tx.Jobs().List(meta.JobFilter{Kind: JobKind}, 0, 0); err != nil {
			return err
		}
		logged, err = DeliveryRecords.In(tx).List("", 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	count := map[[2]uint64]int{}
	for _, j := range jobs {
		var d delivery
		if err := json.Unmarshal(j.Payload, &d); err != nil {
			t.Fatal(err)
		}
		count[[2]uint64{d.Seq, uint64(d.Target)}]++
	}
	for _, seq := range pushes {
		for target := range 2 {
			if n := count[[2]uint64{seq, uint64(target)}]; n != 1 {
				t.Errorf("event %d, target %d: %d delivery jobs, want 1", seq, target, n)
			}
		}
	}
	if len(jobs) != 2*len(pushes) || len(logged) != len(jobs) {
		t.Errorf("%d delivery jobs and %d log records for %d pushes to 2 targets", len(jobs), len(logged), len(pushes))
	}
}
