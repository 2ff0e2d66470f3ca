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
	// pending is the fire last due, until it is enqueued: tried at once,
	// and again with backoff while the enqueue fails (the store
	// unreachable), until it lands, another instance is found to have
	// enqueued it, or next comes due (then it is dropped).
	pending *fire
}

// fire is one firing of a schedule, its job keyed by the nominal time.
type fire struct {
	spec    Spec // with its key, cron:NAME@TIME
	tries   int  // failed enqueues so far
	retryAt time.Time
}

// fireKey is the key of the job of schedule name's fire at nominal time
// at: the same on every instance, so that only one enqueues it.
func fireKey(name string, at time.Time) string {
	return "cron:" + name + "@" + at.UTC().Format(time.RFC3339Nano)
}

// Schedule enqueues a job like s each time the cron spec fires ("0 */5 * *
// * *": every five minutes, seconds first), replacing any schedule of the
// same name; it takes effect at once, also while Run runs. Scheduling
// again the same spec and job changes nothing (its next fire stays), so
// callers may apply their stored schedules again and again. The job's key
// names the schedule and the fire time, so several runners sharing the
// store enqueue each fire once.
//
// A fire whose enqueue fails (the store unreachable) is not lost at
// once: the runner tries it again, with backoff (WithScheduleRetry),
// until it is enqueued, or another runner is found to have enqueued it,
// or the schedule's next fire comes due. Then the late fire is dropped
// (logged at Error) and only the new one is tried: a schedule has at most
// one fire outstanding, and an outage longer than a schedule's period
// costs the fires it spans but the last.
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

// scheduler enqueues due fires until ctx is done. A fire whose enqueue
// fails is kept and tried again, with backoff, on later passes, until it
// is enqueued, or meta.ErrDuplicate says another instance enqueued it, or
// the schedule's next fire comes due: then the late one is dropped, and
// only the newer one is tried.
func (r *Runner) scheduler(ctx context.Context) {
	q := &Queue{store: r.store, notify: r.Wake, now: r.now}
	type try struct {
		s *schedule
		f *fire
	}
	for {
		r.mu.Lock()
		var (
			tries   []try
			dropped []string
		)
		wait := time.Hour
		now := r.clock()
		for _, s := range r.schedules {
			if !s.next.After(now) {
				if s.pending != nil {
					dropped = append(dropped, s.pending.spec.Key)
				}
				spec := s.spec
				spec.Key = fireKey(s.name, s.next)
				s.pending = &fire{spec: spec, retryAt: now}
				s.next = s.at.Next(s.next)
				if !s.next.After(now) { // fell behind (a long pause): skip to the future
					s.next = s.at.Next(now)
				}
			}
			wait = min(wait, s.next.Sub(now))
			if f := s.pending; f != nil {
				if f.retryAt.After(now) {
					wait = min(wait, f.retryAt.Sub(now))
				} else {
					tries = append(tries, try{s, f})
				}
			}
		}
		r.mu.Unlock()
		for _, key := range dropped {
			r.log().Error("jobs: schedule: fire dropped: it could not be enqueued before the next one came due", "key", key)
		}
		for _, t := range tries {
			_, err := q.Enqueue(ctx, t.f.spec)
			if ctx.Err() != nil {
				return
			}
			done := err == nil || errors.Is(err, meta.ErrDuplicate)
			r.mu.Lock()
			if t.s.pending == t.f { // not dropped or replaced meanwhile
				if done {
					t.s.pending = nil
				} else {
					t.f.tries++
					t.f.retryAt = r.clock().Add(Backoff(r.fireBackoff, r.fireMaxBackoff, t.f.tries))
				}
			}
			n := t.f.tries
			r.mu.Unlock()
			switch {
			case done && n > 0:
				r.log().Info("jobs: schedule: fire enqueued after failed tries", "key", t.f.spec.Key, "failed", n)
			case !done && n == 1:
				r.log().Warn("jobs: schedule: fire not enqueued; retrying until the next fire", "key", t.f.spec.Key, "err", err)
			}
		}
		if len(tries) > 0 {
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
