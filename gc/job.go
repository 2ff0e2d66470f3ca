package gc

import (
	"context"
	"encoding/json"
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
type Job struct {
	// Store and Driver are the registry's.
	Store  meta.Store
	Driver storage.Driver
	// Observe, when set, gets every Progress of every run, unthrottled
	// (for metrics).
	Observe func(Progress)
}

// Run implements jobs.Handler.
func (h *Job) Run(ctx context.Context, j meta.Job) error {
	var opts Options
	if len(j.Payload) > 0 {
		if err := json.Unmarshal(j.Payload, &opts); err != nil {
			return jobs.Permanent(fmt.Errorf("gc: job %d: bad options: %w", j.ID, err))
		}
	}
	q, err := jobs.NewQueue(h.Store)
	if err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		last     time.Time
		lastName string
	)
	c := &Collector{Store: h.Store, Driver: h.Driver, Progress: func(p Progress) {
		if h.Observe != nil {
			h.Observe(p)
		}
		mu.Lock()
		defer mu.Unlock()
		if p.Phase == lastName && time.Since(last) < time.Second {
			return
		}
		last, lastName = time.Now(), p.Phase
		_ = q.SetResult(context.WithoutCancel(ctx), j.ID, p) // progress is best effort
	}}
	rep, err := c.Run(ctx, opts)
	final := Progress{Phase: "done", Report: rep}
	if err != nil {
		final.Phase = "failed"
	}
	if h.Observe != nil {
		h.Observe(final)
	}
	if serr := q.SetResult(context.WithoutCancel(ctx), j.ID, final); serr != nil && err == nil {
		err = serr
	}
	return err
}
