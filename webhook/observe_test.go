package webhook

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
)

// TestObserverSeesDeliveries: each request a delivery sends is reported
// with its target's type, its status and its result.
func TestObserverSeesDeliveries(t *testing.T) {
	ok, down, gone := newReceiver(t, 204), newReceiver(t, 503), newReceiver(t, 404)
	s := teststores.Open(t)
	ctx := t.Context()
	p := Policy{Name: "p", EventTypes: []string{"PUSH_ARTIFACT"}, Enabled: true,
		Targets: []Target{{Type: "http", Address: ok.url}, {Type: "slack", Address: down.url}, {Type: "http", Address: gone.url}}}
	if err := s.Update(ctx, func(tx meta.Tx) error {
		if err := PolicyRecords.In(tx).Put(p); err != nil {
			return err
		}
		seq, err := tx.Events().Append(meta.Event{Type: "PUSH_ARTIFACT", Time: time.Now().UTC(), Project: "team", Repository: "team/app"})
		if err != nil {
			return err
		}
		evs, err := tx.Events().List(seq-1, 1)
		if err != nil {
			return err
		}
		return Dispatch(ctx, tx, evs)
	}); err != nil {
		t.Fatal(err)
	}
	var got []Observation
	d := newDeliverer(t, s, "registry.example", WithGuard(loopbackAllowed), WithObserver(func(o Observation) { got = append(got, o) }))
	var js []meta.Job
	if err := s.View(ctx, func(tx meta.Tx) error {
		var err error
		js, err = tx.Jobs().List(meta.JobFilter{Kind: JobKind}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(js) != 3 {
		t.Fatalf("%d delivery jobs, want 3", len(js))
	}
	for _, j := range js {
		_ = d.Run(ctx, j)
	}
	slices.SortFunc(got, func(a, b Observation) int { return strings.Compare(a.Result, b.Result) })
	want := []Observation{
		{TargetType: "http", Result: Delivered, Status: 204},
		{TargetType: "slack", Result: Failed, Status: 503},
		{TargetType: "http", Result: Rejected, Status: 404},
	}
	if len(got) != len(want) {
		t.Fatalf("observed %+v, want %+v", got, want)
	}
	for i := range want {
		g := got[i]
		g.Took = 0
		if g != want[i] {
			t.Errorf("observation %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}
