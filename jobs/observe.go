package jobs

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/berthreg/berth/meta"
)

// Outcome is what became of one attempt of a job, as a Runner records it.
type Outcome string

// The outcomes an observer sees (WithObserver).
const (
	// Succeeded: the handler returned nil; the job is done.
	Succeeded Outcome = "succeeded"
	// Retried: the handler failed and the job has attempts left: it is
	// pending again, after a backoff.
	Retried Outcome = "retried"
	// GivenBack: the handler failed because a backend could not be
	// reached; the attempt does not count (KindOptions.OutageRetries).
	GivenBack Outcome = "given_back"
	// Dead: the handler failed its last attempt, or for good
	// (Permanent): the job is a dead letter.
	Dead Outcome = "dead"
	// Lost: the attempt ended without an outcome recorded by this
	// runner: the job was canceled or its lease passed to another
	// runner, or the store could not record it.
	Lost Outcome = "lost"
	// Expired: a runner found the job's lease expired on its last
	// attempt (the runner that held it died or lost it) and left the
	// job dead, a dead letter, without running it.
	Expired Outcome = "expired"
)

// Attempt is one attempt of a job, as an observer sees it.
type Attempt struct {
	// Kind is the job's kind.
	Kind string
	// Outcome is what became of it.
	Outcome Outcome
	// Took is how long the handler ran (zero for Expired).
	Took time.Duration
}

// WithObserver makes the runner report every attempt it ends to f, once
// its outcome is recorded (the observer is how a host exports the
// attempts and dead letters as metrics). f must be quick and must not
// block.
func WithObserver(f func(Attempt)) RunnerOption { return func(r *Runner) { r.observe = f } }

// WithAttemptHook calls start before each attempt's handler runs: the
// context start returns is the handler's (one carrying a tracing span,
// say), and end receives the attempt once its outcome is recorded.
// Attempts found expired run no handler and call neither.
func WithAttemptHook(start func(ctx context.Context, kind string, id uint64) (context.Context, func(Attempt))) RunnerOption {
	return func(r *Runner) { r.attemptHook = start }
}

// report hands a to the observer, if any.
func (r *Runner) report(a Attempt) {
	if r.observe != nil {
		r.observe(a)
	}
}

// KindStats counts the active jobs and dead letters of one kind.
type KindStats struct {
	// Kind is the jobs' kind.
	Kind string
	// Due counts the pending jobs whose RunAt has come: the backlog.
	Due int
	// Delayed counts the pending jobs that wait for their RunAt (a
	// retry's backoff, or a time set when enqueued).
	Delayed int
	// Running counts the leased jobs (an expired lease's included, until
	// a runner takes the job over).
	Running int
	// Dead counts the dead letters kept (until they are pruned or
	// retried).
	Dead int
	// OldestDue is the earliest RunAt of the due jobs (zero: none).
	OldestDue time.Time
}

// statsPage is how many jobs Stats reads per transaction.
const statsPage = 1000

// Stats counts the jobs kept in the queue's store by kind, in kind
// order, as of now. It reads every job kept (finished ones until they are
// pruned) a page at a time, each page in a short read-only transaction:
// a cost to bound by calling it seldom (a metrics collector caches it).
func (q *Queue) Stats(ctx context.Context, now time.Time) ([]KindStats, error) {
	byKind := map[string]*KindStats{}
	var after uint64
	for {
		var page []meta.Job
		if err := q.store.View(ctx, func(tx meta.Tx) error {
			var err error
			page, err = tx.Jobs().List(meta.JobFilter{}, after, statsPage)
			return err
		}); err != nil {
			return nil, err
		}
		for _, j := range page {
			count(byKind, j, now)
		}
		if len(page) < statsPage {
			break
		}
		after = page[len(page)-1].ID
	}
	out := make([]KindStats, 0, len(byKind))
	for _, s := range byKind {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b KindStats) int { return strings.Compare(a.Kind, b.Kind) })
	return out, nil
}

// count adds job j, as of now, to the stats of its kind.
func count(byKind map[string]*KindStats, j meta.Job, now time.Time) {
	switch j.State {
	case meta.JobPending, meta.JobRunning, meta.JobDead:
	default:
		return
	}
	s := byKind[j.Kind]
	if s == nil {
		s = &KindStats{Kind: j.Kind}
		byKind[j.Kind] = s
	}
	switch {
	case j.State == meta.JobRunning:
		s.Running++
	case j.State == meta.JobDead:
		s.Dead++
	case j.RunAt.After(now):
		s.Delayed++
	default:
		s.Due++
		if s.OldestDue.IsZero() || j.RunAt.Before(s.OldestDue) {
			s.OldestDue = j.RunAt
		}
	}
}
