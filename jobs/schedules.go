package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/settings"
)

// Errors of the stored schedules (wrapped with details).
var (
	// ErrInvalid reports a bad schedule or bad job parameters; the
	// message names the field as the admin API spells it
	// ("schedule.cron: …", "parameters.workers: …").
	ErrInvalid = errors.New("jobs: invalid schedule")
	// ErrNoScheduler reports a schedule change on Schedules made without
	// a Scheduler (see WithScheduler).
	ErrNoScheduler = errors.New("jobs: no scheduler")
)

// Scheduler fires named cron schedules (a *Runner is one).
type Scheduler interface {
	// Schedule enqueues a job like s each time spec fires, replacing
	// any schedule of the same name.
	Schedule(name, spec string, s Spec) error
	// Unschedule removes the schedule of that name, if any.
	Unschedule(name string)
	// ScheduleOf returns the spec and next fire of the named schedule.
	ScheduleOf(name string) (string, time.Time, bool)
}

// ScheduledJob is a system job that runs on a named, stored schedule
// (garbage collection, scanning everything): its name, and how its JSON
// parameters become the job a run enqueues. Make one with
// NewScheduledJob.
type ScheduledJob struct {
	name string
	// job decodes raw parameters (empty: the zero value), checks them and
	// returns them re-encoded with the job they make.
	job func(raw json.RawMessage) (json.RawMessage, Spec, error)
}

// NewScheduledJob describes the job schedule name runs: spec makes the
// job a run with parameters p enqueues, after checking them (an error
// wrapping ErrInvalid for bad ones). Parameters are stored as JSON; fields
// P does not have are refused.
func NewScheduledJob[P any](name string, spec func(p P) (Spec, error)) ScheduledJob {
	return ScheduledJob{name: name, job: func(raw json.RawMessage) (json.RawMessage, Spec, error) {
		var p P
		if len(bytes.TrimSpace(raw)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil {
				return nil, Spec{}, fmt.Errorf("%w: parameters: %v", ErrInvalid, err)
			}
		}
		s, err := spec(p)
		if err != nil {
			return nil, Spec{}, err
		}
		norm, err := json.Marshal(p)
		if err != nil {
			return nil, Spec{}, fmt.Errorf("jobs: schedule %s: parameters: %w", name, err)
		}
		return norm, s, nil
	}}
}

// Name is the schedule's name in the Scheduler and in the settings.
func (j ScheduledJob) Name() string { return j.name }

// Schedule is when a named system job runs, and with which parameters,
// as stored in the settings (Harbor's Schedule).
type Schedule struct {
	// Type is "Hourly", "Daily", "Weekly", "Custom" or "None" (the
	// default: not scheduled).
	Type string
	// Cron is the cron spec, seconds first: the one a Custom schedule
	// gives, or the one its Type stands for.
	Cron string
	// Parameters are the job's parameters (JSON).
	Parameters json.RawMessage
	// Next is the next fire, as the Scheduler has it (zero when none);
	// only Get sets it.
	Next time.Time
}

// stored is a schedule's setting: the admin API's (Harbor's) shape, which
// earlier builds stored too.
type stored struct {
	Schedule struct {
		Type string `json:"type"`
		Cron string `json:"cron,omitempty"`
	} `json:"schedule"`
	Parameters json.RawMessage `json:"parameters"`
}

// SchedulesGeneration is the generation counter (package generation)
// that Set bumps in the transaction storing a schedule: an instance
// watching it applies the stored schedules again (ApplyStored) when
// another instance changed one.
const SchedulesGeneration = "jobs.schedules"

// Schedules keeps the schedules of named system jobs in the settings, so
// that they survive restarts and every instance sees them, and applies
// them to a Scheduler: Set checks and stores one and applies it, Get
// reads one back with its next fire, RunNow runs the job once,
// ApplyStored applies them all at start. The Go caller and the admin API
// get the same checks and errors. Make it with NewSchedules.
type Schedules struct {
	store meta.Store
	sch   Scheduler
	jobs  map[string]ScheduledJob
	now   func() time.Time
	// err is an option's error, returned by NewSchedules.
	err error
}

// ScheduleOption configures Schedules made by NewSchedules.
type ScheduleOption func(*Schedules)

// WithScheduler applies schedules to s; without one, Set fails with
// ErrNoScheduler (Get, RunNow and reading still work).
func WithScheduler(s Scheduler) ScheduleOption {
	return func(ss *Schedules) {
		if s == nil {
			ss.err = errors.New("jobs: schedules: WithScheduler(nil)")
		}
		ss.sch = s
	}
}

// NewSchedules returns the schedules of the named jobs, kept in store.
// Unnamed or twice-named jobs, and a nil store or Scheduler, are errors.
func NewSchedules(store meta.Store, named []ScheduledJob, opts ...ScheduleOption) (*Schedules, error) {
	s := &Schedules{store: store, jobs: map[string]ScheduledJob{}, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	switch {
	case s.err != nil:
		return nil, s.err
	case store == nil:
		return nil, errors.New("jobs: schedules: no store")
	}
	for _, j := range named {
		switch _, dup := s.jobs[j.name]; {
		case j.name == "" || j.job == nil:
			return nil, errors.New("jobs: schedules: a job without a name (make it with NewScheduledJob)")
		case dup:
			return nil, fmt.Errorf("jobs: schedules: %s named twice", j.name)
		}
		s.jobs[j.name] = j
	}
	return s, nil
}

// job returns the named job, an error for a name the Schedules were not
// made with.
func (s *Schedules) job(name string) (ScheduledJob, error) {
	j, ok := s.jobs[name]
	if !ok {
		return j, fmt.Errorf("jobs: no scheduled job %q", name)
	}
	return j, nil
}

// cronOf is the cron spec (seconds first) a schedule type stands for.
func cronOf(typ, custom string) (string, error) {
	switch typ {
	case "Hourly":
		return "0 0 * * * *", nil
	case "Daily":
		return "0 0 0 * * *", nil
	case "Weekly":
		return "0 0 0 * * 0", nil
	case "Custom":
		if err := ValidSchedule(custom); err != nil {
			return "", fmt.Errorf("%w: schedule.cron: %q: %v", ErrInvalid, custom, err)
		}
		return custom, nil
	}
	return "", fmt.Errorf("%w: schedule.type: %q is not Hourly, Daily, Weekly, Custom, Manual or None", ErrInvalid, typ)
}

// Set checks sc (its parameters first, then its type and cron), stores it
// as schedule name and applies it to the Scheduler: type "None" removes
// the schedule. It returns the schedule as stored, with its cron spec.
// Bad input is ErrInvalid; without a Scheduler, ErrNoScheduler.
func (s *Schedules) Set(ctx context.Context, name string, sc Schedule) (Schedule, error) {
	j, err := s.job(name)
	if err != nil {
		return Schedule{}, err
	}
	params, spec, err := j.job(sc.Parameters)
	if err != nil {
		return Schedule{}, err
	}
	if s.sch == nil {
		return Schedule{}, fmt.Errorf("schedule %s: %w", name, ErrNoScheduler)
	}
	cron := ""
	if sc.Type == "Manual" {
		return Schedule{}, fmt.Errorf("%w: schedule.type: a Manual run is not a schedule (see RunNow)", ErrInvalid)
	}
	if sc.Type != "None" {
		if cron, err = cronOf(sc.Type, sc.Cron); err != nil {
			return Schedule{}, err
		}
	}
	var st stored
	st.Schedule.Type, st.Schedule.Cron, st.Parameters = sc.Type, cron, params
	if err := s.store.Update(ctx, func(tx meta.Tx) error {
		if err := settings.Save(tx, name, st, s.now()); err != nil {
			return err
		}
		return generation.Bump(tx, SchedulesGeneration)
	}); err != nil {
		return Schedule{}, err
	}
	if err := s.apply(name, cron, spec); err != nil {
		return Schedule{}, err
	}
	return Schedule{Type: sc.Type, Cron: cron, Parameters: params}, nil
}

// apply sets (or, without a cron spec, removes) schedule name.
func (s *Schedules) apply(name, cron string, spec Spec) error {
	if cron == "" {
		s.sch.Unschedule(name)
		return nil
	}
	return s.sch.Schedule(name, cron, spec)
}

// load reads the stored schedule name (Type "None" when unset).
func (s *Schedules) load(ctx context.Context, name string) (stored, bool, error) {
	var st stored
	st.Schedule.Type = "None"
	var found bool
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		found, err = settings.Load(tx, name, &st)
		return err
	})
	return st, found, err
}

// Get returns schedule name as stored (Type "None" and the zero
// parameters when it was never set), with its next fire when the
// Scheduler has one.
func (s *Schedules) Get(ctx context.Context, name string) (Schedule, error) {
	j, err := s.job(name)
	if err != nil {
		return Schedule{}, err
	}
	st, _, err := s.load(ctx, name)
	if err != nil {
		return Schedule{}, err
	}
	params, _, err := j.job(st.Parameters)
	if err != nil {
		return Schedule{}, fmt.Errorf("jobs: stored schedule %s: %w", name, err)
	}
	out := Schedule{Type: st.Schedule.Type, Cron: st.Schedule.Cron, Parameters: params}
	if s.sch != nil {
		if _, next, ok := s.sch.ScheduleOf(name); ok {
			out.Next = next
		}
	}
	return out, nil
}

// RunNow checks params and enqueues one run of job name on q now.
func (s *Schedules) RunNow(ctx context.Context, q *Queue, name string, params json.RawMessage) (meta.Job, error) {
	j, err := s.job(name)
	if err != nil {
		return meta.Job{}, err
	}
	_, spec, err := j.job(params)
	if err != nil {
		return meta.Job{}, err
	}
	return q.Enqueue(ctx, spec)
}

// ApplyStored applies every stored schedule of the named jobs to the
// Scheduler: what a server does at start, and again whenever
// SchedulesGeneration moves, so that a schedule set through another
// instance sharing the store reaches this one (a Runner keeps the next
// fire of a schedule applied unchanged).
// Without a Scheduler it does nothing. It only reads the store.
func (s *Schedules) ApplyStored(ctx context.Context) error {
	if s.sch == nil {
		return nil
	}
	for name, j := range s.jobs {
		st, found, err := s.load(ctx, name)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		_, spec, err := j.job(st.Parameters)
		if err != nil {
			return fmt.Errorf("jobs: stored schedule %s: %w", name, err)
		}
		cron := st.Schedule.Cron
		if st.Schedule.Type == "None" {
			cron = ""
		}
		if err := s.apply(name, cron, spec); err != nil {
			return fmt.Errorf("jobs: stored schedule %s: %w", name, err)
		}
	}
	return nil
}
