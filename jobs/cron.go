package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/berthreg/berth/meta"
)

// cronParser reads schedules with a seconds field first, and descriptors
// such as "@every 1h" and "@daily".
var cronParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ValidSchedule reports whether spec is a schedule Schedule accepts.
func ValidSchedule(spec string) error {
	_, err := cronParser.Parse(spec)
	return err
}

type schedule struct {
	name string
	cron string
	at   cron.Schedule
	spec Spec
	next time.Time
}

// Schedule enqueues a job like s each time the cron spec fires ("0 */5 * *
// * *": every five minutes, seconds first), replacing any schedule of the
// same name; it takes effect at once, also while Run runs. Scheduling
// again the same spec and job changes nothing (its next fire stays), so
// callers may apply their stored schedules again and again. The job's key
// names the schedule and the fire time, so several runners sharing the
// store enqueue each fire once.
func (r *Runner) Schedule(name, spec string, s Spec) error {
	at, err := cronParser.Parse(spec)
	if err != nil {
		return fmt.Errorf("jobs: schedule %s: %w", name, err)
	}
	if s.Kind == "" {
		return fmt.Errorf("jobs: schedule %s: no job kind", name)
	}
	r.mu.Lock()
	if old, ok := r.schedules[name]; ok && old.cron == spec && sameSpec(old.spec, s) {
		r.mu.Unlock()
		return nil // unchanged: keep its next fire
	}
	r.schedules[name] = &schedule{name: name, cron: spec, at: at, spec: s, next: at.Next(r.clock())}
	r.mu.Unlock()
	r.reschedule()
	return nil
}

// sameSpec reports whether a and b enqueue the same job.
func sameSpec(a, b Spec) bool {
	if a.Kind != b.Kind || a.Key != b.Key || !a.RunAt.Equal(b.RunAt) || a.MaxAttempts != b.MaxAttempts {
		return false
	}
	pa, errA := json.Marshal(a.Payload)
	pb, errB := json.Marshal(b.Payload)
	return errA == nil && errB == nil && bytes.Equal(pa, pb)
}

// Scheduled returns the names of the schedules that start with prefix,
// in no order: what a caller that keeps a family of schedules (one per
// policy) compares with its stored ones.
func (r *Runner) Scheduled(prefix string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for name := range r.schedules {
		if strings.HasPrefix(name, prefix) {
			out = append(out, name)
		}
	}
	return out
}

// Unschedule removes the schedule of that name, if any.
func (r *Runner) Unschedule(name string) {
	r.mu.Lock()
	delete(r.schedules, name)
	r.mu.Unlock()
	r.reschedule()
}

// ScheduleOf returns the cron spec of the named schedule and its next fire
// time, if it exists.
func (r *Runner) ScheduleOf(name string) (string, time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.schedules[name]
	if !ok {
		return "", time.Time{}, false
	}
	return s.cron, s.next, true
}

func (r *Runner) reschedule() {
	select {
	case r.rescheduled <- struct{}{}:
	default:
	}
}

// scheduler enqueues due fires until ctx is done.
func (r *Runner) scheduler(ctx context.Context) {
	q := &Queue{store: r.store, notify: r.Wake, now: r.now}
	for {
		r.mu.Lock()
		var due []*schedule
		wait := time.Hour
		now := r.clock()
		for _, s := range r.schedules {
			if !s.next.After(now) {
				due = append(due, s)
			} else {
				wait = min(wait, s.next.Sub(now))
			}
		}
		fires := make([]Spec, 0, len(due))
		for _, s := range due {
			spec := s.spec
			spec.Key = "cron:" + s.name + "@" + s.next.UTC().Format(time.RFC3339Nano)
			fires = append(fires, spec)
			s.next = s.at.Next(s.next)
			if !s.next.After(now) { // fell behind (a long pause): skip to the future
				s.next = s.at.Next(now)
			}
		}
		r.mu.Unlock()
		for _, spec := range fires {
			if _, err := q.Enqueue(ctx, spec); err != nil && !errors.Is(err, meta.ErrDuplicate) && ctx.Err() == nil {
				r.log().Error("jobs: schedule", "key", spec.Key, "err", err)
			}
		}
		if len(due) > 0 {
			continue
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.rescheduled:
		case <-t.C:
		}
		t.Stop()
	}
}
