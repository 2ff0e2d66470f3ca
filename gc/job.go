package gc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/berthreg/berth/jobs"
	"github.com/berthreg/berth/meta"
	"github.com/berthreg/berth/storage"
)

// JobKind is the kind of collection jobs on the job queue.
const JobKind = "gc"

// Job is the jobs.Handler that runs a collection with the Options in the
// job's payload. While it runs, the job's result holds its Progress (at
// most once a second, and at every phase); when it ends, the final
// Progress with the Report. Register it with a Limit of 1: collections do
// not overlap.
//
// Make one with NewJob.
type Job struct {
	store   meta.Store
	driver  storage.Driver
	observe func(Progress)
}

// JobOption configures a Job made by NewJob.
type JobOption func(*Job)

// WithObserve makes the job give f every Progress of every run,
// unthrottled (for metrics).
func WithObserve(f func(Progress)) JobOption { return func(h *Job) { h.observe = f } }

// NewJob returns the collection job over store and driver, the
// registry's.
func NewJob(store meta.Store, driver storage.Driver, opts ...JobOption) (*Job, error) {
	switch {
	case store == nil:
		return nil, errors.New("gc: NewJob: nil store")
	case driver == nil:
		return nil, errors.New("gc: NewJob: nil driver")
	}
	h := &Job{store: store, driver: driver}
	for _, o := range opts {
		o(h)
	}
	return h, nil
}

// Run implements jobs.Handler.
func (h *Job) Run(ctx context.Context, j meta.Job) error {
	var opts Options
	if len(j.Payload) > 0 {
		if err := json.Unmarshal(j.Payload, &opts); err != nil {
			return jobs.Permanent(fmt.Errorf("gc: job %d: bad options: %w", j.ID, err))
		}
	}
	q, err := jobs.NewQueue(h.store)
	if err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		last     time.Time
		lastName string
	)
	c, err := NewCollector(h.store, h.driver, WithProgress(func(p Progress) {
		if h.observe != nil {
			h.observe(p)
		}
		mu.Lock()
		defer mu.Unlock()
		if p.Phase == lastName && time.Since(last) < time.Second {
			return
		}
		last, lastName = time.Now(), p.Phase
		_ = q.SetResult(context.WithoutCancel(ctx), j.ID, p) // progress is best effort
	}))
	if err != nil {
		return err
	}
	rep, err := c.Run(ctx, opts)
	final := Progress{Phase: "done", Report: rep}
	if err != nil {
		final.Phase = "failed"
	}
	if h.observe != nil {
		h.observe(final)
	}
	if serr := q.SetResult(context.WithoutCancel(ctx), j.ID, final); serr != nil && err == nil {
		err = serr
	}
	return err
}
