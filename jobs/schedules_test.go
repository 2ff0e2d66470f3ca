package jobs

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/settings"
)

// sweepParams are the parameters of the test's scheduled job.
type sweepParams struct {
	Depth int `json:"depth"`
}

var sweepJob = NewScheduledJob("sweep.schedule", func(p sweepParams) (Spec, error) {
	if p.Depth < 0 {
		return Spec{}, errors.Join(ErrInvalid, errors.New("parameters.depth: negative"))
	}
	return Spec{Kind: "sweep", Payload: p}, nil
})

// TestSchedules: a Go caller of Schedules gets the checks and errors the
// admin API gives, the schedule is stored (in the shape earlier builds
// stored) and applied, read back with its next fire, and applied again at
// start from the store.
func TestSchedules(t *testing.T) {
	ctx := t.Context()
	store := teststores.Open(t)
	runner := newTestRunner(t, store)
	s, err := NewSchedules(store, []ScheduledJob{sweepJob}, WithScheduler(runner))
	if err != nil {
		t.Fatal(err)
	}

	sc, err := s.Get(ctx, "sweep.schedule")
	if err != nil || sc.Type != "None" || string(sc.Parameters) != `{"depth":0}` || !sc.Next.IsZero() {
		t.Fatalf("never set: %+v (%s), %v", sc, sc.Parameters, err)
	}
	for _, bad := range []Schedule{
		{Type: "Custom", Cron: "sometimes"},
		{Type: "Fortnightly"},
		{Type: "Manual"},
		{Type: "Daily", Parameters: json.RawMessage(`{"depth":-1}`)},
		{Type: "Daily", Parameters: json.RawMessage(`{"width":1}`)},
		{Type: "Daily", Parameters: json.RawMessage(`"deep"`)},
	} {
		if _, err := s.Set(ctx, "sweep.schedule", bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Set %+v: %v, want ErrInvalid", bad, err)
		}
	}
	if _, err := s.Set(ctx, "sweep.schedule", Schedule{Type: "Custom", Cron: "sometimes"}); err == nil || !strings.Contains(err.Error(), "schedule.cron") {
		t.Errorf("a bad cron: %v, want it named", err)
	}
	if _, err := s.Set(ctx, "nosuch", Schedule{Type: "Daily"}); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("an unknown schedule: %v", err)
	}

	sc, err = s.Set(ctx, "sweep.schedule", Schedule{Type: "Daily", Parameters: json.RawMessage(`{"depth":3}`)})
	if err != nil || sc.Cron != "0 0 0 * * *" {
		t.Fatalf("set daily: %+v, %v", sc, err)
	}
	if spec, next, ok := runner.ScheduleOf("sweep.schedule"); !ok || spec != "0 0 0 * * *" || next.IsZero() {
		t.Errorf("the runner's schedule: %q %v %v", spec, next, ok)
	}
	sc, err = s.Get(ctx, "sweep.schedule")
	if err != nil || sc.Type != "Daily" || sc.Cron != "0 0 0 * * *" || string(sc.Parameters) != `{"depth":3}` || sc.Next.IsZero() {
		t.Errorf("read back: %+v (%s), %v", sc, sc.Parameters, err)
	}
	var raw json.RawMessage
	if err := store.View(ctx, func(tx meta.Tx) error { _, err := settings.Load(tx, "sweep.schedule", &raw); return err }); err != nil {
		t.Fatal(err)
	}
	if want := `{"schedule":{"type":"Daily","cron":"0 0 0 * * *"},"parameters":{"depth":3}}`; string(raw) != want {
		t.Errorf("stored %s, want %s", raw, want)
	}

	// At start: a new runner gets the stored schedule.
	runner2 := newTestRunner(t, store)
	s2, err := NewSchedules(store, []ScheduledJob{sweepJob}, WithScheduler(runner2))
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.ApplyStored(ctx); err != nil {
		t.Fatal(err)
	}
	if spec, _, ok := runner2.ScheduleOf("sweep.schedule"); !ok || spec != "0 0 0 * * *" {
		t.Errorf("applied at start: %q %v", spec, ok)
	}

	if _, err := s.Set(ctx, "sweep.schedule", Schedule{Type: "None"}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := runner.ScheduleOf("sweep.schedule"); ok {
		t.Error("still scheduled after None")
	}
	if sc, _ := s.Get(ctx, "sweep.schedule"); sc.Type != "None" || sc.Cron != "" || !sc.Next.IsZero() {
		t.Errorf("after None: %+v", sc)
	}

	// Without a scheduler: read and run by hand, but no changes.
	ro, err := NewSchedules(store, []ScheduledJob{sweepJob})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Set(ctx, "sweep.schedule", Schedule{Type: "Daily"}); !errors.Is(err, ErrNoScheduler) {
		t.Errorf("Set without a scheduler: %v, want ErrNoScheduler", err)
	}
	if _, err := ro.Set(ctx, "sweep.schedule", Schedule{Type: "Daily", Parameters: json.RawMessage(`{"depth":-1}`)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad parameters without a scheduler: %v, want ErrInvalid first", err)
	}
	q := newTestQueue(t, store)
	j, err := ro.RunNow(ctx, q, "sweep.schedule", json.RawMessage(`{"depth":2}`))
	if err != nil || j.Kind != "sweep" || string(j.Payload) != `{"depth":2}` {
		t.Errorf("run now: %+v, %v", j, err)
	}
	if _, err := ro.RunNow(ctx, q, "sweep.schedule", json.RawMessage(`{"depth":-2}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("run now with bad parameters: %v", err)
	}
}

// TestNewSchedulesRefusesBadCombinations: what cannot work is a
// constructor error.
func TestNewSchedulesRefusesBadCombinations(t *testing.T) {
	store := teststores.Open(t)
	for name, f := range map[string]func() (*Schedules, error){
		"no store":      func() (*Schedules, error) { return NewSchedules(nil, nil) },
		"nil scheduler": func() (*Schedules, error) { return NewSchedules(store, nil, WithScheduler(nil)) },
		"named twice":   func() (*Schedules, error) { return NewSchedules(store, []ScheduledJob{sweepJob, sweepJob}) },
		"a zero job":    func() (*Schedules, error) { return NewSchedules(store, []ScheduledJob{{}}) },
		"an unnamed job": func() (*Schedules, error) {
			return NewSchedules(store, []ScheduledJob{NewScheduledJob("", func(struct{}) (Spec, error) { return Spec{}, nil })})
		},
	} {
		if _, err := f(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestSchedulesReachOtherInstances: Set bumps SchedulesGeneration in the
// transaction that stores the schedule, so another instance, whose
// watcher applies the stored schedules when it moves, follows at that
// watcher's next poll.
func TestSchedulesReachOtherInstances(t *testing.T) {
	teststores.Each(t, func(t *testing.T, open teststores.Opener) {
		ctx := t.Context()
		store := open(t)
		s, err := NewSchedules(store, []ScheduledJob{sweepJob}, WithScheduler(newTestRunner(t, store)))
		if err != nil {
			t.Fatal(err)
		}
		otherRunner := newTestRunner(t, store)
		other, err := NewSchedules(store, []ScheduledJob{sweepJob}, WithScheduler(otherRunner))
		if err != nil {
			t.Fatal(err)
		}
		w, err := generation.NewWatcher(store)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Watch(SchedulesGeneration, other.ApplyStored); err != nil {
			t.Fatal(err)
		}
		if err := w.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Set(ctx, "sweep.schedule", Schedule{Type: "Daily"}); err != nil {
			t.Fatal(err)
		}
		if err := w.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if spec, _, ok := otherRunner.ScheduleOf("sweep.schedule"); !ok || spec != "0 0 0 * * *" {
			t.Fatalf("set elsewhere: %q, %v", spec, ok)
		}
		if _, err := s.Set(ctx, "sweep.schedule", Schedule{Type: "None"}); err != nil {
			t.Fatal(err)
		}
		if err := w.Poll(ctx); err != nil {
			t.Fatal(err)
		}
		if _, _, ok := otherRunner.ScheduleOf("sweep.schedule"); ok {
			t.Fatal("unset elsewhere, still scheduled")
		}
	})
}
