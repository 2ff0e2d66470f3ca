package retention

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"time"

	"github.com/berthreg/berth/auth/accounts"
	"github.com/berthreg/berth/generation"
	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
)

// Generation is the change counter bumped with every policy change: an
// instance watching it runs ScheduleAll again.
const Generation = "retention.policies"

// Service keeps the projects' retention policies and runs them. Make one
// with New.
type Service struct {
	store     meta.Store
	queue     *jobs.Queue
	immutable func(ctx context.Context, repo, tag string) (bool, error)
	now       func() time.Time
	logger    *slog.Logger
	batch     int
}

// Option configures a Service made by New.
type Option func(*Service)

// WithImmutable makes runs keep the artifacts with a tag immutable
// reports (immutable.Service.Immutable; default: none is).
func WithImmutable(f func(ctx context.Context, repo, tag string) (bool, error)) Option {
	return func(s *Service) { s.immutable = f }
}

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger (default: none).
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.logger = l } }

// WithDeleteBatch sets how many manifests a run deletes per transaction
// (default 100).
func WithDeleteBatch(n int) Option { return func(s *Service) { s.batch = n } }

// New returns the retention service over store, the store that every
// writer of manifests uses (with the quota count and immutability
// rules), and queue, on which runs are jobs of kind JobKind.
func New(store meta.Store, queue *jobs.Queue, opts ...Option) (*Service, error) {
	s := &Service{store: store, queue: queue, now: time.Now, logger: slog.New(slog.DiscardHandler), batch: 100,
		immutable: func(context.Context, string, string) (bool, error) { return false, nil }}
	for _, o := range opts {
		o(s)
	}
	switch {
	case store == nil:
		return nil, errors.New("retention: New: nil store")
	case queue == nil:
		return nil, errors.New("retention: New: nil queue")
	case s.batch < 1:
		return nil, errors.New("retention: New: WithDeleteBatch must be positive")
	}
	return s, nil
}

// Policy returns project's policy (ErrNotFound when it has none).
func (s *Service) Policy(ctx context.Context, project string) (Policy, error) {
	var p Policy
	err := s.store.View(ctx, func(tx meta.Tx) error {
		var err error
		p, err = policies.In(tx).Get(project)
		return meta.NotFoundAs(err, ErrNotFound, "retention policy of project "+project)
	})
	return p, err
}

// SetPolicy checks p and stores it as its project's policy (the project
// must exist): rules without an id get the next ones.
func (s *Service) SetPolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := p.Check(); err != nil {
		return p, err
	}
	p.Rules = slices.Clone(p.Rules)
	err := s.store.Update(ctx, func(tx meta.Tx) error {
		if _, err := accounts.Projects.In(tx).Get(p.Project); err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "project "+p.Project)
		}
		old, err := policies.In(tx).Get(p.Project)
		if err != nil && !errors.Is(err, meta.ErrNotFound) {
			return err
		}
		p.LastRuleID = old.LastRuleID
		for i := range p.Rules {
			if p.Rules[i].ID == 0 {
				p.LastRuleID++
				p.Rules[i].ID = p.LastRuleID
			}
			p.LastRuleID = max(p.LastRuleID, p.Rules[i].ID)
		}
		p.UpdatedAt = s.now().UTC()
		if err := policies.In(tx).Put(p); err != nil {
			return err
		}
		return generation.Bump(tx, Generation)
	})
	return p, err
}

// DeletePolicy deletes project's policy (its executions stay).
func (s *Service) DeletePolicy(ctx context.Context, project string) error {
	return s.store.Update(ctx, func(tx meta.Tx) error {
		if err := policies.In(tx).Delete(project); err != nil {
			return meta.NotFoundAs(err, ErrNotFound, "retention policy of project "+project)
		}
		return generation.Bump(tx, Generation)
	})
}

// DeleteProject deletes project's policy and executions:
// accounts.WithProjectCleanup runs it when a project is deleted.
func (s *Service) DeleteProject(tx meta.Tx, project string, _ time.Time) error {
	if err := policies.In(tx).Delete(project); err != nil && !errors.Is(err, meta.ErrNotFound) {
		return err
	}
	r := tx.Records(executions.Kind)
	recs, err := meta.RecordsWithPrefix(r, project+"/", 0)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if err := r.Delete(rec.Key); err != nil {
			return err
		}
	}
	return generation.Bump(tx, Generation)
}

// ScheduleName is the name of a project's policy schedule on the runner.
func ScheduleName(project string) string { return "retention/" + project }

// ScheduleAll puts every stored policy with a schedule on r and takes
// the others off: at start, and whenever Generation moves.
func ScheduleAll(ctx context.Context, store meta.Store, r *jobs.Runner) error {
	var all []Policy
	if err := store.View(ctx, func(tx meta.Tx) error {
		var err error
		all, err = policies.In(tx).List("", 0)
		return err
	}); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, p := range all {
		if p.Schedule == "" {
			continue
		}
		want[ScheduleName(p.Project)] = true
		if err := r.Schedule(ScheduleName(p.Project), p.Schedule, jobs.Spec{Kind: JobKind,
			Payload: runPayload{Project: p.Project, Trigger: TriggerSchedule}}); err != nil {
			return err
		}
	}
	for _, name := range r.Scheduled(ScheduleName("")) {
		if !want[name] {
			r.Unschedule(name)
		}
	}
	return nil
}
