package gc

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/berthreg/berth/internal/testjobs"
	"github.com/berthreg/berth/internal/teststores"
	"github.com/berthreg/berth/jobs"
)

// TestScheduledJob: a collection run by hand or on a schedule from Go has
// the admin API's checks: at most 5 workers; its parameters become the
// collection's options.
func TestScheduledJob(t *testing.T) {
	store := teststores.Open(t)
	s, err := jobs.NewSchedules(store, []jobs.ScheduledJob{ScheduledJob()})
	if err != nil {
		t.Fatal(err)
	}
	q := testjobs.Queue(t, store)
	if _, err := s.RunNow(t.Context(), q, ScheduleName, json.RawMessage(`{"workers":6}`)); !errors.Is(err, jobs.ErrInvalid) {
		t.Errorf("6 workers: %v, want jobs.ErrInvalid", err)
	}
	j, err := s.RunNow(t.Context(), q, ScheduleName, json.RawMessage(`{"delete_untagged":true,"workers":2,"grace_minutes":-1}`))
	if err != nil {
		t.Fatal(err)
	}
	var o Options
	if err := json.Unmarshal(j.Payload, &o); err != nil || j.Kind != JobKind || !o.DeleteUntagged || o.Workers != 2 || o.Grace != -1 {
		t.Errorf("the job: %s %s (%+v, %v)", j.Kind, j.Payload, o, err)
	}
	if got := (ScheduleParameters{GraceMinutes: 90}).Options().Grace; got != 90*time.Minute {
		t.Errorf("grace of 90 minutes: %v", got)
	}
}
