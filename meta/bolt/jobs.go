package bolt

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/berthreg/berth/meta"
)

// Buckets of the job queue: jobs by 8-byte big-endian id (JSON), the ids of
// active (pending or running) jobs, which Lease scans, and job keys.
var (
	bucketJobs       = []byte("jobs")
	bucketJobsActive = []byte("jobsActive")
	bucketJobKeys    = []byte("jobKeys")
)

// jobs is the meta.Jobs view of a transaction.
type jobs struct{ t *tx }

// Jobs returns the job queue view of the transaction.
func (t *tx) Jobs() meta.Jobs { return jobs{t} }

func decodeJob(k, raw []byte) (meta.Job, error) {
	var j meta.Job
	if err := json.Unmarshal(raw, &j); err != nil || len(k) != 8 || j.ID != binary.BigEndian.Uint64(k) {
		return j, fmt.Errorf("meta/bolt: job %x: corrupt record (%v)", k, err)
	}
	return j, nil
}

// write stores j and keeps the active index in step with its state.
func (q jobs) write(j meta.Job) error {
	raw, err := json.Marshal(j)
	if err != nil {
		return err
	}
	k := seqKey(j.ID)
	if err := q.t.top(bucketJobs).Put(k, raw); err != nil {
		return err
	}
	if j.State.Active() {
		return q.t.top(bucketJobsActive).Put(k, nil)
	}
	return q.t.top(bucketJobsActive).Delete(k)
}

// Enqueue adds j as a pending job.
func (q jobs) Enqueue(j meta.Job, now time.Time) (meta.Job, error) {
	if err := q.t.writable("enqueue job"); err != nil {
		return j, err
	}
	if j.Kind == "" {
		return j, errors.New("meta/bolt: enqueue job: empty kind")
	}
	if j.Key != "" && q.t.top(bucketJobKeys).Get([]byte(j.Key)) != nil {
		return j, fmt.Errorf("meta/bolt: job key %q: %w", j.Key, meta.ErrDuplicate)
	}
	id, err := q.t.top(bucketJobs).NextSequence()
	if err != nil {
		return j, fmt.Errorf("meta/bolt: enqueue job: %w", err)
	}
	now = now.UTC()
	j.ID, j.State, j.Attempts, j.GivenBack, j.CreatedAt, j.UpdatedAt = id, meta.JobPending, 0, 0, now, now
	j.Worker, j.LeaseUntil, j.FinishedAt = "", time.Time{}, time.Time{}
	if j.RunAt.IsZero() {
		j.RunAt = now
	}
	j.RunAt = j.RunAt.UTC()
	if j.Key != "" {
		if err := q.t.top(bucketJobKeys).Put([]byte(j.Key), seqKey(id)); err != nil {
			return j, fmt.Errorf("meta/bolt: enqueue job: %w", err)
		}
	}
	if err := q.write(j); err != nil {
		return j, fmt.Errorf("meta/bolt: enqueue job: %w", err)
	}
	return j, nil
}

// Get returns the job with id, or meta.ErrNotFound.
func (q jobs) Get(id uint64) (meta.Job, error) {
	if err := q.t.live(); err != nil {
		return meta.Job{}, err
	}
	k := seqKey(id)
	raw := q.t.top(bucketJobs).Get(k)
	if raw == nil {
		return meta.Job{}, fmt.Errorf("meta/bolt: job %d: %w", id, meta.ErrNotFound)
	}
	return decodeJob(k, raw)
}

// Put replaces an existing job's record.
func (q jobs) Put(j meta.Job) error {
	if err := q.t.writable("put job"); err != nil {
		return err
	}
	old, err := q.Get(j.ID)
	if err != nil {
		return err
	}
	if old.Key != j.Key {
		return fmt.Errorf("meta/bolt: put job %d: its key cannot change", j.ID)
	}
	if err := q.write(j); err != nil {
		return fmt.Errorf("meta/bolt: put job %d: %w", j.ID, err)
	}
	return nil
}

// Lease takes the next available job of kinds within the limits.
func (q jobs) Lease(kinds []string, limit map[string]int, worker string, now, until time.Time) (meta.Job, error) {
	if err := q.t.writable("lease job"); err != nil {
		return meta.Job{}, err
	}
	running := map[string]int{}
	var avail []meta.Job
	c := q.t.top(bucketJobsActive).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		j, err := q.Get(binary.BigEndian.Uint64(k))
		if err != nil {
			return meta.Job{}, err
		}
		if j.State == meta.JobRunning && j.LeaseUntil.After(now) {
			running[j.Kind]++
			continue
		}
		if due(j, kinds, now) {
			avail = append(avail, j)
		}
	}
	slices.SortStableFunc(avail, func(a, b meta.Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for _, j := range avail {
		if n, capped := limit[j.Kind]; capped && running[j.Kind] >= n {
			continue
		}
		j.State, j.Worker, j.LeaseUntil, j.UpdatedAt = meta.JobRunning, worker, until.UTC(), now.UTC()
		j.Attempts++
		if err := q.write(j); err != nil {
			return meta.Job{}, fmt.Errorf("meta/bolt: lease job %d: %w", j.ID, err)
		}
		return j, nil
	}
	return meta.Job{}, fmt.Errorf("meta/bolt: no job to lease: %w", meta.ErrNotFound)
}

// Due reports whether a job of kinds is available at now.
func (q jobs) Due(kinds []string, now time.Time) (bool, error) {
	if err := q.t.live(); err != nil {
		return false, err
	}
	c := q.t.top(bucketJobsActive).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		j, err := q.Get(binary.BigEndian.Uint64(k))
		if err != nil {
			return false, err
		}
		if due(j, kinds, now) {
			return true, nil
		}
	}
	return false, nil
}

// due reports whether active job j is available to a lease of kinds at now.
func due(j meta.Job, kinds []string, now time.Time) bool {
	if !slices.Contains(kinds, j.Kind) {
		return false
	}
	if j.State == meta.JobRunning {
		return !j.LeaseUntil.After(now)
	}
	return !j.RunAt.After(now)
}

// List returns up to limit jobs matching f after id after.
func (q jobs) List(f meta.JobFilter, after uint64, limit int) ([]meta.Job, error) {
	if err := q.t.live(); err != nil {
		return nil, err
	}
	var out []meta.Job
	c := q.t.top(bucketJobs).Cursor()
	k, raw := c.Seek(seqKey(after + 1))
	for ; k != nil && (limit <= 0 || len(out) < limit); k, raw = c.Next() {
		j, err := decodeJob(k, raw)
		if err != nil {
			return out, err
		}
		if (f.Kind == "" || j.Kind == f.Kind) && (f.State == "" || j.State == f.State) {
			out = append(out, j)
		}
	}
	return out, nil
}

// Delete removes a job and its key.
func (q jobs) Delete(id uint64) error {
	if err := q.t.writable("delete job"); err != nil {
		return err
	}
	j, err := q.Get(id)
	if err != nil {
		return err
	}
	k := seqKey(id)
	for _, err := range []error{
		q.t.top(bucketJobs).Delete(k), q.t.top(bucketJobsActive).Delete(k), keyDelete(q, j.Key),
	} {
		if err != nil {
			return fmt.Errorf("meta/bolt: delete job %d: %w", id, err)
		}
	}
	return nil
}

func keyDelete(q jobs, key string) error {
	if key == "" {
		return nil
	}
	return q.t.top(bucketJobKeys).Delete([]byte(key))
}
