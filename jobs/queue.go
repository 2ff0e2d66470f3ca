package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/berthreg/berth/meta"
)

// ErrFinal reports a Cancel of a job that has already finished, or a
// Retry of one that has not.
var ErrFinal = errors.New("jobs: not in a state that allows this")

// Queue enqueues and inspects jobs. Make one with NewQueue.
type Queue struct {
	store  meta.Store
	notify func()
	now    func() time.Time
}

// QueueOption configures a Queue made by NewQueue.
type QueueOption func(*Queue)

// WithNotify makes the queue call f on every enqueue (a Runner's Wake),
// so that local runners start at once instead of at their next poll.
func WithNotify(f func()) QueueOption { return func(q *Queue) { q.notify = f } }

// withQueueClock replaces time.Now (tests).
func withQueueClock(now func() time.Time) QueueOption { return func(q *Queue) { q.now = now } }

// NewQueue returns a queue that keeps its jobs in store.
func NewQueue(store meta.Store, opts ...QueueOption) (*Queue, error) {
	if store == nil {
		return nil, errors.New("jobs: NewQueue: nil store")
	}
	q := &Queue{store: store}
	for _, o := range opts {
		o(q)
	}
	return q, nil
}

// Store returns the store the queue keeps its jobs in.
func (q *Queue) Store() meta.Store { return q.store }

// Notify tells local runners of an enqueue made outside the queue (in a
// caller's own transaction, with EnqueueTx); it does nothing without
// WithNotify.
func (q *Queue) Notify() {
	if q.notify != nil {
		q.notify()
	}
}

func (q *Queue) clock() time.Time {
	if q.now != nil {
		return q.now()
	}
	return time.Now()
}

// Spec describes a job to enqueue.
type Spec struct {
	// Kind selects the handler.
	Kind string
	// Payload is marshalled to JSON for the handler.
	Payload any
	// Key, when set, makes the job unique (meta.ErrDuplicate otherwise).
	Key string
	// RunAt delays the job (zero: now).
	RunAt time.Time
	// MaxAttempts bounds the attempts (0: the kind's default).
	MaxAttempts int
}

// Enqueue adds a job.
func (q *Queue) Enqueue(ctx context.Context, s Spec) (meta.Job, error) {
	var job meta.Job
	err := q.store.Update(ctx, func(tx meta.Tx) error {
		var err error
		job, err = EnqueueTx(tx, s, q.clock())
		return err
	})
	if err == nil {
		q.Notify()
	}
	return job, err
}

// EnqueueTx adds a job inside tx, with the change that causes it.
func EnqueueTx(tx meta.Tx, s Spec, now time.Time) (meta.Job, error) {
	var payload []byte
	if s.Payload != nil {
		var err error
		if payload, err = json.Marshal(s.Payload); err != nil {
			return meta.Job{}, fmt.Errorf("jobs: payload of %s: %w", s.Kind, err)
		}
	}
	return tx.Jobs().Enqueue(meta.Job{Kind: s.Kind, Key: s.Key, Payload: payload, RunAt: s.RunAt, MaxAttempts: s.MaxAttempts}, now)
}

// Get returns a job.
func (q *Queue) Get(ctx context.Context, id uint64) (meta.Job, error) {
	var job meta.Job
	err := q.store.View(ctx, func(tx meta.Tx) error {
		var err error
		job, err = tx.Jobs().Get(id)
		return err
	})
	return job, err
}

// List returns up to limit jobs matching f after id after.
func (q *Queue) List(ctx context.Context, f meta.JobFilter, after uint64, limit int) ([]meta.Job, error) {
	var out []meta.Job
	err := q.store.View(ctx, func(tx meta.Tx) error {
		var err error
		out, err = tx.Jobs().List(f, after, limit)
		return err
	})
	return out, err
}

// Cancel stops a pending or running job: it will not run (again); a
// running handler sees its context canceled at its next heartbeat.
func (q *Queue) Cancel(ctx context.Context, id uint64) error {
	return q.change(ctx, id, func(j *meta.Job, now time.Time) error {
		if !j.State.Active() {
			return fmt.Errorf("%w: job %d is %s", ErrFinal, j.ID, j.State)
		}
		j.State, j.FinishedAt, j.Worker, j.LeaseUntil = meta.JobCanceled, now, "", time.Time{}
		return nil
	})
}

// Retry makes a dead or canceled job pending again, with its attempts
// counted afresh: the manual redelivery of a dead letter.
func (q *Queue) Retry(ctx context.Context, id uint64) error {
	err := q.change(ctx, id, func(j *meta.Job, now time.Time) error {
		if j.State != meta.JobDead && j.State != meta.JobCanceled {
			return fmt.Errorf("%w: job %d is %s", ErrFinal, j.ID, j.State)
		}
		j.State, j.Attempts, j.RunAt, j.FinishedAt = meta.JobPending, 0, now, time.Time{}
		return nil
	})
	if err == nil {
		q.Notify()
	}
	return err
}

func (q *Queue) change(ctx context.Context, id uint64, fn func(*meta.Job, time.Time) error) error {
	return q.store.Update(ctx, func(tx meta.Tx) error {
		j, err := tx.Jobs().Get(id)
		if err != nil {
			return err
		}
		now := q.clock().UTC()
		if err := fn(&j, now); err != nil {
			return err
		}
		j.UpdatedAt = now
		return tx.Jobs().Put(j)
	})
}

// SetResult records v (as JSON) as job id's result: a handler's progress
// while it runs, its outcome after. The job's state is left alone.
func (q *Queue) SetResult(ctx context.Context, id uint64, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("jobs: result of job %d: %w", id, err)
	}
	return q.change(ctx, id, func(j *meta.Job, _ time.Time) error {
		j.Result = raw
		return nil
	})
}
