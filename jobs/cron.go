package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/berthreg/berth/meta"
)

// cronParser reads schedules with a seconds field first, and descriptors
// such as "@every 1h" and "@daily".
var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

type schedule struct {
	name string
	at   cron.Schedule
	spec Spec
}

// Schedule enqueues a job like s each time the cron spec fires ("0 */5 * *
// * *": every five minutes, seconds first), from when Run starts. The job's
// key names the schedule and the fire time, so several runners sharing the
// store enqueue each fire once.
func (r *Runner) Schedule(name, spec string, s Spec) error {
	r.init()
	at, err := cronParser.Parse(spec)
	if err != nil {
		return fmt.Errorf("jobs: schedule %s: %w", name, err)
	}
	if s.Kind == "" {
		return fmt.Errorf("jobs: schedule %s: no job kind", name)
	}
	r.mu.Lock()
	r.schedules = append(r.schedules, schedule{name, at, s})
	r.mu.Unlock()
	return nil
}

// fire enqueues a schedule's jobs until ctx is done.
func (r *Runner) fire(ctx context.Context, s schedule) {
	q := &Queue{Store: r.Store, Notify: r.Wake, now: r.now}
	next := s.at.Next(r.clock())
	for {
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		spec := s.spec
		spec.Key = "cron:" + s.name + "@" + next.UTC().Format(time.RFC3339Nano)
		if _, err := q.Enqueue(ctx, spec); err != nil && !errors.Is(err, meta.ErrDuplicate) && ctx.Err() == nil {
			r.log().Error("jobs: schedule", "name", s.name, "err", err)
		}
		next = s.at.Next(next)
	}
}
