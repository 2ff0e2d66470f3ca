package kraken

import (
	"context"
	"fmt"
	"sync"

	"github.com/berthreg/berth/preheat"
)

// maxJobs bounds the jobs one provider remembers for Job.
const maxJobs = 1024

// Job returns the job Preheat returned under id: final, as Kraken has no
// job of its own to ask about. It asks Kraken nothing. The jobs are
// remembered by this Provider alone, the last 1024 of them: an id from
// another Provider (the preheat service makes one per call, and never
// reads a job Preheat returned final), or one forgotten since, is an
// error wrapping ErrUnknownJob.
func (p *provider) Job(_ context.Context, id string) (preheat.Job, error) {
	job, ok := p.jobs.get(id)
	if !ok {
		return preheat.Job{}, fmt.Errorf("%w: %q", ErrUnknownJob, id)
	}
	return job, nil
}

// jobs remembers the last limit jobs by id.
type jobs struct {
	mu    sync.Mutex
	limit int
	byID  map[string]preheat.Job
	order []string // ids, oldest first
}

func newJobs(limit int) *jobs {
	return &jobs{limit: limit, byID: make(map[string]preheat.Job)}
}

// put remembers job, forgetting the oldest beyond the limit.
func (j *jobs) put(job preheat.Job) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.byID[job.ID]; !ok {
		j.order = append(j.order, job.ID)
	}
	j.byID[job.ID] = job
	for len(j.order) > j.limit {
		delete(j.byID, j.order[0])
		j.order = j.order[1:]
	}
}

// get returns the job under id.
func (j *jobs) get(id string) (preheat.Job, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	job, ok := j.byID[id]
	return job, ok
}
